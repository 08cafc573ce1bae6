// Browser tests of the profile page's "Connect a VTuber client" section and the list of logins:
// with the device endpoint on (compat.olv_enabled) a device token is made with the password, its
// address is shown once with ?token=, the list shows it and this browser, and revoking (after the
// confirm dialog) removes it; with the endpoint off the section says why. Screenshots at phone and
// desktop size go to docs/screenshots/profile-devices-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, openPage, registerAndLogin, layoutProblems, DEVICES } from './stack.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(HERE, '..', '..', 'docs', 'screenshots');
const PASSWORD = 'correct horse battery staple';
let stack;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ serverEnv: { TIANYI_COMPAT_OLV_ENABLED: 'true' } });
});

after(async () => {
  if (process.exitCode && stack) console.error(stack.logs.join(''));
  await stack?.stop();
});

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `profile-devices-${name}.png`), fullPage: true });

async function openProfile(page) {
  await page.click('button[data-view=profile]');
  await page.waitForSelector('#logins-list li.login');
}

// The claims of a JWT, unverified (the server verifies; the test only looks).
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

async function login(page, username) {
  const f = page.locator('#login-form');
  await f.locator('input[name=username]').fill(username);
  await f.locator('input[name=password]').fill(PASSWORD);
  await f.locator('button[type=submit]').click();
  await page.waitForFunction(() => window.__tianyi.connection === 'online', null, { timeout: 30000 });
}

test('desktop: a device token is made with the password, shown once as a ws:// address, listed, and revoked after confirming', async () => {
  const page = await openPage(stack, '', DEVICES['desktop-1280']);
  await registerAndLogin(page, 'vtuber_fan');
  await openProfile(page);
  assert.equal(await page.isVisible('#devices-on'), true);
  assert.equal(await page.isVisible('#devices-off'), false);
  assert.equal(await page.locator('#logins-list li.login').count(), 1);
  assert.match(await page.locator('#logins-list li.current').textContent(), /this browser/);

  // A wrong password: refused, said so, nothing made, the password field emptied and focused.
  await page.fill('#device-form input[name=name]', 'desk pet');
  await page.fill('#device-form input[name=password]', 'not my password');
  await page.click('#device-form button[type=submit]');
  await page.waitForFunction(() => !document.querySelector('#banner').hidden);
  assert.match(await page.locator('#banner').textContent(), /password is wrong/);
  assert.equal(await page.inputValue('#device-form input[name=password]'), '');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'password');
  assert.equal(await page.isVisible('#device-result'), false);
  page.errors.length = 0; // the browser logs the 403 answer: expected here

  await page.fill('#device-form input[name=password]', PASSWORD);
  await page.click('#device-form button[type=submit]');
  await page.waitForSelector('#device-result:not([hidden])');
  const address = await page.inputValue('#device-url');
  const base = new URL(stack.base);
  assert.match(address, new RegExp(`^ws://${base.host.replace(/\./g, '\\.')}/client-ws\\?token=[\\w.-]+$`));
  const token = new URL(address).searchParams.get('token');
  assert.equal(claims(token).scope, 'device');
  // OLV's "Base URL" setting: the model_info URL the endpoint sends is relative to it.
  assert.equal(await page.inputValue('#device-base'), base.origin);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'device-url'); // focus on what to copy
  assert.match(await page.locator('#device-result .warning').textContent(), /only this once/);
  assert.equal(await page.inputValue('#device-form input[name=password]'), '');
  // The token is a device token: the HTTP API refuses it.
  const refused = await page.evaluate(async (t) => (await fetch('api/v1/me/profile', { headers: { Authorization: 'Bearer ' + t } })).status, token);
  assert.equal(refused, 401);
  page.errors.length = 0; // and that 401

  await page.waitForSelector('#logins-list li[data-kind=device]');
  const device = page.locator('#logins-list li[data-kind=device]');
  assert.match(await device.textContent(), /desk pet/);
  assert.equal(await device.locator('.revoke').getAttribute('aria-describedby'), await device.locator('.title').getAttribute('id'));
  assert.equal(claims(token).sid, await device.getAttribute('data-id'));
  assert.deepEqual(await layoutProblems(page, ['#device-url', '#device-copy', '#device-base']), []);
  await device.locator('.revoke').scrollIntoViewIfNeeded();
  assert.deepEqual(await layoutProblems(page, ['#logins-list li[data-kind=device] .revoke']), []);

  await page.click('#device-copy');
  await page.waitForFunction(() => document.querySelector('#device-copy-status').textContent !== '');
  await shot(page, 'desktop');

  // Cancelling the dialog keeps it; accepting revokes it and focus stays in the list.
  let question = '';
  page.once('dialog', (d) => { question = d.message(); d.dismiss(); });
  await device.locator('.revoke').click();
  assert.match(question, /desk pet/);
  assert.equal(await page.locator('#logins-list li[data-kind=device]').count(), 1);
  page.once('dialog', (d) => d.accept());
  await device.locator('.revoke').click();
  await page.waitForFunction(() => !document.querySelector('#logins-list li[data-kind=device]'));
  assert.equal(await page.evaluate(() => !!document.activeElement.closest('#logins')), true);
  // The server agrees: a fresh load of the list does not have it.
  await page.click('button[data-view=chat]');
  await openProfile(page);
  assert.equal(await page.locator('#logins-list li[data-kind=device]').count(), 0);
  assert.equal(await page.locator('#logins-list li.login').count(), 1);
  assert.deepEqual(page.errors, []);

  // Revoking this browser's own login says so in the dialog and logs this page out.
  question = '';
  page.once('dialog', (d) => { question = d.message(); d.accept(); });
  await page.locator('#logins-list li.current .revoke').click();
  await page.waitForSelector('#view-auth:not([hidden])');
  assert.match(question, /logs you out here/);
  await page.context().close();
});

