// HTTP API of the server. URLs are relative to the page, so the client works behind a reverse
// proxy (also under a path prefix). Tokens live in sessionStorage (one login per tab).

const KEY = 'tianyi.tokens';
const REFRESH_MARGIN_MS = 15000;

// code: the server's error code (or our own: network); key: the page's string for our own errors.
export class ApiError extends Error {
  constructor(status, code, message, key) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'http_' + status;
    if (key) this.key = key;
  }
}

const loginFirst = () => new ApiError(401, 'unauthorized', 'Please log in.', 'error.loginFirst');

let refreshing = null;
const listeners = new Set();

export function onLogout(fn) { listeners.add(fn); }

export function url(path) { return new URL(path.replace(/^\//, ''), document.baseURI).toString(); }

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch { return null; }
}
function save(t) {
  sessionStorage.setItem(KEY, JSON.stringify({
    access_token: t.access_token,
    refresh_token: t.refresh_token,
    expires_at: Date.now() + (t.expires_in || 900) * 1000,
  }));
}
function clear() {
  sessionStorage.removeItem(KEY);
  for (const fn of listeners) fn();
}

export function loggedIn() { return !!load(); }

async function parse(res) {
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  const body = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    // {"error":{"code","message"}}, or RFC 6749's {"error":"invalid_grant","error_description"} from the token endpoint.
    const e = body && body.error;
    const code = typeof e === 'string' ? e : e && e.code;
    const message = typeof e === 'string' ? body.error_description : e && e.message;
    throw new ApiError(res.status, code, message || `${res.status} ${res.statusText}`);
  }
  return body;
}

async function send(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(url(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, 'network', err.message);
  }
  return res;
}

async function refresh() {
  const t = load();
  if (!t) throw loginFirst();
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await send('POST', 'api/v1/auth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token });
        save(await parse(res));
      } catch (err) {
        if (err.status && err.status < 500) clear();
        throw err.status === 400 ? new ApiError(401, 'unauthorized', 'Your session has ended; please log in again.', 'error.sessionEnded') : err;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

// A valid access token, refreshed first when it is about to expire.
export async function accessToken({ force = false } = {}) {
  let t = load();
  if (!t) throw loginFirst();
  if (force || Date.now() > t.expires_at - REFRESH_MARGIN_MS) {
    await refresh();
    t = load();
  }
  return t.access_token;
}

// An authenticated request: on 401 the token is refreshed once and the request repeated.
export async function authed(method, path, body) {
  let res = await send(method, path, body, await accessToken());
  if (res.status === 401) res = await send(method, path, body, await accessToken({ force: true }));
  return res;
}

export async function register(username, password, nickname) {
  const body = { username, password };
  if (nickname) body.nickname = nickname;
  return parse(await send('POST', 'api/v1/auth/register', body));
}

export async function login(username, password) {
  save(await parse(await send('POST', 'api/v1/auth/token', { grant_type: 'password', username, password })));
}

export async function logout() {
  const t = load();
  if (t) await send('POST', 'api/v1/auth/logout', { refresh_token: t.refresh_token }).catch(() => {});
  clear();
}

export const history = (before, limit = 20) => authed('GET', `api/v1/me/history?limit=${limit}` + (before ? '&before=' + before : '')).then(parse);
export const getProfile = () => authed('GET', 'api/v1/me/profile').then(parse);
export const putProfile = (p) => authed('PUT', 'api/v1/me/profile', p).then(parse);
// {logins: [{id, kind: browser|device, name, created_at, expires_at, last_used_at, current}], device_endpoint: path or null}
export const logins = () => authed('GET', 'api/v1/me/logins').then(parse);
export const revokeLogin = (id) => authed('DELETE', 'api/v1/me/logins/' + encodeURIComponent(id)).then(parse);
// {id, name, token, expires_at}: the token is in this answer only.
export const createDeviceToken = (name, password) => authed('POST', 'api/v1/me/device-tokens', { name, password }).then(parse);
// One page of memories, newest first; page.next_before asks for the next (null: no more).
export const memories = (before) => authed('GET', 'api/v1/me/memories?limit=200' + (before ? '&before=' + encodeURIComponent(before) : '')).then(parse);
export const forget = (id) => authed('DELETE', 'api/v1/me/memories/' + encodeURIComponent(id)).then(parse);

// Stored audio of a history sentence, as bytes (needs the Authorization header, so no <audio src>).
export async function audioBytes(audioUrl) {
  const res = await authed('GET', audioUrl);
  if (!res.ok) await parse(res);
  return res.arrayBuffer();
}

// Whether the server transcribes speech input: /readyz names the ASR provider, "none (…)" without
// asr.base_url. null when it cannot be told (then the server's asr_unavailable answer decides).
export async function speechInput() {
  try {
    const res = await fetch(url('readyz'));
    const provider = (await res.json())?.providers?.asr?.provider;
    return typeof provider === 'string' ? !/^none\b/.test(provider) : null;
  } catch {
    return null;
  }
}
