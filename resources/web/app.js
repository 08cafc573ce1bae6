// The web client: views (login, chat, history, profile, memories) wired to api.js, chat.js,
// audio.js and the avatar. window.__tianyi is a read-only view of the state, for tests.
import * as api from './api.js';
import { ChatSocket } from './chat.js';
import { AudioPlayer } from './audio.js';
import { DrawnAvatar } from './avatar.js';
import { Live2DAvatar, live2dModelUrl, live2dLibsUrl } from './live2d.js';
import { Microphone } from './mic.js';

const $ = (sel) => document.querySelector(sel);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const player = new AudioPlayer();
let avatar = new DrawnAvatar($('#avatar'));
let socket = null;
let hello = null;
let emotions = new Map();       // id -> {label, live2d_expression}
let mic = null;                 // the Microphone while recording
const S = {
  activeTurn: null,  // the running turn (turn_start .. turn_end)
  awaiting: false,   // a chat was sent, its turn_start has not come yet
  stopNext: false,   // stop pressed before turn_start: that turn is stopped on arrival
  bubbles: new Map(),// turn -> reply element
  mouth: 0,
  lastPlayedMs: 0,
  events: [],
};

// ---------- messages ----------
function banner(text, kind = 'error') {
  const b = $('#banner');
  b.textContent = text || '';
  b.className = kind;
  b.hidden = !text;
}
function explain(err) {
  if (err?.code === 'rate_limited') return 'Too many attempts; please wait a moment and try again.';
  return err?.message || String(err);
}

// ---------- views ----------
function show(view) {
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + view;
  for (const b of document.querySelectorAll('.tab')) b.classList.toggle('active', b.dataset.view === view);
  $('#nav').hidden = view === 'auth';
  if (view === 'history') loadHistory();
  if (view === 'profile') loadProfile();
  if (view === 'memories') loadMemories();
  if (view === 'chat') $('#chat-input').focus();
}

function enterApp() {
  show('chat');
  banner('');
  if (!socket) socket = new ChatSocket({ onEvent, onAudio, onState });
  socket.connect();
}

api.onLogout(() => {
  socket?.close();
  socket = null;
  show('auth');
});

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    await api.login(f.get('username').trim(), f.get('password'));
    ev.target.reset();
    enterApp();
  } catch (err) {
    banner(err.code === 'invalid_grant' ? 'Wrong username or password.' : explain(err));
  }
});

$('#register-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const username = f.get('username').trim();
  try {
    await api.register(username, f.get('password'), f.get('nickname').trim());
    await api.login(username, f.get('password'));
    ev.target.reset();
    enterApp();
  } catch (err) {
    banner(explain(err));
  }
});

$('#logout').addEventListener('click', () => api.logout());
for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.view));

// ---------- chat ----------
function onState(state, detail) {
  $('#conn-state').textContent = state;
  $('#conn-state').className = 'state ' + state;
  if (detail) banner(detail, state === 'reconnecting' ? 'info' : 'error');
  else if (state === 'online') banner('');
  if (state !== 'online' && mic) { // the recording went with the socket
    mic.recording = false;
    mic.release();
    mic = null;
    setMicState('idle');
  }
}

function addLine(cls, text) {
  const li = el('li', cls, text);
  $('#transcript').appendChild(li);
  li.scrollIntoView({ block: 'end' });
  return li;
}

function stopCurrent() {
  const turn = S.activeTurn;
  if (turn !== null) {
    const played = player.stop(turn);
    S.lastPlayedMs = played;
    socket?.send({ type: 'stop', turn, played_ms: played });
  } else if (S.awaiting) {
    S.stopNext = true;
    socket?.send({ type: 'stop', played_ms: 0 });
  }
  updateButtons();
}

function updateButtons() {
  const speaking = S.activeTurn !== null && !player.isStopped(S.activeTurn);
  $('#stop').disabled = !(speaking || S.awaiting || (S.lastTurn != null && player.pending(S.lastTurn)));
}

// Speaking to her (by text or voice) stops whatever she is saying first, reporting how much was heard.
function bargeIn() {
  if (S.activeTurn !== null || S.awaiting) stopCurrent();
  else if (S.lastTurn != null && player.pending(S.lastTurn)) player.stop(S.lastTurn);
}

$('#stop').addEventListener('click', () => {
  if (S.activeTurn === null && S.lastTurn != null && player.pending(S.lastTurn)) {
    player.stop(S.lastTurn); // the turn ended; only its audio is still playing
    return updateButtons();
  }
  stopCurrent();
});

$('#chat-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('#chat-input').value.trim();
  if (!text) return;
  player.unlock();
  if (!socket || socket.state !== 'online') return banner('Not connected to the server yet; please wait a moment.');
  bargeIn();
  socket.send({ type: 'chat', text, client_msg_id: crypto.randomUUID?.() || String(Date.now()) });
  S.awaiting = true;
  $('#chat-input').value = '';
  addLine('user', text);
  updateButtons();
});

