// The web client: views (login, chat, history, profile, memories) wired to api.js, chat.js,
// audio.js and the avatar, in the page's language (zh / en, see "language" below).
// window.__tianyi is a read-only view of the state, for tests.
import * as api from './api.js';
import { ChatSocket } from './chat.js';
import { AudioPlayer } from './audio.js';
import { DrawnAvatar } from './avatar.js';
import { Live2DAvatar, live2dModelUrl, live2dLibsUrl } from './live2d.js';
import { Microphone, Listener } from './mic.js';

const MAX_MEMORY_PAGES = 10; // 200 memories each: the server keeps at most 500

// ---------- language ----------
// Every string the page shows, in English and Chinese. The language is the browser's (zh for any
// zh-*, en otherwise) until the user picks one with the switch; the choice is kept in localStorage.
// Elements name their string with data-i18n (text), data-i18n-placeholder, data-i18n-title,
// data-i18n-aria-label (data-i18n-args: JSON for {placeholders}); translate() fills them all, so a
// switch re-renders every labelled element, also those created later. Only what the server words
// itself (the detail of a refusal) is shown as the server sent it.
const STRINGS = {
  en: {
    'page.title': 'Luo Tianyi · tianyi',
    'app.name': 'Luo Tianyi',
    'lang.switch': '中文',
    'lang.switch.title': 'Switch the language to Chinese',
    'nav.chat': 'Chat',
    'nav.history': 'History',
    'nav.profile': 'Profile',
    'nav.memories': 'Memories',
    'nav.logout': 'Log out',
    'auth.login.title': 'Log in',
    'auth.login.submit': 'Log in',
    'auth.register.title': 'Create an account',
    'auth.register.submit': 'Register',
    'auth.username': 'Username',
    'auth.password': 'Password',
    'auth.nickname': 'Nickname',
    'auth.wrong': 'Wrong username or password.',
    'avatar.label': 'Luo Tianyi',
    'state.offline': 'offline',
    'state.connecting': 'connecting…',
    'state.online': 'online',
    'state.reconnecting': 'reconnecting…',
    'chat.placeholder': 'Say something to Tianyi…',
    'chat.input.label': 'Your message',
    'chat.send': 'Send',
    'chat.stop': 'Stop',
    'chat.stop.title': 'Stop her reply',
    'chat.earlier': 'Earlier',
    'chat.notConnected': 'Not connected to the server yet; please wait a moment.',
    'tag.connectionLost': ' (connection lost)',
    'tag.interrupted': ' (interrupted)',
    'tag.failed': ' (failed)',
    'mic.talk': 'Talk',
    'mic.sendVoice': 'Send voice',
    'mic.title': 'Talk by voice: tap, speak, tap again to send',
    'mic.off.server': 'Speech input is not configured on this server.',
    'mic.off.browser': 'Talking by voice needs a secure page (HTTPS) and a browser with a microphone.',
    'mic.blocked': 'The microphone is blocked: allow it for this page to talk by voice.',
    'mic.noDevice': 'No microphone could be opened ({reason}).',
    'mic.busyListening': 'Hands-free is on: just speak.',
    'listen.label': 'Hands-free',
    'listen.title': 'Hands-free: she listens all the time, just speak; tap again to stop',
    'listen.titleOn': 'Hands-free is on: tap to stop listening',
    'listen.level': 'Microphone level',
    'listen.opening': 'Opening the microphone…',
    'listen.waiting': 'Connecting the microphone…',
    'listen.ready': 'Listening — just speak.',
    'listen.hearing': 'Hearing…',
    'listen.partial': 'Hearing: {text}',
    'error.asrFailed': 'Your words could not be understood this time; please say it again.',
    'error.rateExceeded': 'The microphone sent more audio than the server accepts; hands-free is off.',
    'error.listenTimeout': 'Hands-free turned itself off after a long time without speech.',
    'error.utteranceTooLong': 'That was too long to take in at once; please say it in shorter parts.',
    'error.listenEnded': 'The server stopped listening ({detail}); hands-free is off.',
    'error.asrBusy': 'Still working out what you said before; please say that again in a moment.',
    'listen.off.server': 'This server does not offer hands-free talking; Talk still works.',
    'error.rateLimitedLogin': 'Too many attempts; please wait a moment and try again.',
    'error.rateLimitedChat': 'Slow down a little: try again in {s} s.',
    'error.ttsUnavailable': 'Her voice is unavailable right now; the text goes on.',
    'error.llmUnavailable': 'She cannot answer right now; please try again in a moment.',
    'error.asrUnavailable': 'Speech input is not configured on this server; type your message instead.',
    'error.tooLarge': 'That was too long for the server ({detail}).',
    'error.usernameTaken': 'That username is taken.',
    'error.invalidUsername': 'This username cannot be used: {detail}',
    'error.weakPassword': 'This password cannot be used: {detail}',
    'error.accountDisabled': 'This account is disabled.',
    'error.network': 'The server cannot be reached ({detail}).',
    'error.loginFirst': 'Please log in.',
    'error.sessionEnded': 'Your session has ended; please log in again.',
    'error.server': '{detail}',
    'conn.tooManySessions': 'Too many open sessions for this account; close another tab or device.',
    'conn.disconnectedByAdmin': 'You were disconnected by an administrator.',
    'conn.loginRefused': 'The server did not accept the login; please log in again.',
    'conn.lost': 'Connection lost.',
    'conn.lostWhy': 'Connection lost ({code} {reason}).',
    'conn.retry': 'Reconnecting in {s} s…',
    'live2d.noCore': 'Live2D Cubism Core is not installed (live2dcubismcore.min.js is supplied by you, see docs); showing the drawn avatar.',
    'live2d.failed': 'The Live2D model could not be loaded ({reason}); showing the drawn avatar.',
    'history.title': 'History',
    'history.more': 'Older turns',
    'history.empty': 'No conversations yet.',
    'history.failed': 'History could not be loaded: {reason}',
    'history.unheard': '(stopped before she was heard)',
    'history.play': '▶ Play',
    'history.play.title': 'Play her reply',
    'history.stop': '■ Stop',
    'history.audioFailed': 'The audio could not be played: {reason}',
    'status.completed': 'completed',
    'status.interrupted': 'interrupted',
    'status.failed': 'failed',
    'profile.title': 'Profile',
    'profile.nickname': 'Nickname',
    'profile.description': 'About you',
    'profile.avatarUrl': 'Avatar URL',
    'profile.save': 'Save',
    'profile.saved': 'Saved.',
    'profile.loadFailed': 'The profile could not be loaded: {reason}',
    'profile.saveFailed': 'The profile was not saved: {reason}',
    'devices.title': 'Connect a VTuber client',
    'devices.intro': 'Open-LLM-VTuber’s web page and desktop pet cannot log in. Make a device token for one here and paste the address into its settings.',
    'devices.off': 'This server does not accept VTuber clients: its operator has not turned that endpoint on.',
    'devices.name': 'Device name',
    'devices.name.placeholder': 'e.g. desk pet',
    'devices.password': 'Your password',
    'devices.create': 'Make a token',
    'devices.url': 'Address for the client’s settings',
    'devices.once': 'Shown only this once. It works like a password: anyone who has it can chat as you until you revoke it below.',
    'devices.base': 'Base URL for the client’s settings (it loads the model from here)',
    'devices.copy': 'Copy',
    'devices.copied': 'Copied.',
    'devices.copyFailed': 'Could not copy: select the address and copy it yourself.',
    'devices.createFailed': 'The token was not made: {reason}',
    'devices.wrongPassword': 'The password is wrong.',
    'devices.tooMany': 'This account has as many device tokens as it may have; revoke one first.',
    'logins.title': 'Where you are logged in',
    'logins.browser': 'Browser',
    'logins.device': 'Device token',
    'logins.thisBrowser': 'this browser',
    'logins.created': 'since',
    'logins.lastUsed': 'last used',
    'logins.expires': 'expires',
    'logins.revoke': 'Revoke',
    'logins.confirm': 'Revoke “{name}”? It stops working at once.',
    'logins.confirmThis': 'This is the browser you are using: revoking it logs you out here.',
    'logins.failed': 'Logins could not be loaded: {reason}',
    'logins.revokeFailed': 'Could not revoke: {reason}',
    'memories.title': 'What she remembers about you',
    'memories.none': 'She does not remember anything about you yet.',
    'memories.unavailable': 'Memories are not available yet on this server.',
    'memories.failed': 'Memories could not be loaded: {reason}',
    'memories.forget': 'Forget',
    'memories.forgetFailed': 'Could not forget: {reason}',
    'emotion.happy': 'happy',
    'emotion.angry': 'angry',
    'emotion.sad': 'sad',
    'emotion.surprised': 'surprised',
    'emotion.coquettish': 'playful',
    'emotion.calm': 'calm',
  },
  zh: {
    'page.title': '洛天依 · tianyi',
    'app.name': '洛天依',
    'lang.switch': 'English',
    'lang.switch.title': '把界面语言切换为英文',
    'nav.chat': '聊天',
    'nav.history': '历史',
    'nav.profile': '资料',
    'nav.memories': '记忆',
    'nav.logout': '退出',
    'auth.login.title': '登录',
    'auth.login.submit': '登录',
    'auth.register.title': '创建账号',
    'auth.register.submit': '注册',
    'auth.username': '用户名',
    'auth.password': '密码',
    'auth.nickname': '昵称',
    'auth.wrong': '用户名或密码错误。',
    'avatar.label': '洛天依',
    'state.offline': '离线',
    'state.connecting': '连接中…',
    'state.online': '在线',
    'state.reconnecting': '重新连接中…',
    'chat.placeholder': '和天依说点什么…',
    'chat.input.label': '你的消息',
    'chat.send': '发送',
    'chat.stop': '停止',
    'chat.stop.title': '让她停下',
    'chat.earlier': '之前的对话',
    'chat.notConnected': '还没有连上服务器，请稍等。',
    'tag.connectionLost': '（连接中断）',
    'tag.interrupted': '（被打断）',
    'tag.failed': '（失败）',
    'mic.talk': '说话',
    'mic.sendVoice': '发送语音',
    'mic.title': '语音输入：点一下开始说，再点一下发送',
    'mic.off.server': '这个服务器没有配置语音输入。',
    'mic.off.browser': '语音输入需要安全连接（HTTPS）和带麦克风的浏览器。',
    'mic.blocked': '麦克风被阻止了：请允许这个页面使用麦克风。',
    'mic.noDevice': '无法打开麦克风（{reason}）。',
    'mic.busyListening': '连续对话已开启：直接说话就行。',
    'listen.label': '连续对话',
    'listen.title': '连续对话：她一直在听，直接说话就行；再点一下关闭',
    'listen.titleOn': '连续对话已开启：点一下停止聆听',
    'listen.level': '麦克风音量',
    'listen.opening': '正在打开麦克风…',
    'listen.waiting': '正在连接麦克风…',
    'listen.ready': '正在听，直接说话就行。',
    'listen.hearing': '正在听你说…',
    'listen.partial': '听到：{text}',
    'error.asrFailed': '这次没能听清你说的话，请再说一遍。',
    'error.rateExceeded': '麦克风发送的音频超过了服务器的上限，连续对话已关闭。',
    'error.listenTimeout': '很久没有听到说话，连续对话自动关闭了。',
    'error.utteranceTooLong': '一次说得太长了，请分成几句说。',
    'error.listenEnded': '服务器停止了聆听（{detail}），连续对话已关闭。',
    'error.asrBusy': '还在识别你上一句话，请稍后再说一遍。',
    'listen.off.server': '这个服务器不支持连续对话；“说话”按钮仍然可用。',
    'error.rateLimitedLogin': '尝试次数太多，请稍后再试。',
    'error.rateLimitedChat': '慢一点哦：请 {s} 秒后再试。',
    'error.ttsUnavailable': '她的声音暂时不可用，文字照常显示。',
    'error.llmUnavailable': '她现在没法回答，请稍后再试。',
    'error.asrUnavailable': '这个服务器没有配置语音输入，请打字。',
    'error.tooLarge': '内容太长，服务器不接受（{detail}）。',
    'error.usernameTaken': '这个用户名已经被占用了。',
    'error.invalidUsername': '这个用户名不能用：{detail}',
    'error.weakPassword': '这个密码不能用：{detail}',
    'error.accountDisabled': '这个账号已被停用。',
    'error.network': '连不上服务器（{detail}）。',
    'error.loginFirst': '请先登录。',
    'error.sessionEnded': '登录已失效，请重新登录。',
    'error.server': '{detail}',
    'conn.tooManySessions': '这个账号打开的会话太多了，请关掉其他标签页或设备。',
    'conn.disconnectedByAdmin': '管理员断开了你的连接。',
    'conn.loginRefused': '服务器不接受这次登录，请重新登录。',
    'conn.lost': '连接中断。',
    'conn.lostWhy': '连接中断（{code} {reason}）。',
    'conn.retry': '{s} 秒后重新连接…',
    'live2d.noCore': '没有安装 Live2D Cubism Core（live2dcubismcore.min.js 需要自行提供，见文档），显示绘制的形象。',
    'live2d.failed': '无法加载 Live2D 模型（{reason}），显示绘制的形象。',
    'history.title': '历史记录',
    'history.more': '更早的对话',
    'history.empty': '还没有对话。',
    'history.failed': '无法加载历史记录：{reason}',
    'history.unheard': '（还没听到她说话就停止了）',
    'history.play': '▶ 播放',
    'history.play.title': '播放她的回答',
    'history.stop': '■ 停止',
    'history.audioFailed': '无法播放音频：{reason}',
    'status.completed': '完成',
    'status.interrupted': '被打断',
    'status.failed': '失败',
    'profile.title': '个人资料',
    'profile.nickname': '昵称',
    'profile.description': '关于你',
    'profile.avatarUrl': '头像网址',
    'profile.save': '保存',
    'profile.saved': '已保存。',
    'profile.loadFailed': '无法加载个人资料：{reason}',
    'profile.saveFailed': '个人资料没有保存：{reason}',
    'devices.title': '连接 VTuber 客户端',
    'devices.intro': 'Open-LLM-VTuber 的网页和桌宠无法登录。在这里为它生成一个设备令牌，把地址粘贴到它的设置里。',
    'devices.off': '这个服务器不接受 VTuber 客户端：管理员没有开启这个接口。',
    'devices.name': '设备名称',
    'devices.name.placeholder': '例如：桌宠',
    'devices.password': '你的密码',
    'devices.create': '生成令牌',
    'devices.url': '填到客户端设置里的地址',
    'devices.once': '只显示这一次。它和密码一样：任何拿到它的人都能以你的身份聊天，直到你在下面撤销它。',
    'devices.base': '客户端设置里的 Base URL（模型从这里加载）',
    'devices.copy': '复制',
    'devices.copied': '已复制。',
    'devices.copyFailed': '无法复制：请手动选中地址复制。',
    'devices.createFailed': '没能生成令牌：{reason}',
    'devices.wrongPassword': '密码不对。',
    'devices.tooMany': '这个账号的设备令牌已经达到上限，请先撤销一个。',
    'logins.title': '登录的设备',
    'logins.browser': '浏览器',
    'logins.device': '设备令牌',
    'logins.thisBrowser': '本浏览器',
    'logins.created': '登录于',
    'logins.lastUsed': '最近使用',
    'logins.expires': '到期',
    'logins.revoke': '撤销',
    'logins.confirm': '撤销“{name}”？它会立即失效。',
    'logins.confirmThis': '这是你正在用的浏览器：撤销后这里会退出登录。',
    'logins.failed': '无法加载登录列表：{reason}',
    'logins.revokeFailed': '没能撤销：{reason}',
    'memories.title': '她记得的关于你的事',
    'memories.none': '她还不记得关于你的任何事。',
    'memories.unavailable': '这个服务器暂时没有记忆功能。',
    'memories.failed': '无法加载记忆：{reason}',
    'memories.forget': '忘掉',
    'memories.forgetFailed': '没能忘掉：{reason}',
    'emotion.happy': '开心',
    'emotion.angry': '生气',
    'emotion.sad': '难过',
    'emotion.surprised': '惊讶',
    'emotion.coquettish': '撒娇',
    'emotion.calm': '平静',
  },
};

