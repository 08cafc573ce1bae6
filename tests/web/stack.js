// Starts tianyi-fake-upstream and a real tianyi-server wired to it (own data dir, free ports),
// and chromium through playwright-core. Binaries come from TIANYI_SERVER_BIN / TIANYI_FAKE_BIN.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { chromium } from 'playwright-core';

export const REPLY = '[开心]你好！很高兴见到你。';
export const STORY = '[惊讶]诶？真的吗？从前有座山，山上有座庙。庙里有个老和尚，在给小和尚讲故事。故事讲的是什么呢？从前有座山，山上有座庙。';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (path of the binary); run tests/web/run.sh from ctest`);
  return v;
}

// Resolves with the first stdout match of re; rejects when the process exits first or after timeoutMs.
function waitForLine(proc, re, what, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs} ms:\n${buf}`)), timeoutMs);
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}:\n${buf}`)); });
  });
}

// options: serverEnv (extra environment of the server; null removes a variable), fakeArgs (extra flags of the fake),
// browserArgs (extra chromium flags), webgl (software WebGL for Live2D), funasr (the fake also serves FunASR's
// streaming WebSocket and the server recognizes speech with it: asr.provider funasr; partial transcripts).
export async function startStack(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tianyi-web-'));
  const script = join(dir, 'script.json');
  // The memory extractor's prompt carries "User: <text>": that reply is the JSON it asks for.
  writeFileSync(script, JSON.stringify({
    '故事': STORY,
    '草莓': '[开心]草莓很好吃呢！',
    'User: 我喜欢草莓': '[{"text":"你喜欢草莓","kind":"preference","importance":0.8}]',
  }));
  const voices = join(dir, 'voices.json');
  writeFileSync(voices, JSON.stringify({ default: { ref_audio_path: 'x.wav', prompt_text: '你好', prompt_lang: 'zh' } }));
  const logs = [];
  const keep = (p, name) => {
    p.stderr.on('data', (d) => { logs.push(`[${name}] ${d}`); if (logs.length > 400) logs.shift(); });
  };

  const fake = spawn(need('TIANYI_FAKE_BIN'), ['--port', '0', '--reply', REPLY, '--script', script,
    ...(options.funasr ? ['--funasr-port', '0'] : []),
    '--tokens-per-second', '30', '--ttft-ms', '50', '--tts-rtf', '0.2', '--tts-first-chunk-ms', '50', ...(options.fakeArgs || [])],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  keep(fake, 'fake');
  const [fakeUrl, funasrUrl] = await Promise.all([
    waitForLine(fake, /listening on (http:\/\/\S+)/, 'tianyi-fake-upstream'),
    options.funasr ? waitForLine(fake, /FunASR listening on (wss?:\/\/\S+)/, 'the fake FunASR') : null,
  ]);

  const env = {
    ...process.env,
    TIANYI_LLM_BASE_URL: fakeUrl + '/v1',
    TIANYI_TTS_BASE_URLS: fakeUrl,
    TIANYI_TTS_VOICES_FILE: voices,
    TIANYI_ASR_BASE_URL: funasrUrl || fakeUrl + '/v1',
    ...(funasrUrl ? { TIANYI_ASR_PROVIDER: 'funasr' } : {}),
    TIANYI_AUTH_ARGON2_OPS_LIMIT: '1',
    TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB: '8',
    QT_LOGGING_RULES: 'tianyi.*.debug=false',
    ...(options.serverEnv || {}),
  };
  for (const [k, v] of Object.entries(env)) if (v === null) delete env[k];
  const startServer = async (port) => {
    const p = spawn(need('TIANYI_SERVER_BIN'), ['--port', String(port), '--data-dir', join(dir, 'data')],
      { stdio: ['ignore', 'pipe', 'pipe'], env });
    keep(p, 'server');
    return [p, (await waitForLine(p, /Browser:\s*(http:\/\/\S+?)\/?\s/, 'tianyi-server', 120000)) + '/'];
  };
  let [server, base] = await startServer(0);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    // WebGL (Live2D) in headless chromium: SwiftShader, the software renderer; else no GPU at all.
    args: ['--no-sandbox', ...(options.webgl ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] : ['--disable-gpu']),
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required', ...(options.browserArgs || []),
      // A page served by a route counts as public: let it reach the server on 127.0.0.1 (TIANYI_WEB_DIR).
      ...(process.env.TIANYI_WEB_DIR ? ['--disable-features=LocalNetworkAccessChecks'] : [])],
  });

  const exited = (p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.on('exit', r)));
  return {
    base, browser, logs, fakeUrl,
    // Stops the server (clients see close 1001) and starts it again on the same port and data.
    async restartServer() {
      server.kill('SIGTERM');
      await exited(server);
      [server] = await startServer(new URL(base).port);
    },
    async stop() {
      await browser.close().catch(() => {});
      for (const p of [server, fake]) if (p.exitCode === null) p.kill('SIGTERM');
      await Promise.all([server, fake].map(exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Phones and a desktop, as the layout tests use them.
export const DEVICES = {
  'phone-390': { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  'phone-320': { viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true },
  'phone-landscape': { viewport: { width: 844, height: 390 }, isMobile: true, hasTouch: true },
  'desktop-1280': { viewport: { width: 1280, height: 800 } },
};

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

// TIANYI_WEB_DIR=resources/web serves the page's files from that directory instead of the copy
// compiled into the server: for working on the client without rebuilding. Unset in ctest.
async function serveWebDir(context, base) {
  const dir = process.env.TIANYI_WEB_DIR;
  if (!dir) return;
  await context.route((u) => u.href.startsWith(base) && !/^\/(api|ws|live2d|readyz)(\/|$)/.test(u.pathname), (route) => {
    const name = new URL(route.request().url()).pathname.replace(/^\//, '') || 'index.html';
    const file = join(dir, name);
    if (!existsSync(file)) return route.continue();
    return route.fulfill({ body: readFileSync(file), contentType: TYPES[extname(name)] || 'application/octet-stream' });
  });
}

// A fresh browser context (its own sessionStorage and localStorage) on the client page, with console
// errors kept. contextOptions: playwright's (viewport, isMobile, hasTouch, locale; en-US unless given).
export async function openPage(stack, query = '', contextOptions = {}) {
  const context = await stack.browser.newContext({ viewport: { width: 1000, height: 640 }, locale: 'en-US', ...contextOptions });
  await serveWebDir(context, stack.base);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  await page.goto(stack.base + query);
  return page;
}

// What does not fit: horizontal overflow of the page, controls outside the viewport or smaller than
// a fingertip (44 px), for the visible ones of `selectors` and every visible button and input.
export async function layoutProblems(page, selectors) {
  return page.evaluate((must) => {
    const problems = [];
    const W = innerWidth;
    const H = innerHeight;
    if (document.scrollingElement.scrollWidth > W) problems.push(`page is ${document.scrollingElement.scrollWidth} px wide in ${W}`);
    const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    const name = (e) => e.id ? '#' + e.id : `${e.tagName.toLowerCase()}.${e.className} "${e.textContent.trim().slice(0, 20)}"`;
    for (const sel of must) {
      const e = document.querySelector(sel);
      if (!e || !visible(e)) { problems.push(`${sel} is not shown`); continue; }
      const r = e.getBoundingClientRect();
      if (r.left < 0 || r.top < 0 || r.right > W + 0.5 || r.bottom > H + 0.5) problems.push(`${sel} is outside the viewport (${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}x${Math.round(r.height)})`);
    }
    for (const e of document.querySelectorAll('button, input, textarea')) {
      if (!visible(e)) continue;
      const r = e.getBoundingClientRect();
      if (r.height < 44 || (e.tagName === 'BUTTON' && r.width < 44)) problems.push(`${name(e)} is ${Math.round(r.width)}x${Math.round(r.height)}`);
      if (r.right > W + 0.5) problems.push(`${name(e)} reaches x=${Math.round(r.right)}`);
      if (e.tagName === 'BUTTON' && e.scrollWidth > e.clientWidth + 1) problems.push(`${name(e)}: its label is cut`);
    }
    return problems;
  }, selectors);
}

export async function registerAndLogin(page, username, password = 'correct horse battery staple') {
  const f = page.locator('#register-form');
  await f.locator('input[name=username]').fill(username);
  await f.locator('input[name=nickname]').fill(username + ' nick');
  await f.locator('input[name=password]').fill(password);
  await f.locator('button[type=submit]').click();
  await page.waitForFunction(() => window.__tianyi.connection === 'online', null, { timeout: 30000 });
}

export const state = (page) => page.evaluate(() => ({ ...Object.fromEntries(
  ['scheduledChunks', 'droppedChunks', 'mouth', 'expression', 'playedMs', 'activeTurn', 'lastTurn', 'level', 'connection', 'audioState']
    .map((k) => [k, window.__tianyi[k]])) }));
