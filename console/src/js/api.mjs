// The console's only way to the server: the public token service and APIs,
// plus the console's extension endpoints, with the session's bearer token.
// The session lives in this module's memory only (never in storage): a
// reload signs out. Tokens are renewed before they expire (refresh token
// for a user, the client credentials again for an app).

/** The server's root, wherever the console is mounted (…/console/). */
export const root = new URL('../', location.origin + location.pathname).href;

const RENEW_BEFORE_MS = 5 * 60 * 1000;
let session = null;
const listeners = new Set();

export const onSession = (fn) => listeners.add(fn);
export const current = () => session;
const notify = () => listeners.forEach((fn) => fn(session));

let configPromise = null;
/** Token resources and the service time (public). */
export function config() {
  configPromise ||= plainFetch(`${root}console/api/config`).then((r) => r.json());
  return configPromise;
}

/** The service's "today" as yyyy-mm-dd (the demo data ends there). */
export async function serviceToday() {
  const c = await fetch(`${root}console/api/config`).then((r) => r.json());
  return c.now.slice(0, 10);
}

async function plainFetch(url, init) {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

function decodeClaims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

/** One token request; throws the token service's own description. */
async function tokenRequest(tenant, fields) {
  const body = new URLSearchParams(fields);
  const res = await fetch(`${root}${encodeURIComponent(tenant)}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = new Error(json.error_description || `The token service answered HTTP ${res.status}`);
    e.code = json.error;
    e.status = res.status;
    throw e;
  }
  return json;
}

function grantFields(creds, resource) {
  const f = { client_id: creds.clientId, resource };
  if (creds.clientSecret) f.client_secret = creds.clientSecret;
  if (creds.mode === 'user') Object.assign(f, { grant_type: 'password', username: creds.username, password: creds.password });
  else f.grant_type = 'client_credentials';
  return f;
}

function tokenOf(answer) {
  return {
    access: answer.access_token,
    refresh: answer.refresh_token || null,
    expiresAt: Date.now() + Number(answer.expires_in || 3600) * 1000,
  };
}

/**
 * Signs in for both APIs. creds: {tenant, clientId, clientSecret?, mode:
 * 'user'|'app', username?, password?}. The Insights token is required; a
 * Store token that is refused is remembered as the reason the Store pages
 * are unavailable.
 */
export async function signIn(creds) {
  const cfg = await config();
  const insights = tokenOf(await tokenRequest(creds.tenant, grantFields(creds, cfg.insightsResource)));
  let store = null;
  let storeError = null;
  try {
    store = tokenOf(await tokenRequest(creds.tenant, grantFields(creds, cfg.storeResource)));
  } catch (e) {
    storeError = e.message;
  }
  const claims = decodeClaims(insights.access);
  session = {
    tenant: creds.tenant,
    clientId: creds.clientId,
    // Kept in memory only, to renew app tokens; a user's renewal uses the refresh token.
    clientSecret: creds.mode === 'app' ? creds.clientSecret : null,
    mode: creds.mode,
    tokens: { insights, store },
    storeError,
    who: claims.upn || claims.unique_name || claims.appid || creds.clientId,
    roles: Array.isArray(claims.roles) ? claims.roles : [],
    timers: {},
  };
  scheduleRenewal('insights', cfg.insightsResource);
  if (store) scheduleRenewal('store', cfg.storeResource);
  notify();
  return session;
}

export function signOut(reason) {
  if (session) Object.values(session.timers).forEach(clearTimeout);
  session = null;
  signOut.reason = reason || null;
  notify();
}

function scheduleRenewal(api, resource) {
  const s = session;
  const t = s.tokens[api];
  const wait = Math.max(10_000, t.expiresAt - Date.now() - RENEW_BEFORE_MS);
  clearTimeout(s.timers[api]);
  s.timers[api] = setTimeout(() => renew(api, resource).catch(() => {}), wait);
}

/** Renews one API's token; signs out when that fails. */
async function renew(api, resource) {
  const s = session;
  if (!s) return;
  const t = s.tokens[api];
  try {
    let answer;
    if (t.refresh) {
      answer = await tokenRequest(s.tenant, { grant_type: 'refresh_token', client_id: s.clientId, refresh_token: t.refresh });
    } else {
      answer = await tokenRequest(s.tenant, { grant_type: 'client_credentials', client_id: s.clientId, client_secret: s.clientSecret || '', resource });
    }
    if (session !== s) return;
    s.tokens[api] = tokenOf(answer);
    scheduleRenewal(api, resource);
  } catch (e) {
    if (session === s) signOut(`Your session could not be renewed: ${e.message}. Sign in again.`);
    throw e;
  }
}

/** The message an error answer carries, in either API's shape. */
function messageOf(json, status) {
  if (json && typeof json.message === 'string' && json.message) {
    const inner = json.innererror && Array.isArray(json.innererror.data) ? json.innererror.data.join('; ') : '';
    return inner ? `${json.message} ${inner}` : json.message;
  }
  return `The server answered HTTP ${status}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls an API with the session's token for it. api: 'insights' | 'store'.
 * Honours Retry-After on 429 (three times), renews once on 401, and throws
 * an Error with the API's own message (status in e.status).
 */
export async function call(api, path, { method = 'GET', body, raw = false } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const s = session;
    if (!s) throw new Error('Not signed in');
    const token = s.tokens[api];
    if (!token) throw new Error(s.storeError || `This sign-in has no token for the ${api} API`);
    const headers = { Authorization: `Bearer ${token.access}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const url = /^https?:/.test(path) ? path : `${root}${path}`;
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 429 && attempt < 3) {
      const wait = Math.min(10, Number(res.headers.get('Retry-After')) || 1);
      await sleep(wait * 1000);
      continue;
    }
    if (res.status === 401 && attempt === 0) {
      const cfg = await config();
      try {
        await renew(api, api === 'insights' ? cfg.insightsResource : cfg.storeResource);
      } catch {
        /* signed out */
      }
      continue;
    }
    if (raw && res.ok) return res;
    const json = await res.json().catch(() => null);
    if (!res.ok) {
      const e = new Error(messageOf(json, res.status));
      e.status = res.status;
      e.body = json;
      throw e;
    }
    return json;
  }
}

/** Insights API paths. */
export const insights = (path, opts) => call('insights', `insights/v1/mpn/${path}`, opts);
/** Store analytics API paths (query built from an object). */
export function store(method, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  return call('store', `v1.0/my/analytics/${method}?${q}`);
}
/** The console's extension endpoints. */
export const consoleApi = (path, opts, api = 'insights') => call(api, `console/api/${path}`, opts);

/** Every page of an Insights list (nextLink followed). */
export async function insightsAll(path) {
  let out = [];
  let page = await insights(path);
  out = out.concat(page.value);
  let guard = 0;
  while (page.nextLink && guard < 50) {
    page = await call('insights', page.nextLink);
    out = out.concat(page.value);
    guard += 1;
  }
  return out;
}