const LANG_KEY = 'tianyi.lang';
let lang = 'en';
const locale = () => (lang === 'zh' ? 'zh-CN' : 'en-US');

// `{name}` in the string is replaced by args.name.
function t(key, args = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (args[name] !== undefined ? String(args[name]) : m));
}

// The element shows t(key, args), also after a language switch.
function setText(node, key, args) {
  node.dataset.i18n = key;
  if (args) node.dataset.i18nArgs = JSON.stringify(args);
  else delete node.dataset.i18nArgs;
  node.textContent = t(key, args);
  return node;
}

function translate() {
  for (const node of document.querySelectorAll('[data-i18n], [data-i18n-placeholder], [data-i18n-title], [data-i18n-aria-label], [data-time]')) {
    const d = node.dataset;
    if (d.i18n) node.textContent = t(d.i18n, d.i18nArgs ? JSON.parse(d.i18nArgs) : undefined);
    if (d.i18nPlaceholder) node.placeholder = t(d.i18nPlaceholder);
    if (d.i18nTitle) node.title = t(d.i18nTitle);
    if (d.i18nAriaLabel) node.setAttribute('aria-label', t(d.i18nAriaLabel));
    if (d.time) node.textContent = new Date(d.time).toLocaleString(locale());
  }
  document.documentElement.lang = locale();
  document.title = t('page.title');
}

