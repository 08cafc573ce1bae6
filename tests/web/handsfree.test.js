// Browser tests of hands-free talking (docs/web-client.md "Hands-free"), with Chromium's fake microphone
// playing a WAV made at test time: 1.5 s of silence, espeak-ng saying SPOKEN, then silence (played once:
// `%noloop`, so the utterance is not repeated). The server transcribes with the fake upstream's
// OpenAI-compatible transcription route (it answers SPOKEN whatever it hears; a batch ASR, so the
// server sends no partial transcripts: the test adds one). wstap.js sits on the socket to see what the
// page sends and to add server messages at chosen moments.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, openPage, registerAndLogin, DEVICES, layoutProblems } from './stack.js';
import { speechWav } from './speech.js';
import { tapSocket } from './wstap.js';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
const SPOKEN = '今天天气怎么样';
const FRAME_BYTES = 640; // 20 ms of 16 kHz s16le
let stack;
let noAsr;
let backchannel; // its microphone says only 嗯 (about 280 ms of voice): a backchannel, not a barge-in
let streaming;   // recognizes with the fake FunASR (asr.provider funasr): partial transcripts while spoken
let wav;
let hmm;

const voiceArgs = (file) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  `--use-file-for-fake-audio-capture=${file}%noloop`];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  wav = speechWav(SPOKEN, { leadS: 1.5, tailS: 40 });
  // Her voice in real time (TTS real-time factor 1), so she is still speaking when the user talks over her.
  stack = await startStack({ fakeArgs: ['--asr-text', SPOKEN, '--tts-rtf', '1'], browserArgs: voiceArgs(wav.path) });
  noAsr = await startStack({ serverEnv: { TIANYI_ASR_BASE_URL: null }, browserArgs: voiceArgs(wav.path) });
  hmm = speechWav('嗯', { leadS: 1.5, tailS: 40 });
  backchannel = await startStack({ fakeArgs: ['--asr-text', SPOKEN, '--tts-rtf', '1'], browserArgs: voiceArgs(hmm.path) });
  streaming = await startStack({ funasr: true, fakeArgs: ['--funasr-text', SPOKEN], browserArgs: voiceArgs(wav.path) });
});

after(async () => {
  const stacks = [stack, noAsr, backchannel, streaming];
  if (process.exitCode) for (const s of stacks) if (s) console.error(s.logs.join(''));
  for (const s of stacks) await s?.stop();
  for (const w of [wav, hmm]) if (w) rmSync(w.dir, { recursive: true, force: true });
});

const userLines = (page) => page.evaluate(() => [...document.querySelectorAll('#transcript li.user')].map((li) => li.textContent));
const T = (page, fn, arg, timeout = 30000) => page.waitForFunction(fn, arg, { timeout });

async function chatPage(s, name, device = DEVICES['desktop-1280'], tapOptions = {}) {
  const page = await openPage(s, '', device);
  const tap = await tapSocket(page, tapOptions);
  await registerAndLogin(page, name);
  return { page, tap };
}

