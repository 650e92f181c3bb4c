// Figures read off GET /admin/timeline: every route's last hour in
// buckets (15 s by default), the last of which is still filling.
import { state } from './state.js';

/** NOW_BUCKETS: "now" is the last minute of 15 s buckets. */
export const NOW_BUCKETS = 4;

/** bucketSeconds is the timeline's bucket length. */
export function bucketSeconds() {
  return (state.timeline && state.timeline.bucket_seconds) || 15;
}

/** bucketTime is when bucket i began. */
export function bucketTime(i) {
  const start = state.timeline ? Date.parse(state.timeline.start) : NaN;
  return new Date(start + i * bucketSeconds() * 1000);
}

/**
 * serverNow is the proxy's clock, from the Date header of its last
 * answer (to the second): the buckets are cut by that clock.
 */
export function serverNow() {
  return Date.now() + state.skew;
}

/**
 * bucketSpan is how many seconds bucket i of len has run: all of it but
 * for the last one, which is still filling.
 */
export function bucketSpan(i, len) {
  const bs = bucketSeconds();
  if (i < len - 1) return bs;
  const secs = (serverNow() - bucketTime(i).getTime()) / 1000;
  return Number.isFinite(secs) ? Math.min(bs, Math.max(3, secs)) : bs;
}

/** nowSeconds is how long the last NOW_BUCKETS buckets have run. */
export function nowSeconds(len) {
  const bs = bucketSeconds();
  const from = bucketTime(len - NOW_BUCKETS).getTime();
  const secs = (serverNow() - from) / 1000;
  const lo = (NOW_BUCKETS - 1) * bs;
  const hi = NOW_BUCKETS * bs;
  return Number.isFinite(secs) ? Math.min(hi, Math.max(lo, secs)) : hi;
}

/** sum adds a's values from index from on. */
export function sum(a, from = 0) {
  let s = 0;
  for (let i = Math.max(0, from); i < a.length; i++) s += a[i];
  return s;
}

/** routeRate is a route's requests per second on one side over the last minute. */
export function routeRate(name, side) {
  const s = state.timeline && state.timeline.routes && state.timeline.routes[name];
  if (!s) return state.timelineOff ? null : 0;
  const a = s[side].requests;
  return sum(a, a.length - NOW_BUCKETS) / nowSeconds(a.length);
}

/** progress counts the requests served by the services, last minute and last hour. */
export function progress() {
  const out = { nowSvc: 0, nowAll: 0, hourSvc: 0, hourAll: 0 };
  const routes = (state.timeline && state.timeline.routes) || {};
  for (const s of Object.values(routes)) {
    const l = s.legacy.requests;
    const v = s.service.requests;
    const from = l.length - NOW_BUCKETS;
    out.nowSvc += sum(v, from);
    out.nowAll += sum(v, from) + sum(l, from);
    out.hourSvc += sum(v);
    out.hourAll += sum(v) + sum(l);
  }
  return out;
}
