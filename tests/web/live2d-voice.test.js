// Browser tests of the configured Live2D avatar and of talking by voice, against a real tianyi-server
// + tianyi-fake-upstream (its transcription route stands in for the ASR service).
//
// The Live2D model is real: Live2D's sample model Haru and Live2D Cubism Core come from the npm package
// live2dcubismcore (a test-only dependency; tianyi never ships Cubism Core, see docs/web-client.md),
// pixi.js and pixi-live2d-display from packaging/install-live2d-libs.sh, as a deployer would install
// them. Haru has no expressions, so the test adds two small exp3 files and lists them in a copy of its
// model3.json; the persona maps the emotions happy/surprised to expressions of the same names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, openPage, registerAndLogin } from './stack.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(HERE, '..', '..', 'docs', 'screenshots');
const HARU = join(HERE, 'node_modules', 'live2dcubismcore', 'characters', 'haru_greeter_pro_jp', 'runtime');
const MODEL = 'haru/haru_greeter_t03.model3.json';
const SPOKEN = '我想听你唱歌';
let stack;
let live2dDir;

function prepareLive2dDir() {
  const dir = mkdtempSync(join(tmpdir(), 'tianyi-live2d-'));
  execFileSync(join(HERE, '..', '..', 'packaging', 'install-live2d-libs.sh'), [dir], { stdio: 'ignore' });
  cpSync(join(HERE, 'node_modules', 'live2dcubismcore', 'live2dcubismcore.min.js'), join(dir, 'lib', 'live2dcubismcore.min.js'));
  cpSync(HARU, join(dir, 'haru'), { recursive: true });
  mkdirSync(join(dir, 'haru', 'exp'));
  const expression = (id, value) => JSON.stringify({ Type: 'Live2D Expression', Parameters: [{ Id: id, Value: value, Blend: 'Overwrite' }] });
  writeFileSync(join(dir, 'haru', 'exp', 'happy.exp3.json'), expression('ParamEyeLSmile', 1));
  writeFileSync(join(dir, 'haru', 'exp', 'surprised.exp3.json'), expression('ParamEyeLOpen', 1.6));
  const modelPath = join(dir, MODEL);
  const model = JSON.parse(readFileSync(modelPath, 'utf8'));
  model.FileReferences.Expressions = [
    { Name: 'happy', File: 'exp/happy.exp3.json' },
    { Name: 'surprised', File: 'exp/surprised.exp3.json' },
  ];
  writeFileSync(modelPath, JSON.stringify(model));
  return dir;
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  live2dDir = prepareLive2dDir();
  stack = await startStack({
    serverEnv: { TIANYI_WEB_LIVE2D_DIR: live2dDir, TIANYI_WEB_LIVE2D_MODEL: MODEL },
    fakeArgs: ['--asr-text', SPOKEN],
    webgl: true,
    // A fake microphone (a tone) that needs no permission prompt.
    browserArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  });
});

after(async () => {
  if (process.exitCode && stack) console.error(stack.logs.join(''));
  await stack?.stop();
  if (live2dDir) rmSync(live2dDir, { recursive: true, force: true });
});

test('the server serves the Live2D directory safely', async () => {
  const get = (path) => fetch(stack.base + path).then((r) => r.status);
  assert.equal(await get(`live2d/${MODEL}`), 200);
  assert.equal(await get('live2d/lib/cubism4.min.js'), 200);
  assert.equal(await get('live2d/haru/missing.json'), 404);
  assert.equal(await get('live2d/'), 404);
  assert.equal(await get('live2d/%2e%2e/etc/passwd'), 404);
  const model = await fetch(stack.base + `live2d/${MODEL}`).then((r) => r.json());
  assert.equal(model.FileReferences.Expressions.length, 2);
});

test('the configured Live2D model is shown: her mouth parameter follows the voice, emotions set its expression', async () => {
  const page = await openPage(stack); // no page parameters: the server's configuration alone
  await registerAndLogin(page, 'dave');
  await page.waitForFunction(() => window.__tianyi.live2d !== null, null, { timeout: 60000 });
  assert.ok(await page.locator('#avatar-note').isHidden());
  await page.fill('#chat-input', '你好');
  await page.click('#send');
  await page.waitForFunction(() => window.__tianyi.scheduledChunks > 0, null, { timeout: 30000 });
  let maxMouth = 0;
  let shotTaken = false;
  const t0 = Date.now();
  while (Date.now() - t0 < 8000) {
    const l2d = await page.evaluate(() => window.__tianyi.live2d);
    maxMouth = Math.max(maxMouth, l2d.mouthParam);
    if (!shotTaken && l2d.mouthParam > 0.3) {
      await page.screenshot({ path: join(SHOTS, 'web-live2d.png') });
      shotTaken = true;
    }
    if (maxMouth > 0.3 && (await page.evaluate(() => window.__tianyi.activeTurn === null && window.__tianyi.level === 0))) break;
    await page.waitForTimeout(40);
  }
  assert.ok(maxMouth > 0.3, `the model's ParamMouthOpenY followed the voice (max ${maxMouth})`);
  // The reply starts with [开心]: the persona maps happy -> the model's expression "happy".
  await page.waitForFunction(() => window.__tianyi.live2d.expression === 'happy', null, { timeout: 15000 });
  await page.waitForFunction(() => window.__tianyi.live2d.mouthParam < 0.05, null, { timeout: 15000 });
  await page.context().close();
});

test('talking by voice: the microphone streams 16 kHz PCM, the transcript is shown and she answers', async () => {
  const page = await openPage(stack);
  await registerAndLogin(page, 'erin');
  await page.click('#mic');
  await page.waitForFunction(() => window.__tianyi.mic === 'recording', null, { timeout: 15000 });
  await page.waitForFunction(() => window.__tianyi.micSeconds >= 0.6, null, { timeout: 15000 });
  await page.click('#mic');
  assert.equal(await page.evaluate(() => window.__tianyi.mic), 'idle');
  await page.waitForFunction((text) => [...document.querySelectorAll('#transcript li.user')].some((li) => li.textContent === text),
    SPOKEN, { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#transcript li.reply.completed'), null, { timeout: 30000 });
  // The ASR service got a WAV as long as what was recorded (16 kHz mono s16le: 32000 bytes a second).
  const requests = await fetch(stack.fakeUrl + '/_fake/requests').then((r) => r.json());
  const asr = requests.filter((r) => String(r.path).endsWith('/audio/transcriptions'));
  assert.equal(asr.length, 1);
  const seconds = await page.evaluate(() => window.__tianyi.micSeconds);
  assert.ok(seconds >= 0.6, `recorded ${seconds} s`);
  assert.match(asr[0].body, /RIFF[\s\S]*WAVE/);
  const pcmBytes = Math.round(seconds * 32000);
  assert.ok(asr[0].bodySize >= pcmBytes && asr[0].bodySize < pcmBytes + 2048, `WAV upload of ${asr[0].bodySize} bytes for ${seconds} s of PCM`);
  await page.screenshot({ path: join(SHOTS, 'web-voice.png') });
  await page.context().close();
});