test('a hands-free turn: the toggle streams 20 ms frames after listening, shows what is heard, the final transcript is the user\'s line, she answers; off sends listen_stop', async () => {
  const { page, tap } = await chatPage(stack, 'hf_turn');
  const listen = page.locator('#listen');
  await T(page, () => window.__tianyi.speechInput === true && !document.querySelector('#listen').disabled);
  assert.equal(await listen.getAttribute('aria-pressed'), 'false');
  assert.ok(await page.locator('#mic-level').isHidden());

  await listen.click();
  await T(page, () => window.__tianyi.listen === 'listening');
  assert.equal(await listen.getAttribute('aria-pressed'), 'true');
  assert.deepEqual(tap.fromPage.find((m) => m.type === 'listen_start'), { type: 'listen_start', sample_rate: 16000, format: 'pcm_s16le' });
  assert.equal(tap.binaryBeforeListening, 0, 'no PCM before the server said listening');
  assert.match(await page.locator('#hearing').textContent(), /Listening/);
  assert.ok(await page.locator('#mic').isDisabled(), 'Talk is off while hands-free hears everything');

  // The file's first 1.5 s are silence: the meter rests…
  assert.equal(await page.evaluate(() => window.__tianyi.meter), 0);
  // …and moves with the speech.
  await T(page, () => window.__tianyi.meter > 0.4);
  await T(page, () => window.__tianyi.hearing !== null);
  assert.equal(await page.locator('#hearing').textContent(), 'Hearing…');
  // A streaming ASR's partial transcript (this batch one sends none: the test adds one while the user
  // still speaks): shown as heard, over the input, never in it.
  const { utterance } = tap.fromServer.find((m) => m.type === 'speech_start');
  tap.toPage({ type: 'transcript', utterance, text: '今天天气', final: false });
  await T(page, () => document.querySelector('#hearing').textContent === 'Hearing: 今天天气');
  await page.screenshot({ path: join(SHOTS, 'hands-free-desktop.png') });
  assert.equal(await page.inputValue('#chat-input'), '', 'what is heard never becomes a typed draft');
  assert.deepEqual(await userLines(page), []);

  await T(page, (text) => [...document.querySelectorAll('#transcript li.user')].some((li) => li.textContent === text), SPOKEN);
  await T(page, () => document.querySelector('#transcript li.reply.completed'));
  assert.deepEqual(await userLines(page), [SPOKEN], 'the final transcript is the user\'s line, once');
  assert.equal(await page.inputValue('#chat-input'), '');
  const turn = await page.evaluate(() => window.__tianyi.lastTurn);
  assert.ok(await page.evaluate((t) => window.__tianyi.chunksOfTurn(t), turn) > 0, 'her answer\'s audio arrived');
  const events = await page.evaluate(() => window.__tianyi.events);
  for (const [a, b] of [['listening', 'speech_start'], ['speech_start', 'speech_end'], ['speech_end', 'turn_start']]) {
    assert.ok(events.indexOf(a) >= 0 && events.indexOf(a) < events.indexOf(b), `${a} before ${b}: ${events}`);
  }
  assert.ok(await page.locator('#hearing').isVisible());
  assert.doesNotMatch(await page.locator('#hearing').textContent(), /Hearing/, 'the hearing line is cleared by the final transcript');

  // Silence after the utterance: the meter rests again.
  await T(page, () => window.__tianyi.meter === 0 && window.__tianyi.micLevel < 0.001);
  assert.equal(await page.locator('#mic-level').getAttribute('aria-valuenow'), '0');

  const sizes = new Set(tap.binary);
  assert.deepEqual([...sizes], [FRAME_BYTES], 'every frame is 20 ms of 16 kHz s16le');
  assert.ok(tap.binary.length >= 100, `${tap.binary.length} frames`);

  await listen.click();
  await T(page, () => window.__tianyi.listen === 'off');
  assert.equal(tap.fromPage.at(-1).type, 'listen_stop');
  assert.equal(await listen.getAttribute('aria-pressed'), 'false');
  assert.ok(await page.locator('#mic-level').isHidden());
  // A chat after it: by then every frame the page sent has passed; none came after listen_stop.
  await page.fill('#chat-input', '草莓');
  await page.click('#send');
  await T(page, () => document.querySelectorAll('#transcript li.reply.completed').length === 2);
  assert.equal(tap.binaryAfterStop, 0);
  assert.equal(tap.closed, null);
  await page.context().close();
});

test('a streaming ASR (FunASR): its partial transcripts are shown as heard while the user speaks (Chinese page, phone)', async () => {
  const { page, tap } = await chatPage(streaming, 'hf_stream', { ...DEVICES['phone-390'], locale: 'zh-CN' });
  await page.tap('#listen');
  await T(page, () => window.__tianyi.listen === 'listening');
  assert.equal(await page.locator('#hearing').textContent(), '正在听，直接说话就行。');
  await T(page, () => /^听到：\S/.test(document.querySelector('#hearing').textContent));
  const shown = (await page.locator('#hearing').textContent()).replace(/^听到：/, '');
  const partials = tap.fromServer.filter((m) => m.type === 'transcript' && m.final === false).map((m) => m.text);
  assert.ok(partials.includes(shown), `"${shown}" is one of the partials ${JSON.stringify(partials)}`);
  assert.ok(SPOKEN.startsWith(shown.replace(/\s/g, '')), `"${shown}" is the start of what is said`);
  assert.equal(await page.inputValue('#chat-input'), '');
  await page.screenshot({ path: join(SHOTS, 'hands-free-phone-zh.png') });
  await T(page, (text) => [...document.querySelectorAll('#transcript li.user')].some((li) => li.textContent === text), SPOKEN);
  await T(page, () => document.querySelector('#transcript li.reply.completed'));
  assert.deepEqual(await userLines(page), [SPOKEN]);
  assert.equal(await page.locator('#hearing').textContent(), '正在听，直接说话就行。');
  // Listening, the bar fits every phone: 390 px, 320 px, held sideways.
  for (const viewport of [DEVICES['phone-390'].viewport, DEVICES['phone-320'].viewport, DEVICES['phone-landscape'].viewport]) {
    await page.setViewportSize(viewport);
    assert.deepEqual(await layoutProblems(page, ['#listen', '#mic-level', '#hearing', '#chat-input', '#send', '#avatar']), [], JSON.stringify(viewport));
  }
  await page.tap('#listen');
  await T(page, () => window.__tianyi.listen === 'off');
  await page.context().close();
});