// ---------- speech input ----------
// The microphone button: click to talk, click again to send (recording also ends by itself at the
// length the server accepts). The server transcribes, answers with `transcript`, then the turn.
function setMicState(state) {
  S.mic = state; // idle | starting | recording
  const b = $('#mic');
  b.classList.toggle('recording', state === 'recording');
  b.textContent = state === 'recording' ? 'Send voice' : 'Talk';
  b.disabled = state === 'starting';
}

function finishRecording() {
  if (!mic) return;
  const seconds = mic.stop();
  S.micSeconds = seconds;
  mic = null;
  setMicState('idle');
  S.awaiting = true;
  updateButtons();
}

$('#mic').hidden = !Microphone.supported();
$('#mic').addEventListener('click', async () => {
  player.unlock();
  if (mic?.recording) return finishRecording();
  if (!socket || socket.state !== 'online') return banner('Not connected to the server yet; please wait a moment.');
  bargeIn();
  mic = new Microphone({ sendJson: (m) => socket.send(m), sendBinary: (b) => socket.sendBinary(b) }, { onAutoStop: finishRecording });
  setMicState('starting');
  try {
    await mic.start();
    setMicState('recording');
  } catch (err) {
    mic = null;
    setMicState('idle');
    banner(err.message);
  }
});

function setEmotion(id) {
  avatar.setExpression(id);
  const e = emotions.get(id);
  $('#emotion-label').textContent = e ? e.label : '';
}

function onEvent(msg) {
  S.events.push(msg.type);
  if (S.events.length > 200) S.events.shift();
  const dropped = msg.turn !== undefined && player.isStopped(msg.turn) && msg.type !== 'turn_end' && msg.type !== 'stopped';
  switch (msg.type) {
    case 'hello':
      // A new session (also after a reconnect): turn numbers start again; a turn cut off by the
      // lost connection ended on the server as interrupted.
      for (const b of S.bubbles.values()) { b.classList.add('interrupted'); b.appendChild(el('span', 'tag', ' (connection lost)')); }
      S.bubbles.clear();
      player.reset();
      Object.assign(S, { activeTurn: null, awaiting: false, stopNext: false, lastTurn: null });
      hello = msg;
      emotions = new Map((msg.persona?.emotions || []).map((e) => [e.id, e]));
      $('#whoami').textContent = msg.user?.nickname || msg.user?.username || '';
      setEmotion(msg.persona?.default_emotion || 'calm');
      maybeLive2D();
      break;
    case 'turn_start': {
      S.awaiting = false;
      S.activeTurn = msg.turn;
      S.lastTurn = msg.turn;
      const b = addLine('reply', '');
      b.dataset.turn = msg.turn;
      S.bubbles.set(msg.turn, b);
      if (S.stopNext) { S.stopNext = false; stopCurrent(); }
      break;
    }
    case 'transcript':
      if (msg.final && msg.text) addLine('user', msg.text);
      break;
    case 'emotion':
      if (!dropped) setEmotion(msg.emotion);
      break;
    case 'text_delta':
      if (!dropped) S.bubbles.get(msg.turn)?.append(msg.delta);
      break;
    case 'stopped':
      break;
    case 'turn_end': {
      const b = S.bubbles.get(msg.turn);
      if (b) {
        if (msg.status === 'interrupted') b.textContent = msg.text || '';
        b.classList.add(msg.status);
        if (msg.status !== 'completed') b.appendChild(el('span', 'tag', msg.status === 'interrupted' ? ' (interrupted)' : ' (failed)'));
      }
      if (S.activeTurn === msg.turn) S.activeTurn = null;
      S.bubbles.delete(msg.turn);
      break;
    }
    case 'error':
      banner(msg.code === 'tts_unavailable' ? 'Her voice is unavailable right now; the text goes on.' :
        msg.code === 'rate_limited' ? `Slow down a little: try again in ${Math.ceil((msg.retry_after_ms || 1000) / 1000)} s.` :
        `${msg.message || msg.code}`, msg.code === 'tts_unavailable' ? 'info' : 'error');
      if (msg.code !== 'tts_unavailable' && S.awaiting && msg.turn === undefined) { S.awaiting = false; S.stopNext = false; }
      break;
    default:
      break;
  }
  updateButtons();
}

function onAudio(frame) {
  player.play(frame);
  updateButtons();
}

// ---------- avatar loop ----------
async function maybeLive2D() {
  const modelUrl = live2dModelUrl(hello);
  if (!modelUrl || avatar instanceof Live2DAvatar) return;
  const note = $('#avatar-note');
  try {
    const map = new Map([...emotions.values()].map((e) => [e.id, e.live2d_expression || e.id]));
    const canvas = el('canvas');
    canvas.width = $('#avatar').width;
    canvas.height = $('#avatar').height;
    const l2d = await Live2DAvatar.create(canvas, modelUrl, live2dLibsUrl(hello), map);
    $('#avatar').replaceWith(canvas);
    canvas.id = 'avatar';
    l2d.setExpression(avatar.expression);
    avatar = l2d;
    note.hidden = true;
  } catch (err) {
    note.textContent = err.message.startsWith('Live2D') ? err.message : 'Live2D model could not be loaded (' + err.message + '); showing the drawn avatar.';
    note.hidden = false;
  }
}

