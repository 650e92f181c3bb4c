// The overview: progress cards, the stage flow, the route table and the
// cluster line.
import { $, el, setText, syncChildren } from '../dom.js';
import { badge, breakerBadge } from '../badges.js';
import { bar } from '../charts.js';
import { errRate, fmtMs, fmtNum, fmtPct, fmtRate, perReplica, plural, stageText } from '../format.js';
import { selectRoute } from '../select.js';
import { autoOf, isAutomated, state } from '../state.js';
import { progress, routeRate } from '../timeline.js';

/** renderProgress fills the three progress cards. */
export function renderProgress() {
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

/** buildFlow lays out the stage flow, one column per stage of GET /admin/stages. */
export function buildFlow() {
  $('flow').replaceChildren(...state.stages.map((s, i) => el('li', { class: 'flow-stage', 'data-stage': s.name },
    el('div', { class: 'flow-head' },
      el('span', { class: 'flow-step', 'aria-hidden': 'true' }, String(i + 1)),
      el('h4', null, s.title),
      el('span', { class: 'flow-count' }, '')),
    el('p', { class: 'hint' }, s.description),
    el('ul', { class: 'chips', 'aria-label': `Routes in ${s.name}` }))));
}

/** renderFlow puts each route, as a chip, under its stage. */
export function renderFlow() {
  for (const li of $('flow').children) {
    const st = li.dataset.stage;
    const routes = state.routes.filter((r) => r.stage === st);
    setText(li.querySelector('.flow-count'), plural(routes.length, 'route'));
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

/** autoBadge marks an automated route ("auto", or "auto paused"). */
function autoBadge(r) {
  if (!isAutomated(r)) return null;
  const a = autoOf(r);
  if (a && a.paused) {
    return badge('auto paused', 'auto paused',
      `automation paused${a.paused_reason ? ': ' + a.paused_reason : ''}: no automatic promotion or rollback`);
  }
  return badge('auto', 'auto', `automated: ${a ? a.waiting : 'not evaluated yet'}`);
}

function updateStageCell(tr, r) {
  setText(tr.querySelector('.stage-name'), stageText(r));
  const badges = tr.querySelector('.stage-badges');
  const wantOverride = r.override ? `file says ${stageText(r.file)}; changed by ${r.override.source}` : '';
  const auto = autoBadge(r);
  const bsig = JSON.stringify([wantOverride, auto && auto.textContent, auto && auto.title]);
  if ((badges.dataset.v || '') !== bsig) {
    badges.dataset.v = bsig;
    badges.replaceChildren(wantOverride ? badge('override', 'override', wantOverride) : '', auto || '');
  }
}

function updateBreakerCell(tr, r) {
  const br = tr.querySelector('.breaker');
  const bwant = r.breaker || (r.service ? 'none' : 'no service');
  if (br.dataset.v !== bwant) {
    br.dataset.v = bwant;
    br.replaceChildren(r.breaker ? breakerBadge(r) : '—');
    br.title = r.breaker ? '' : r.service ? 'no circuit breaker on this service' : 'no service';
  }
  tr.classList.toggle('breaker-open', r.breaker === 'open');
}

function updateFigureCells(tr, r) {
  const cell = (c) => tr.querySelector('.' + c);
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
}

function updateRouteRow(tr, r) {
  setText(tr.querySelector('.name'), r.name);
  updateStageCell(tr, r);
  setText(tr.querySelector('.service'), r.service || '—');
  updateBreakerCell(tr, r);
  updateFigureCells(tr, r);
  tr.classList.toggle('selected', r.name === state.selected);
  tr.querySelector('.details-btn').setAttribute('aria-label', `Details of ${r.name}`);
  tr.querySelector('.diffs-btn').setAttribute('aria-label', `Diffs of ${r.name}`);
}

/** renderRoutes fills the route table. */
export function renderRoutes() {
  syncChildren($('routes-body'), state.routes, (r) => r.name, buildRouteRow, updateRouteRow);
  $('routes-empty').hidden = state.routes.length > 0;
  if (!state.routes.length) setText($('routes-empty'), state.loaded ? 'No routes configured.' : 'No routes loaded yet.');
}

/**
 * renderCluster shows, with the etcd backend, how many replicas share
 * the rollout, which one leads automation and which serve a route file
 * that differs from the others' (GET /admin/cluster). Hidden with the
 * file backend and when the list cannot be read.
 */
export function renderCluster(v) {
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