function setLanguage(next, remember) {
  lang = next === 'zh' ? 'zh' : 'en';
  if (remember) {
    try { localStorage.setItem(LANG_KEY, lang); } catch { /* storage off: this tab only */ }
  }
  translate();
  renderBanner();
  setEmotion(S.emotion);
  updateMic();
  renderHearing();
}

function initialLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(LANG_KEY); } catch { /* storage off */ }
  if (stored === 'zh' || stored === 'en') return stored;
  return /^zh\b/i.test(navigator.language || '') ? 'zh' : 'en';
}

// ---------- state ----------
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
let listener = null;            // the Listener while hands-free is on
let entry = 0;                  // counts log-ins, so a late answer of an earlier one is ignored
const S = {
  activeTurn: null,  // the running turn (turn_start .. turn_end)
  awaiting: false,   // a chat was sent, its turn_start has not come yet
  stopNext: false,   // stop pressed before turn_start: that turn is stopped on arrival
  bubbles: new Map(),// turn -> reply element
  mouth: 0,
  lastPlayedMs: 0,
  events: [],
  emotion: 'calm',
  speechInput: null, // does the server transcribe speech: true / false / null (not known)
  listenInput: null, // does it take listen_start (hello.listening): true / false / null (not said)
  stuck: true,       // the transcript is scrolled to its end: new text keeps it there
  listen: 'off',     // hands-free: off | opening | waiting (listen_start sent) | listening
  hearing: null,     // the utterance being heard: {utterance, text}
  micLevel: 0,       // RMS (0..1) of the microphone's last frame while hands-free is on
  meter: 0,          // the level meter's position (0..1), smoothed
};

