// Steering: the selected route's facts, plan and automation, and the
// changes (promote, roll back, reset, set stage, pause and resume
// automation), each confirmed in a dialog and sent with the route's
// version so that a concurrent change is refused.
import { $, el, setText, syncChildren, textOf } from './dom.js';
import { api } from './api.js';
import { BREAKER_TEXT, badge, breakerBadge } from './badges.js';
import { parseGoDuration } from './duration.js';
import { fmtDateTime, fmtDuration, fmtNum, fmtTime, goDuration, matchText, stageText } from './format.js';
import { refresh, renderAll } from './hooks.js';
import {
  autoOf, isAutomated, putRoute, setAutoDue, setBusy, setStageFormFor, state, wantPause,
} from './state.js';
import { notice } from './status.js';
import { serverNow } from './timeline.js';

const CONTROLS = ['btn-promote', 'btn-rollback', 'btn-reset', 'btn-stage', 'reason', 'stage-select', 'percent', 'btn-pause', 'btn-resume'];

/** rollbackTarget is where a rollback takes the route, or null on the monolith. */
export function rollbackTarget(r) {
  if (r.stage === 'canary' || r.stage === 'migrated') return { stage: 'shadow', percent: 0 };
  if (r.stage === 'shadow') return { stage: 'legacy', percent: 0 };
  return null;
}

/** samePos tells whether two positions are the same step. */
export function samePos(a, b) {
  return a && b && a.stage === b.stage && (a.stage !== 'canary' || Number(a.percent) === Number(b.percent));
}

