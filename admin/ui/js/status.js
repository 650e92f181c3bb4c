// The connection line, the notice bar and the token hint.
import { $, setText } from './dom.js';
import { token } from './api.js';
import { setConn as keepConn } from './state.js';

/** setConn shows the connection state; only changes are announced (the line is aria-live). */
export function setConn(kind, text) {
  const c = $('conn');
  c.className = 'conn ' + kind;
  if (keepConn(kind, text)) c.textContent = text;
  document.body.classList.toggle('stale', kind !== 'ok');
}

let noticeTimer = 0;

/**
 * notice shows a message and announces it: errors through the alert
 * region, the rest through the status region (both always present, so
 * screen readers hear every change).
 */
export function notice(kind, text) {
  const n = $('notice');
  n.className = 'notice ' + kind;
  const msg = (kind === 'error' ? 'Error: ' : '') + text;
  $('notice-text').textContent = msg;
  n.hidden = false;
  const live = $(kind === 'error' ? 'live-alert' : 'live-status');
  live.textContent = '';
  setTimeout(() => { live.textContent = msg; }, 50);
  clearTimeout(noticeTimer);
  if (kind !== 'error') noticeTimer = setTimeout(() => { n.hidden = true; }, 15000);
}

/** tokenState says whether a token is set for this tab. */
export function tokenState() {
  setText($('token-state'), token()
    ? 'A token is set for this tab (session storage only, never in the URL).'
    : 'No token set: kept in this tab only, never in the URL.');
}
