// AudioWorklet processor of the microphone (mic.js): resamples the device's audio to the rate the
// server takes (16 kHz) with a low-pass windowed-sinc filter, and hands the page whole frames of
// s16le PCM with their loudness. Doing this on the audio thread keeps the page's thread to a few
// messages a second, however busy it is.
//
// Why a real filter: plain interpolation from 48 kHz to 16 kHz folds everything between 8 and 24 kHz
// (sibilants, fans, her own voice's harmonics leaking back) down into the speech band, where the
// server's VAD and ASR hear it as noise.

const ZERO_CROSSINGS = 12;   // sinc lobes each side, at the output rate: ~60 dB stop band with Blackman
const TABLE_STEPS = 64;      // kernel samples per input sample (linear interpolation between them)
const PASS_FRACTION = 0.9;   // cut-off at 90 % of the output's Nyquist frequency (7.2 kHz at 16 kHz)

// Streaming resampler of Float32 blocks to Int16 samples at toRate, carrying its history across blocks
// so the joins are seamless. Exported for the tests (node loads this file with a stand-in worklet scope).
export class Resampler {
  constructor(fromRate, toRate) {
    this.step = fromRate / toRate;                       // input samples per output sample
    const ratio = Math.min(1, toRate / fromRate);
    this.cutoff = 0.5 * ratio * PASS_FRACTION;           // cycles per input sample
    this.half = Math.ceil(ZERO_CROSSINGS / ratio);       // kernel half-width, in input samples
    const n = this.half * TABLE_STEPS;
    this.table = new Float32Array(n + 2);
    for (let k = 0; k <= n + 1; k++) {
      const x = Math.min(k, n) / TABLE_STEPS;            // distance in input samples
      const sinc = x === 0 ? 1 : Math.sin(2 * Math.PI * this.cutoff * x) / (2 * Math.PI * this.cutoff * x);
      const w = 0.42 + 0.5 * Math.cos(Math.PI * x / this.half) + 0.08 * Math.cos(2 * Math.PI * x / this.half);
      this.table[k] = k > n ? 0 : 2 * this.cutoff * sinc * w;
    }
    // Input not yet consumed, starting with the `half` samples of history the next output needs.
    this.buf = new Float32Array(0);
    this.pos = 0;                                        // next output position, in buf's samples
    this.primed = false;
  }

  kernel(d) {
    const a = Math.abs(d) * TABLE_STEPS;
    const i = Math.floor(a);
    if (i >= this.table.length - 1) return 0;
    const f = a - i;
    return this.table[i] * (1 - f) + this.table[i + 1] * f;
  }

  push(block) {
    if (!this.primed) { // silence before the first sample: the filter's history
      this.primed = true;
      this.buf = new Float32Array(this.half);
      this.pos = this.half;
    }
    const joined = new Float32Array(this.buf.length + block.length);
    joined.set(this.buf);
    joined.set(block, this.buf.length);
    const out = [];
    let p = this.pos;
    while (p + this.half < joined.length) {
      const first = Math.ceil(p - this.half);
      const last = Math.floor(p + this.half);
      let acc = 0;
      for (let i = Math.max(0, first); i <= last; i++) acc += joined[i] * this.kernel(p - i);
      out.push(Math.max(-32768, Math.min(32767, Math.round(acc * 32767))));
      p += this.step;
    }
    const keep = Math.max(0, Math.floor(p - this.half));
    this.buf = joined.slice(keep);
    this.pos = p - keep;
    return Int16Array.from(out);
  }
}

// processorOptions: {rate: the output rate, frameSamples: output samples per frame}.
// Posts {pcm: ArrayBuffer of frameSamples s16le samples, rms: 0..1} for every frame.
class PcmCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.resampler = new Resampler(sampleRate, o.rate || 16000);
    this.frame = new Int16Array(o.frameSamples || 320);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel || !channel.length) return true;
    const samples = this.resampler.push(channel);
    for (let i = 0; i < samples.length; i++) {
      this.frame[this.filled++] = samples[i];
      if (this.filled === this.frame.length) this.emit();
    }
    return true;
  }

  emit() {
    let sum = 0;
    for (let i = 0; i < this.frame.length; i++) sum += this.frame[i] * this.frame[i];
    const rms = Math.sqrt(sum / this.frame.length) / 32768;
    const pcm = this.frame.slice().buffer;
    this.port.postMessage({ pcm, rms }, [pcm]);
    this.filled = 0;
  }
}

if (typeof registerProcessor === 'function') registerProcessor('pcm-capture', PcmCapture);