// ---------- messages ----------
// The banner keeps how to render its message, so a language switch re-renders it.
let bannerText = null;
function renderBanner() {
  const b = $('#banner');
  b.textContent = bannerText ? bannerText() : '';
  b.hidden = !bannerText;
}
function banner(render, kind = 'error') {
  bannerText = render;
  $('#banner').className = kind;
  renderBanner();
}
const say = (key, args, kind) => banner(() => t(key, args), kind);
const sayError = (key, err) => banner(() => t(key, { reason: explain(err) }));

const ERROR_KEYS = {
  rate_limited: 'error.rateLimitedLogin',
  username_taken: 'error.usernameTaken',
  invalid_username: 'error.invalidUsername',
  weak_password: 'error.weakPassword',
  account_disabled: 'error.accountDisabled',
  network: 'error.network',
  too_many_device_tokens: 'devices.tooMany',
};
// An error in the page's language: our own ones carry a key; the server's are named by their code,
// with the server's words as the detail, or shown as the server worded them.
function explain(err) {
  if (!err) return '';
  const key = err.key || ERROR_KEYS[err.code] || 'error.server';
  const text = t(key, { detail: err.message || err.code || String(err), ...(err.args || {}) });
  return err.cause ? explain(err.cause) + ' ' + text : text;
}

// ---------- views ----------
function show(view) {
  document.body.dataset.view = view;
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + view;
  for (const b of document.querySelectorAll('.tab')) b.classList.toggle('active', b.dataset.view === view);
  $('#nav').hidden = view === 'auth';
  $('#logout').hidden = view === 'auth';
  if (view === 'history') loadHistory();
  if (view === 'profile') { loadProfile(); loadLogins(); }
  if (view === 'memories') loadMemories();
  if (view === 'chat') {
    scrollToEnd();
    if (!matchMedia('(pointer: coarse)').matches) $('#chat-input').focus(); // no keyboard popping up on phones
  }
}

function enterApp() {
  entry++;
  show('chat');
  banner(null);
  loadRecent(entry);
  if (!socket) socket = new ChatSocket({ onEvent, onAudio, onState });
  socket.connect();
}

api.onLogout(() => {
  entry++;
  socket?.close();
  socket = null;
  hello = null;
  abortRecording();
  endListening();
  player.reset();
  player.stopReplay();
  Object.assign(S, { activeTurn: null, awaiting: false, stopNext: false, lastTurn: null, stuck: true });
  S.bubbles.clear();
  $('#transcript').replaceChildren(); // the next user of this tab sees nothing of this one
  $('#history-list').replaceChildren();
  $('#memories-list').replaceChildren();
  $('#whoami').textContent = '';
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
    if (err.code === 'invalid_grant') say('auth.wrong');
    else banner(() => explain(err));
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
    banner(() => explain(err));
  }
});

$('#logout').addEventListener('click', () => api.logout());
$('#lang').addEventListener('click', () => setLanguage(lang === 'zh' ? 'en' : 'zh', true));
for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.view));

// ---------- chat ----------
// The transcript follows what is added (her reply growing, a new line) when its end was in view
// (within STICK_PX) before; scrolled up to read, it stays where the reader is.
const STICK_PX = 48;
const transcript = $('#transcript');
const atEnd = () => transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight <= STICK_PX;
function scrollToEnd() {
  transcript.scrollTop = transcript.scrollHeight;
  S.stuck = true;
}
// Runs change(), which adds to the transcript, keeping the end in view if it was.
function grow(change) {
  const stick = atEnd();
  const result = change();
  if (stick) scrollToEnd();
  return result;
}
// The transcript's box changes size too (the phone's keyboard, rotation): its end stays in view if it
// was at the last scroll.
transcript.addEventListener('scroll', () => { S.stuck = atEnd(); }, { passive: true });
new ResizeObserver(() => { if (S.stuck) scrollToEnd(); }).observe(transcript);

function onState(state, detail) {
  setText($('#conn-state'), 'state.' + state);
  $('#conn-state').className = 'state ' + state;
  if (detail) banner(() => explain(detail), state === 'reconnecting' ? 'info' : 'error');
  else if (state === 'online') banner(null);
  if (state !== 'online') { abortRecording(); endListening(); } // the stream went with the socket
}

