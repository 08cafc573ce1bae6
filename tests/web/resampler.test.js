// The microphone's resampler (resources/web/mic-worklet.js) in node: 48 kHz to 16 kHz keeps the speech
// band and filters what lies above the new Nyquist frequency instead of folding it into the speech band.
import { test } from 'node:test';
import assert from 'node:assert/strict';

globalThis.AudioWorkletProcessor = class {}; // the worklet scope's base class, unused here
const { Resampler } = await import('../../resources/web/mic-worklet.js');

const tone = (hz, rate, seconds, amp = 0.5) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin(2 * Math.PI * hz * i / rate));

// Resamples in blocks of 128 (what an AudioWorklet gets) and returns the output as -1..1.
function run(input, from, to = 16000) {
  const r = new Resampler(from, to);
  const out = [];
  for (let i = 0; i < input.length; i += 128) out.push(...r.push(input.subarray(i, i + 128)));
  return Float32Array.from(out, (v) => v / 32767);
}

const rms = (x, skip = 200) => Math.sqrt(x.slice(skip, -skip).reduce((s, v) => s + v * v, 0) / (x.length - 2 * skip));

test('48 kHz -> 16 kHz: a third of the samples, the speech band passes at full level', () => {
  for (const hz of [200, 1000, 3000, 6000]) {
    const out = run(tone(hz, 48000, 1), 48000);
    assert.ok(Math.abs(out.length - 16000) <= 64, `${out.length} samples`);
    const level = rms(out) / (0.5 / Math.SQRT2);
    assert.ok(level > 0.97 && level < 1.03, `${hz} Hz kept at ${level.toFixed(3)}`);
  }
});

test('48 kHz -> 16 kHz: what is above 8 kHz is filtered out, not folded into the speech band (> 50 dB down)', () => {
  for (const hz of [9000, 10000, 14000, 20000]) {
    const out = run(tone(hz, 48000, 1), 48000);
    const db = 20 * Math.log10(rms(out) / (0.5 / Math.SQRT2));
    assert.ok(db < -50, `${hz} Hz at ${db.toFixed(1)} dB`);
  }
});

test('44.1 kHz and 16 kHz devices: the blocks join without a click; 16 kHz passes unchanged', () => {
  const out = run(tone(440, 44100, 1), 44100);
  assert.ok(Math.abs(out.length - 16000) <= 64);
  // A pure tone has no sample-to-sample jump beyond its own slope (2*pi*440/16000*0.5 ~ 0.086).
  let worst = 0;
  for (let i = 201; i < out.length - 200; i++) worst = Math.max(worst, Math.abs(out[i] - out[i - 1]));
  assert.ok(worst < 0.1, `largest step ${worst}`);
  const same = run(tone(1000, 16000, 0.5), 16000);
  const level = rms(same) / (0.5 / Math.SQRT2);
  assert.ok(level > 0.97 && level < 1.03, `16 kHz kept at ${level}`);
});
