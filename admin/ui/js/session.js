// Session storage: the admin token and the selected route live in this
// browser tab only (never localStorage, never the URL).

/** TOKEN_KEY is where the admin token is kept. */
export const TOKEN_KEY = 'strangler.adminToken';
/** ROUTE_KEY is where the selected route is kept. */
export const ROUTE_KEY = 'strangler.route';

/** sessionGet reads k, or '' when unset or when storage is refused. */
export function sessionGet(k) {
  try {
    return sessionStorage.getItem(k) || '';
  } catch (_) {
    return '';
  }
}

/** sessionSet stores v under k; an empty v removes k. */
export function sessionSet(k, v) {
  try {
    if (v) sessionStorage.setItem(k, v);
    else sessionStorage.removeItem(k);
  } catch (_) {
    /* storage refused: the value lives for this page only */
  }
}