function addLine(cls, text) {
  return grow(() => transcript.appendChild(el('li', cls, text)));
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
  if (!socket || socket.state !== 'online') return say('chat.notConnected');
  bargeIn();
  socket.send({ type: 'chat', text, client_msg_id: crypto.randomUUID?.() || String(Date.now()) });
  S.awaiting = true;
  $('#chat-input').value = '';
  scrollToEnd(); // what she says to this is what the user wants to see
  addLine('user', text);
  updateButtons();
});

// The user's recent turns, above this session's, so a reload does not empty the chat. Quiet when
// it fails: the chat works without them.
const RECENT_TURNS = 10;
async function loadRecent(forEntry) {
  let page;
  try { page = await api.history(null, RECENT_TURNS); } catch { return; }
  if (forEntry !== entry || !page.turns.length) return;
  const lines = [setText(el('li', 'divider'), 'chat.earlier')];
  for (const turn of [...page.turns].reverse()) {
    if (hello && String(turn.session_id) === String(hello.session_id)) continue; // on screen already
    lines.push(el('li', 'user earlier', turn.user_text));
    const reply = el('li', `reply earlier ${turn.status}`, turn.reply_text || '');
    if (turn.status !== 'completed') reply.appendChild(statusTag(turn.status));
    lines.push(reply);
  }
  grow(() => transcript.prepend(...lines));
}

function statusTag(status) {
  return setText(el('span', 'tag'), status === 'interrupted' ? 'tag.interrupted' : status === 'failed' ? 'tag.failed' : 'tag.connectionLost');
}

// ---------- speech input ----------
// The Talk button: tap to talk, tap again to send (recording also ends by itself at the length the
// server accepts). The server transcribes, answers with `transcript`, then the turn. It is offered
// only when the browser can record and the server transcribes (/readyz names an ASR provider);
// otherwise it is disabled and the note under the input row says why.
function setMicState(state) {
  S.mic = state; // idle | starting | recording
  const b = $('#mic');
  b.classList.toggle('recording', state === 'recording');
  setText(b, state === 'recording' ? 'mic.sendVoice' : 'mic.talk');
  updateMic();
}

// Talk and Hands-free are offered together: both need a microphone and a server that transcribes.
// Without them both are disabled, their tooltip and the note under the input say why.
function updateMic() {
  const reason = !Microphone.supported() ? 'mic.off.browser' : S.speechInput === false ? 'mic.off.server' : null;
  const b = $('#mic');
  const l = $('#listen');
  const note = $('#mic-note');
  const listening = S.listen !== 'off';
  // A server with speech input that says it takes no listen_start (an older one): Talk only.
  const listenReason = reason || (S.listenInput === false && S.speechInput === true ? 'listen.off.server' : null);
  b.disabled = !!reason || S.mic === 'starting' || listening; // hands-free hears everything already
  b.title = t(reason || (listening ? 'mic.busyListening' : 'mic.title'));
  l.disabled = !!listenReason || (S.mic || 'idle') !== 'idle'; // one way of talking at a time
  l.title = t(listenReason || (listening ? 'listen.titleOn' : 'listen.title'));
  for (const [e, why] of [[b, reason], [l, listenReason]]) {
    if (why) e.setAttribute('aria-describedby', 'mic-note');
    else e.removeAttribute('aria-describedby');
  }
  note.hidden = !listenReason;
  note.textContent = listenReason ? t(listenReason) : '';
}

// ---------- hands-free ----------
// One toggle: on opens the microphone (echo cancellation, noise suppression, gain control) and streams
// 20 ms frames after listen_start; the server's VAD finds the utterances and answers them as turns. Off,
// a hidden or closed page, or a lost socket end it (listen_stop when the server was told). What the server
// hears is shown over the input as "Hearing: …" and never lands in the input, so it cannot be sent twice;
// the final transcript becomes the user's line of the turn. While the user speaks over her the server
// ducks her voice, then stops it (stopped, reason voice) or brings it back (unduck).
const LEVEL_FLOOR_DB = -60;  // the meter's empty end; its full end is 0 dBFS
const METER_RELEASE = 0.25;  // the meter falls back by this share of the distance per 20 ms frame
const HEARING_MAX_CHARS = 80; // the hearing line shows the end of a long partial transcript

function setListen(state) {
  S.listen = state;
  const l = $('#listen');
  l.setAttribute('aria-pressed', String(state !== 'off'));
  l.classList.toggle('on', state !== 'off');
  $('#mic-level').hidden = state === 'off';
  if (state === 'off') { S.hearing = null; showLevel(0); player.duck(false); }
  renderHearing();
  updateMic();
}

function renderHearing() {
  const p = $('#hearing');
  const key = { opening: 'listen.opening', waiting: 'listen.waiting', listening: 'listen.ready' }[S.listen];
  p.hidden = !key;
  p.classList.toggle('heard', !!S.hearing);
  if (!key) { p.textContent = ''; return; }
  const h = S.hearing;
  if (!h) return setText(p, key);
  if (!h.text) return setText(p, 'listen.hearing');
  const text = h.text.length > HEARING_MAX_CHARS ? '…' + h.text.slice(-HEARING_MAX_CHARS) : h.text;
  setText(p, 'listen.partial', { text });
}

