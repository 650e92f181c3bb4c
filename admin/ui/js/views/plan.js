// The plan view: the migration's progress now and over time
// (GET /admin/progress) and what to carve next (GET /admin/plan).
import { $, el, setText, syncChildren } from '../dom.js';
import { bar, renderChart } from '../charts.js';
import { fmtDateTime, fmtDuration, fmtMs, fmtNum, fmtPct } from '../format.js';
import { state } from '../state.js';
import { notice } from '../status.js';

/** PROGRESS_POINTS: the progress chart merges the history into at most this many points. */
export const PROGRESS_POINTS = 144;

function renderPlanCards() {
  const r = state.progress;
  const all = r && r.since_start;
  const now = r && r.now;
  const share = (v) => (all && all.requests ? v : null);
  setText($('pp-req'), fmtPct(share(all && all.request_share)));
  $('pp-req-bar').replaceChildren(bar(all ? all.request_share : 0,
    `${fmtPct(share(all && all.request_share))} of requests served by new services since the proxy started`));
  setText($('pp-req-hint'), all && all.requests
    ? `${all.service_requests} of ${all.requests} requests since the proxy started` +
      (now && now.requests ? `; ${fmtPct(now.request_share)} of ${now.requests} since the last sample` : '')
    : 'no requests yet');
  const eps = all && all.endpoints;
  setText($('pp-ep'), fmtPct(eps ? all.endpoint_share : null));
  $('pp-ep-bar').replaceChildren(bar(eps ? all.endpoint_share : 0,
    `${fmtPct(eps ? all.endpoint_share : null)} of endpoints served by new services since the proxy started`));
  setText($('pp-ep-hint'), eps ? `${all.service_endpoints} of ${eps} endpoints (method and path shape) a new service answered` : '');
  const rs = (all && all.routes_by_stage) || null;
  const total = rs ? rs.legacy + rs.shadow + rs.canary + rs.migrated : 0;
  setText($('pp-routes'), total ? `${rs.migrated} of ${total} migrated` : '—');
  setText($('pp-routes-hint'), total ? `${rs.canary} in canary, ${rs.shadow} in shadow, ${rs.legacy} on the monolith` : '');
}

// progressPoints is the history plus the open interval, oldest first.
function progressPoints() {
  const r = state.progress;
  if (!r) return [];
  const pts = (r.history || []).slice();
  if (r.now && r.now.requests) pts.push(r.now);
  return pts;
}

/** renderPlanCharts draws the burn-up charts. */
export function renderPlanCharts() {
  const pts = progressPoints();
  const n = pts.length;
  const r = state.progress;
  const every = r ? fmtDuration(r.every_seconds * 1000) : '5 min';
  const times = pts.map((p) => p.time);
  const ticks = n ? [[0, fmtDateTime(times[0])], [n - 1, n > 1 ? 'now' : fmtDateTime(times[0])]] : [];
  const span = n ? `from ${fmtDateTime(times[0])} to ${fmtDateTime(times[n - 1])}, one point per interval of at least ${every}` : '';
  const common = { times, ticks, span, timeFmt: fmtDateTime, rows: 'intervals', rowLabel: 'Interval until' };
  const pct = (v) => `${Math.round(v)}%`;
  renderChart($('chart-burnup'), {
    ...common, title: 'Served by new services', what: 'Share of each interval\'s requests and endpoints served by new services',
    sub: 'share per interval', unit: '%', yMax: 100, zeroIsData: true, fmt: pct,
    series: [
      { key: 'requests', values: pts.map((p) => (p.requests ? 100 * p.request_share : null)) },
      { key: 'endpoints', values: pts.map((p) => (p.endpoints ? 100 * p.endpoint_share : null)) },
    ],
  });
  renderChart($('chart-stages'), {
    ...common, title: 'Routes by stage', what: 'Number of routes at each stage', sub: 'burn-up: routes migrated rise',
    unit: 'routes', zeroIsData: true, fmt: fmtNum,
    series: ['migrated', 'canary', 'shadow'].map((st) => ({
      key: st, values: pts.map((p) => (p.routes_by_stage ? p.routes_by_stage[st] : null)),
    })),
  });
}

// copyText puts pre's text on the clipboard; when the browser refuses,
// it selects the text for the user to copy.
async function copyText(pre) {
  const text = pre.textContent;
  try {
    await navigator.clipboard.writeText(text);
    notice('info', 'Route block copied.');
  } catch (_) {
    const sel = window.getSelection();
    sel.selectAllChildren(pre);
    pre.focus();
    notice('info', 'The browser refused the clipboard: the route block is selected, copy it with Ctrl+C.');
  }
}

function buildSuggestion() {
  const id = 'sg-' + Math.random().toString(36).slice(2, 10);
  const pre = el('pre', { class: 'yaml', id: id + '-yaml', tabindex: '0', 'aria-label': 'Suggested route block' });
  const copy = el('button', { type: 'button', class: 'copy', 'aria-describedby': id + '-h' }, 'Copy route block');
  copy.addEventListener('click', () => copyText(pre));
  return el('li', { class: 'suggestion' },
    el('h4', { id: id + '-h' }, el('span', { class: 'sg-prefix' }), ' ', el('span', { class: 'sg-score hint' })),
    el('p', { class: 'sg-facts' }),
    el('ul', { class: 'sg-reasons' }),
    el('div', { class: 'yaml-box' }, pre, copy));
}

function updateSuggestion(li, sg) {
  const f = sg.family;
  const shapes = (f.shapes || []).length;
  setText(li.querySelector('.sg-prefix'), `${sg.rank}. ${f.prefix}`);
  setText(li.querySelector('.sg-score'), `score ${fmtNum(sg.score)}`);
  setText(li.querySelector('.sg-facts'), `${fmtPct(f.share)} of requests · ${fmtPct(f.read_share)} reads · ` +
    `monolith errors ${fmtPct(f.monolith_error_rate)} · p99 ${fmtMs(f.p99_ns / 1e6)} · ${shapes} shape${shapes === 1 ? '' : 's'}`);
  const reasons = li.querySelector('.sg-reasons');
  const texts = sg.reasons || [];
  if (reasons.children.length !== texts.length || texts.some((t, i) => reasons.children[i].textContent !== t)) {
    reasons.replaceChildren(...texts.map((t) => el('li', null, t)));
  }
  setText(li.querySelector('pre.yaml'), sg.route_yaml || '');
}

function renderSuggestions() {
  const list = (state.plan && state.plan.suggestions) || [];
  $('suggest-empty').hidden = list.length > 0 || !state.plan;
  syncChildren($('suggestions'), list, (sg) => sg.family.prefix, buildSuggestion, updateSuggestion);
}

/** renderPlan fills the plan view. */
export function renderPlan() {
  $('plan-off').hidden = !state.planOff;
  renderPlanCards();
  renderPlanCharts();
  renderSuggestions();
}
