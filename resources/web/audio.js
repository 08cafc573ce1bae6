// Gapless playback of the reply's PCM chunks with Web Audio, scheduled as they arrive.
// Keeps, per turn, what was scheduled and when, so it can say how much was heard (played_ms),
// silence a turn at once (stop) and drop any chunk of a stopped turn that still arrives.
// level() is the RMS of the audio playing right now (20 ms envelope), for lip-sync.
// Everything plays through one gain: duck() lowers her voice while the user may be speaking over
// her (hands-free barge-in), unduck() brings it back; both glide so neither clicks.

const LEAD_S = 0.06;     // scheduling headroom for the first chunk / after an underrun
const ENV_S = 0.02;      // envelope window
export const DUCKED_GAIN = 0.25; // loud enough to notice she goes on, quiet enough to talk over
const DUCK_TC_S = 0.04;  // time constant of the glide down (~95 % after 120 ms)
const UNDUCK_TC_S = 0.1; // and back up, slower: it should not jump at the user

export class AudioPlayer {
  constructor() {
    this.ctx = null;
    this.turns = new Map();      // turn -> {segments:[{src,start,dur,env}], stopped}
    this.nextTime = 0;
    this.stats = { scheduledChunks: 0, droppedChunks: 0 };
    this.replay = null;
    this.out = null;             // the gain every source plays through
    this.ducked = false;
  }

  // Create/resume the AudioContext; call from a user gesture (browsers block audio otherwise).
  unlock() {
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.out = this.ctx.createGain();
      this.out.connect(this.ctx.destination);
      if (this.ducked) this.out.gain.value = DUCKED_GAIN;
    }
    if (this.ctx.state === 'suspended') this.ctx.resume();
  }

  // Her voice glides down to DUCKED_GAIN (duck) or back to full volume.
  duck(on) {
    this.ducked = on;
    if (!this.out) return;
    const g = this.out.gain;
    g.cancelScheduledValues(this.ctx.currentTime);
    g.setTargetAtTime(on ? DUCKED_GAIN : 1, this.ctx.currentTime, on ? DUCK_TC_S : UNDUCK_TC_S);
  }

  // The gain's value now (the glide's current point) and where it is going.
  volume() { return { now: this.out ? this.out.gain.value : 1, target: this.ducked ? DUCKED_GAIN : 1 }; }

  turn(id) {
    let t = this.turns.get(id);
    if (!t) {
      t = { segments: [], stopped: false, chunks: 0 };
      this.turns.set(id, t);
      for (const old of this.turns.keys()) if (old < id - 8) this.turns.delete(old);
    }
    return t;
  }

  isStopped(id) { return !!this.turns.get(id)?.stopped; }

  // A chunk {turn, sampleRate, pcm:Int16Array}. Returns false when it was dropped.
  play(frame) {
    const t = this.turn(frame.turn);
    if (t.stopped) { this.stats.droppedChunks++; return false; }
    if (!frame.pcm.length) return true;
    this.unlock();
    const ctx = this.ctx;
    const n = frame.pcm.length;
    const buf = ctx.createBuffer(1, n, frame.sampleRate);
    const data = buf.getChannelData(0);
    for (let i = 0; i < n; i++) data[i] = frame.pcm[i] / 32768;
    const env = envelope(data, frame.sampleRate);
    const src = ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.out);
    const start = Math.max(this.nextTime, ctx.currentTime + LEAD_S);
    src.start(start);
    this.nextTime = start + buf.duration;
    t.segments.push({ src, start, dur: buf.duration, env });
    t.chunks++;
    this.stats.scheduledChunks++;
    return true;
  }

  // Milliseconds of the turn's audio that have actually played.
  playedMs(id) {
    const t = this.turns.get(id);
    if (!t || !this.ctx) return 0;
    const now = t.stoppedAt ?? this.ctx.currentTime;
    let s = 0;
    for (const seg of t.segments) s += Math.min(Math.max(now - seg.start, 0), seg.dur);
    return Math.round(s * 1000);
  }

  // Silences the turn now and drops its later chunks. Returns played_ms.
  stop(id) {
    const t = this.turn(id);
    if (t.stopped) return this.playedMs(id);
    const played = this.playedMs(id);
    t.stopped = true;
    t.stoppedAt = this.ctx ? this.ctx.currentTime : 0;
    for (const seg of t.segments) {
      try { seg.src.stop(); } catch { /* not started */ }
      seg.src.disconnect();
    }
    if (this.ctx) this.nextTime = this.ctx.currentTime;
    return played;
  }

  // A new socket session numbers its turns from 1 again: silence and forget every turn.
  reset() {
    for (const id of this.turns.keys()) this.stop(id);
    this.turns.clear();
  }

  // True while audio of the turn is scheduled beyond now.
  pending(id) {
    const t = this.turns.get(id);
    if (!t || t.stopped || !this.ctx) return false;
    const last = t.segments[t.segments.length - 1];
    return !!last && last.start + last.dur > this.ctx.currentTime;
  }

  // RMS (0..1) of what is audible right now.
  level() {
    if (!this.ctx) return 0;
    const now = this.ctx.currentTime;
    const playing = this.replay ? [this.replay.segments] : [];
    for (const t of this.turns.values()) if (!t.stopped) playing.push(t.segments);
    for (const segments of playing) {
      for (const seg of segments) {
        if (now >= seg.start && now < seg.start + seg.dur) return seg.env[Math.floor((now - seg.start) / ENV_S)] || 0;
      }
    }
    return 0;
  }

  // Plays stored WAVs (the sentences of a history reply) one after another without gaps, replacing
  // a replay that still runs. parts: functions that resolve to a WAV's bytes, fetched in order while
  // the earlier ones play. onEnd() once it ended or was stopped.
  async playFiles(parts, { onEnd } = {}) {
    this.unlock();
    this.stopReplay();
    const replay = { segments: [], next: 0, stopped: false, onEnd };
    this.replay = replay;
    for (const part of parts) {
      const bytes = await part();
      if (replay.stopped) return;
      const buf = await this.ctx.decodeAudioData(bytes);
      if (replay.stopped) return;
      const src = this.ctx.createBufferSource();
      src.buffer = buf;
      src.connect(this.out);
      const start = Math.max(replay.next, this.ctx.currentTime + LEAD_S);
      src.start(start);
      replay.next = start + buf.duration;
      replay.segments.push({ src, start, dur: buf.duration, env: envelope(buf.getChannelData(0), buf.sampleRate) });
    }
    const last = replay.segments[replay.segments.length - 1];
    if (!last) return this.endReplay(replay);
    last.src.onended = () => this.endReplay(replay);
  }

  replaying() { return !!this.replay; }

  stopReplay() {
    const replay = this.replay;
    if (!replay) return;
    replay.stopped = true;
    for (const seg of replay.segments) {
      try { seg.src.stop(); } catch { /* not started */ }
    }
    this.endReplay(replay);
  }

  endReplay(replay) {
    if (this.replay !== replay) return;
    this.replay = null;
    replay.onEnd?.();
  }
}

// RMS of each ENV_S window of the samples (Float32, -1..1).
function envelope(data, sampleRate) {
  const win = Math.max(1, Math.round(sampleRate * ENV_S));
  const env = new Float32Array(Math.ceil(data.length / win));
  for (let w = 0; w < env.length; w++) {
    const end = Math.min(data.length, (w + 1) * win);
    let sum = 0;
    for (let i = w * win; i < end; i++) sum += data[i] * data[i];
    env[w] = Math.sqrt(sum / (end - w * win));
  }
  return env;
}