function showLevel(rms) {
  S.micLevel = rms;
  const db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
  const pos = Math.max(0, Math.min(1, (db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB));
  S.meter = pos >= S.meter ? pos : S.meter + (pos - S.meter) * METER_RELEASE;
  if (S.meter < 0.005) S.meter = 0;
  const m = $('#mic-level');
  m.firstElementChild.style.transform = `scaleX(${S.meter.toFixed(3)})`;
  m.setAttribute('aria-valuenow', String(Math.round(S.meter * 100)));
}

async function startListening() {
  player.unlock();
  if (!socket || socket.state !== 'online') return say('chat.notConnected');
  const l = new Listener({ sendJson: (m) => socket.send(m), sendBinary: (b) => socket.sendBinary(b) }, { onLevel: showLevel });
  listener = l;
  setListen('opening');
  try {
    await l.start();
    if (listener === l) setListen('waiting');
  } catch (err) {
    if (listener === l) { listener = null; setListen('off'); }
    banner(() => explain(err));
  }
}

// Off by the user, or the page goes away: the server is told (listen_stop).
function stopListening() {
  if (!listener) return;
  listener.stop();
  listener = null;
  setListen('off');
}

// The server ended listening, or the socket went: nothing more is sent.
function endListening() {
  if (!listener) return;
  listener.abort();
  listener = null;
  setListen('off');
}

$('#listen').addEventListener('click', () => (listener ? stopListening() : startListening()));
document.addEventListener('visibilitychange', () => { if (document.hidden) stopListening(); });
addEventListener('pagehide', stopListening);

function finishRecording() {
  if (!mic) return;
  const seconds = mic.stop();
  S.micSeconds = seconds;
  mic = null;
  setMicState('idle');
  S.awaiting = true;
  updateButtons();
}

// Ends a recording without audio_end: the socket went, or the server refused the speech input.
function abortRecording() {
  if (!mic) return;
  mic.abort();
  mic = null;
  setMicState('idle');
}

$('#mic').addEventListener('click', async () => {
  player.unlock();
  if (mic?.recording) return finishRecording();
  if (!socket || socket.state !== 'online') return say('chat.notConnected');
  bargeIn();
  mic = new Microphone({ sendJson: (m) => socket.send(m), sendBinary: (b) => socket.sendBinary(b) }, { onAutoStop: finishRecording });
  setMicState('starting');
  const started = mic;
  try {
    await started.start();
    if (mic === started) setMicState('recording');
  } catch (err) {
    if (mic === started) { mic = null; setMicState('idle'); }
    banner(() => explain(err));
  }
});

api.speechInput().then((on) => { S.speechInput = on; updateMic(); });

function setEmotion(id) {
  S.emotion = id;
  avatar.setExpression(id);
  const e = emotions.get(id);
  // The persona's labels are Chinese; in English the known emotions have ours.
  $('#emotion-label').textContent = !e ? '' : lang === 'zh' ? e.label : (STRINGS.en['emotion.' + id] || e.label);
}

function onEvent(msg) {
  S.events.push(msg.type);
  if (S.events.length > 200) S.events.shift();
  const dropped = msg.turn !== undefined && player.isStopped(msg.turn) && msg.type !== 'turn_end' && msg.type !== 'stopped';
  switch (msg.type) {
    case 'hello':
      // A new session (also after a reconnect): turn numbers start again; a turn cut off by the
      // lost connection ended on the server as interrupted.
      for (const b of S.bubbles.values()) { b.classList.add('interrupted'); b.appendChild(statusTag('lost')); }
      S.bubbles.clear();
      player.reset();
      Object.assign(S, { activeTurn: null, awaiting: false, stopNext: false, lastTurn: null });
      hello = msg;
      emotions = new Map((msg.persona?.emotions || []).map((e) => [e.id, e]));
      $('#whoami').textContent = msg.user?.nickname || msg.user?.username || '';
      setEmotion(msg.persona?.default_emotion || 'calm');
      // The socket's own word on speech input: it reaches the page even where a proxy hides /readyz.
      if (typeof msg.speech_input === 'boolean') { S.speechInput = msg.speech_input; updateMic(); }
      S.listenInput = typeof msg.listening === 'boolean' ? msg.listening : null; // hands-free accepted
      updateMic();
      maybeLive2D();
      break;
    case 'turn_start': {
      S.awaiting = false;
      player.duck(false); // a duck belongs to the turn she was speaking
      S.activeTurn = msg.turn;
      S.lastTurn = msg.turn;
      const b = addLine('reply', '');
      b.dataset.turn = msg.turn;
      S.bubbles.set(msg.turn, b);
      if (S.stopNext) { S.stopNext = false; stopCurrent(); }
      break;
    }
    case 'listening':
      if (listener) { listener.accepted(); setListen('listening'); }
      break;
    case 'speech_start':
      S.hearing = { utterance: msg.utterance, text: '' };
      renderHearing();
      break;
    case 'speech_end':
      break; // the final transcript follows; until then the hearing line stays
    case 'transcript':
      if (msg.utterance !== undefined) {
        if (!msg.final) { S.hearing = { utterance: msg.utterance, text: msg.text || '' }; renderHearing(); break; }
        if (S.hearing?.utterance === msg.utterance || !msg.text) { S.hearing = null; renderHearing(); }
        if (msg.text) { S.awaiting = true; scrollToEnd(); } // the turn follows, as after a typed message
      }
      if (msg.final && msg.text) addLine('user', msg.text);
      break;
    case 'duck':
      player.duck(true);
      break;
    case 'unduck':
      player.duck(false);
      break;
    case 'emotion':
      if (!dropped) setEmotion(msg.emotion);
      break;
    case 'text_delta':
      if (!dropped) grow(() => S.bubbles.get(msg.turn)?.append(msg.delta));
      break;
    case 'stopped':
      // Stopped by the user's voice (or an operator): silence her at once. A stop of ours already did.
      if (!player.isStopped(msg.turn)) S.lastPlayedMs = player.stop(msg.turn);
      player.duck(false);
      break;
    case 'turn_end': {
      const b = S.bubbles.get(msg.turn);
      if (b) {
        grow(() => {
          if (msg.status === 'interrupted') b.textContent = msg.text || '';
          b.classList.add(msg.status);
          if (msg.status !== 'completed') b.appendChild(statusTag(msg.status));
        });
      }
      if (S.activeTurn === msg.turn) S.activeTurn = null;
      S.bubbles.delete(msg.turn);
      break;
    }
    case 'error':
      onError(msg);
      break;
    default:
      break;
  }
  updateButtons();
}

// Errors after which the server takes no more of the hands-free stream (the server also marks them
// `listening: false`), and its refusals of listen_start (they come while the page waits for `listening`).
const ENDS_LISTENING = new Set(['asr_unavailable', 'rate_exceeded', 'listen_timeout']);
const REFUSES_LISTENING = new Set(['asr_unavailable', 'speech_input_busy', 'unsupported_audio', 'rate_limited', 'bad_request']);

function onError(msg) {
  // The server's stream is open already (it goes on unchanged): stream into it as after `listening`.
  if (msg.code === 'already_listening' && S.listen === 'waiting' && listener) { listener.accepted(); setListen('listening'); return; }
  if (msg.code === 'asr_unavailable' || msg.code === 'too_large') abortRecording(); // the server takes no more frames
  const refused = S.listen === 'waiting' && msg.turn === undefined && REFUSES_LISTENING.has(msg.code);
  if (ENDS_LISTENING.has(msg.code) || msg.listening === false || refused) endListening();
  // A server that does not know hands-free refuses listen_start as a bad request: nothing was streamed yet.
  if (refused && msg.code !== 'asr_unavailable') return say('error.listenEnded', { detail: msg.message || msg.code });
  if (msg.code === 'asr_unavailable') { S.speechInput = false; updateMic(); }
  if (msg.utterance !== undefined && S.hearing?.utterance === msg.utterance) { S.hearing = null; renderHearing(); }
  const detail = msg.message || msg.code;
  if (msg.code === 'tts_unavailable') say('error.ttsUnavailable', undefined, 'info');
  else if (msg.code === 'asr_failed') say('error.asrFailed');
  else if (msg.code === 'rate_exceeded') say('error.rateExceeded');
  else if (msg.code === 'listen_timeout') say('error.listenTimeout', undefined, 'info');
  else if (msg.code === 'utterance_too_long') say('error.utteranceTooLong');
  else if (msg.code === 'asr_busy') say('error.asrBusy');
  else if (msg.listening === false) say('error.listenEnded', { detail });
  else if (msg.code === 'rate_limited') say('error.rateLimitedChat', { s: Math.ceil((msg.retry_after_ms || 1000) / 1000) });
  else if (msg.code === 'llm_unavailable') say('error.llmUnavailable');
  else if (msg.code === 'asr_unavailable') say('error.asrUnavailable');
  else if (msg.code === 'too_large') say('error.tooLarge', { detail });
  else banner(() => detail);
  if (msg.code !== 'tts_unavailable' && S.awaiting && msg.turn === undefined) { S.awaiting = false; S.stopNext = false; }
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
    canvas.dataset.i18nAriaLabel = 'avatar.label';
    canvas.setAttribute('aria-label', t('avatar.label'));
    l2d.setExpression(avatar.expression);
    avatar = l2d;
    note.hidden = true;
  } catch (err) {
    if (err.key) setText(note, err.key);
    else setText(note, 'live2d.failed', { reason: err.message });
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
    if (!more && !page.turns.length) list.appendChild(setText(el('li', 'empty'), 'history.empty'));
    for (const turn of page.turns) list.appendChild(historyItem(turn));
    historyBefore = page.next_before ?? null;
    $('#history-more').hidden = !historyBefore;
  } catch (err) {
    sayError('history.failed', err);
  }
}
$('#history-more').addEventListener('click', () => loadHistory(true));

