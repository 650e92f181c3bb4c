// The route view: the route picker and the route's charts over time (its
// steering panel is steer.js).
import { $, el, setText, syncChildren } from '../dom.js';
import { renderChart } from '../charts.js';
import { fmtMs, fmtRate } from '../format.js';
import { state } from '../state.js';
import { bucketSeconds, bucketSpan, bucketTime } from '../timeline.js';

/** renderRouteSelect lists the routes in the picker and shows the selected one. */
export function renderRouteSelect() {
  const sel = $('route-select');
  syncChildren(sel, state.routes, (r) => r.name,
    (r) => el('option', { value: r.name }),
    (o, r) => setText(o, r.name));
  if (sel.value !== state.selected) sel.value = state.selected;
}

/** renderCharts draws the selected route's match rate, traffic split and p99 over the chosen window. */
export function renderCharts() {
  const name = state.selected;
  const s = state.timeline && state.timeline.routes && state.timeline.routes[name];
  const len = s ? s.compared.length : 240;
  const n = Math.min(state.windowBuckets, len);
  const off = len - n;
  const times = Array.from({ length: n }, (_, i) => bucketTime(off + i));
  const pick = (a, f) => Array.from({ length: n }, (_, i) => f(a, off + i));
  const zero = Array.from({ length: n }, () => null);
  const bs = bucketSeconds();
  const minutes = Math.round((n * bs) / 60);
  const note = state.timelineOff ? 'no timeline on this proxy' : s ? '' : 'no traffic on this route in the last hour';
  renderChart($('chart-match'), {
    title: `Match rate · ${name || '—'}`, what: 'Share of compared responses that matched', sub: note || 'equal or noise only',
    unit: '%', yMax: 100, minutes, times, zeroIsData: true, fmt: (v) => `${Math.round(v)}%`,
    series: [{ key: 'match', values: s ? pick(s, (x, i) => (x.compared[i] ? (100 * x.matched[i]) / x.compared[i] : null)) : zero }],
  });
  renderChart($('chart-traffic'), {
    title: `Traffic split · ${name || '—'}`, what: 'Requests per second served by each side', sub: note || 'requests/s served',
    unit: 'req/s', minutes, times, fmt: fmtRate,
    series: ['legacy', 'service'].map((side) => ({ key: side, values: s ? pick(s, (x, i) => x[side].requests[i] / bucketSpan(i, len)) : zero })),
  });
  renderChart($('chart-latency'), {
    title: `p99 latency · ${name || '—'}`, what: 'p99 latency of the answers served by each side', sub: note || 'served answers',
    unit: 'ms', minutes, times, zeroIsData: true, fmt: fmtMs,
    series: ['legacy', 'service'].map((side) => ({
      key: side, values: s ? pick(s, (x, i) => (x[side].requests[i] ? x[side].p99_ms[i] : null)) : zero,
    })),
  });
}
