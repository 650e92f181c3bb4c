// The admin API client: calls relative to this page (/admin/), with the
// token the user entered as a bearer header, never in the URL.
import { TOKEN_KEY, sessionGet, sessionSet } from './session.js';
import { setSkew } from './state.js';

const TIMEOUT_MS = 8000;

/** ApiError is a failed call: status 0 when the proxy is unreachable. */
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status; // 0: unreachable
    this.field = field || '';
  }
}

/** token is the admin token of this tab, or ''. */
export function token() {
  return sessionGet(TOKEN_KEY);
}

/** setToken keeps v as this tab's admin token; '' forgets it. */
export function setToken(v) {
  sessionSet(TOKEN_KEY, v);
}

/**
 * api calls the admin API at path (relative to /admin/); opts.method and
 * opts.body (sent as JSON) are optional. It resolves to the decoded
 * answer and rejects with an ApiError.
 */
export async function api(path, opts = {}) {
  const headers = { Accept: 'application/json' };
  const tok = token();
  if (tok) headers.Authorization = 'Bearer ' + tok;
  const init = { method: opts.method || 'GET', headers, cache: 'no-store', credentials: 'same-origin', redirect: 'error' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  init.signal = ctl.signal;
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, 'proxy unreachable');
  } finally {
    clearTimeout(timer);
  }
  const date = Date.parse(resp.headers.get('Date') || '');
  if (Number.isFinite(date)) setSkew(date + 500 - Date.now()); // the header is cut to the second
  let data = null;
  try {
    data = await resp.json();
  } catch (_) {
    data = null;
  }
  if (!resp.ok) {
    const msg = data && typeof data.error === 'string' ? data.error : resp.statusText || 'request failed';
    throw new ApiError(resp.status, msg, data && data.field);
  }
  return data;
}