// One turn: when, what the user said, her reply as one text with one player that plays the reply's
// stored sentences in order (sentences whose audio retention removed are skipped).
function historyItem(turn) {
  const li = el('li', 'turn ' + turn.status);
  const when = el('div', 'when');
  const time = el('span', '', new Date(turn.created_at).toLocaleString(locale()));
  time.dataset.time = turn.created_at;
  when.appendChild(time);
  if (turn.status !== 'completed') when.append(' · ', setText(el('span'), 'status.' + turn.status));
  li.append(when, el('div', 'user', turn.user_text));
  const reply = el('div', 'reply');
  const sentences = turn.sentences || [];
  const text = el('div', 'reply-text', sentences.length ? sentences.map((s) => s.text).join('') : turn.reply_text || '');
  if (!text.textContent && turn.status === 'interrupted') setText(text, 'history.unheard');
  const urls = sentences.filter((s) => s.audio_url).sort((a, b) => a.index - b.index).map((s) => s.audio_url);
  if (urls.length) reply.appendChild(replyPlayer(urls));
  reply.appendChild(text);
  li.appendChild(reply);
  return li;
}

function replyPlayer(urls) {
  const play = setText(el('button', 'play'), 'history.play');
  play.type = 'button';
  play.dataset.i18nTitle = 'history.play.title';
  play.title = t('history.play.title');
  const idle = () => { play.classList.remove('playing'); setText(play, 'history.play'); };
  play.addEventListener('click', async () => {
    if (play.classList.contains('playing')) return player.stopReplay();
    play.classList.add('playing');
    setText(play, 'history.stop');
    try {
      await player.playFiles(urls.map((u) => () => api.audioBytes(u)), { onEnd: idle });
    } catch (err) {
      player.stopReplay();
      sayError('history.audioFailed', err);
    }
  });
  return play;
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
    sayError('profile.loadFailed', err);
  }
}
$('#profile-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    await api.putProfile({ nickname: f.nickname.value, description: f.description.value, avatar_url: f.avatar_url.value });
    setText($('#profile-status'), 'profile.saved');
    banner(null);
  } catch (err) {
    sayError('profile.saveFailed', err);
  }
});

