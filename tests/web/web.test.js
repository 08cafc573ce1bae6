// Browser tests of the web client against a real tianyi-server + tianyi-fake-upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, openPage, registerAndLogin, state } from './stack.js';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
const PASSWORD = 'correct horse battery staple';
let stack;
let pageA;

// Status of a GET sent byte for byte over a socket.
function rawStatus(path) {
  const u = new URL(stack.base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let buf = '';
    sock.on('data', (d) => { buf += d; });
    sock.on('end', () => resolve(Number(buf.split(' ')[1])));
    sock.on('error', reject);
  });
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `web-${name}.png`) });

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
});

after(async () => {
  if (process.exitCode && stack) console.error(stack.logs.join(''));
  await stack?.stop();
  // Sanitizer reports of the server (ASan build) are shown, not judged here: the server's own tests own them.
  const reports = stack?.logs.filter((l) => /Sanitizer|runtime error:/.test(l)) || [];
  if (reports.length) console.error('tianyi-server sanitizer output:\n' + stack.logs.join(''));
});

test('static files: index, modules with their types, no traversal', async () => {
  const get = (p) => fetch(new URL(p, stack.base));
  let r = await get('/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  r = await get('/app.js');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /javascript/);
  assert.match((await get('/style.css')).headers.get('content-type'), /text\/css/);
  // Raw request lines: fetch() would normalize the dots away before sending.
  for (const bad of ['/../personas/luotianyi.json', '/%2e%2e/personas/luotianyi.json', '/..%2fpersonas/luotianyi.json',
    '//personas/luotianyi.json', '/.hidden', '/nope.js', '/web/index.html', '/index.html/']) {
    assert.equal(await rawStatus(bad), 404, bad);
  }
  assert.equal(await rawStatus('/index.html'), 200);
  r = await get('/api/v1/nothing');
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error.code, 'not_found');
});

test('register, log out, log in again; wrong password is explained', async () => {
  pageA = await openPage(stack);
  await shot(pageA, 'login');
  await registerAndLogin(pageA, 'alice');
  await pageA.click('#logout');
  await pageA.waitForSelector('#login-form', { state: 'visible' });
  const f = pageA.locator('#login-form');
  await f.locator('input[name=username]').fill('alice');
  await f.locator('input[name=password]').fill('not the password at all');
  await f.locator('button[type=submit]').click();
  await pageA.waitForFunction(() => document.querySelector('#banner').textContent.includes('Wrong username or password'));
  await f.locator('input[name=password]').fill(PASSWORD);
  await f.locator('button[type=submit]').click();
  await pageA.waitForFunction(() => window.__tianyi.connection === 'online', null, { timeout: 30000 });
  assert.equal(await pageA.locator('#whoami').textContent(), 'alice nick');
});

test('with speech recognition configured (the fake ASR) the Talk button is offered', async () => {
  await pageA.waitForFunction(() => window.__tianyi.speechInput === true);
  assert.ok(await pageA.locator('#mic').isEnabled());
  assert.ok(await pageA.locator('#mic-note').isHidden());
  assert.match(await pageA.locator('#mic').getAttribute('title'), /Talk by voice/);
});

test('a full turn: streamed text, audio scheduled, mouth moves, emotion shown', async () => {
  pageA.errors.length = 0; // the wrong password above logged its 400
  await pageA.fill('#chat-input', '你好');
  await pageA.click('#send');
  await pageA.waitForFunction(() => window.__tianyi.scheduledChunks > 0, null, { timeout: 30000 });
  // Sample the mouth while she speaks.
  let maxMouth = 0;
  let midShot = false;
  const t0 = Date.now();
  while (Date.now() - t0 < 8000) {
    const s = await state(pageA);
    maxMouth = Math.max(maxMouth, s.mouth);
    if (!midShot && s.mouth > 0.3) { await shot(pageA, 'chat-speaking'); midShot = true; }
    if (maxMouth > 0.3 && s.activeTurn === null && s.level === 0) break;
    await pageA.waitForTimeout(40);
  }
  const s = await state(pageA);
  assert.ok(maxMouth > 0.3, `mouth opened while speaking (max ${maxMouth}); audio ${s.audioState}`);
  assert.equal(s.expression, 'happy');
  assert.equal(await pageA.locator('#emotion-label').textContent(), 'happy'); // the persona's 开心, in English
  await pageA.waitForFunction(() => document.querySelector('#transcript li.reply.completed'), null, { timeout: 30000 });
  assert.equal(await pageA.locator('#transcript li.reply').first().textContent(), '你好！很高兴见到你。');
  await pageA.waitForFunction(() => window.__tianyi.level === 0 && window.__tianyi.mouth === 0, null, { timeout: 15000 });
  await shot(pageA, 'chat');
  assert.deepEqual(pageA.errors, []);
});

