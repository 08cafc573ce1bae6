// Speech input: the microphone, resampled to 16 kHz mono PCM s16le and streamed over the chat socket
// as the protocol says: audio_start {sample_rate, format}, binary frames, audio_end. The server
// answers with transcript {text, final} and then the turn. Recording ends by itself at maxSeconds
// (below the server's chat.max_audio_input_seconds) so the server never has to refuse it.

export const MIC_RATE = 16000;
const FRAME_SAMPLES = MIC_RATE / 10; // 100 ms per binary frame

// Linear resampling of a stream of Float32 blocks to MIC_RATE Int16 samples, carrying the phase
// across blocks so the joins are seamless.
export class Resampler {
  constructor(fromRate, toRate = MIC_RATE) {
    this.step = fromRate / toRate;
    this.pos = 0;          // position of the next output sample, in input samples, relative to `prev`
    this.prev = 0;         // the last input sample of the previous block
  }

  push(block) {
    const out = [];
    // Input index -1 is `prev`; block[0] is index 0.
    const at = (i) => (i < 0 ? this.prev : block[i]);
    let p = this.pos;
    while (p <= block.length - 1) {
      const i = Math.floor(p);
      const f = p - i;
      const v = at(i) * (1 - f) + at(i + 1 < block.length ? i + 1 : i) * f;
      out.push(Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
      p += this.step;
    }
    this.pos = p - block.length;
    if (block.length) this.prev = block[block.length - 1];
    return Int16Array.from(out);
  }
}

export class Microphone {
  // socket: {sendJson(obj), sendBinary(ArrayBuffer)}; onLevel(rms 0..1) while recording.
  constructor(socket, { maxSeconds = 55, onLevel = () => {}, onAutoStop = () => {} } = {}) {
    this.socket = socket;
    this.maxSamples = maxSeconds * MIC_RATE;
    this.onLevel = onLevel;
    this.onAutoStop = onAutoStop;
    this.recording = false;
    this.sentSamples = 0;
  }

  static supported() {
    return !!(navigator.mediaDevices?.getUserMedia && window.AudioWorkletNode);
  }

  // Resolves once audio flows; rejects with an Error that says why (no permission, no device); its
  // key and args name the page's string for it.
  async start() {
    if (this.recording) return;
    this.aborted = false;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
    } catch (err) {
      const blocked = err?.name === 'NotAllowedError';
      const reason = String(err?.message || err);
      throw Object.assign(new Error(blocked ? 'The microphone is blocked' : 'No microphone could be opened: ' + reason),
        blocked ? { key: 'mic.blocked' } : { key: 'mic.noDevice', args: { reason } });
    }
    const ctx = new AudioContext();
    this.parts = { stream, ctx, node: null };
    await ctx.audioWorklet.addModule(new URL('mic-worklet.js', document.baseURI).toString());
    if (this.aborted) return this.release(); // aborted while starting: nothing is sent
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, 'pcm-capture');
    const mute = ctx.createGain();
    mute.gain.value = 0; // pulled by the graph, never heard
    source.connect(node).connect(mute).connect(ctx.destination);
    this.parts = { stream, ctx, node };
    this.resampler = new Resampler(ctx.sampleRate);
    this.pending = [];
    this.pendingLength = 0;
    this.sentSamples = 0;
    this.recording = true;
    this.socket.sendJson({ type: 'audio_start', sample_rate: MIC_RATE, format: 'pcm_s16le' });
    node.port.onmessage = (e) => this.onBlock(e.data);
  }

  onBlock(block) {
    if (!this.recording) return;
    let sum = 0;
    for (let i = 0; i < block.length; i++) sum += block[i] * block[i];
    this.onLevel(Math.sqrt(sum / Math.max(1, block.length)));
    const samples = this.resampler.push(block);
    this.pending.push(samples);
    this.pendingLength += samples.length;
    if (this.pendingLength >= FRAME_SAMPLES) this.flush();
    if (this.sentSamples >= this.maxSamples) {
      this.stop();
      this.onAutoStop();
    }
  }

  flush() {
    if (!this.pendingLength) return;
    const room = Math.max(0, this.maxSamples - this.sentSamples);
    const frame = new Int16Array(Math.min(this.pendingLength, room));
    let at = 0;
    for (const p of this.pending) {
      const n = Math.min(p.length, frame.length - at);
      frame.set(p.subarray(0, n), at);
      at += n;
    }
    this.pending = [];
    this.pendingLength = 0;
    if (frame.length) {
      this.socket.sendBinary(frame.buffer);
      this.sentSamples += frame.length;
    }
  }

  // Sends what is left and audio_end (the server transcribes it); returns the seconds recorded.
  stop() {
    if (!this.recording) return 0;
    this.flush();
    this.recording = false;
    this.socket.sendJson({ type: 'audio_end' });
    this.release();
    return this.sentSamples / MIC_RATE;
  }

  // Ends the recording without audio_end and sends nothing more (the server refused it, or the
  // socket is gone).
  abort() {
    this.aborted = true;
    this.recording = false;
    this.release();
  }

  release() {
    const parts = this.parts;
    this.parts = null;
    if (!parts) return;
    if (parts.node) parts.node.port.onmessage = null;
    for (const t of parts.stream.getTracks()) t.stop();
    parts.ctx.close().catch(() => {});
  }
}