// ---------- logins and device tokens ----------
// The address a VTuber client is given: the server's device endpoint on this host, the token in
// the query (the client cannot send a header). wss when this page came over https.
function deviceUrl(path, token) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${path}?token=${encodeURIComponent(token)}`;
}

function timeSpan(labelKey, iso) {
  const span = el('span', 'when');
  const time = el('time');
  time.dateTime = iso;
  time.dataset.time = iso;
  time.textContent = new Date(iso).toLocaleString(locale());
  span.append(setText(el('span'), labelKey), ' ', time);
  return span;
}

function loginLabel(login) {
  return login.kind === 'device' ? login.name : t('logins.browser') + (login.current ? ` (${t('logins.thisBrowser')})` : '');
}

function loginItem(login) {
  const li = el('li', 'login');
  li.dataset.id = login.id;
  li.dataset.kind = login.kind;
  if (login.current) li.classList.add('current');
  const about = el('div', 'about');
  const title = el('div', 'title');
  title.id = 'login-' + login.id;
  if (login.kind === 'device') title.append(el('span', 'name', login.name), ' ', setText(el('span', 'tag'), 'logins.device'));
  else {
    title.append(setText(el('span', 'name'), 'logins.browser'));
    if (login.current) title.append(' ', setText(el('span', 'tag this'), 'logins.thisBrowser'));
  }
  about.append(title, timeSpan('logins.created', login.created_at));
  if (login.last_used_at) about.append(timeSpan('logins.lastUsed', login.last_used_at));
  about.append(timeSpan('logins.expires', login.expires_at));
  const revoke = setText(el('button', 'revoke'), 'logins.revoke');
  revoke.type = 'button';
  revoke.setAttribute('aria-describedby', title.id); // "Revoke", described by the login's name
  revoke.addEventListener('click', () => revokeLogin(login, li));
  li.append(about, revoke);
  return li;
}

async function revokeLogin(login, li) {
  const question = t('logins.confirm', { name: loginLabel(login) }) + (login.current ? '\n' + t('logins.confirmThis') : '');
  if (!confirm(question)) return;
  try {
    await api.revokeLogin(login.id);
  } catch (err) {
    sayError('logins.revokeFailed', err);
    return;
  }
  if (login.current) { // this browser's tokens are dead now: back to the login page
    await api.logout();
    return;
  }
  const next = li.nextElementSibling?.querySelector('button') || li.previousElementSibling?.querySelector('button');
  li.remove();
  (next || $('#logins-title')).focus(); // keep keyboard focus in the list
}

async function loadLogins() {
  const list = $('#logins-list');
  try {
    const answer = await api.logins();
    list.replaceChildren(...(answer.logins || []).map(loginItem));
    const endpoint = answer.device_endpoint;
    $('#devices').dataset.endpoint = endpoint || '';
    $('#devices-on').hidden = !endpoint;
    $('#devices-off').hidden = !!endpoint;
    if (!endpoint) setText($('#devices-off'), 'devices.off');
  } catch (err) {
    list.replaceChildren(setText(el('li', 'empty'), 'logins.failed', { reason: explain(err) }));
  }
}

$('#device-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const password = f.password.value;
  f.password.value = ''; // not kept in the page longer than the request
  const result = $('#device-result');
  result.hidden = true;
  $('#device-url').value = '';
  try {
    const made = await api.createDeviceToken(f.name.value.trim(), password);
    $('#device-url').value = deviceUrl($('#devices').dataset.endpoint, made.token);
    $('#device-base').value = location.origin; // OLV's "Base URL": the model's URL is relative to it
    $('#device-copy-status').textContent = '';
    result.hidden = false;
    f.name.value = '';
    banner(null);
    $('#device-url').focus();
    $('#device-url').select();
    loadLogins();
  } catch (err) {
    if (err.code === 'forbidden') err.key = 'devices.wrongPassword';
    sayError('devices.createFailed', err);
    f.password.focus();
  }
});

$('#device-copy').addEventListener('click', async () => {
  const input = $('#device-url');
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    // No clipboard API outside a secure context (plain http to another host): the old way.
    input.focus();
    input.select();
    try { copied = document.execCommand('copy'); } catch { copied = false; }
  }
  setText($('#device-copy-status'), copied ? 'devices.copied' : 'devices.copyFailed');
});

// ---------- memories ----------
async function loadMemories() {
  const list = $('#memories-list');
  const note = $('#memories-note');
  list.replaceChildren();
  note.textContent = '';
  delete note.dataset.i18n;
  try {
    const items = [];
    for (let before = null, pages = 0; pages < MAX_MEMORY_PAGES; pages++) { // the server keeps at most a few hundred
      const page = await api.memories(before);
      items.push(...(page.memories || []));
      if (!page.next_before) break;
      before = page.next_before;
    }
    if (!items.length) setText(note, 'memories.none');
    for (const m of items) {
      const li = el('li', 'memory');
      const forget = setText(el('button', 'forget'), 'memories.forget');
      forget.type = 'button';
      forget.addEventListener('click', async () => {
        try { await api.forget(m.id); li.remove(); }
        catch (err) { sayError('memories.forgetFailed', err); }
      });
      li.append(el('span', 'text', m.text || m.content || m.summary || JSON.stringify(m)), forget);
      list.appendChild(li);
    }
  } catch (err) {
    if (err.status === 404) setText(note, 'memories.unavailable');
    else setText(note, 'memories.failed', { reason: explain(err) });
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
    get speechInput() { return S.speechInput; },
    get listen() { return S.listen; },
    get micLevel() { return S.micLevel; },
    get meter() { return S.meter; },
    get hearing() { return S.hearing ? { ...S.hearing } : null; },
    get listenSent() { return listener ? { frames: listener.sentFrames, bytes: listener.sentBytes } : null; },
    get volume() { return player.volume(); },
    get language() { return lang; },
    get replaying() { return player.replaying(); },
    get live2d() { return avatar instanceof Live2DAvatar ? avatar.state() : null; },
    get audioState() { return player.ctx?.state || 'none'; },
    get events() { return [...S.events]; },
  }),
});

setLanguage(initialLanguage(), false);
if (api.loggedIn()) enterApp(); else show('auth');
