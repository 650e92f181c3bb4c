// The one state store. Every module reads `state`; only the setters below
// change it (assigning a field of `state` throws), so that a reader can
// find every change of a field by its setter's name.
import { ROUTE_KEY, sessionGet, sessionSet } from './session.js';

const s = {
  stages: [], // GET /admin/stages: [{name, title, description}], in plan order
  routes: [],
  routeByName: new Map(),
  timeline: null,
  timelineOff: false,
  reportByRoute: new Map(),
  reportsOff: false,
  events: [],
  diffs: [],
  diffsFor: '',
  selected: sessionGet(ROUTE_KEY),
  stageFormFor: '',
  windowBuckets: 60,
  resultId: 0,
  conn: '',
  skew: 0, // the proxy's clock minus ours, in ms
  backend: '', // the state backend, from /admin/cluster ('etcd' sums the cluster)
  busy: false,
  loaded: false,
  autoConf: new Map(), // route name -> its automation settings, from /admin/config
  autoInterval: '',
  autoDue: null, // the next automatic promotion of the selected route: {at, next, since}
  configAt: 0,
  configSig: '',
  // A pause or resume the automator has not evaluated yet: route name ->
  // {paused, reason, last, newer}. The route is paused at once; only its
  // explanation waits for the next evaluation.
  pauseWant: new Map(),
  plan: null, // GET /admin/plan, null when off
  progress: null, // GET /admin/progress, null when off
  planOff: false,
  planAt: 0,
};

/** state is the dashboard's state, read-only: change it with a setter. */
export const state = new Proxy(s, {
  set(_, k) {
    throw new TypeError(`state.${String(k)} is read-only: change it with a setter of state.js`);
  },
  deleteProperty(_, k) {
    throw new TypeError(`state.${String(k)} cannot be deleted`);
  },
});

/** setStages keeps the stage vocabulary of GET /admin/stages; false if list is not one. */
export function setStages(list) {
  if (!Array.isArray(list) || !list.length || !list.every((x) => x && typeof x.name === 'string' && x.name)) return false;
  s.stages = list.map((x) => ({ name: x.name, title: String(x.title || x.name), description: String(x.description || '') }));
  return true;
}

/** setSkew keeps the proxy's clock minus ours, in ms. */
export function setSkew(ms) {
  s.skew = ms;
}

/** setBackend keeps the state backend's name ('' when unknown). */
export function setBackend(name) {
  s.backend = name || '';
}

/** setConn keeps the connection line's kind and text; true when they changed. */
export function setConn(kind, text) {
  if (s.conn === kind + text) return false;
  s.conn = kind + text;
  return true;
}

/** setRoutes keeps the route list of GET /admin/routes; the first call marks the state loaded. */
export function setRoutes(routes) {
  s.loaded = true;
  s.routes = routes;
  s.routeByName = new Map(routes.map((r) => [r.name, r]));
}

/** putRoute replaces one route by the proxy's answer to a change. */
export function putRoute(v) {
  s.routes = s.routes.map((x) => (x.name === v.name ? v : x));
  s.routeByName.set(v.name, v);
}

/** setConfig keeps the automation settings of GET /admin/config, read at versions vsig. */
export function setConfig(cfg, vsig, now = Date.now()) {
  s.configAt = now;
  s.configSig = vsig;
  s.autoInterval = (cfg.automation && cfg.automation.interval) || '';
  s.autoConf = new Map((cfg.routes || []).filter((r) => r.automation && r.automation.enabled)
    .map((r) => [r.name, r.automation]));
}

/** setTimeline keeps GET /admin/timeline; null: the proxy keeps none. */
export function setTimeline(t) {
  s.timeline = t;
  s.timelineOff = t === null;
}

/** setReport keeps GET /admin/report; null: reports are off. */
export function setReport(rep) {
  s.reportsOff = rep === null;
  s.reportByRoute = new Map(((rep && rep.routes) || []).map((r) => [r.route, r]));
}

/** setEvents keeps the audit log. */
export function setEvents(events) {
  s.events = events || [];
}

/**
 * setPlan keeps what got holds of GET /admin/plan and /admin/progress
 * (a key absent: not asked; null: off).
 */
export function setPlan(got, now = Date.now()) {
  s.planAt = now;
  if ('plan' in got) s.plan = got.plan;
  if ('progress' in got) s.progress = got.progress;
  s.planOff = got.plan === null && got.progress === null;
}

/** setDiffs keeps the recent comparisons of route. */
export function setDiffs(diffs, route) {
  s.diffs = diffs;
  s.diffsFor = route;
}

/** setSelected selects a route (kept in the tab); true when it changed, which forgets its diffs and result. */
export function setSelected(name) {
  const changed = name !== s.selected;
  s.selected = name;
  sessionSet(ROUTE_KEY, name);
  if (changed) {
    s.diffs = [];
    s.diffsFor = '';
    s.resultId = 0;
  }
  return changed;
}

/** setResultId keeps the comparison result shown (0: none). */
export function setResultId(id) {
  s.resultId = id;
}

/** setBusy marks a change in flight. */
export function setBusy(b) {
  s.busy = b;
}

/** setWindowBuckets keeps the route charts' window, in buckets. */
export function setWindowBuckets(n) {
  s.windowBuckets = n;
}

/** setStageFormFor notes the route@version the stage form was filled for. */
export function setStageFormFor(key) {
  s.stageFormFor = key;
}

/** setAutoDue keeps the next automatic promotion to count down to (null: none). */
export function setAutoDue(due) {
  s.autoDue = due;
}

/** wantPause notes a pause or resume of route the automator has not evaluated yet. */
export function wantPause(route, paused, reason, last) {
  s.pauseWant.set(route, { paused, reason, last, newer: 0 });
}

/**
 * settlePauses forgets a pending pause or resume once the automator's
 * explanation agrees, or after two newer evaluations (someone else
 * changed it meanwhile).
 */
export function settlePauses() {
  for (const [name, want] of s.pauseWant) {
    const r = s.routeByName.get(name);
    const a = r && r.automation;
    if (!a || a.paused === want.paused) {
      s.pauseWant.delete(name);
      continue;
    }
    if (a.evaluated_at !== want.last) {
      want.last = a.evaluated_at;
      if (++want.newer >= 2) s.pauseWant.delete(name);
    }
  }
}

/** versionSig changes whenever a route is changed, added or removed. */
export function versionSig() {
  return s.routes.map((r) => r.name + '@' + r.version).join(',');
}

/**
 * autoOf is the route's automation explanation, with a pause or resume
 * the automator has not evaluated yet already applied.
 */
export function autoOf(r) {
  const a = r.automation;
  const want = s.pauseWant.get(r.name);
  if (!a || !want || a.paused === want.paused) return a || null;
  return Object.assign({}, a, {
    paused: want.paused, paused_reason: want.paused ? want.reason : '', pending: true,
    gates: [], triggers: [], next_promotion_in: '', holding_since: null,
    waiting: want.paused ? 'automation is paused for this route'
      : 'resumed: the gates and triggers are evaluated again at the next evaluation',
  });
}

/** isAutomated tells whether the route is steered by the automator. */
export function isAutomated(r) {
  return !!(r && (r.automation || s.autoConf.has(r.name)));
}