test('phone (390x844): the section fits, the address can be copied, and another browser\'s login can be revoked', async () => {
  const phone = await openPage(stack, '', DEVICES['phone-390']);
  await registerAndLogin(phone, 'pocket_fan');
  const laptop = await openPage(stack, '', DEVICES['desktop-1280']);
  await login(laptop, 'pocket_fan');

  await openProfile(phone);
  assert.equal(await phone.locator('#logins-list li.login').count(), 2);
  assert.deepEqual(await layoutProblems(phone, ['#lang', '#logout']), []); // and every button and input big enough, none wider than the screen
  await phone.fill('#device-form input[name=name]', '桌宠 on the shelf');
  await phone.fill('#device-form input[name=password]', PASSWORD);
  await phone.tap('#device-form button[type=submit]');
  await phone.waitForSelector('#device-result:not([hidden])');
  assert.match(await phone.inputValue('#device-url'), /^ws:\/\/.+\/client-ws\?token=/);
  await phone.waitForSelector('#logins-list li[data-kind=device]');
  assert.equal(await phone.locator('#logins-list li.login').count(), 3);
  await phone.locator('#device-url').scrollIntoViewIfNeeded();
  assert.deepEqual(await layoutProblems(phone, ['#device-url', '#device-copy']), []);
  await shot(phone, 'phone');

  // Revoking the laptop's login from the phone logs the laptop out.
  const other = phone.locator('#logins-list li[data-kind=browser]:not(.current)');
  phone.once('dialog', (d) => d.accept());
  await other.locator('.revoke').tap();
  await phone.waitForFunction(() => document.querySelectorAll('#logins-list li[data-kind=browser]').length === 1);
  await laptop.waitForFunction(() => window.__tianyi.connection !== 'online', null, { timeout: 30000 });
  assert.deepEqual(phone.errors, []);
  await phone.context().close();
  await laptop.context().close();
});

test('without the device endpoint the section says why and offers no form; the logins are still listed', async () => {
  const off = await startStack();
  try {
    const page = await openPage(off, '', { ...DEVICES['phone-390'], locale: 'zh-CN' });
    await registerAndLogin(page, 'no_vtuber');
    await openProfile(page);
    assert.equal(await page.isVisible('#devices-off'), true);
    assert.equal(await page.isVisible('#device-form'), false);
    assert.match(await page.locator('#devices-off').textContent(), /管理员没有开启/);
    assert.match(await page.locator('#logins-list li.current').textContent(), /本浏览器/);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  } finally {
    await off.stop();
  }
});
