// The chat socket (/ws): ws or wss like the page, reconnect with backoff, binary audio frames.
import { accessToken, url } from './api.js';

// Close codes after which reconnecting would not help, with the page's string that says why.
const REAUTH_MARGIN_MS = 60 * 1000;

const NO_RECONNECT = new Map([
  [4003, 'conn.tooManySessions'],
  [4005, 'conn.disconnectedByAdmin'],
]);

// 16-byte little-endian header {"AU", version 1, flags (bit0 last), u32 turn, u16 sentence, u16 seq, u32 rate}.
export function parseAudioFrame(buf) {
  if (buf.byteLength < 16) return null;
  const v = new DataView(buf);
  if (v.getUint8(0) !== 0x41 || v.getUint8(1) !== 0x55 || v.getUint8(2) !== 1) return null;
  const samples = Math.floor((buf.byteLength - 16) / 2);
  return {
    last: (v.getUint8(3) & 1) === 1,
    turn: v.getUint32(4, true),
    sentence: v.getUint16(8, true),
    seq: v.getUint16(10, true),
    sampleRate: v.getUint32(12, true),
    pcm: new Int16Array(buf.slice(16, 16 + samples * 2)),
  };
}

function base64ToInt16(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length & ~1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Int16Array(bytes.buffer);
}

export class ChatSocket {
  // handlers: onEvent(msg), onAudio(frame), onState(state, detail); detail says why, for the user:
  // {key, args, cause} (a string of the page's; cause: what came before it) or an ApiError.
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.backoff = 500;
    this.closedByUs = false;
    this.timer = null;
    this.state = 'offline';
  }

  setState(state, detail) {
    this.state = state;
    this.h.onState?.(state, detail);
  }

  async connect({ forceRefresh = false } = {}) {
    clearTimeout(this.timer);
    this.closedByUs = false;
    this.setState('connecting');
    let token;
    try {
      token = await accessToken({ force: forceRefresh });
    } catch (err) {
      this.setState('offline', err);
      if (err.status === 401) return; // logged out
      return this.retry(err);
    }
    const u = new URL(url('ws'));
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    // The token goes in the first message, never in the URL (proxies log URLs).
    const ws = new WebSocket(u);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.authRetried = forceRefresh;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ws, ev);
  }

  // The server closes the socket when its access token expires: a fresh one is sent a minute before.
  scheduleReauth(expiresAtS) {
    clearTimeout(this.reauthTimer);
    if (!expiresAtS) return;
    const ws = this.ws;
    const left = expiresAtS * 1000 - Date.now();
    const delay = Math.max(0, left / 2, left - REAUTH_MARGIN_MS); // short-lived tokens: halfway
    this.reauthTimer = setTimeout(async () => {
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      try {
        const token = await accessToken({ force: true });
        if (ws === this.ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'auth', token }));
      } catch { /* logged out: the server ends the socket at expiry and the page says so */ }
    }, delay);
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      const frame = parseAudioFrame(data);
      if (frame) this.h.onAudio(frame);
      return;
    }
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === 'hello') {
      this.backoff = 500;
      this.setState('online');
    }
    if (msg.type === 'hello' || msg.type === 'authenticated') this.scheduleReauth(msg.token_expires_at);
    if (msg.type === 'audio' && msg.pcm !== undefined) {
      this.h.onAudio({ turn: msg.turn, sentence: msg.sentence, seq: msg.seq, sampleRate: msg.sample_rate,
        last: !!msg.last, pcm: base64ToInt16(msg.pcm) });
      return;
    }
    this.h.onEvent(msg);
  }

  closed(ws, ev) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearTimeout(this.reauthTimer);
    if (this.closedByUs) return this.setState('offline');
    if (ev.code === 4001 && !this.authRetried) return this.connect({ forceRefresh: true });
    if (ev.code === 4001) return this.setState('offline', { key: 'conn.loginRefused' });
    if (NO_RECONNECT.has(ev.code)) return this.setState('offline', { key: NO_RECONNECT.get(ev.code) });
    this.retry(ev.reason ? { key: 'conn.lostWhy', args: { code: ev.code, reason: ev.reason } } : { key: 'conn.lost' });
  }

  retry(cause) {
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 15000);
    this.setState('reconnecting', { key: 'conn.retry', args: { s: Math.round(wait / 1000) }, cause });
    this.timer = setTimeout(() => this.connect(), wait);
  }

  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // Binary frames carry speech input (PCM) between audio_start and audio_end.
  sendBinary(buffer) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(buffer);
    return true;
  }

  close() {
    clearTimeout(this.reauthTimer);
    this.closedByUs = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.setState('offline');
  }
}
