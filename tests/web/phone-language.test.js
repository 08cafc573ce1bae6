// Browser tests of what a newcomer meets on a server started with the defaults (README command 1:
// no speech recognition configured): phones and a desktop, the chat following her reply, the chat
// kept over a reload, the history's one player per reply, and the page in Chinese and English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, openPage, registerAndLogin, layoutProblems, DEVICES } from './stack.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(HERE, '..', '..', 'docs', 'screenshots');
const WEB = join(HERE, '..', '..', 'resources', 'web');
let stack;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({
    serverEnv: { TIANYI_ASR_BASE_URL: null }, // as configured by default: no speech input
    browserArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  });
});

after(async () => {
  if (process.exitCode && stack) console.error(stack.logs.join(''));
  await stack?.stop();
});

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `web-${name}.png`) });

const CHAT_CONTROLS = ['#chat-input', '#send', '#stop', '#mic', '#listen', '#conn-state', '#avatar', '#lang', '#logout'];
const repliesDone = (page, n) => page.waitForFunction((k) => document.querySelectorAll('#transcript li.reply.completed').length >= k, n, { timeout: 30000 });

for (const [device, options] of Object.entries(DEVICES)) {
  test(`${device}: everything fits, nothing scrolls sideways, touch targets are big enough; sending works`, async () => {
    const page = await openPage(stack, '', options);
    assert.deepEqual(await layoutProblems(page, ['#login-form button[type=submit]', '#lang']), []); // registering is below
    if (device === 'phone-390') await shot(page, 'login-phone');
    await registerAndLogin(page, 'user_' + device.replace('-', '_'));
    assert.deepEqual(await layoutProblems(page, CHAT_CONTROLS), []);
    await page.fill('#chat-input', '你好');
    if (options.hasTouch) await page.tap('#send');
    else await page.click('#send');
    await repliesDone(page, 1);
    assert.equal(await page.locator('#transcript li.reply.completed').first().textContent(), '你好！很高兴见到你。');
    assert.deepEqual(await layoutProblems(page, CHAT_CONTROLS), []);
    await page.waitForFunction(() => window.__tianyi.level === 0 && window.__tianyi.mouth === 0, null, { timeout: 15000 });
    await shot(page, device);
    for (const view of ['history', 'profile', 'memories']) {
      await page.click(`button[data-view=${view}]`);
      await page.waitForFunction((v) => !document.querySelector('#view-' + v).hidden, view);
      if (view === 'history') await page.waitForSelector('#history-list li.turn');
      assert.deepEqual(await layoutProblems(page, ['#lang', '#logout', `button[data-view=${view}]`]), [], view);
    }
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
}

test('without speech recognition the Talk button is disabled and says why; an asr_unavailable answer ends a recording', async () => {
  const page = await openPage(stack, '', DEVICES['phone-390']);
  await registerAndLogin(page, 'no_asr');
  await page.waitForFunction(() => window.__tianyi.speechInput === false);
  const mic = page.locator('#mic');
  assert.ok(await mic.isVisible());
  assert.ok(await mic.isDisabled());
  assert.match(await mic.getAttribute('title'), /Speech input is not configured on this server/);
  assert.ok(await page.locator('#mic-note').isVisible());
  assert.match(await page.locator('#mic-note').textContent(), /Speech input is not configured on this server/);
  assert.equal(await mic.getAttribute('aria-describedby'), 'mic-note');
  await page.context().close();

  // Behind a proxy that hides /readyz the socket's hello still says there is no speech input.
  const proxied = await openPage(stack, '', DEVICES['phone-390']);
  await proxied.context().route((u) => u.pathname.endsWith('/readyz'), (route) => route.abort());
  await proxied.reload();
  await registerAndLogin(proxied, 'no_asr_proxied');
  await proxied.waitForFunction(() => window.__tianyi.speechInput === false && document.querySelector('#mic').disabled);
  await proxied.context().close();

  // A page that learns nothing (no /readyz, a hello without speech_input: an older server) offers Talk;
  // the server's asr_unavailable then ends the recording: no more frames, and the button says why.
  const blind = await openPage(stack, '', DEVICES['phone-390']);
  await blind.context().route((u) => u.pathname.endsWith('/readyz'), (route) => route.abort());
  await blind.addInitScript(() => {
    const onmessage = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
    Object.defineProperty(WebSocket.prototype, 'onmessage', {
      get() { return onmessage.get.call(this); },
      set(handler) {
        onmessage.set.call(this, (ev) => {
          if (typeof ev.data !== 'string' || !ev.data.includes('"hello"')) return handler(ev);
          const hello = JSON.parse(ev.data);
          delete hello.speech_input;
          return handler(new MessageEvent('message', { data: JSON.stringify(hello) }));
        });
      },
    });
    window.__binaryFrames = 0;
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      if (typeof data !== 'string') window.__binaryFrames++;
      return send.call(this, data);
    };
  });
  await blind.reload();
  await registerAndLogin(blind, 'no_asr_blind');
  assert.equal(await blind.evaluate(() => window.__tianyi.speechInput), null);
  await blind.tap('#mic');
  await blind.waitForFunction(() => window.__tianyi.events.includes('error'), null, { timeout: 15000 });
  await blind.waitForFunction(() => window.__tianyi.mic === 'idle' && document.querySelector('#mic').disabled);
  assert.match(await blind.locator('#banner').textContent(), /Speech input is not configured/);
  assert.match(await blind.locator('#mic-note').textContent(), /Speech input is not configured/);
  const frames = await blind.evaluate(() => window.__binaryFrames);
  // A whole turn later: still the first session, and not one frame more.
  await blind.fill('#chat-input', '你好');
  await blind.tap('#send');
  await repliesDone(blind, 1);
  assert.equal(await blind.evaluate(() => window.__binaryFrames), frames);
  assert.equal(await blind.evaluate(() => window.__tianyi.events.filter((e) => e === 'hello').length), 1);
  assert.equal(await blind.evaluate(() => window.__tianyi.connection), 'online');
  await blind.context().close();
});

// The last line's bottom is inside the transcript's box, and that inside the viewport.
const lastLineInView = (page) => page.evaluate(() => {
  const box = document.querySelector('#transcript');
  const last = box.lastElementChild.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  return last.bottom <= b.bottom + 1 && last.top >= b.top - 1 && b.bottom <= innerHeight;
});

test('the chat follows her growing reply, but leaves a reader who scrolled up where they are; a reload keeps the chat', async () => {
  const page = await openPage(stack, '', DEVICES['phone-390']);
  await registerAndLogin(page, 'reader');
  // Long replies until the conversation is taller than its box.
  let n = 0;
  do {
    await page.fill('#chat-input', '讲个故事');
    await page.tap('#send');
    await repliesDone(page, ++n);
    assert.ok(await lastLineInView(page), `the end of reply ${n} is in view`);
  } while (await page.evaluate(() => { const t = document.querySelector('#transcript'); return t.scrollHeight - t.clientHeight < 300; }));

  // One more: while it grows the reader scrolls up, and stays there.
  await page.fill('#chat-input', '再讲个故事');
  await page.tap('#send');
  await page.waitForFunction((k) => (document.querySelectorAll('#transcript li.reply')[k]?.textContent.length || 0) > 3, n, { timeout: 30000 });
  await page.evaluate(() => { document.querySelector('#transcript').scrollTop = 0; });
  await repliesDone(page, ++n);
  assert.equal(await page.evaluate(() => document.querySelector('#transcript').scrollTop), 0, 'the reader was not pulled down');
  // Back at the end, the next reply is followed again.
  await page.evaluate(() => { const t = document.querySelector('#transcript'); t.scrollTop = t.scrollHeight; });
  await page.fill('#chat-input', '故事');
  await page.tap('#send');
  await repliesDone(page, ++n);
  assert.ok(await lastLineInView(page), 'the end of the last reply is in view');
  await page.waitForFunction(() => window.__tianyi.level === 0, null, { timeout: 30000 });
  await shot(page, 'phone-long-reply');

  // A reload shows the earlier exchange, its end in view.
  await page.reload();
  await page.waitForFunction(() => window.__tianyi.connection === 'online', null, { timeout: 30000 });
  await page.waitForSelector('#transcript li.earlier');
  const lines = await page.$$eval('#transcript li.earlier', (lis) => lis.map((li) => [li.className, li.textContent]));
  assert.equal(lines.length, 2 * Math.min(n, 10)); // the last 10 turns
  assert.deepEqual(lines[0], ['user earlier', '讲个故事']);
  assert.equal(lines[lines.length - 2][1], '故事');
  assert.match(lines[lines.length - 1][0], /reply earlier completed/);
  assert.match(lines[lines.length - 1][1], /从前有座山/);
  assert.ok(await lastLineInView(page), 'after the reload the last line is in view');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the history has one player per reply; it plays the reply\'s sentences in order', async () => {
  const page = await openPage(stack, '', DEVICES['desktop-1280']);
  await registerAndLogin(page, 'listener');
  await page.fill('#chat-input', '讲个故事');
  await page.click('#send');
  await repliesDone(page, 1);
  await page.fill('#chat-input', '你好');
  await page.click('#send');
  await repliesDone(page, 2);
  await page.click('button[data-view=history]');
  await page.waitForSelector('#history-list li.turn');
  const turns = page.locator('#history-list li.turn');
  assert.equal(await turns.count(), 2);
  assert.equal(await page.locator('#history-list .play').count(), 2);
  for (let i = 0; i < 2; i++) assert.equal(await turns.nth(i).locator('.play').count(), 1);
  // The story (the older turn) is several sentences.
  const story = await page.evaluate(async () => {
    const tokens = JSON.parse(sessionStorage.getItem('tianyi.tokens'));
    const h = await fetch('api/v1/me/history', { headers: { Authorization: 'Bearer ' + tokens.access_token } }).then((r) => r.json());
    return h.turns[1];
  });
  assert.ok(story.sentences.length > 3, `${story.sentences.length} sentences`);
  assert.equal(await turns.nth(1).locator('.reply-text').textContent(), story.sentences.map((s) => s.text).join(''));
  const expected = story.sentences.map((s) => new URL(s.audio_url, stack.base).pathname);
  const fetched = [];
  const allFetched = new Promise((resolve) => page.on('request', (r) => {
    if (r.url().includes('/me/audio/')) fetched.push(new URL(r.url()).pathname);
    if (fetched.length === expected.length) resolve();
  }));
  await turns.nth(1).locator('.play').click();
  await page.waitForFunction(() => window.__tianyi.level > 0, null, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector('#history-list li.turn:nth-child(2) .play').classList.contains('playing'));
  assert.equal(await turns.nth(1).locator('.play').textContent(), '■ Stop');
  await allFetched;
  assert.deepEqual(fetched, expected);
  await turns.nth(1).locator('.play').click(); // stops it
  await page.waitForFunction(() => !window.__tianyi.replaying && window.__tianyi.level === 0);
  assert.equal(await turns.nth(1).locator('.play').textContent(), '▶ Play');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// ---------- language ----------

// Every text the page shows of its own (not what the users or she said), with where it is.
const pageStrings = (page) => page.evaluate(() => {
  const out = [];
  const visible = (e) => e.getClientRects().length > 0;
  const own = (e) => !e.closest('#whoami, h1 small, [data-time], .turn .user, .reply-text, .memory .text')
    && (!e.closest('#transcript') || e.closest('.tag, .divider'));
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (n.textContent.trim() && visible(e) && own(e)) out.push([e.id || e.className || e.tagName, n.textContent.trim()]);
  }
  for (const e of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (!visible(e)) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) if (e.getAttribute(a)) out.push([`${e.id || e.tagName}[${a}]`, e.getAttribute(a)]);
  }
  out.push(['title', document.title]);
  return out;
});

// In Chinese every text with letters has Chinese in it; in English none has Chinese; the switch
// names the other language in that language. No string key shows through.
function untranslated(strings, lang) {
  return strings.filter(([where, s]) => {
    if (/^[a-z]+(\.[a-zA-Z]+)+$/.test(s)) return true;
    if (where === 'lang') return s !== (lang === 'en' ? '中文' : 'English');
    if (lang === 'en') return /\p{Script=Han}/u.test(s);
    return /[A-Za-z]/.test(s.replace(/tianyi|Live2D|Cubism Core|live2dcubismcore\.min\.js|HTTPS/g, '')) && !/\p{Script=Han}/u.test(s);
  });
}

const LABELS = {
  '#send': ['Send', '发送'],
  '#stop': ['Stop', '停止'],
  '#mic': ['Talk', '说话'],
  '#listen': ['Hands-free', '连续对话'],
  '#logout': ['Log out', '退出'],
  '#lang': ['中文', 'English'],
  'button[data-view=chat]': ['Chat', '聊天'],
  'button[data-view=history]': ['History', '历史'],
  'button[data-view=profile]': ['Profile', '资料'],
  'button[data-view=memories]': ['Memories', '记忆'],
  '#conn-state': ['online', '在线'],
};

async function checkLanguage(page, lang) {
  const i = lang === 'en' ? 0 : 1;
  assert.equal(await page.evaluate(() => window.__tianyi.language), lang);
  for (const [sel, texts] of Object.entries(LABELS)) assert.equal((await page.locator(sel).textContent()).trim(), texts[i], sel);
  assert.equal(await page.getAttribute('#chat-input', 'placeholder'), ['Say something to Tianyi…', '和天依说点什么…'][i]);
  assert.equal(await page.getAttribute('html', 'lang'), ['en-US', 'zh-CN'][i]);
  for (const view of ['history', 'profile', 'memories', 'chat']) {
    await page.click(`button[data-view=${view}]`);
    if (view === 'history') await page.waitForSelector('#history-list li');
    if (view === 'memories') await page.waitForFunction(() => document.querySelector('#memories-note').textContent || document.querySelector('#memories-list li'));
    assert.deepEqual(untranslated(await pageStrings(page), lang), [], `${lang}, ${view} view`);
  }
}

test('the page speaks the browser\'s language (zh-CN: Chinese, en-US: English); the switch flips every string and is remembered', async () => {
  const zh = await openPage(stack, '', { ...DEVICES['phone-390'], locale: 'zh-CN' });
  assert.equal(await zh.locator('#login-form h2').textContent(), '登录');
  assert.deepEqual(untranslated(await pageStrings(zh), 'zh'), []);
  await registerAndLogin(zh, 'chinese');
  await zh.fill('#chat-input', '你好');
  await zh.tap('#send');
  await repliesDone(zh, 1);
  assert.equal(await zh.locator('#emotion-label').textContent(), '开心');
  await zh.waitForFunction(() => window.__tianyi.level === 0 && window.__tianyi.mouth === 0, null, { timeout: 15000 });
  await checkLanguage(zh, 'zh');
  await shot(zh, 'phone-zh');
  await zh.tap('#lang');
  await checkLanguage(zh, 'en');
  assert.equal(await zh.locator('#emotion-label').textContent(), 'happy');
  await zh.reload(); // the choice is kept over the browser's language
  await zh.waitForFunction(() => window.__tianyi.connection === 'online', null, { timeout: 30000 });
  await checkLanguage(zh, 'en');
  assert.deepEqual(zh.errors, []);
  await zh.context().close();

  const en = await openPage(stack, '', { ...DEVICES['desktop-1280'], locale: 'en-US' });
  assert.equal(await en.locator('#login-form h2').textContent(), 'Log in');
  assert.deepEqual(untranslated(await pageStrings(en), 'en'), []);
  await en.click('#lang');
  assert.equal(await en.locator('#login-form h2').textContent(), '登录');
  assert.deepEqual(untranslated(await pageStrings(en), 'zh'), []);
  await en.click('#lang');
  await registerAndLogin(en, 'english');
  await checkLanguage(en, 'en');
  await en.click('#lang');
  await checkLanguage(en, 'zh');
  await en.context().close();
});

test('every string key the client uses exists in both languages, with the same placeholders', () => {
  const app = readFileSync(join(WEB, 'app.js'), 'utf8');
  const start = app.indexOf('const STRINGS = ') + 'const STRINGS = '.length;
  const block = app.slice(start, app.indexOf('\n};\n', start) + 2);
  const STRINGS = new Function(`return ${block}`)();
  const params = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  assert.deepEqual(Object.keys(STRINGS.zh).sort(), Object.keys(STRINGS.en).sort());
  for (const [k, v] of Object.entries(STRINGS.en)) assert.deepEqual(params(STRINGS.zh[k]), params(v), k);
  const prefixes = [...new Set(Object.keys(STRINGS.en).map((k) => k.split('.')[0]))].join('|');
  const used = new Set();
  for (const f of readdirSync(WEB).filter((n) => /\.(js|html)$/.test(n))) {
    const src = readFileSync(join(WEB, f), 'utf8');
    for (const m of src.matchAll(new RegExp(`['"]((?:${prefixes})(?:\\.[a-zA-Z]+)+)['"]`, 'g'))) {
      if (!/\.(js|css|html)$/.test(m[1])) used.add(m[1]); // file names are not keys
    }
  }
  // Keys made at run time: 'state.' + the socket's states, 'status.' + a turn's, 'emotion.' + the persona's.
  for (const s of ['offline', 'connecting', 'online', 'reconnecting']) used.add('state.' + s);
  for (const s of ['completed', 'interrupted', 'failed']) used.add('status.' + s);
  for (const s of ['happy', 'angry', 'sad', 'surprised', 'coquettish', 'calm']) used.add('emotion.' + s);
  assert.ok(used.size > 80, `${used.size} keys found`);
  for (const k of used) assert.ok(k in STRINGS.en, `${k} has a string`);
});