test('duck lowers her voice smoothly to a quarter, unduck brings it back; a hidden or closed page stops listening; errors that end listening turn it off', async () => {
  const { page, tap } = await chatPage(stack, 'hf_duck');
  await page.fill('#chat-input', '讲个故事');
  await page.click('#send');
  await T(page, () => window.__tianyi.activeTurn !== null && window.__tianyi.level > 0);
  const turn = await page.evaluate(() => window.__tianyi.activeTurn);
  assert.deepEqual(await page.evaluate(() => window.__tianyi.volume), { now: 1, target: 1 });
  tap.toPage({ type: 'duck', turn });
  await T(page, () => window.__tianyi.volume.target === 0.25);
  // A glide, not a jump: on its way down it passes values between full and ducked.
  const seen = await page.evaluate(() => new Promise((resolve) => {
    const values = [];
    const t0 = performance.now();
    (function sample() {
      values.push(window.__tianyi.volume.now);
      if (window.__tianyi.volume.now > 0.26 && performance.now() - t0 < 5000) requestAnimationFrame(sample);
      else resolve(values);
    })();
  }));
  assert.ok(seen.at(-1) <= 0.26, `ducked to ${seen.at(-1)}`);
  assert.ok(seen.some((v) => v < 0.99 && v > 0.26) || seen.length === 1, `glided: ${seen.map((v) => v.toFixed(2))}`);
  // She goes on, quieter: her turn still plays and makes sound after the duck. (Her level is 0 in
  // the pauses between sentences, so it is waited for, not sampled once.)
  await T(page, (t) => window.__tianyi.activeTurn === t && window.__tianyi.level > 0 && window.__tianyi.volume.now <= 0.26, turn, 10000);
  tap.toPage({ type: 'unduck', turn });
  await T(page, () => window.__tianyi.volume.target === 1 && window.__tianyi.volume.now > 0.99);
  assert.ok(!tap.sentTypes().includes('stop'), 'duck and unduck stop nothing');

  // Hands-free on, then the page is hidden (another tab, the phone locked): listen_stop.
  await page.click('#listen');
  await T(page, () => window.__tianyi.listen === 'listening');
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await T(page, () => window.__tianyi.listen === 'off');
  assert.ok(tap.sentTypes().includes('listen_stop'));

  // The server ends listening (a cap): hands-free turns off and says why; a failed recognition does not.
  await page.click('#listen');
  await T(page, () => window.__tianyi.listen === 'listening');
  tap.toPage({ type: 'error', code: 'asr_failed', message: 'speech recognition failed (timeout); listening goes on', utterance: 1 });
  await T(page, () => /could not be understood/.test(document.querySelector('#banner').textContent));
  assert.equal(await page.evaluate(() => window.__tianyi.listen), 'listening');
  const stops = tap.sentTypes().filter((t) => t === 'listen_stop').length;
  tap.toPage({ type: 'error', code: 'listen_timeout', message: 'no speech for 300 s', listening: false });
  await T(page, () => window.__tianyi.listen === 'off');
  assert.match(await page.locator('#banner').textContent(), /turned itself off after a long time without speech/);
  assert.equal(await page.locator('#listen').getAttribute('aria-pressed'), 'false');
  assert.equal(tap.sentTypes().filter((t) => t === 'listen_stop').length, stops, 'the server ended it: nothing to stop');

  await page.context().close();

  // Closing a page while listening sends listen_stop (the injected timeout above left the server listening
  // for that page, so this is another one).
  const other = await chatPage(stack, 'hf_close');
  await other.page.click('#listen');
  await T(other.page, () => window.__tianyi.listen === 'listening');
  await other.page.close({ runBeforeUnload: true });
  const deadline = Date.now() + 10000;
  while (!other.tap.sentTypes().includes('listen_stop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(other.tap.sentTypes().includes('listen_stop'));
  await other.page.context().close();
});

test('speaking over her: her voice is ducked, then stopped at once (stopped, reason voice); what was said is the next turn', async () => {
  const { page, tap } = await chatPage(stack, 'hf_bargein', DEVICES['phone-390']);
  await page.fill('#chat-input', '讲个故事');
  await page.tap('#send');
  await T(page, () => window.__tianyi.activeTurn !== null && window.__tianyi.level > 0);
  const turn = await page.evaluate(() => window.__tianyi.activeTurn);
  await page.tap('#listen');
  await T(page, () => window.__tianyi.volume.target === 0.25);
  await T(page, () => window.__tianyi.hearing !== null);
  assert.deepEqual(await layoutProblems(page, ['#chat-input', '#send', '#listen', '#mic-level', '#hearing', '#avatar']), []);
  await page.screenshot({ path: join(SHOTS, 'hands-free-phone.png') });
  await T(page, () => window.__tianyi.events.includes('stopped'));
  const stopped = tap.fromServer.find((m) => m.type === 'stopped');
  assert.equal(stopped.turn, turn);
  assert.equal(stopped.reason, 'voice');
  // Her audio stops at once: nothing of the turn plays after `stopped`, and she is back at full volume.
  assert.equal(await page.evaluate(() => window.__tianyi.level), 0);
  await T(page, () => window.__tianyi.volume.target === 1);
  await T(page, (t) => document.querySelector(`#transcript li.reply.interrupted[data-turn="${t}"]`), turn);
  await T(page, (text) => [...document.querySelectorAll('#transcript li.user')].some((li) => li.textContent === text), SPOKEN);
  await T(page, () => document.querySelector('#transcript li.reply.completed'));
  assert.deepEqual(await userLines(page), ['讲个故事', SPOKEN]);
  const events = await page.evaluate(() => window.__tianyi.events);
  assert.ok(events.indexOf('duck') < events.indexOf('stopped'), events.join());
  assert.ok(!tap.fromServer.some((m) => m.type === 'unduck'), 'a confirmed interruption is not unducked');
  await page.tap('#listen');
  await T(page, () => window.__tianyi.listen === 'off');
  await page.context().close();
});

test('a short "嗯" while she speaks: the server ducks her, then unducks; she goes on to the end and nothing becomes a turn', async () => {
  const { page, tap } = await chatPage(backchannel, 'hf_hmm');
  await page.fill('#chat-input', '讲个故事');
  await page.click('#send');
  await T(page, () => window.__tianyi.activeTurn !== null && window.__tianyi.level > 0);
  const turn = await page.evaluate(() => window.__tianyi.activeTurn);
  await page.click('#listen');
  await T(page, () => window.__tianyi.volume.target === 0.25);
  await T(page, () => window.__tianyi.volume.now < 0.3);
  await T(page, () => window.__tianyi.events.includes('unduck'));
  await T(page, () => window.__tianyi.volume.target === 1 && window.__tianyi.volume.now > 0.99);
  assert.equal(tap.fromServer.find((m) => m.type === 'unduck').turn, turn);
  await T(page, (t) => document.querySelector(`#transcript li.reply.completed[data-turn="${t}"]`), turn, 60000);
  assert.ok(!tap.fromServer.some((m) => m.type === 'stopped'), 'a backchannel does not stop her');
  assert.deepEqual(await userLines(page), ['讲个故事']);
  assert.equal(await page.evaluate(() => window.__tianyi.hearing), null);
  await page.click('#listen');
  await page.context().close();
});

test('without speech recognition: Talk and Hands-free are disabled and say why; nothing is sent and the socket stays', async () => {
  const { page, tap } = await chatPage(noAsr, 'hf_no_asr', DEVICES['phone-390']);
  await T(page, () => window.__tianyi.speechInput === false);
  for (const sel of ['#listen', '#mic']) {
    assert.ok(await page.locator(sel).isDisabled(), sel);
    assert.match(await page.locator(sel).getAttribute('title'), /Speech input is not configured on this server/);
    assert.equal(await page.locator(sel).getAttribute('aria-describedby'), 'mic-note');
  }
  assert.match(await page.locator('#mic-note').textContent(), /Speech input is not configured on this server/);
  await page.locator('#listen').click({ force: true }); // a disabled button does nothing
  await page.screenshot({ path: join(SHOTS, 'hands-free-off.png') });
  assert.ok(!tap.sentTypes().includes('listen_start'));
  assert.equal(await page.evaluate(() => window.__tianyi.listen), 'off');

  // A page that learned nothing (no /readyz, a hello without speech_input) offers it; the server's refusal
  // of listen_start turns it off again before a single frame is sent, and the socket stays open.
  const blind = await openPage(noAsr, '', DEVICES['phone-390']);
  await blind.context().route((u) => u.pathname.endsWith('/readyz'), (route) => route.abort());
  const blindTap = await tapSocket(blind, { rewrite: (m) => {
    if (m.type === 'hello') { delete m.speech_input; delete m.listening; }
    return m;
  } });
  await blind.reload(); // the page asked /readyz as it loaded
  await registerAndLogin(blind, 'hf_no_asr_blind');
  assert.equal(await blind.evaluate(() => window.__tianyi.speechInput), null);
  await blind.tap('#listen');
  await T(blind, () => window.__tianyi.events.includes('error'));
  await T(blind, () => window.__tianyi.listen === 'off');
  assert.ok(blindTap.sentTypes().includes('listen_start'));
  assert.ok(blindTap.fromServer.some((m) => m.type === 'error' && m.code === 'asr_unavailable'));
  assert.match(await blind.locator('#banner').textContent(), /Speech input is not configured/);
  await T(blind, () => document.querySelector('#listen').disabled && document.querySelector('#mic').disabled);
  assert.match(await blind.locator('#mic-note').textContent(), /Speech input is not configured/);
  await blind.fill('#chat-input', '你好');
  await blind.tap('#send');
  await T(blind, () => document.querySelector('#transcript li.reply.completed'));
  assert.equal(blindTap.binary.length, 0, 'not one PCM frame');
  assert.equal(blindTap.closed, null);
  assert.equal(await blind.evaluate(() => window.__tianyi.events.filter((e) => e === 'hello').length), 1);
  await blind.context().close();
  await page.context().close();
});

test('a server with speech input that takes no listen_start (hello.listening false): Talk stays, Hands-free is disabled and says why', async () => {
  const page = await openPage(stack);
  const tap = await tapSocket(page, { rewrite: (m) => (m.type === 'hello' ? { ...m, listening: false } : m) });
  await registerAndLogin(page, 'hf_talk_only');
  await T(page, () => window.__tianyi.speechInput === true && document.querySelector('#listen').disabled);
  assert.ok(await page.locator('#mic').isEnabled());
  assert.match(await page.locator('#listen').getAttribute('title'), /does not offer hands-free/);
  assert.match(await page.locator('#mic-note').textContent(), /does not offer hands-free/);
  await page.locator('#listen').click({ force: true });
  assert.ok(!tap.sentTypes().includes('listen_start'));
  await page.context().close();
});

test('already_listening in answer to listen_start (the server\'s stream is open and goes on) is taken as listening', async () => {
  const page = await openPage(stack);
  const tap = await tapSocket(page, {
    rewrite: (m) => (m.type === 'listening' ? { type: 'error', code: 'already_listening', message: 'already listening; send listen_stop first to start again' } : m),
  });
  await registerAndLogin(page, 'hf_already');
  await page.click('#listen');
  await T(page, () => window.__tianyi.listen === 'listening');
  const frames = tap.binary.length;
  await T(page, (n) => window.__tianyi.listenSent?.frames > n + 10, frames);
  assert.ok(await page.locator('#banner').isHidden(), 'not shown as a failure');
  await page.click('#listen');
  await T(page, () => window.__tianyi.listen === 'off');
  assert.equal(tap.fromPage.at(-1).type, 'listen_stop');
  await page.context().close();
});
