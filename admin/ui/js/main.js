// strangler migration dashboard: native ES modules, no framework, no
// build step.
//
// It polls the admin API every 2 s with the token the user entered (kept
// in sessionStorage, sent only as "Authorization: Bearer"), and renders
// every figure with createElement/textContent: no data ever goes through
// innerHTML. Charts are inline SVG built here. This module wires the
// others: the refresh loop, the page's events and the start-up.
import { $, setText } from './dom.js';
import { api, setToken, token } from './api.js';
import { wire } from './hooks.js';
import { selectRoute } from './select.js';
import {
  setBackend, setConfig, setDiffs, setEvents, setPlan, setReport, setRoutes, setStages, setTimeline,
  setWindowBuckets, settlePauses, state, versionSig,
} from './state.js';
import { notice, setConn, tokenState } from './status.js';
import { fillStageSelect, initSteer, renderSteer, tickCountdown } from './steer.js';
import { fmtTime } from './format.js';
import { renderAudit } from './views/audit.js';
import { buildFlow, renderCluster, renderFlow, renderProgress, renderRoutes } from './views/overview.js';
import { PROGRESS_POINTS, renderPlan, renderPlanCharts } from './views/plan.js';
import { renderDiffs } from './views/report.js';
import { renderCharts, renderRouteSelect } from './views/route.js';

const POLL_MS = 2000;
const CONFIG_MS = 30000; // the config (automation settings) is read again this often
const PLAN_MS = 10000; // the plan and the progress history are read again this often

function renderAll() {
  renderProgress();
  renderFlow();
  renderRoutes();
  renderRouteSelect();
  renderSteer();
  renderCharts();
  renderDiffs();
  renderPlan();
  renderAudit();
}

// useStages lays out the stage flow and the Set stage form from
// GET /admin/stages; false when the answer holds no stage list.
function useStages(v) {
  if (!setStages(v && v.stages)) return false;
  buildFlow();
  fillStageSelect();
  return true;
}

// loadStages asks for the stages once at start-up; when that fails (no
// token yet, say), refresh asks again until it succeeds.
async function loadStages() {
  try {
    useStages(await api('stages'));
  } catch (_) {
    /* refresh asks again and says why */
  }
}

// calls are the API calls of one refresh, by name.
function calls(sel, vsig) {
  const c = {
    routes: api('routes'),
    timeline: api('timeline'),
    // With etcd the report sums every live replica (scope=cluster).
    report: api('report?format=json' + (state.backend === 'etcd' ? '&scope=cluster' : '')),
    events: api('events?limit=50'),
    cluster: api('cluster'),
  };
  if (!state.stages.length) c.stages = api('stages');
  if (sel) c.diffs = api('diffs?route=' + encodeURIComponent(sel) + '&limit=15');
  if (!state.configAt || Date.now() - state.configAt > CONFIG_MS || vsig !== state.configSig) c.config = api('config');
  if (!state.planAt || Date.now() - state.planAt > PLAN_MS) {
    c.plan = api('plan?top=5');
    c.progress = api('progress?points=' + PROGRESS_POINTS);
  }
  return c;
}

// settle sorts the answers of one refresh: got by name (null: not
// enabled, or route unknown), whether the proxy was unreachable or
// refused the token, and the other problems.
function settle(keys, settled) {
  const out = { got: {}, unreachable: false, refused: false, problems: [] };
  settled.forEach((s, i) => {
    const k = keys[i];
    if (s.status === 'fulfilled') {
      out.got[k] = s.value;
      return;
    }
    const e = s.reason;
    if (e.status === 0) out.unreachable = true;
    else if (e.status === 401) out.refused = true;
    else if (e.status === 404 && k !== 'routes') out.got[k] = null; // not enabled, or route unknown
    else out.problems.push(`${k}: ${e.message}`);
  });
  return out;
}

function apply(got, sel, vsig) {
  setRoutes((got.routes && got.routes.routes) || []);
  if (got.config) setConfig(got.config.config || {}, vsig);
  settlePauses();
  if ('timeline' in got) setTimeline(got.timeline);
  if ('report' in got) setReport(got.report);
  if (got.events) setEvents(got.events.events);
  if ('plan' in got || 'progress' in got) setPlan(got);
  if ('diffs' in got) setDiffs((got.diffs && got.diffs.diffs) || [], sel);
  if (!state.routeByName.has(state.selected)) {
    const first = state.routes.find((r) => r.service) || state.routes[0];
    selectRoute(first ? first.name : '', { quiet: true });
  }
}

let seq = 0;

async function refresh() {
  const my = ++seq;
  const sel = state.selected;
  const vsig = versionSig();
  const c = calls(sel, vsig);
  const keys = Object.keys(c);
  const settled = await Promise.allSettled(Object.values(c));
  if (my !== seq) return; // a newer refresh is on its way
  const { got, unreachable, refused, problems } = settle(keys, settled);
  setBackend(got.cluster ? got.cluster.backend : '');
  for (const m of (got.report && got.report.missing) || []) {
    problems.push(`report: replica ${m.replica} did not answer (its comparisons are missing): ${m.error}`);
  }
  if ('stages' in got && !useStages(got.stages)) problems.push('stages: the proxy gave no stage list');
  if (unreachable) {
    setConn('down', 'proxy unreachable, retrying…');
    return;
  }
  if (refused) {
    setConn('auth', token()
      ? 'Not live: the admin API refused the token. Enter the right token above.'
      : 'Not live: the admin API needs a token. Enter it above.');
    return;
  }
  if (!('routes' in got)) {
    setConn('down', 'Not live: ' + problems.join('; '));
    return;
  }
  setConn('ok', problems.length ? 'Live, with problems: ' + problems.join('; ') : 'Live');
  setText($('updated'), 'Updated ' + fmtTime(new Date()));
  apply(got, sel, vsig);
  renderAll();
  renderCluster(got.cluster);
  if (state.selected !== sel) refresh(); // the selection moved: fetch its diffs
}

let pollTimer = 0;

function schedule() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    try {
      await refresh();
    } finally {
      schedule();
    }
  }, POLL_MS);
}

function initToken() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('token');
    const v = input.value.trim();
    if (!v) {
      notice('error', 'Enter a token first.');
      input.focus();
      return;
    }
    setToken(v);
    input.value = '';
    tokenState();
    notice('info', 'Token set for this tab.');
    refresh();
  });
  $('token-forget').addEventListener('click', () => {
    setToken('');
    $('token').value = '';
    tokenState();
    notice('info', 'Token forgotten.');
    refresh();
  });
}

function initEvents() {
  initToken();
  $('notice-close').addEventListener('click', () => { $('notice').hidden = true; });
  $('route-select').addEventListener('change', (ev) => selectRoute(ev.target.value));
  $('window-select').addEventListener('change', (ev) => {
    setWindowBuckets(Number(ev.target.value) || 60);
    renderCharts();
  });
  initSteer();
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      renderCharts();
      renderPlanCharts();
    }, 150);
  });
}

async function init() {
  wire(renderAll, refresh);
  tokenState();
  initEvents();
  setWindowBuckets(Number($('window-select').value) || 60);
  await loadStages();
  renderAll();
  refresh().finally(schedule);
  setInterval(tickCountdown, 1000);
}

init();