test('stop silences her at once and no later audio of that turn is scheduled', async () => {
  await pageA.fill('#chat-input', '讲个故事吧');
  await pageA.click('#send');
  await pageA.waitForFunction(() => window.__tianyi.activeTurn !== null && window.__tianyi.chunksOfTurn(window.__tianyi.activeTurn) > 0
    && window.__tianyi.level > 0, null, { timeout: 30000 });
  const turn = await pageA.evaluate(() => window.__tianyi.activeTurn);
  assert.equal((await state(pageA)).expression, 'surprised');
  await pageA.waitForTimeout(400);
  await pageA.click('#stop');
  const atStop = await pageA.evaluate((t) => ({ chunks: window.__tianyi.chunksOfTurn(t), level: window.__tianyi.level, played: window.__tianyi.playedMs }), turn);
  assert.equal(atStop.level, 0, 'silent right after stop');
  assert.ok(atStop.played > 0, 'played_ms counted');
  await pageA.waitForFunction((t) => document.querySelector(`#transcript li.reply.interrupted[data-turn="${t}"]`) || document.querySelector('#transcript li.reply.interrupted'), turn, { timeout: 15000 });
  await pageA.waitForTimeout(1500);
  const later = await pageA.evaluate((t) => ({ chunks: window.__tianyi.chunksOfTurn(t), level: window.__tianyi.level, mouth: window.__tianyi.mouth }), turn);
  assert.equal(later.chunks, atStop.chunks, 'no chunk of the stopped turn scheduled after stop');
  assert.equal(later.level, 0);
  assert.equal(later.mouth, 0);
  const heard = await pageA.locator('#transcript li.reply.interrupted').last().textContent();
  assert.ok(!heard.includes('讲的是什么呢'), 'the interrupted bubble shows only what was heard: ' + heard);
});

test('barge-in by sending a new message stops the running turn', async () => {
  await pageA.fill('#chat-input', '再讲个故事');
  await pageA.click('#send');
  await pageA.waitForFunction(() => window.__tianyi.activeTurn !== null && window.__tianyi.level > 0, null, { timeout: 30000 });
  const first = await pageA.evaluate(() => window.__tianyi.activeTurn);
  await pageA.fill('#chat-input', '你好');
  await pageA.click('#send');
  await pageA.waitForFunction((t) => window.__tianyi.lastTurn > t, first, { timeout: 30000 });
  const chunks = await pageA.evaluate((t) => window.__tianyi.chunksOfTurn(t), first);
  await pageA.waitForFunction(() => document.querySelectorAll('#transcript li.reply.completed').length >= 2, null, { timeout: 30000 });
  assert.equal(await pageA.evaluate((t) => window.__tianyi.chunksOfTurn(t), first), chunks);
  assert.ok(await pageA.locator('#transcript li.reply.interrupted').count() >= 2);
});

test('history, profile and memories views; the token is refreshed when it expired', async () => {
  // Make the stored access token unusable: the client must refresh it with the refresh token.
  await pageA.evaluate(() => {
    const t = JSON.parse(sessionStorage.getItem('tianyi.tokens'));
    t.access_token = 'expired.token.value';
    t.expires_at = Date.now() + 3600e3;
    sessionStorage.setItem('tianyi.tokens', JSON.stringify(t));
  });
  await pageA.click('button[data-view=history]');
  await pageA.waitForSelector('#history-list li.turn');
  assert.ok(await pageA.locator('#history-list li.turn').count() >= 3);
  assert.ok(await pageA.locator('#history-list li.turn.interrupted').count() >= 1);
  await pageA.locator('#history-list .play').first().click();
  await pageA.waitForFunction(() => window.__tianyi.level > 0, null, { timeout: 10000 });
  await shot(pageA, 'history');

  await pageA.click('button[data-view=profile]');
  await pageA.waitForFunction(() => document.querySelector('#profile-form [name=nickname]').value === 'alice nick');
  await pageA.fill('#profile-form [name=description]', '喜欢唱歌');
  await pageA.click('#profile-form button[type=submit]');
  await pageA.waitForFunction(() => document.querySelector('#profile-status').textContent === 'Saved.');
  await shot(pageA, 'profile');

  await pageA.click('button[data-view=memories]');
  await pageA.waitForFunction(() => document.querySelector('#memories-note').textContent !== '' || document.querySelector('#memories-list li'));
  const note = await pageA.locator('#memories-note').textContent();
  assert.ok(!/could not be loaded/.test(note), note);
  assert.deepEqual(pageA.errors.filter((e) => !/status of 40[14]/.test(e)), []);
});

