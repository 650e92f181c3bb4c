// strangler migration dashboard: plain ES2020, no framework, no build step.
//
// It polls the admin API every 2 s with the token the user entered (kept
// in sessionStorage, sent only as "Authorization: Bearer"), and renders
// every figure with createElement/textContent: no data ever goes through
// innerHTML. Charts are inline SVG built here.
'use strict';

(() => {
  const TOKEN_KEY = 'strangler.adminToken';
  const ROUTE_KEY = 'strangler.route';
  const POLL_MS = 2000;
  const TIMEOUT_MS = 8000;
  const CONFIG_MS = 30000; // the config (automation settings) is read again this often
  const PLAN_MS = 10000; // the plan and the progress history are read again this often
  const PROGRESS_POINTS = 144; // the progress chart merges the history into at most this many points
  const NOW_BUCKETS = 4; // "now" is the last minute of 15 s buckets
  const REDACTED = '[redacted]';
  const STAGES = [
    { stage: 'legacy', title: 'Legacy', hint: 'the monolith serves everything' },
    { stage: 'shadow', title: 'Shadow', hint: 'the monolith answers; the service gets a copy to compare' },
    { stage: 'canary', title: 'Canary', hint: 'a share of users get the service' },
    { stage: 'migrated', title: 'Migrated', hint: 'the service serves everything' },
  ];
  const SIDE_LABEL = { legacy: 'monolith', service: 'service' };
  const motion = window.matchMedia('(prefers-reduced-motion: reduce)');
  const scrollToNode = (node, block) => node.scrollIntoView({ block, behavior: motion.matches ? 'auto' : 'smooth' });

  const $ = (id) => document.getElementById(id);
  // The HTML parser puts <svg> in the SVG namespace: take its URI from the
  // page rather than spelling it here.
  const SVGNS = $('svg-ns').namespaceURI;

  // ---------------------------------------------------------------- DOM helpers

  function setAttrs(node, attrs) {
    if (!attrs) return node;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    return node;
  }

  function add(node, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      node.append(k instanceof Node ? k : String(k)); // strings become text nodes
    }
    return node;
  }

  function el(tag, attrs, ...kids) {
    return add(setAttrs(document.createElement(tag), attrs), kids);
  }

  function sv(tag, attrs, ...kids) {
    return add(setAttrs(document.createElementNS(SVGNS, tag), attrs), kids);
  }

  function setText(node, text) {
    text = String(text);
    if (node.textContent !== text) node.textContent = text;
  }

  // syncChildren updates parent's children to one per item, keyed, reusing
  // (and so keeping the focus of) the elements already there.
  function syncChildren(parent, items, keyOf, build, update) {
    const old = new Map();
    for (const c of Array.from(parent.children)) old.set(c.dataset.key, c);
    let prev = null;
    for (const item of items) {
      const key = String(keyOf(item));
      let node = old.get(key);
      if (node) old.delete(key);
      else {
        node = build(item);
        node.dataset.key = key;
      }
      update(node, item);
      const want = prev ? prev.nextSibling : parent.firstChild;
      if (node !== want) parent.insertBefore(node, want);
      prev = node;
    }
    for (const n of old.values()) n.remove();
  }

  // ---------------------------------------------------------------- formatting

  function fmtNum(v) {
    if (!Number.isFinite(v)) return '—';
    return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)));
  }

  function fmtPct(fraction, digits = 1) {
    if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
    return (fraction * 100).toFixed(digits) + '%';
  }

  function fmtRate(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '—';
    if (v === 0) return '0';
    if (v < 0.1) return v.toFixed(2);
    if (v < 10) return v.toFixed(1);
    return String(Math.round(v));
  }

  function fmtMs(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '—';
    if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
    if (v >= 100) return Math.round(v) + ' ms';
    if (v >= 1) return v.toFixed(1) + ' ms';
    if (v === 0) return '0 ms';
    return v.toFixed(2) + ' ms';
  }

  // parseGoDuration reads a Go duration ("1h2m3.5s", "250ms") in ms; NaN
  // when it is not one.
  function parseGoDuration(s) {
    if (typeof s !== 'string' || !s) return NaN;
    if (s === '0') return 0;
    const unit = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 };
    const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/y;
    let ms = 0;
    let i = s[0] === '-' ? 1 : 0;
    while (i < s.length) {
      re.lastIndex = i;
      const m = re.exec(s);
      if (!m) return NaN;
      ms += Number(m[1]) * unit[m[2]];
      i = re.lastIndex;
    }
    return s[0] === '-' ? -ms : ms;
  }

  // fmtDuration writes ms for people: "1 h 5 min", "4 min 20 s", "12 s".
  function fmtDuration(ms) {
    if (!Number.isFinite(ms)) return '—';
    // No-break spaces keep each number with its unit.
    if (ms < 1000) return ms <= 0 ? '0\u00a0s' : `${Math.round(ms)}\u00a0ms`;
    let s = Math.round(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    s %= 60;
    const parts = [];
    if (h) parts.push(`${h}\u00a0h`);
    if (m) parts.push(`${m}\u00a0min`);
    if (s && !h) parts.push(`${s}\u00a0s`);
    return parts.join(' ') || '0\u00a0s';
  }

  // goDuration rewrites a Go duration string for people.
  const goDuration = (s) => {
    const ms = parseGoDuration(s);
    return Number.isFinite(ms) ? fmtDuration(ms) : String(s || '—');
  };

  function fmtTime(t) {
    const d = t instanceof Date ? t : new Date(t);
    if (Number.isNaN(d.getTime())) return '—';
    return d.toLocaleTimeString(undefined, { hour12: false });
  }

  function fmtDateTime(t) {
    const d = new Date(t);
    if (Number.isNaN(d.getTime())) return '—';
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return fmtTime(d);
    return d.toLocaleDateString() + ' ' + fmtTime(d);
  }

  function stageText(pos) {
    if (!pos || !pos.stage) return '—';
    return pos.stage === 'canary' ? `canary ${fmtNum(pos.percent)}%` : pos.stage;
  }

  function badge(text, cls, title) {
    return el('span', { class: 'badge ' + (cls || ''), title: title || null }, text);
  }

  const BREAKER_TEXT = {
    closed: 'closed: requests flow to the service',
    'half-open': 'half-open: a few probe requests test the service',
    open: 'open: the service gets no traffic for now; the monolith answers what can fall back, the rest gets a fast 503',
  };

  // breakerBadge shows a circuit breaker's state in words (an icon is
  // added by the stylesheet; "open" stands out).
  function breakerBadge(r) {
    const st = r.breaker;
    return badge(st, 'breaker b-' + st, `circuit breaker of ${r.service}: ${BREAKER_TEXT[st] || st}`);
  }

  function redactedBadge() {
    return badge('redacted', 'redacted', 'value redacted: never stored or shown');
  }

  // valueView shows a JSON-encoded difference value: absent, redacted or
  // the value as code.
  function valueView(encoded) {
    if (encoded === '' || encoded === undefined || encoded === null) return el('em', { class: 'absent' }, 'absent');
    if (encoded === JSON.stringify(REDACTED) || encoded === REDACTED) return redactedBadge();
    return el('code', { class: 'val' }, encoded);
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message, field) {
      super(message);
      this.status = status; // 0: unreachable
      this.field = field || '';
    }
  }

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (_) {
      return '';
    }
  }

  // api calls the admin API relative to this page (/admin/), with the token
  // as a bearer header, never in the URL.
  async function api(path, opts = {}) {
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
    if (Number.isFinite(date)) state.skew = date + 500 - Date.now(); // the header is cut to the second
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

  // ---------------------------------------------------------------- state

  const state = {
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
    busy: false,
    loaded: false,
    autoConf: new Map(), // route name -> its automation settings, from /admin/config
    autoInterval: '',
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

  function sessionGet(k) {
    try {
      return sessionStorage.getItem(k) || '';
    } catch (_) {
      return '';
    }
  }

  function sessionSet(k, v) {
    try {
      if (v) sessionStorage.setItem(k, v);
      else sessionStorage.removeItem(k);
    } catch (_) {
      /* storage refused: the value lives for this page only */
    }
  }

  // ---------------------------------------------------------------- status

  function setConn(kind, text) {
    const c = $('conn');
    c.className = 'conn ' + kind;
    // Only changes are announced (the region is aria-live).
    if (state.conn !== kind + text) {
      state.conn = kind + text;
      c.textContent = text;
    }
    document.body.classList.toggle('stale', kind !== 'ok');
  }

  let noticeTimer = 0;

  // notice shows a message and announces it: errors through the alert
  // region, the rest through the status region (both always present, so
  // screen readers hear every change).
  function notice(kind, text) {
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

  function tokenState() {
    setText($('token-state'), token()
      ? 'A token is set for this tab (session storage only, never in the URL).'
      : 'No token set: kept in this tab only, never in the URL.');
  }

  // ---------------------------------------------------------------- refresh

  let seq = 0;

  async function refresh() {
    const my = ++seq;
    const sel = state.selected;
    const calls = {
      routes: api('routes'),
      timeline: api('timeline'),
      // With etcd the report sums every live replica (scope=cluster).
      report: api('report?format=json' + (state.backend === 'etcd' ? '&scope=cluster' : '')),
      events: api('events?limit=50'),
      cluster: api('cluster'),
    };
    if (sel) calls.diffs = api('diffs?route=' + encodeURIComponent(sel) + '&limit=15');
    const vsig = versionSig();
    if (!state.configAt || Date.now() - state.configAt > CONFIG_MS || vsig !== state.configSig) calls.config = api('config');
    if (!state.planAt || Date.now() - state.planAt > PLAN_MS) {
      calls.plan = api('plan?top=5');
      calls.progress = api('progress?points=' + PROGRESS_POINTS);
    }
    const keys = Object.keys(calls);
    const settled = await Promise.allSettled(Object.values(calls));
    if (my !== seq) return; // a newer refresh is on its way
    const got = {};
    let unreachable = false;
    let refused = false;
    const problems = [];
    settled.forEach((s, i) => {
      const k = keys[i];
      if (s.status === 'fulfilled') {
        got[k] = s.value;
        return;
      }
      const e = s.reason;
      if (e.status === 0) unreachable = true;
      else if (e.status === 401) refused = true;
      else if (e.status === 404 && k !== 'routes') got[k] = null; // not enabled, or route unknown
      else problems.push(`${k}: ${e.message}`);
    });
    state.backend = got.cluster ? got.cluster.backend : '';
    for (const m of (got.report && got.report.missing) || []) {
      problems.push(`report: replica ${m.replica} did not answer (its comparisons are missing): ${m.error}`);
    }
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

  // renderCluster shows, with the etcd backend, how many replicas share
  // the rollout, which one leads automation and which serve a route file
  // that differs from the others' (GET /admin/cluster). Hidden with the
  // file backend and when the list cannot be read.
  function renderCluster(v) {
    const node = $('cluster');
    if (!v || v.backend !== 'etcd' || !Array.isArray(v.replicas)) {
      node.hidden = true;
      return;
    }
    const n = v.replicas.length;
    const self = v.replicas.find((r) => r.self);
    const drifted = v.replicas.filter((r) => r.drift).map((r) => r.name);
    let text = `Cluster: ${n} replica${n === 1 ? '' : 's'}` + (self ? ` (this one: ${self.name})` : '') +
      ` · automation leader: ${v.leader || 'none'}`;
    if (drifted.length) {
      text += ` · config drift: ${drifted.join(', ')} ${drifted.length === 1 ? 'serves' : 'serve'} a different route file`;
    }
    setText(node, text);
    node.classList.toggle('drift', drifted.length > 0);
    node.hidden = false;
  }

  // versionSig changes whenever a route is changed, added or removed.
  function versionSig() {
    return state.routes.map((r) => r.name + '@' + r.version).join(',');
  }

  function apply(got, sel, vsig) {
    state.loaded = true;
    state.routes = (got.routes && got.routes.routes) || [];
    state.routeByName = new Map(state.routes.map((r) => [r.name, r]));
    if (got.config) {
      const cfg = got.config.config || {};
      state.configAt = Date.now();
      state.configSig = vsig;
      state.autoInterval = (cfg.automation && cfg.automation.interval) || '';
      state.autoConf = new Map((cfg.routes || []).filter((r) => r.automation && r.automation.enabled)
        .map((r) => [r.name, r.automation]));
    }
    settlePauses();
    if ('timeline' in got) {
      state.timeline = got.timeline;
      state.timelineOff = got.timeline === null;
    }
    if ('report' in got) {
      state.reportsOff = got.report === null;
      state.reportByRoute = new Map(((got.report && got.report.routes) || []).map((r) => [r.route, r]));
    }
    if (got.events) state.events = got.events.events || [];
    if ('plan' in got || 'progress' in got) {
      state.planAt = Date.now();
      if ('plan' in got) state.plan = got.plan;
      if ('progress' in got) state.progress = got.progress;
      state.planOff = got.plan === null && got.progress === null;
    }
    if ('diffs' in got) {
      state.diffs = (got.diffs && got.diffs.diffs) || [];
      state.diffsFor = sel;
    }
    if (!state.routeByName.has(state.selected)) {
      const first = state.routes.find((r) => r.service) || state.routes[0];
      selectRoute(first ? first.name : '', { quiet: true });
    }
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

  // ---------------------------------------------------------------- figures

  function bucketSeconds() {
    return (state.timeline && state.timeline.bucket_seconds) || 15;
  }

  function bucketTime(i) {
    const start = state.timeline ? Date.parse(state.timeline.start) : NaN;
    return new Date(start + i * bucketSeconds() * 1000);
  }

  // nowSeconds is how long the last NOW_BUCKETS buckets have run.
  // serverNow is the proxy's clock, from the Date header of its last
  // answer (to the second): the buckets are cut by that clock.
  function serverNow() {
    return Date.now() + state.skew;
  }

  // bucketSpan is how many seconds bucket i of len has run: all of it but
  // for the last one, which is still filling.
  function bucketSpan(i, len) {
    const bs = bucketSeconds();
    if (i < len - 1) return bs;
    const secs = (serverNow() - bucketTime(i).getTime()) / 1000;
    return Number.isFinite(secs) ? Math.min(bs, Math.max(3, secs)) : bs;
  }

  function nowSeconds(len) {
    const bs = bucketSeconds();
    const from = bucketTime(len - NOW_BUCKETS).getTime();
    const secs = (serverNow() - from) / 1000;
    const lo = (NOW_BUCKETS - 1) * bs;
    const hi = NOW_BUCKETS * bs;
    return Number.isFinite(secs) ? Math.min(hi, Math.max(lo, secs)) : hi;
  }

  function sum(a, from = 0) {
    let s = 0;
    for (let i = Math.max(0, from); i < a.length; i++) s += a[i];
    return s;
  }

  function routeRate(name, side) {
    const s = state.timeline && state.timeline.routes && state.timeline.routes[name];
    if (!s) return state.timelineOff ? null : 0;
    const a = s[side].requests;
    return sum(a, a.length - NOW_BUCKETS) / nowSeconds(a.length);
  }

  function progress() {
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

  // ---------------------------------------------------------------- render: overview

  function bar(fraction, label) {
    const w = Math.max(0, Math.min(1, fraction || 0)) * 100;
    return sv('svg', { viewBox: '0 0 100 8', preserveAspectRatio: 'none', role: 'img', 'aria-label': label, class: 'bar-svg' },
      sv('rect', { class: 'bar-bg', x: 0, y: 0, width: 100, height: 8 }),
      sv('rect', { class: 'bar-fg', x: 0, y: 0, width: w.toFixed(2), height: 8 }));
  }

  function renderProgress() {
    if (state.timelineOff) {
      setText($('prog-now'), '—');
      setText($('prog-now-hint'), 'no timeline on this proxy');
      return;
    }
    const p = progress();
    const now = p.nowAll ? p.nowSvc / p.nowAll : null;
    const hour = p.hourAll ? p.hourSvc / p.hourAll : null;
    setText($('prog-now'), fmtPct(now));
    $('prog-now-bar').replaceChildren(bar(now, `${fmtPct(now)} of requests served by new services in the last minute`));
    setText($('prog-now-hint'), p.nowAll
      ? `${p.nowSvc} of ${p.nowAll} requests in the last minute`
      : 'no requests in the last minute');
    setText($('prog-hour'), fmtPct(hour));
    $('prog-hour-bar').replaceChildren(bar(hour, `${fmtPct(hour)} of requests served by new services in the last hour`));
    setText($('prog-hour-hint'), p.hourAll
      ? `${p.hourSvc} of ${p.hourAll} requests in the last hour`
      : 'no requests in the last hour');
    const total = state.routes.length;
    const by = (st) => state.routes.filter((r) => r.stage === st).length;
    const migrated = by('migrated');
    setText($('prog-routes'), total ? `${migrated} of ${total}` : '—');
    $('prog-routes-bar').replaceChildren(bar(total ? migrated / total : 0, `${migrated} of ${total} routes migrated`));
    setText($('prog-routes-hint'), !state.loaded ? '' : `${by('canary')} in canary, ${by('shadow')} in shadow, ${by('legacy')} on the monolith`);
  }

  function initFlow() {
    const ol = $('flow');
    STAGES.forEach((s, i) => {
      ol.append(el('li', { class: 'flow-stage', 'data-stage': s.stage },
        el('div', { class: 'flow-head' },
          el('span', { class: 'flow-step', 'aria-hidden': 'true' }, String(i + 1)),
          el('h4', null, s.title),
          el('span', { class: 'flow-count' }, '')),
        el('p', { class: 'hint' }, s.hint),
        el('ul', { class: 'chips', 'aria-label': `Routes in ${s.stage}` })));
    });
  }

  function renderFlow() {
    for (const li of $('flow').children) {
      const st = li.dataset.stage;
      const routes = state.routes.filter((r) => r.stage === st);
      setText(li.querySelector('.flow-count'), `${routes.length} route${routes.length === 1 ? '' : 's'}`);
      syncChildren(li.querySelector('ul'), routes, (r) => r.name,
        (r) => el('li', null, el('button', {
          type: 'button', class: 'chip', 'data-route': r.name,
          onclick: () => selectRoute(r.name, { focus: true }),
        }, el('span', { class: 'chip-name' }), el('span', { class: 'chip-pct' }))),
        (li2, r) => {
          const b = li2.firstChild;
          setText(b.querySelector('.chip-name'), r.name);
          setText(b.querySelector('.chip-pct'), r.stage === 'canary' ? ` ${fmtNum(r.percent)}%` : '');
          b.classList.toggle('selected', r.name === state.selected);
          b.setAttribute('aria-pressed', String(r.name === state.selected));
          b.title = `${r.name}: ${stageText(r)}${r.service ? ' → ' + r.service : ''}`;
        });
    }
  }

  const ROUTE_COLS = ['stage', 'service', 'breaker', 'rate-l', 'rate-s', 'err-l', 'err-s', 'match', 'p99-l', 'p99-s'];

  function buildRouteRow(r) {
    const tr = el('tr', { 'data-route': r.name },
      el('th', { scope: 'row', class: 'name' }));
    for (const c of ROUTE_COLS) tr.append(el('td', { class: c + (['stage', 'service', 'breaker'].includes(c) ? '' : ' num') }));
    tr.querySelector('.stage').append(el('span', { class: 'stage-name' }), el('span', { class: 'stage-badges' }));
    tr.append(el('td', { class: 'act' },
      el('button', { type: 'button', class: 'details-btn', onclick: () => selectRoute(r.name, { focus: true }) }, 'Details'),
      ' ',
      el('button', { type: 'button', class: 'diffs-btn', onclick: () => selectRoute(r.name, { focus: true, to: 'diffs' }) }, 'Diffs')));
    return tr;
  }

  function errRate(f) {
    if (!f || !f.requests) return { text: '—', title: 'no requests' };
    return { text: fmtPct(f.errors / f.requests), title: `${f.errors} of ${f.requests} requests failed (status ≥ 500)` };
  }

  function updateRouteRow(tr, r) {
    const cell = (c) => tr.querySelector('.' + c);
    setText(tr.querySelector('.name'), r.name);
    setText(tr.querySelector('.stage-name'), stageText(r));
    const badges = tr.querySelector('.stage-badges');
    const wantOverride = r.override ? `file says ${stageText(r.file)}; changed by ${r.override.source}` : '';
    const auto = autoBadge(r);
    const bsig = JSON.stringify([wantOverride, auto && auto.textContent, auto && auto.title]);
    if ((badges.dataset.v || '') !== bsig) {
      badges.dataset.v = bsig;
      badges.replaceChildren(wantOverride ? badge('override', 'override', wantOverride) : '', auto || '');
    }
    setText(cell('service'), r.service || '—');
    const br = cell('breaker');
    const bwant = r.breaker || (r.service ? 'none' : 'no service');
    if (br.dataset.v !== bwant) {
      br.dataset.v = bwant;
      br.replaceChildren(r.breaker ? breakerBadge(r) : '—');
      br.title = r.breaker ? '' : r.service ? 'no circuit breaker on this service' : 'no service';
    }
    tr.classList.toggle('breaker-open', r.breaker === 'open');
    for (const [side, c] of [['legacy', 'rate-l'], ['service', 'rate-s']]) setText(cell(c), fmtRate(routeRate(r.name, side)));
    const f = r.figures || {};
    for (const [side, c] of [['legacy', 'err-l'], ['service', 'err-s']]) {
      const e = errRate(f[side]);
      setText(cell(c), e.text);
      cell(c).title = e.title + perReplica(r, side);
    }
    const rep = state.reportByRoute.get(r.name);
    if (rep && rep.compared) {
      setText(cell('match'), `${fmtPct(rep.match_rate)} of ${rep.compared}`);
      cell('match').title = `${rep.equal + rep.noise_only} of ${rep.compared} comparisons matched (${rep.noise_only} only by noise)`;
    } else {
      setText(cell('match'), '—');
      cell('match').title = 'no comparisons';
    }
    for (const [side, c, repKey] of [['legacy', 'p99-l', 'legacy_latency'], ['service', 'p99-s', 'service_latency']]) {
      const fs = f[side];
      if (fs && fs.requests) {
        setText(cell(c), fmtMs(fs.p99_ms));
        cell(c).title = `p99 of ${fs.requests} requests served` + perReplica(r, side);
      } else if (rep && rep[repKey] && rep[repKey].samples) {
        setText(cell(c), fmtMs(rep[repKey].p99_ms) + ' (mirrored)');
        cell(c).title = `p99 of ${rep[repKey].samples} compared responses`;
      } else {
        setText(cell(c), '—');
        cell(c).title = 'no requests';
      }
    }
    tr.classList.toggle('selected', r.name === state.selected);
    const btn = tr.querySelector('.details-btn');
    btn.setAttribute('aria-label', `Details of ${r.name}`);
    tr.querySelector('.diffs-btn').setAttribute('aria-label', `Diffs of ${r.name}`);
  }

  // perReplica lists each live replica's figures of one side, for a
  // tooltip, when the route's figures are a cluster sum (etcd backend).
  function perReplica(r, side) {
    const per = r.replica_figures;
    if (!per) return '';
    const lines = Object.keys(per).sort().map((name) => {
      const fs = per[name][side] || {};
      return `${name}: ${fs.requests || 0} requests, ${fs.errors || 0} errors, p99 ${fmtMs(fs.p99_ms || 0)}`;
    });
    return `\ncluster sum over ${lines.length} replicas:\n` + lines.join('\n');
  }

  function renderRoutes() {
    syncChildren($('routes-body'), state.routes, (r) => r.name, buildRouteRow, updateRouteRow);
    $('routes-empty').hidden = state.routes.length > 0;
    if (!state.routes.length) setText($('routes-empty'), state.loaded ? 'No routes configured.' : 'No routes loaded yet.');
  }

  // ---------------------------------------------------------------- render: route

  function renderRouteSelect() {
    const sel = $('route-select');
    syncChildren(sel, state.routes, (r) => r.name,
      (r) => el('option', { value: r.name }),
      (o, r) => setText(o, r.name));
    if (sel.value !== state.selected) sel.value = state.selected;
  }

  function rollbackTarget(r) {
    if (r.stage === 'canary' || r.stage === 'migrated') return { stage: 'shadow', percent: 0 };
    if (r.stage === 'shadow') return { stage: 'legacy', percent: 0 };
    return null;
  }

  function samePos(a, b) {
    return a && b && a.stage === b.stage && (a.stage !== 'canary' || Number(a.percent) === Number(b.percent));
  }

  // ---------------------------------------------------------------- automation

  // autoOf is the route's automation explanation, with a pause or resume
  // the automator has not evaluated yet already applied.
  function autoOf(r) {
    const a = r.automation;
    const want = state.pauseWant.get(r.name);
    if (!a || !want || a.paused === want.paused) return a || null;
    return Object.assign({}, a, {
      paused: want.paused, paused_reason: want.paused ? want.reason : '', pending: true,
      gates: [], triggers: [], next_promotion_in: '', holding_since: null,
      waiting: want.paused ? 'automation is paused for this route'
        : 'resumed: the gates and triggers are evaluated again at the next evaluation',
    });
  }

  // settlePauses forgets a pending pause or resume once the automator's
  // explanation agrees, or after two newer evaluations (someone else
  // changed it meanwhile).
  function settlePauses() {
    for (const [name, want] of state.pauseWant) {
      const r = state.routeByName.get(name);
      const a = r && r.automation;
      if (!a || a.paused === want.paused) {
        state.pauseWant.delete(name);
        continue;
      }
      if (a.evaluated_at !== want.last) {
        want.last = a.evaluated_at;
        if (++want.newer >= 2) state.pauseWant.delete(name);
      }
    }
  }

  function isAutomated(r) {
    return !!(r && (r.automation || state.autoConf.has(r.name)));
  }

  // autoBadge marks an automated route ("auto", or "auto paused").
  function autoBadge(r) {
    if (!isAutomated(r)) return null;
    const a = autoOf(r);
    if (a && a.paused) {
      return badge('auto paused', 'auto paused',
        `automation paused${a.paused_reason ? ': ' + a.paused_reason : ''}: no automatic promotion or rollback`);
    }
    return badge('auto', 'auto', `automated: ${a ? a.waiting : 'not evaluated yet'}`);
  }

  function checkRows(kind, checks, empty) {
    if (!checks.length) return [el('tr', { class: 'none' }, el('td', { colspan: 3 }, empty))];
    return checks.map((c) => {
      const ok = !!c.holds;
      const prefix = c.name + ': ';
      const detail = c.detail && c.detail.startsWith(prefix) ? c.detail.slice(prefix.length) : c.detail || '';
      return el('tr', { class: ok ? 'ok' : 'fail', 'data-check': c.name, 'data-kind': kind },
        el('th', { scope: 'row' }, el('code', null, c.name)),
        el('td', { class: 'result' }, el('span', { class: 'check ' + (ok ? 'ok' : 'fail') },
          el('span', { 'aria-hidden': 'true' }, ok ? '✓ ' : '✗ '), ok ? 'ok' : 'FAIL')),
        el('td', { class: 'detail' }, detail));
    });
  }

  function groupRow(title, hint) {
    return el('tr', { class: 'group' }, el('th', { scope: 'rowgroup', colspan: 3 }, title, hint ? el('span', { class: 'hint' }, ' · ' + hint) : ''));
  }

  // renderAuto fills the automation block of the steering panel.
  function renderAuto(r) {
    const sec = $('auto');
    const on = isAutomated(r);
    const a = on ? autoOf(r) : null;
    const paused = !!(a && a.paused);
    sec.hidden = !on;
    $('btn-pause').hidden = !on || paused;
    $('btn-resume').hidden = !on || !paused;
    state.autoDue = null;
    if (!on) return;
    const conf = state.autoConf.get(r.name) || null;
    const hold = conf && conf.hold ? goDuration(conf.hold) : '';
    const st = $('auto-state');
    const want = paused ? 'paused' : 'on';
    if (st.dataset.v !== want) {
      st.dataset.v = want;
      st.replaceChildren(paused ? badge('paused', 'auto paused', 'no automatic promotion or rollback until resumed')
        : badge('on', 'auto on', 'promotes when the gates hold, rolls back when a trigger fails'));
    }
    let waiting = a ? a.waiting : `not evaluated yet: the first evaluation comes within ${goDuration(state.autoInterval) || 'one interval'}`;
    if (paused && a.paused_reason) waiting += ` (reason: ${a.paused_reason})`;
    setText($('auto-waiting'), waiting);
    const wait = $('auto-waiting');
    wait.classList.toggle('failing', !!(a && !paused && /^(waiting|rolled back|promotion failed)/.test(a.waiting)));
    const next = a && a.next ? stageText(a.next) : '';
    let nextText = '';
    if (!a) nextText = '';
    else if (paused) nextText = 'No automatic promotion or rollback while paused.';
    else if (a.next_promotion_in) {
      state.autoDue = { at: Date.parse(a.evaluated_at) + parseGoDuration(a.next_promotion_in), next, since: a.holding_since };
    } else if (r.stage === 'legacy') nextText = 'No automatic promotion from legacy.';
    else if (!a.next) nextText = 'No automatic promotion: this is the last step of the plan.';
    else nextText = `Next promotion, to ${next}: once every gate has held ${hold ? 'for ' + hold : 'for the hold time'} in a row.`;
    if (state.autoDue) tickCountdown();
    else setText($('auto-next'), nextText);
    const serves = r.stage === 'canary' || r.stage === 'migrated';
    const gates = (a && a.gates) || [];
    const triggers = (a && a.triggers) || [];
    const sig = JSON.stringify([!!a, paused, r.stage, hold, gates, triggers, a && a.pending]);
    const tg = $('auto-gates');
    if (tg.dataset.sig !== sig) {
      tg.dataset.sig = sig;
      let none = 'none at this step';
      if (paused) none = 'not evaluated while paused';
      else if (!a || a.pending) none = 'not evaluated yet';
      tg.replaceChildren(groupRow('Promotion gates', hold ? `all must hold for ${hold}` : 'all must hold for the hold time'),
        ...checkRows('gate', gates, none));
      let noneT = serves ? 'none configured' : 'none at this stage: triggers act only while the service serves users';
      if (paused) noneT = 'not evaluated while paused';
      else if (!a || a.pending) noneT = 'not evaluated yet';
      $('auto-triggers').replaceChildren(groupRow('Rollback triggers', 'a failing one rolls the route back'),
        ...checkRows('trigger', triggers, noneT));
    }
    const w = (a && a.window) || null;
    const cap = !a ? '' : [
      `Evaluated at ${fmtTime(a.evaluated_at)}${state.autoInterval ? `, every ${goDuration(state.autoInterval)}` : ''}.`,
      w ? `Over the last ${fmtDuration(w.seconds * 1000)}${conf && conf.window ? ` (window ${goDuration(conf.window)})` : ''}: ` +
        `${w.compared} compared, ${w.service_requests} service requests, ${w.fallbacks} fallbacks.` : '',
    ].join(' ');
    setText($('auto-caption'), cap);
    // Nothing is evaluated while paused: the table would be empty.
    $('auto-checks-wrap').hidden = paused || !a;
  }

  // tickCountdown counts down to the next promotion (every second).
  function tickCountdown() {
    const d = state.autoDue;
    if (!d) return;
    const left = d.at - serverNow();
    const since = d.since ? ` Every gate has held since ${fmtTime(d.since)}.` : '';
    setText($('auto-next'), !Number.isFinite(left)
      ? `Next promotion, to ${d.next}: soon.${since}`
      : left > 0
        ? `Next promotion, to ${d.next}: in ${fmtDuration(left)} (at ${fmtTime(new Date(d.at - state.skew))}).${since}`
        : `Next promotion, to ${d.next}: due at the next evaluation.${since}`);
  }

  // textOf flattens a fact's value for change detection.
  function textOf(v) {
    if (v === null || v === undefined) return '';
    if (Array.isArray(v)) return v.map(textOf).join('');
    if (v instanceof Node) return (v.className ? `[${v.className}]` : '') + v.textContent;
    return String(v);
  }

  function renderSteer() {
    const r = state.routeByName.get(state.selected);
    setText($('route-name'), r ? r.name : '—');
    const facts = $('route-facts');
    const controls = ['btn-promote', 'btn-rollback', 'btn-reset', 'btn-stage', 'reason', 'stage-select', 'percent', 'btn-pause', 'btn-resume'];
    if (!r) {
      facts.replaceChildren();
      $('route-plan').replaceChildren();
      for (const id of controls) $(id).disabled = true;
      for (const id of ['auto', 'btn-pause', 'btn-resume']) $(id).hidden = true;
      return;
    }
    const rows = [
      ['Stage', el('span', { id: 'route-stage', class: 'stage-now' }, stageText(r))],
      ['Route file says', stageText(r.file)],
      ['Override', r.override
        ? `${stageText(r.override)} by ${r.override.source} at ${fmtDateTime(r.override.at)}${r.override.reason ? ': ' + r.override.reason : ''}`
        : 'none'],
      ['Service', r.service || 'none (monolith only)'],
      ['Breaker', !r.service ? '—' : r.breaker
        ? el('span', { id: 'route-breaker' }, breakerBadge(r), ' ', BREAKER_TEXT[r.breaker] ? BREAKER_TEXT[r.breaker].replace(/^[^:]*: /, '') : '')
        : 'none on this service'],
      // An automated route has its own block below.
      isAutomated(r) ? null : ['Automation', 'off: steered by hand or by the route file'],
      ['Match', [matchText(r.match)]],
      ['Sticky', r.sticky || '—'],
      ['Version', String(r.version)],
    ].filter(Boolean);
    const sig = JSON.stringify(rows.map(([k, v]) => [k, textOf(v)]));
    if (facts.dataset.sig !== sig) {
      facts.dataset.sig = sig;
      facts.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
    }
    const plan = r.plan || [];
    syncChildren($('route-plan'), plan.map((p, i) => ({ p, i })), (x) => x.i + ':' + stageText(x.p),
      () => el('li'),
      (li, x) => {
        const current = samePos(x.p, r);
        setText(li, stageText(x.p) + (current ? ' (now)' : ''));
        li.classList.toggle('current', current);
        if (current) li.setAttribute('aria-current', 'step');
        else li.removeAttribute('aria-current');
      });
    for (const id of controls) $(id).disabled = state.busy;
    const promote = $('btn-promote');
    setText(promote, r.next ? `Promote to ${stageText(r.next)}` : 'Promote (last step)');
    promote.disabled = state.busy || !r.next;
    const back = rollbackTarget(r);
    const rb = $('btn-rollback');
    setText(rb, back ? `Roll back to ${back.stage}` : 'Roll back (on the monolith)');
    rb.disabled = state.busy || !back;
    $('btn-reset').disabled = state.busy || !r.override;
    if (state.stageFormFor !== r.name + '@' + r.version) {
      state.stageFormFor = r.name + '@' + r.version;
      $('stage-select').value = r.stage;
      $('percent').value = r.stage === 'canary' ? fmtNum(r.percent) : '';
    }
    $('percent').disabled = state.busy || $('stage-select').value !== 'canary';
    renderAuto(r);
  }

  function matchText(m) {
    if (!m) return '—';
    const parts = [];
    if (m.methods && m.methods.length) parts.push(m.methods.join(','));
    if (m.host) parts.push('host ' + m.host);
    if (m.path) parts.push(m.path);
    if (m.prefix) parts.push(m.prefix + '…');
    return parts.join(' ') || 'everything';
  }

  // ---------------------------------------------------------------- charts

  const SERIES_STYLE = {
    legacy: { label: 'monolith', marker: 'square' },
    service: { label: 'service', marker: 'circle' },
    match: { label: 'match rate', marker: 'triangle' },
    requests: { label: 'requests', marker: 'circle' },
    endpoints: { label: 'endpoints', marker: 'square' },
    shadow: { label: 'shadow', marker: 'triangle' },
    canary: { label: 'canary', marker: 'square' },
    migrated: { label: 'migrated', marker: 'circle' },
  };

  function marker(kind, x, y, title) {
    let m;
    if (kind === 'square') m = sv('rect', { class: 'marker', x: (x - 3.2).toFixed(1), y: (y - 3.2).toFixed(1), width: 6.4, height: 6.4 });
    else if (kind === 'triangle') m = sv('path', { class: 'marker', d: `M${x.toFixed(1)} ${(y - 4.6).toFixed(1)}L${(x + 4.2).toFixed(1)} ${(y + 3).toFixed(1)}L${(x - 4.2).toFixed(1)} ${(y + 3).toFixed(1)}Z` });
    else m = sv('circle', { class: 'marker', cx: x.toFixed(1), cy: y.toFixed(1), r: 3.4 });
    if (title) m.append(sv('title', null, title));
    return m;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  // renderChart draws a line chart into fig: an SVG with a title and a
  // description, a legend in text and a data table.
  function renderChart(fig, spec) {
    const n = spec.times.length;
    const W = Math.round(Math.max(260, Math.min(900, fig.clientWidth || 420)));
    const H = 200;
    const padL = 52;
    const padR = 78;
    const padT = 14;
    const padB = 30;
    const pw = W - padL - padR;
    const ph = H - padT - padB;
    let max = 0;
    for (const s of spec.series) for (const v of s.values) if (v !== null && v > max) max = v;
    const yMax = spec.yMax || niceMax(max);
    const X = (i) => padL + (n <= 1 ? pw : (i * pw) / (n - 1));
    const Y = (v) => padT + ph - (Math.min(v, yMax) / yMax) * ph;
    const tid = fig.id + '-title';
    const did = fig.id + '-desc';
    const latest = spec.series.map((s) => {
      for (let i = n - 1; i >= 0; i--) if (s.values[i] !== null) return { s, i, v: s.values[i] };
      return { s, i: -1, v: null };
    });
    const hasData = latest.some((l) => l.v !== null && (l.v !== 0 || spec.zeroIsData));
    const span = spec.span || `per ${bucketSeconds()} s over the last ${spec.minutes} minutes`;
    const desc = hasData
      ? `${spec.what} ${span}. Latest: ` +
        latest.map((l) => `${SERIES_STYLE[l.s.key].label} ${l.v === null ? 'no data' : spec.fmt(l.v)}`).join(', ') + '.'
      : `${spec.what}: no data ${spec.span ? 'yet' : `in the last ${spec.minutes} minutes`}.`;
    const when = spec.timeFmt || fmtTime;
    const svg = sv('svg', {
      class: 'chart-svg', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-labelledby': `${tid} ${did}`, 'data-ymax': yMax,
    }, sv('title', { id: tid }, spec.title), sv('desc', { id: did }, desc));
    for (const f of [0, 0.5, 1]) {
      const y = Y(yMax * f);
      svg.append(sv('line', { class: f === 0 ? 'axis' : 'grid', x1: padL, x2: padL + pw, y1: y.toFixed(1), y2: y.toFixed(1) }),
        sv('text', { class: 'tick', x: padL - 6, y: (y + 4).toFixed(1), 'text-anchor': 'end' }, spec.fmt(yMax * f)));
    }
    svg.append(sv('line', { class: 'axis', x1: padL, x2: padL, y1: padT, y2: padT + ph }));
    const ticks = spec.ticks || [[0, `−${spec.minutes} min`], [Math.round((n - 1) / 2), `−${spec.minutes / 2} min`], [n - 1, 'now']];
    for (const [i, label] of ticks) {
      svg.append(sv('line', { class: 'grid', x1: X(i).toFixed(1), x2: X(i).toFixed(1), y1: padT + ph, y2: padT + ph + 4 }),
        sv('text', { class: 'tick', x: X(i).toFixed(1), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle' }, label));
    }
    const step = Math.max(1, Math.ceil(n / 20));
    const labels = [];
    for (const s of spec.series) {
      const st = SERIES_STYLE[s.key];
      const g = sv('g', { class: `series s-${s.key}`, 'data-series': s.key });
      let seg = [];
      const flush = () => {
        if (seg.length) g.append(sv('polyline', { class: 'line', points: seg.join(' ') }));
        seg = [];
      };
      s.values.forEach((v, i) => {
        if (v === null) {
          flush();
          return;
        }
        seg.push(`${X(i).toFixed(1)},${Y(v).toFixed(1)}`);
      });
      flush();
      s.values.forEach((v, i) => {
        if (v === null) return;
        const alone = (i === 0 || s.values[i - 1] === null) && (i === n - 1 || s.values[i + 1] === null);
        if ((n - 1 - i) % step === 0 || alone) {
          g.append(marker(st.marker, X(i), Y(v), `${when(spec.times[i])} · ${st.label}: ${spec.fmt(v)}`));
        }
      });
      svg.append(g);
      const l = latest.find((x) => x.s === s);
      if (l.v !== null) labels.push({ key: s.key, text: st.label, x: X(l.i), y: Y(l.v) });
    }
    // Name each line at its last point, nudging labels apart.
    // From the bottom up, so that labels of lines at zero stay readable.
    labels.sort((a, b) => b.y - a.y);
    labels.forEach((l, i) => {
      if (i > 0 && labels[i - 1].y - l.y < 13) l.y = labels[i - 1].y - 13;
    });
    for (const l of labels) {
      svg.append(sv('text', { class: `end-label s-${l.key}`, x: (Math.max(l.x, padL + pw) + 8).toFixed(1), y: (l.y + 4).toFixed(1) }, l.text));
    }
    const legend = spec.series.map((s) => {
      const st = SERIES_STYLE[s.key];
      return el('span', { class: 'legend-item' },
        sv('svg', { width: 34, height: 12, viewBox: '0 0 34 12', 'aria-hidden': 'true', class: `series s-${s.key}` },
          sv('line', { class: 'line', x1: 1, x2: 33, y1: 6, y2: 6 }), marker(st.marker, 17, 6)),
        st.label);
    });
    const rows = [];
    for (let i = n - 1; i >= 0 && rows.length < 40; i--) {
      const vals = spec.series.map((s) => s.values[i]);
      if (vals.every((v) => v === null || (v === 0 && !spec.zeroIsData))) continue;
      rows.push(el('tr', null, el('th', { scope: 'row' }, when(spec.times[i])),
        ...vals.map((v) => el('td', { class: 'num' }, v === null ? '—' : spec.fmt(v)))));
    }
    const table = el('table', { class: 'data small' },
      el('caption', null, `${spec.title}, newest first (${spec.rows || 'buckets'} with data only)`),
      el('thead', null, el('tr', null, el('th', { scope: 'col' }, spec.rowLabel || 'Bucket'),
        ...spec.series.map((s) => el('th', { scope: 'col' }, SERIES_STYLE[s.key].label + (spec.unit ? ` (${spec.unit})` : ''))))),
      el('tbody', null, rows.length ? rows : el('tr', null, el('td', { colspan: spec.series.length + 1 }, 'No data in this window.'))));
    // The parts are built once and then refilled, so that the focus (on
    // the Data table toggle, say) survives the refresh every 2 s.
    if (!fig.firstChild) {
      fig.append(el('figcaption', null, el('strong', { class: 'chart-title' }), ' ', el('span', { class: 'hint chart-sub' })),
        el('div', { class: 'chart-plot' }), el('div', { class: 'legend' }),
        el('details', null, el('summary', null, 'Data table'), el('div', { class: 'chart-table' })));
    }
    setText(fig.querySelector('.chart-title'), spec.title);
    setText(fig.querySelector('.chart-sub'), spec.sub || '');
    fig.querySelector('.chart-plot').replaceChildren(svg);
    fig.querySelector('.legend').replaceChildren(...legend);
    fig.querySelector('.chart-table').replaceChildren(table);
  }

  function renderCharts() {
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

  // ---------------------------------------------------------------- render: diffs

  function renderDiffs() {
    const name = state.selected;
    setText($('diffs-route'), name ? `for ${name}` : '');
    $('diffs-off').hidden = !state.reportsOff;
    const rep = state.reportByRoute.get(name);
    const summary = $('diff-summary');
    const sumRows = rep ? [
      ['Compared', rep.compared], ['Equal', rep.equal], ['Different', rep.different], ['Noise only', rep.noise_only],
      ['Comparison errors', rep.diff_errors], ['Match rate', rep.compared ? fmtPct(rep.match_rate) : '—'],
      ['Mirrored', rep.shadow ? rep.shadow.sent : 0],
      ['Dropped', rep.shadow && rep.shadow.dropped ? sum(Object.values(rep.shadow.dropped)) : 0],
    ] : [];
    const sig = JSON.stringify(sumRows);
    if (summary.dataset.sig !== sig) {
      summary.dataset.sig = sig;
      summary.replaceChildren(...sumRows.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, String(v))]));
    }
    const top = (rep && rep.top_paths) || [];
    syncChildren($('top-body'), top, (p) => p.kind + ' ' + p.path,
      (p) => el('tr', { 'data-path': p.path },
        el('th', { scope: 'row' }, el('code', { class: 'path' })),
        el('td', { class: 'kind' }), el('td', { class: 'num count' }), el('td', { class: 'noise' }), el('td', { class: 'example' })),
      (tr, p) => {
        setText(tr.querySelector('.path'), p.path);
        setText(tr.querySelector('.kind'), p.kind);
        setText(tr.querySelector('.count'), String(p.count));
        const nz = tr.querySelector('.noise');
        if (nz.dataset.v !== String(p.noise)) {
          nz.dataset.v = String(p.noise);
          nz.replaceChildren(p.noise ? badge('noise', 'noise', 'learned noise: does not count as a mismatch') : 'no');
        }
        const ex = tr.querySelector('.example');
        const exSig = JSON.stringify(p.example);
        if (ex.dataset.v !== exSig) {
          ex.dataset.v = exSig;
          const e = p.example || {};
          ex.replaceChildren(valueView(e.legacy), ' → ', valueView(e.service),
            e.result_id ? el('button', {
              type: 'button', class: 'link', 'aria-label': `Show result ${e.result_id}, the example of ${p.path}`,
              onclick: () => showResult(e.result_id),
            }, `#${e.result_id}`) : '');
        }
      });
    $('top-empty').hidden = top.length > 0 || !rep;
    const noise = (rep && rep.noise) || [];
    setText($('noise-list'), noise.length
      ? 'Learned noise (differs between two calls of the monolith itself): ' + noise.map((x) => `${x.path} (${x.count}×)`).join(', ')
      : '');
    const diffs = state.diffsFor === name ? state.diffs : [];
    syncChildren($('recent-body'), diffs, (d) => d.id,
      (d) => el('tr', { 'data-id': d.id },
        el('th', { scope: 'row', class: 'num' }, String(d.id)),
        el('td', { class: 'time' }), el('td', { class: 'req' }), el('td', { class: 'verdict' }),
        el('td', { class: 'num ndiff' }), el('td', { class: 'status' }),
        el('td', { class: 'act' }, el('button', {
          type: 'button', class: 'show-result', 'aria-label': `Show result ${d.id}`,
          onclick: () => showResult(d.id),
        }, 'Show'))),
      (tr, d) => {
        setText(tr.querySelector('.time'), fmtTime(d.time));
        setText(tr.querySelector('.req'), `${d.method} ${d.path}`);
        const v = tr.querySelector('.verdict');
        if (v.dataset.v !== d.verdict) {
          v.dataset.v = d.verdict;
          v.replaceChildren(verdictBadge(d.verdict));
        }
        setText(tr.querySelector('.ndiff'), String(d.differences));
        setText(tr.querySelector('.status'), `${d.legacy_status || '—'} / ${d.service_status || '—'}`);
        tr.classList.toggle('selected', d.id === state.resultId);
        tr.querySelector('.show-result').setAttribute('aria-pressed', String(d.id === state.resultId));
      });
    $('recent-empty').hidden = diffs.length > 0 || state.reportsOff;
  }

  function verdictBadge(v) {
    const text = { equal: '= equal', different: '≠ different', 'noise-only': '≈ noise only', error: '! error' }[v] || v;
    return badge(text, 'verdict v-' + v);
  }

  // ---------------------------------------------------------------- result view

  // parseJSON parses text keeping key order and numbers as written. It
  // throws on anything that is not one JSON value.
  function parseJSON(s) {
    let i = 0;
    const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    const fail = () => { throw new SyntaxError('not JSON at ' + i); };
    const ws = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++; };
    const str = () => {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      if (j >= s.length) fail();
      const raw = s.slice(i, j + 1);
      i = j + 1;
      return JSON.parse(raw);
    };
    const val = (depth) => {
      if (depth > 400) fail();
      ws();
      const c = s[i];
      if (c === '{' || c === '[') {
        const obj = c === '{';
        const close = obj ? '}' : ']';
        const e = [];
        i++;
        ws();
        if (s[i] === close) {
          i++;
          return { t: obj ? 'o' : 'a', e };
        }
        for (;;) {
          ws();
          if (obj) {
            if (s[i] !== '"') fail();
            const k = str();
            ws();
            if (s[i] !== ':') fail();
            i++;
            e.push([k, val(depth + 1)]);
          } else {
            e.push([e.length, val(depth + 1)]);
          }
          ws();
          if (s[i] === ',') {
            i++;
            continue;
          }
          if (s[i] === close) {
            i++;
            return { t: obj ? 'o' : 'a', e };
          }
          fail();
        }
      }
      if (c === '"') return { t: 's', v: str() };
      for (const lit of ['true', 'false', 'null']) {
        if (s.startsWith(lit, i)) {
          i += lit.length;
          return { t: 'l', v: lit };
        }
      }
      NUM.lastIndex = i;
      const m = NUM.exec(s);
      if (!m) fail();
      i += m[0].length;
      return { t: 'n', v: m[0] };
    };
    const root = val(0);
    ws();
    if (i !== s.length) fail();
    return root;
  }

  const ptrEsc = (k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1');

  // emitJSON appends node, pretty-printed, to parent; a member whose JSON
  // Pointer is in marks is wrapped, key and value, in a <mark>.
  function emitJSON(parent, node, path, depth, marks, key) {
    const d = marks.get(path);
    let out = parent;
    if (d) {
      out = el('mark', {
        class: 'diff kind-' + d.kind + (d.noise ? ' noise' : ''), 'data-path': path,
        title: `${path || '(whole body)'}: ${d.kind}${d.noise ? ' (learned noise)' : ''}`,
      });
      parent.append(out);
    }
    if (key !== null && typeof key === 'string') out.append(el('span', { class: 'j-key' }, JSON.stringify(key)), ': ');
    const pad = '  '.repeat(depth);
    if (node.t === 'o' || node.t === 'a') {
      const [open, close] = node.t === 'o' ? ['{', '}'] : ['[', ']'];
      if (!node.e.length) {
        out.append(open + close);
        return;
      }
      out.append(open + '\n');
      node.e.forEach(([k, v], idx) => {
        out.append(pad + '  ');
        emitJSON(out, v, path + '/' + ptrEsc(k), depth + 1, marks, node.t === 'o' ? k : null);
        out.append(idx < node.e.length - 1 ? ',\n' : '\n');
      });
      out.append(pad + close);
      return;
    }
    if (node.t === 's') {
      out.append(node.v === REDACTED ? redactedBadge() : el('span', { class: 'j-str' }, JSON.stringify(node.v)));
    } else {
      out.append(el('span', { class: node.t === 'n' ? 'j-num' : 'j-lit' }, node.v));
    }
    if (d) out.append(el('span', { class: 'sr-only' }, ` (differs: ${d.kind})`));
  }

  function renderBody(pre, side, marks) {
    const body = side.body || '';
    if (!body) {
      pre.replaceChildren(el('em', { class: 'absent' }, side.error ? `no answer: ${side.error}` : '(empty body)'));
      return;
    }
    let root = null;
    if (!side.truncated) {
      try {
        root = parseJSON(body);
      } catch (_) {
        root = null;
      }
    }
    if (!root) {
      pre.replaceChildren(body === REDACTED ? redactedBadge() : body);
      return;
    }
    const frag = document.createDocumentFragment();
    emitJSON(frag, root, '', 0, marks, null);
    pre.replaceChildren(frag);
  }

  function renderHeaders(dl, header, diffs) {
    const marked = new Map();
    for (const d of diffs) if (d.path.startsWith('header:')) marked.set(d.path.slice(7).toLowerCase(), d);
    const names = Object.keys(header || {}).sort();
    dl.replaceChildren(...names.flatMap((n) => {
      const d = marked.get(n.toLowerCase());
      const dt = el('dt', null, d ? el('mark', { class: 'diff' + (d.noise ? ' noise' : ''), 'data-path': d.path }, n) : n);
      const dd = el('dd', null, ...header[n].map((v, i) => [i ? ', ' : '', v === REDACTED ? redactedBadge() : v]));
      return [dt, dd];
    }));
    if (!names.length) dl.append(el('dd', null, 'none'));
  }

  function sideMeta(rec, side) {
    const s = rec[side];
    const parts = [`status ${s.status || '—'}`, fmtMs(s.duration_ns / 1e6)];
    if (rec.primary === side) parts.push('answered the user');
    else parts.push('compared only');
    if (s.truncated) parts.push('body truncated at the capture cap');
    if (s.error) parts.push('error: ' + s.error);
    return parts.join(' · ');
  }

  async function showResult(id) {
    state.resultId = id;
    renderDiffs();
    let rec;
    try {
      rec = await api('diffs/' + encodeURIComponent(String(id)));
    } catch (e) {
      if (e.status === 401) notice('error', 'the admin API refused the token. Enter the right token above.');
      else if (e.status === 404) notice('error', `Result #${id} is no longer stored (evicted to bound memory).`);
      else if (e.status === 0) notice('error', 'proxy unreachable: could not load the result.');
      else notice('error', `Could not load result #${id}: ${e.message}`);
      return;
    }
    if (state.resultId !== id) return;
    renderResult(rec);
    const sec = $('result');
    sec.hidden = false;
    $('result-h').focus({ preventScroll: true });
    scrollToNode(sec, 'start');
  }

  function renderResult(rec) {
    const res = rec.result || {};
    const diffs = res.differences || [];
    setText($('result-h'), `Result #${rec.id} · ${rec.method} ${rec.path}`);
    const facts = [
      ['Time', fmtDateTime(rec.time)], ['Route', rec.route], ['Verdict', verdictBadge(res.verdict)],
      ['Answered the user', SIDE_LABEL[rec.primary] || rec.primary || '—'],
      ['Body', res.body_kind || '—'], ['Request id', rec.request_id || '—'], ['Trace', rec.trace_id || '—'],
      ['Status', `${rec.legacy.status || '—'} monolith / ${rec.service.status || '—'} service`],
    ];
    $('result-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
    const notes = [];
    if (res.error) notes.push('Comparison error: ' + res.error);
    if (res.omitted) notes.push(`${res.omitted} more differences not listed.`);
    setText($('result-note'), notes.join(' '));
    const legacyMarks = new Map();
    const serviceMarks = new Map();
    for (const d of diffs) {
      if (d.path !== '' && !d.path.startsWith('/')) continue;
      if (d.kind !== 'extra') legacyMarks.set(d.path, d);
      if (d.kind !== 'missing') serviceMarks.set(d.path, d);
    }
    $('result-diffs-body').replaceChildren(...(diffs.length ? diffs.flatMap((d) => [el('tr', { 'data-path': d.path },
      el('th', { scope: 'row' }, el('button', {
        type: 'button', class: 'link path', title: 'Show in both bodies',
        onclick: () => flash(d.path),
      }, el('code', null, d.path || '(whole body)'))),
      el('td', null, d.kind),
      el('td', null, valueView(d.legacy)),
      el('td', null, valueView(d.service)),
      el('td', null, d.noise ? badge('noise', 'noise', 'learned noise: does not count as a mismatch') : '')),
      ...excerptRows(d)]) :
      [el('tr', null, el('td', { colspan: 5 }, 'No differences: the answers matched.'))]));
    renderBody($('legacy-body'), rec.legacy, legacyMarks);
    renderBody($('service-body'), rec.service, serviceMarks);
    setText($('legacy-body-meta'), sideMeta(rec, 'legacy'));
    setText($('service-body-meta'), sideMeta(rec, 'service'));
    renderHeaders($('legacy-headers'), rec.legacy.header, diffs);
    renderHeaders($('service-headers'), rec.service.header, diffs);
    renderDiffs();
  }

  // excerptRows shows the source around a page, XML or text difference,
  // monolith and service side by side, as text (never as markup).
  function excerptRows(d) {
    if (!d.excerpt) return [];
    return [el('tr', { class: 'excerpt', 'data-path': d.path },
      el('td', { colspan: 2, class: 'muted' }, 'in context'),
      el('td', null, el('pre', { class: 'excerpt' }, d.excerpt.legacy || '(absent)')),
      el('td', null, el('pre', { class: 'excerpt' }, d.excerpt.service || '(absent)')),
      el('td'))];
  }

  function flash(path) {
    const marks = Array.from(document.querySelectorAll('#result mark.diff')).filter((m) => m.dataset.path === path);
    for (const m of marks) {
      m.classList.remove('flash');
      void m.getBoundingClientRect(); // restart the animation
      m.classList.add('flash');
    }
    if (marks[0]) scrollToNode(marks[0], 'nearest');
  }

  // ---------------------------------------------------------------- audit log

  function renderAudit() {
    syncChildren($('audit-body'), state.events, (e) => e.id,
      () => el('tr', null, el('td', { class: 'time' }), el('th', { scope: 'row', class: 'route' }), el('td', { class: 'action' }),
        el('td', { class: 'move' }), el('td', { class: 'source' }),
        el('td', { class: 'reason' }, el('span', { class: 'reason-text' }), el('span', { class: 'figures' }))),
      (tr, e) => {
        tr.dataset.route = e.route;
        setText(tr.querySelector('.time'), fmtDateTime(e.time));
        setText(tr.querySelector('.route'), e.route);
        setText(tr.querySelector('.action'), e.action);
        setText(tr.querySelector('.move'), `${stageText(e.from)} → ${stageText(e.to)}`);
        setText(tr.querySelector('.source'), e.source || '—');
        setText(tr.querySelector('.reason-text'), e.reason || '—');
        const fig = tr.querySelector('.figures');
        const fsig = JSON.stringify(e.figures || null);
        if (fig.dataset.v !== fsig) {
          fig.dataset.v = fsig;
          fig.replaceChildren(figuresView(e.figures));
        }
      });
    $('audit-empty').hidden = state.events.length > 0;
  }

  const FIGURE_ORDER = ['window_seconds', 'compared', 'match_rate', 'service_requests', 'service_error_rate',
    'service_p99_ms', 'legacy_requests', 'legacy_p99_ms', 'fallbacks'];

  function fmtFigure(k, v) {
    if (k.endsWith('_rate')) return fmtPct(v, 2);
    if (k.endsWith('_ms')) return fmtMs(v);
    if (k.endsWith('_seconds')) return fmtDuration(v * 1000);
    return fmtNum(v);
  }

  // figuresView shows the figures behind an automatic decision, folded.
  function figuresView(figures) {
    const keys = Object.keys(figures || {});
    if (!keys.length) return '';
    const rank = (k) => (FIGURE_ORDER.includes(k) ? FIGURE_ORDER.indexOf(k) : FIGURE_ORDER.length);
    keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    return el('details', { class: 'figs' }, el('summary', null, `Figures (${keys.length})`),
      el('dl', null, ...keys.flatMap((k) => [el('dt', null, k.replace(/_(seconds|ms)$/, '').replace(/_/g, ' ')), el('dd', null, fmtFigure(k, figures[k]))])));
  }

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


  // ---------------------------------------------------------------- render: plan

  // renderPlan shows the migration's progress now and over time
  // (GET /admin/progress) and what to carve next (GET /admin/plan).
  function renderPlan() {
    $('plan-off').hidden = !state.planOff;
    renderPlanCards();
    renderPlanCharts();
    renderSuggestions();
  }

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

  function renderPlanCharts() {
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

  function renderSuggestions() {
    const list = (state.plan && state.plan.suggestions) || [];
    $('suggest-empty').hidden = list.length > 0 || !state.plan;
    syncChildren($('suggestions'), list, (sg) => sg.family.prefix, buildSuggestion, updateSuggestion);
  }

  function buildSuggestion(sg) {
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
    setText(li.querySelector('.sg-prefix'), `${sg.rank}. ${f.prefix}`);
    setText(li.querySelector('.sg-score'), `score ${fmtNum(sg.score)}`);
    setText(li.querySelector('.sg-facts'), `${fmtPct(f.share)} of requests · ${fmtPct(f.read_share)} reads · ` +
      `monolith errors ${fmtPct(f.monolith_error_rate)} · p99 ${fmtMs(f.p99_ns / 1e6)} · ${(f.shapes || []).length} shape${(f.shapes || []).length === 1 ? '' : 's'}`);
    const reasons = li.querySelector('.sg-reasons');
    const texts = sg.reasons || [];
    if (reasons.children.length !== texts.length || texts.some((t, i) => reasons.children[i].textContent !== t)) {
      reasons.replaceChildren(...texts.map((t) => el('li', null, t)));
    }
    setText(li.querySelector('pre.yaml'), sg.route_yaml || '');
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

  // ---------------------------------------------------------------- actions

  function selectRoute(name, opts = {}) {
    const changed = name !== state.selected;
    state.selected = name;
    sessionSet(ROUTE_KEY, name);
    if (changed) {
      state.diffs = [];
      state.diffsFor = '';
      state.resultId = 0;
      $('result').hidden = true;
    }
    if (opts.quiet) return;
    renderAll();
    if (opts.focus) {
      const target = opts.to === 'diffs' ? $('diffs-h') : $('route-h');
      if (opts.to === 'diffs') $('diffs-h').setAttribute('tabindex', '-1');
      target.focus({ preventScroll: true });
      scrollToNode(target, 'start');
    }
    if (changed) refresh();
  }

  let resolveConfirm = null;

  function confirmChange(text, reason) {
    const dlg = $('confirm');
    setText($('confirm-text'), text);
    setText($('confirm-reason'), reason || '(none given)');
    dlg.returnValue = '';
    dlg.showModal();
    $('confirm-cancel').focus();
    return new Promise((resolve) => { resolveConfirm = resolve; });
  }

  function setBusy(b) {
    state.busy = b;
    renderSteer();
  }

  // submitChange confirms a change of the selected route, POSTs it to one
  // of the route's endpoints, shows the answer at once and then refreshes
  // every figure. spec.question(r) is the confirmation text, spec.body(r)
  // the request body (the reason is added), spec.done(v, r, reason)
  // reports the answer, and spec.rendered(), if given, runs once the
  // answer is on the page.
  async function submitChange(endpoint, spec) {
    const r = state.routeByName.get(state.selected);
    if (!r || state.busy) return;
    const reason = $('reason').value.trim();
    const payload = spec.body(r);
    if (reason) payload.reason = reason;
    const ok = await confirmChange(spec.question(r), reason);
    if (!ok) {
      notice('info', 'Cancelled: nothing was changed.');
      return;
    }
    setBusy(true);
    try {
      const v = await api(`routes/${encodeURIComponent(r.name)}/${endpoint}`, { method: 'POST', body: payload });
      spec.done(v, r, reason);
      $('reason').value = '';
      // Show the answer at once, then refresh every figure.
      state.routes = state.routes.map((x) => (x.name === v.name ? v : x));
      state.routeByName.set(v.name, v);
      state.busy = false;
      renderAll();
      if (spec.rendered) spec.rendered();
      await refresh();
    } catch (e) {
      if (e.status === 401) notice('error', 'Nothing was changed: the admin API refused the token. Enter the right token above.');
      else if (e.status === 0) notice('error', 'Nothing was changed: proxy unreachable.');
      else if (e.status === 409 && e.field === 'if_version') {
        notice('error', 'Nothing was changed: the route changed meanwhile. Check its new state and try again.');
        refresh();
      } else notice('error', `Nothing was changed (${e.status}): ${e.message}${e.field ? ` [${e.field}]` : ''}`);
    } finally {
      setBusy(false);
    }
  }

  // change moves the selected route (stage, promote, rollback, reset),
  // refused if the route changed since it was shown.
  function change(action, body, summary) {
    return submitChange(action, {
      question: summary,
      body: (r) => Object.assign({}, body, { if_version: r.version }),
      done: (v, r) => notice('ok', `${v.name}: ${stageText(r)} → ${stageText(v)} (${action}).`),
    });
  }

  // setPaused pauses or resumes the selected route's automation, after
  // the same confirmation as every other change.
  function setPaused(paused) {
    return submitChange('automation', {
      question: (r) => (paused
        ? `Pause automation of ${r.name}? It stays at ${stageText(r)}: no automatic promotion or rollback until it is resumed.`
        : `Resume automation of ${r.name} at ${stageText(r)}? Its gates and triggers are evaluated again, over a fresh window.`),
      body: () => ({ paused }),
      done: (v, r, reason) => {
        notice('ok', `${v.name}: automation ${paused ? 'paused' : 'resumed'}.`);
        const a = v.automation;
        if (a && a.paused !== paused) state.pauseWant.set(v.name, { paused, reason, last: a.evaluated_at, newer: 0 });
      },
      rendered: () => {
        // The button just pressed is hidden now: keep the focus nearby.
        const other = $(paused ? 'btn-resume' : 'btn-pause');
        if (!other.hidden) other.focus();
      },
    });
  }

  function initEvents() {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = $('token');
      const v = input.value.trim();
      if (!v) {
        notice('error', 'Enter a token first.');
        input.focus();
        return;
      }
      sessionSet(TOKEN_KEY, v);
      input.value = '';
      tokenState();
      notice('info', 'Token set for this tab.');
      refresh();
    });
    $('token-forget').addEventListener('click', () => {
      sessionSet(TOKEN_KEY, '');
      $('token').value = '';
      tokenState();
      notice('info', 'Token forgotten.');
      refresh();
    });
    $('notice-close').addEventListener('click', () => { $('notice').hidden = true; });
    $('route-select').addEventListener('change', (ev) => selectRoute(ev.target.value));
    $('window-select').addEventListener('change', (ev) => {
      state.windowBuckets = Number(ev.target.value) || 60;
      renderCharts();
    });
    $('stage-select').addEventListener('change', () => {
      $('percent').disabled = state.busy || $('stage-select').value !== 'canary';
    });
    $('btn-promote').addEventListener('click', () => change('promote', {},
      (r) => `Promote ${r.name} from ${stageText(r)} to ${stageText(r.next)}?`));
    $('btn-rollback').addEventListener('click', () => change('rollback', {},
      (r) => `Roll back ${r.name} from ${stageText(r)} to ${stageText(rollbackTarget(r))}? The monolith serves all of its traffic at once.`));
    $('btn-reset').addEventListener('click', () => change('reset', {},
      (r) => `Reset ${r.name}: drop the override (${stageText(r)}) so the route file's ${stageText(r.file)} applies again?`));
    $('btn-pause').addEventListener('click', () => setPaused(true));
    $('btn-resume').addEventListener('click', () => setPaused(false));
    $('btn-stage').addEventListener('click', () => {
      const stage = $('stage-select').value;
      const body = { stage };
      if (stage === 'canary') {
        const p = $('percent').value.trim();
        const n = Number(p);
        if (p === '' || !Number.isFinite(n) || n < 0 || n > 100) {
          notice('error', 'Percent must be a number from 0 to 100 for stage canary.');
          $('percent').focus();
          return;
        }
        body.percent = n;
      }
      change('stage', body, (r) => `Set ${r.name} from ${stageText(r)} to ${stageText({ stage, percent: body.percent })}?`);
    });
    const dlg = $('confirm');
    $('confirm-ok').addEventListener('click', () => dlg.close('confirm'));
    $('confirm-cancel').addEventListener('click', () => dlg.close('cancel'));
    dlg.addEventListener('close', () => {
      const r = resolveConfirm;
      resolveConfirm = null;
      if (r) r(dlg.returnValue === 'confirm');
    });
    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        renderCharts();
        renderPlanCharts();
      }, 150);
    });
  }

  function init() {
    tokenState();
    initFlow();
    initEvents();
    state.windowBuckets = Number($('window-select').value) || 60;
    renderAll();
    refresh().finally(schedule);
    setInterval(tickCountdown, 1000);
  }

  init();
})();