/** fillStageSelect offers every stage of GET /admin/stages in the Set stage form. */
export function fillStageSelect() {
  const sel = $('stage-select');
  const want = sel.value;
  sel.replaceChildren(...state.stages.map((s) => el('option', { value: s.name }, s.name)));
  if (want) sel.value = want;
  setStageFormFor(''); // fill the form again from the selected route
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

function renderAutoState(paused) {
  const st = $('auto-state');
  const want = paused ? 'paused' : 'on';
  if (st.dataset.v !== want) {
    st.dataset.v = want;
    st.replaceChildren(paused ? badge('paused', 'auto paused', 'no automatic promotion or rollback until resumed')
      : badge('on', 'auto on', 'promotes when the gates hold, rolls back when a trigger fails'));
  }
}

function renderAutoNext(r, a, paused, hold) {
  const next = a && a.next ? stageText(a.next) : '';
  let nextText = '';
  if (!a) nextText = '';
  else if (paused) nextText = 'No automatic promotion or rollback while paused.';
  else if (a.next_promotion_in) {
    setAutoDue({ at: Date.parse(a.evaluated_at) + parseGoDuration(a.next_promotion_in), next, since: a.holding_since });
  } else if (r.stage === 'legacy') nextText = 'No automatic promotion from legacy.';
  else if (!a.next) nextText = 'No automatic promotion: this is the last step of the plan.';
  else nextText = `Next promotion, to ${next}: once every gate has held ${hold ? 'for ' + hold : 'for the hold time'} in a row.`;
  if (state.autoDue) tickCountdown();
  else setText($('auto-next'), nextText);
}

function renderAutoChecks(r, a, paused, hold) {
  const serves = r.stage === 'canary' || r.stage === 'migrated';
  const gates = (a && a.gates) || [];
  const triggers = (a && a.triggers) || [];
  const sig = JSON.stringify([!!a, paused, r.stage, hold, gates, triggers, a && a.pending]);
  const tg = $('auto-gates');
  if (tg.dataset.sig === sig) return;
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

/** renderAuto fills the automation block of the steering panel. */
function renderAuto(r) {
  const on = isAutomated(r);
  const a = on ? autoOf(r) : null;
  const paused = !!(a && a.paused);
  $('auto').hidden = !on;
  $('btn-pause').hidden = !on || paused;
  $('btn-resume').hidden = !on || !paused;
  setAutoDue(null);
  if (!on) return;
  const conf = state.autoConf.get(r.name) || null;
  const hold = conf && conf.hold ? goDuration(conf.hold) : '';
  renderAutoState(paused);
  let waiting = a ? a.waiting : `not evaluated yet: the first evaluation comes within ${goDuration(state.autoInterval) || 'one interval'}`;
  if (paused && a.paused_reason) waiting += ` (reason: ${a.paused_reason})`;
  setText($('auto-waiting'), waiting);
  $('auto-waiting').classList.toggle('failing', !!(a && !paused && /^(waiting|rolled back|promotion failed)/.test(a.waiting)));
  renderAutoNext(r, a, paused, hold);
  renderAutoChecks(r, a, paused, hold);
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

/** tickCountdown counts down to the next promotion (every second). */
export function tickCountdown() {
  const d = state.autoDue;
  if (!d) return;
  const left = d.at - serverNow();
  const since = d.since ? ` Every gate has held since ${fmtTime(d.since)}.` : '';
  let text = `Next promotion, to ${d.next}: due at the next evaluation.${since}`;
  if (!Number.isFinite(left)) text = `Next promotion, to ${d.next}: soon.${since}`;
  else if (left > 0) text = `Next promotion, to ${d.next}: in ${fmtDuration(left)} (at ${fmtTime(new Date(d.at - state.skew))}).${since}`;
  setText($('auto-next'), text);
}

function factRows(r) {
  return [
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
}

function renderFacts(r) {
  const facts = $('route-facts');
  const rows = factRows(r);
  const sig = JSON.stringify(rows.map(([k, v]) => [k, textOf(v)]));
  if (facts.dataset.sig !== sig) {
    facts.dataset.sig = sig;
    facts.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  }
}

function renderPlanSteps(r) {
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
}

function renderButtons(r) {
  for (const id of CONTROLS) $(id).disabled = state.busy;
  const promote = $('btn-promote');
  setText(promote, r.next ? `Promote to ${stageText(r.next)}` : 'Promote (last step)');
  promote.disabled = state.busy || !r.next;
  const back = rollbackTarget(r);
  const rb = $('btn-rollback');
  setText(rb, back ? `Roll back to ${back.stage}` : 'Roll back (on the monolith)');
  rb.disabled = state.busy || !back;
  $('btn-reset').disabled = state.busy || !r.override;
  if (state.stageFormFor !== r.name + '@' + r.version) {
    setStageFormFor(r.name + '@' + r.version);
    $('stage-select').value = r.stage;
    $('percent').value = r.stage === 'canary' ? fmtNum(r.percent) : '';
  }
  $('percent').disabled = state.busy || $('stage-select').value !== 'canary';
}

/** renderSteer fills the steering panel of the selected route. */
export function renderSteer() {
  const r = state.routeByName.get(state.selected);
  setText($('route-name'), r ? r.name : '—');
  if (!r) {
    $('route-facts').replaceChildren();
    $('route-plan').replaceChildren();
    for (const id of CONTROLS) $(id).disabled = true;
    for (const id of ['auto', 'btn-pause', 'btn-resume']) $(id).hidden = true;
    return;
  }
  renderFacts(r);
  renderPlanSteps(r);
  renderButtons(r);
  renderAuto(r);
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

function busy(b) {
  setBusy(b);
  renderSteer();
}

function changeFailed(e) {
  if (e.status === 401) notice('error', 'Nothing was changed: the admin API refused the token. Enter the right token above.');
  else if (e.status === 0) notice('error', 'Nothing was changed: proxy unreachable.');
  else if (e.status === 409 && e.field === 'if_version') {
    notice('error', 'Nothing was changed: the route changed meanwhile. Check its new state and try again.');
    refresh();
  } else notice('error', `Nothing was changed (${e.status}): ${e.message}${e.field ? ` [${e.field}]` : ''}`);
}

/**
 * submitChange confirms a change of the selected route, POSTs it to one
 * of the route's endpoints, shows the answer at once and then refreshes
 * every figure. spec.question(r) is the confirmation text, spec.body(r)
 * the request body (the reason is added), spec.done(v, r, reason)
 * reports the answer, and spec.rendered(), if given, runs once the
 * answer is on the page.
 */
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
  busy(true);
  try {
    const v = await api(`routes/${encodeURIComponent(r.name)}/${endpoint}`, { method: 'POST', body: payload });
    spec.done(v, r, reason);
    $('reason').value = '';
    // Show the answer at once, then refresh every figure.
    putRoute(v);
    setBusy(false);
    renderAll();
    if (spec.rendered) spec.rendered();
    await refresh();
  } catch (e) {
    changeFailed(e);
  } finally {
    busy(false);
  }
}

/**
 * change moves the selected route (stage, promote, rollback, reset),
 * refused if the route changed since it was shown.
 */
function change(action, body, summary) {
  return submitChange(action, {
    question: summary,
    body: (r) => Object.assign({}, body, { if_version: r.version }),
    done: (v, r) => notice('ok', `${v.name}: ${stageText(r)} → ${stageText(v)} (${action}).`),
  });
}

/**
 * setPaused pauses or resumes the selected route's automation, after
 * the same confirmation as every other change.
 */
function setPaused(paused) {
  return submitChange('automation', {
    question: (r) => (paused
      ? `Pause automation of ${r.name}? It stays at ${stageText(r)}: no automatic promotion or rollback until it is resumed.`
      : `Resume automation of ${r.name} at ${stageText(r)}? Its gates and triggers are evaluated again, over a fresh window.`),
    body: () => ({ paused }),
    done: (v, r, reason) => {
      notice('ok', `${v.name}: automation ${paused ? 'paused' : 'resumed'}.`);
      const a = v.automation;
      if (a && a.paused !== paused) wantPause(v.name, paused, reason, a.evaluated_at);
    },
    rendered: () => {
      // The button just pressed is hidden now: keep the focus nearby.
      const other = $(paused ? 'btn-resume' : 'btn-pause');
      if (!other.hidden) other.focus();
    },
  });
}

function setStage() {
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
}

/** initSteer wires the steering buttons, the Set stage form and the confirmation dialog. */
export function initSteer() {
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
  $('btn-stage').addEventListener('click', setStage);
  const dlg = $('confirm');
  $('confirm-ok').addEventListener('click', () => dlg.close('confirm'));
  $('confirm-cancel').addEventListener('click', () => dlg.close('cancel'));
  dlg.addEventListener('close', () => {
    const r = resolveConfirm;
    resolveConfirm = null;
    if (r) r(dlg.returnValue === 'confirm');
  });
}