function frame(now) {
  const target = Math.min(1, player.level() * 5);
  S.mouth += (target - S.mouth) * (target > S.mouth ? 0.6 : 0.35);
  if (S.mouth < 0.01) S.mouth = 0;
  avatar.mouth = S.mouth;
  avatar.draw(now);
  if (S.activeTurn !== null || S.lastTurn != null) updateButtons();
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// ---------- history ----------
let historyBefore = null;
async function loadHistory(more = false) {
  const list = $('#history-list');
  if (!more) { list.replaceChildren(); historyBefore = null; }
  try {
    const page = await api.history(more ? historyBefore : null);
    if (!more && !page.turns.length) list.appendChild(el('li', 'empty', 'No conversations yet.'));
    for (const t of page.turns) list.appendChild(historyItem(t));
    historyBefore = page.next_before ?? null;
    $('#history-more').hidden = !historyBefore;
  } catch (err) {
    banner('History could not be loaded: ' + explain(err));
  }
}
$('#history-more').addEventListener('click', () => loadHistory(true));

function historyItem(t) {
  const li = el('li', 'turn ' + t.status);
  li.appendChild(el('div', 'when', new Date(t.created_at).toLocaleString() + (t.status !== 'completed' ? ' · ' + t.status : '')));
  li.appendChild(el('div', 'user', t.user_text));
  const reply = el('div', 'reply');
  for (const s of t.sentences || []) {
    const span = el('span', 'sentence', s.text);
    if (s.audio_url) {
      const play = el('button', 'play', '▶');
      play.title = 'Play';
      play.addEventListener('click', async () => {
        try { await player.playFile(await api.audioBytes(s.audio_url)); }
        catch (err) { banner('Audio could not be played: ' + explain(err)); }
      });
      span.appendChild(play);
    }
    reply.appendChild(span);
  }
  if (!t.sentences?.length) reply.textContent = t.reply_text || (t.status === 'interrupted' ? '(stopped before she was heard)' : '');
  li.appendChild(reply);
  return li;
}

// ---------- profile ----------
async function loadProfile() {
  const f = $('#profile-form');
  $('#profile-status').textContent = '';
  try {
    const p = await api.getProfile();
    f.nickname.value = p.nickname || '';
    f.description.value = p.description || '';
    f.avatar_url.value = p.avatar_url || '';
  } catch (err) {
    banner('Profile could not be loaded: ' + explain(err));
  }
}
$('#profile-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    await api.putProfile({ nickname: f.nickname.value, description: f.description.value, avatar_url: f.avatar_url.value });
    $('#profile-status').textContent = 'Saved.';
    banner('');
  } catch (err) {
    banner('Profile not saved: ' + explain(err));
  }
});

// ---------- memories ----------
async function loadMemories() {
  const list = $('#memories-list');
  const note = $('#memories-note');
  list.replaceChildren();
  note.textContent = '';
  try {
    const page = await api.memories();
    const items = page.memories || page.items || [];
    if (!items.length) note.textContent = 'She does not remember anything about you yet.';
    for (const m of items) {
      const li = el('li', 'memory', m.text || m.content || m.summary || JSON.stringify(m));
      const forget = el('button', 'forget', 'Forget');
      forget.addEventListener('click', async () => {
        try { await api.forget(m.id); li.remove(); }
        catch (err) { banner('Could not forget: ' + explain(err)); }
      });
      li.appendChild(forget);
      list.appendChild(li);
    }
  } catch (err) {
    note.textContent = err.status === 404 ? 'Memories are not available yet on this server.' : 'Memories could not be loaded: ' + explain(err);
  }
}

// ---------- debug hook (read-only) ----------
Object.defineProperty(window, '__tianyi', {
  value: Object.freeze({
    get scheduledChunks() { return player.stats.scheduledChunks; },
    get droppedChunks() { return player.stats.droppedChunks; },
    chunksOfTurn: (turn) => player.turns.get(turn)?.chunks || 0,
    get mouth() { return S.mouth; },
    get expression() { return avatar.expression; },
    get playedMs() { return S.activeTurn !== null ? player.playedMs(S.activeTurn) : S.lastPlayedMs; },
    get activeTurn() { return S.activeTurn; },
    get lastTurn() { return S.lastTurn ?? null; },
    get level() { return player.level(); },
    get connection() { return socket?.state || 'offline'; },
    get mic() { return S.mic || 'idle'; },
    get micSeconds() { return mic ? mic.sentSamples / 16000 : S.micSeconds || 0; }, // sent so far / last recording
    get live2d() { return avatar instanceof Live2DAvatar ? avatar.state() : null; },
    get audioState() { return player.ctx?.state || 'none'; },
    get events() { return [...S.events]; },
  }),
});

if (api.loggedIn()) enterApp(); else show('auth');
