// Speech input over the chat socket, in the two ways the protocol offers:
// - Microphone (push-to-talk): audio_start {sample_rate, format}, binary frames, audio_end; the server
//   answers with transcript {text, final} and then the turn. Ends by itself at maxSeconds (below the
//   server's chat.max_audio_input_seconds) so the server never has to refuse it.
// - Listener (hands-free): listen_start, then a continuous stream of small frames until listen_stop;
//   the server's VAD finds the utterances (speech_start, transcript, speech_end) and turns them into turns.
// Both take the audio from MicCapture: the browser's echo canceller, noise suppression and gain
// control on, resampled to 16 kHz mono s16le in the worklet (mic-worklet.js).

export const MIC_RATE = 16000;
const PTT_FRAME_SAMPLES = MIC_RATE / 10;   // push-to-talk: 100 ms per binary frame
const LISTEN_FRAME_SAMPLES = MIC_RATE / 50; // hands-free: 20 ms frames, so the server's VAD hears speech at once
// Audio captured between listen_start and the server's `listening` is kept (the first syllable is
// often said right away) but only this much: sent at once it must stay under the server's
// voice.max_bytes_per_second (48000 by default) together with the live stream (32000 bytes a second).
const LISTEN_PREROLL_FRAMES = 15;          // 300 ms

// The microphone as 16 kHz s16le frames: onFrame(Int16Array, rms 0..1) for each one.
class MicCapture {
  constructor(frameSamples, onFrame) {
    this.frameSamples = frameSamples;
    this.onFrame = onFrame;
    this.parts = null;
    this.closed = false;
  }

  // Resolves once audio flows (false: closed meanwhile); rejects with an Error that says why (no
  // permission, no device); its key and args name the page's string for it.
  async open() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      const blocked = err?.name === 'NotAllowedError';
      const reason = String(err?.message || err);
      throw Object.assign(new Error(blocked ? 'The microphone is blocked' : 'No microphone could be opened: ' + reason),
        blocked ? { key: 'mic.blocked' } : { key: 'mic.noDevice', args: { reason } });
    }
    const ctx = new AudioContext();
    this.parts = { stream, ctx, node: null };
    if (this.closed) { this.close(); return false; }
    await ctx.audioWorklet.addModule(new URL('mic-worklet.js', document.baseURI).toString());
    if (this.closed) { this.close(); return false; } // closed while starting: nothing is sent
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, 'pcm-capture', {
      processorOptions: { rate: MIC_RATE, frameSamples: this.frameSamples },
    });
    const mute = ctx.createGain();
    mute.gain.value = 0; // pulled by the graph, never heard
    source.connect(node).connect(mute).connect(ctx.destination);
    this.parts.node = node;
    node.port.onmessage = (e) => { if (!this.closed) this.onFrame(new Int16Array(e.data.pcm), e.data.rms); };
    if (ctx.state === 'suspended') await ctx.resume().catch(() => {});
    return true;
  }

  close() {
    this.closed = true;
    const parts = this.parts;
    this.parts = null;
    if (!parts) return;
    if (parts.node) parts.node.port.onmessage = null;
    for (const t of parts.stream.getTracks()) t.stop();
    parts.ctx.close().catch(() => {});
  }
}

export function microphoneSupported() {
  return !!(navigator.mediaDevices?.getUserMedia && window.AudioWorkletNode);
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
    this.capture = new MicCapture(PTT_FRAME_SAMPLES, (pcm, rms) => this.onFrame(pcm, rms));
  }

  static supported() { return microphoneSupported(); }

  // Resolves once audio flows; rejects with an Error that says why (see MicCapture.open).
  async start() {
    if (this.recording) return;
    if (!(await this.capture.open())) return; // aborted while starting: nothing is sent
    this.sentSamples = 0;
    this.recording = true;
    this.socket.sendJson({ type: 'audio_start', sample_rate: MIC_RATE, format: 'pcm_s16le' });
  }

  onFrame(pcm, rms) {
    if (!this.recording) return;
    this.onLevel(rms);
    const room = Math.max(0, this.maxSamples - this.sentSamples);
    const frame = pcm.length > room ? pcm.slice(0, room) : pcm;
    if (frame.length) {
      this.socket.sendBinary(frame.buffer);
      this.sentSamples += frame.length;
    }
    if (this.sentSamples >= this.maxSamples) {
      this.stop();
      this.onAutoStop();
    }
  }

  // Sends audio_end (the server transcribes what was sent); returns the seconds recorded. The
  // worklet's last partial frame (under 100 ms) is not sent.
  stop() {
    if (!this.recording) return 0;
    this.recording = false;
    this.socket.sendJson({ type: 'audio_end' });
    this.capture.close();
    return this.sentSamples / MIC_RATE;
  }

  // Ends the recording without audio_end and sends nothing more (the server refused it, or the
  // socket is gone).
  abort() {
    this.recording = false;
    this.capture.close();
  }
}

// Hands-free: the microphone stays open and streams to the server's VAD. The frames go out only once
// the server said `listening` (a server without speech recognition answers asr_unavailable instead, and
// must not get a stream it did not ask for); what came before is kept up to LISTEN_PREROLL_FRAMES.
export class Listener {
  // socket: {sendJson, sendBinary}; onLevel(rms 0..1) for every 20 ms frame, also before `listening`.
  constructor(socket, { onLevel = () => {} } = {}) {
    this.socket = socket;
    this.onLevel = onLevel;
    this.state = 'idle';   // idle | opening | waiting (listen_start sent) | listening | closed
    this.preroll = [];
    this.sentFrames = 0;
    this.sentBytes = 0;
    this.capture = new MicCapture(LISTEN_FRAME_SAMPLES, (pcm, rms) => this.onFrame(pcm, rms));
  }

  // Opens the microphone and sends listen_start. Rejects as MicCapture.open does.
  async start() {
    if (this.state !== 'idle') return;
    this.state = 'opening';
    if (!(await this.capture.open())) return; // stopped while opening: nothing was sent
    if (this.state !== 'opening') return;
    this.state = 'waiting';
    this.socket.sendJson({ type: 'listen_start', sample_rate: MIC_RATE, format: 'pcm_s16le' });
  }

  // The server's `listening`: the kept frames, then the live stream.
  accepted() {
    if (this.state !== 'waiting') return;
    this.state = 'listening';
    for (const pcm of this.preroll) this.send(pcm);
    this.preroll = [];
  }

  onFrame(pcm, rms) {
    this.onLevel(rms);
    if (this.state === 'listening') this.send(pcm);
    else if (this.state === 'waiting') {
      this.preroll.push(pcm);
      if (this.preroll.length > LISTEN_PREROLL_FRAMES) this.preroll.shift();
    }
  }

  send(pcm) {
    if (this.socket.sendBinary(pcm.buffer)) {
      this.sentFrames++;
      this.sentBytes += pcm.byteLength;
    }
  }

  // Sends listen_stop (when listen_start went out) and closes the microphone.
  stop() {
    const told = this.state === 'waiting' || this.state === 'listening';
    this.state = 'closed';
    this.preroll = [];
    if (told) this.socket.sendJson({ type: 'listen_stop' });
    this.capture.close();
  }

  // The server ended listening (or refused it), or the socket is gone: nothing more is sent.
  abort() {
    this.state = 'closed';
    this.preroll = [];
    this.capture.close();
  }
}
