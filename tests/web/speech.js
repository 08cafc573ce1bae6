// Speech for Chromium's fake microphone, made at test time (no audio files in the repository):
// espeak-ng says the words, node pads them with silence and writes a 16-bit mono WAV at 48 kHz.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const WAV_RATE = 48000;

// The samples of a 16-bit mono PCM WAV (espeak-ng's): {rate, samples: Int16Array}. espeak-ng may leave
// the data chunk's size unset when it writes to a file, so the data runs to the end of the file.
export function readWav(bytes) {
  const b = Buffer.from(bytes);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let at = 12;
  let rate = 0;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      if (b.readUInt16LE(at + 8) !== 1 || b.readUInt16LE(at + 10) !== 1 || b.readUInt16LE(at + 22) !== 16) throw new Error('not 16-bit mono PCM');
      rate = b.readUInt32LE(at + 12);
    } else if (id === 'data') {
      const avail = b.length - at - 8;
      const len = (size > 0 && size <= avail ? size : avail) & ~1;
      const data = b.subarray(at + 8, at + 8 + len);
      return { rate, samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)) };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}

export function wavBytes(samples, rate) {
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(36 + samples.length * 2, 4);
  head.write('WAVEfmt ', 8, 'ascii');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * 2, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36, 'ascii');
  head.writeUInt32LE(samples.length * 2, 40);
  return Buffer.concat([head, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]);
}

// Linear interpolation is enough here: espeak-ng's 22.05 kHz has nothing above its Nyquist frequency to alias.
export function resample(samples, from, to) {
  const n = Math.floor(samples.length * to / from);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const p = i * from / to;
    const k = Math.floor(p);
    const f = p - k;
    out[i] = Math.round(samples[k] * (1 - f) + (samples[Math.min(k + 1, samples.length - 1)] * f));
  }
  return out;
}

// Writes a WAV of `leadS` seconds of silence, `text` said by espeak-ng (Mandarin voice), then `tailS` of
// silence, and returns {path, speechStartS, speechEndS}.
export function speechWav(text, { leadS = 1, tailS = 20, voice = 'cmn' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tianyi-speech-'));
  const raw = join(dir, 'espeak.wav');
  execFileSync('espeak-ng', ['-v', voice, '-s', '150', '-w', raw, text]);
  const said = readWav(readFileSync(raw));
  const speech = resample(said.samples, said.rate, WAV_RATE);
  const lead = Math.round(leadS * WAV_RATE);
  const all = new Int16Array(lead + speech.length + Math.round(tailS * WAV_RATE));
  all.set(speech, lead);
  const path = join(dir, 'mic.wav');
  writeFileSync(path, wavBytes(all, WAV_RATE));
  return { path, dir, speechStartS: leadS, speechEndS: leadS + speech.length / WAV_RATE };
}