test('memories: what she remembered is listed and can be forgotten (or "not available yet")', async () => {
  await pageA.click('button[data-view=chat]');
  await pageA.fill('#chat-input', '我喜欢草莓');
  await pageA.click('#send');
  await pageA.waitForFunction(() => document.querySelectorAll('#transcript li.reply.completed').length >= 3, null, { timeout: 30000 });
  let items = 0;
  let note = '';
  for (let i = 0; i < 40 && !items; i++) {
    await pageA.click('button[data-view=memories]');
    await pageA.waitForFunction(() => document.querySelector('#memories-note').textContent !== '' || document.querySelector('#memories-list li'));
    items = await pageA.locator('#memories-list li').count();
    note = await pageA.locator('#memories-note').textContent();
    if (/not available yet/.test(note)) break;
    if (!items) await pageA.waitForTimeout(250);
  }
  await shot(pageA, 'memories');
  if (/not available yet/.test(note)) return; // the server has no memory endpoints (404)
  assert.ok(items > 0, 'a memory was extracted: ' + note);
  assert.match(await pageA.locator('#memories-list li').first().textContent(), /草莓/);
  await pageA.locator('#memories-list li .forget').first().click();
  await pageA.waitForFunction((n) => document.querySelectorAll('#memories-list li').length === n - 1, items);
  await pageA.click('button[data-view=history]');
  await pageA.click('button[data-view=memories]');
  await pageA.waitForFunction(() => document.querySelector('#memories-note').textContent !== '' || document.querySelector('#memories-list li'));
  assert.equal(await pageA.locator('#memories-list li').count(), items - 1);
});

test('a second user sees nothing of the first (and a missing Live2D runtime falls back to the drawn avatar)', async () => {
  const pageB = await openPage(stack, '?live2d=models/tianyi.model3.json');
  await registerAndLogin(pageB, 'bob');
  await pageB.waitForFunction(() => !document.querySelector('#avatar-note').hidden);
  assert.match(await pageB.locator('#avatar-note').textContent(), /Cubism Core is not installed/);
  assert.equal(await pageB.evaluate(() => window.__tianyi.expression), 'calm');
  await pageB.click('button[data-view=history]');
  await pageB.waitForSelector('#history-list li.empty');
  assert.equal(await pageB.locator('#history-list li.turn').count(), 0);
  await pageB.click('button[data-view=profile]');
  await pageB.waitForFunction(() => document.querySelector('#profile-form [name=nickname]').value === 'bob nick');
  assert.equal(await pageB.inputValue('#profile-form [name=description]'), '');
  await pageB.click('button[data-view=memories]');
  await pageB.waitForFunction(() => document.querySelector('#memories-note').textContent !== '');
  assert.equal(await pageB.locator('#memories-list li').count(), 0);
  await pageB.context().close();
});

test('the socket reconnects after the server restarts, and chat works again', async () => {
  await pageA.click('button[data-view=chat]');
  await stack.restartServer();
  await pageA.waitForFunction(() => window.__tianyi.connection === 'online', null, { timeout: 60000 });
  const before = await pageA.locator('#transcript li.reply.completed').count();
  await pageA.fill('#chat-input', '你好');
  await pageA.click('#send');
  await pageA.waitForFunction((n) => document.querySelectorAll('#transcript li.reply.completed').length > n, before, { timeout: 30000 });
  assert.ok(await pageA.evaluate(() => window.__tianyi.chunksOfTurn(window.__tianyi.lastTurn)) > 0, 'audio of the new session played');
});
