// The diffs view: the selected route's comparison summary, its top
// differing paths and its recent results (GET /admin/report and
// /admin/diffs); a result opens in the diff viewer.
import { $, el, setText, syncChildren } from '../dom.js';
import { noiseBadge, valueView, verdictBadge } from '../badges.js';
import { showResult } from '../diffview.js';
import { fmtPct, fmtTime } from '../format.js';
import { state } from '../state.js';
import { sum } from '../timeline.js';

function renderSummary(rep) {
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
}

function updateTopPath(tr, p) {
  setText(tr.querySelector('.path'), p.path);
  setText(tr.querySelector('.kind'), p.kind);
  setText(tr.querySelector('.count'), String(p.count));
  const nz = tr.querySelector('.noise');
  if (nz.dataset.v !== String(p.noise)) {
    nz.dataset.v = String(p.noise);
    nz.replaceChildren(p.noise ? noiseBadge() : 'no');
  }
  const ex = tr.querySelector('.example');
  const exSig = JSON.stringify(p.example);
  if (ex.dataset.v !== exSig) {
    ex.dataset.v = exSig;
    const e = p.example || {};
    ex.replaceChildren(valueView(e.legacy), ' → ', valueView(e.service),
      e.result_id ? el('button', {
        type: 'button', class: 'link', 'aria-label': `Show result ${e.result_id}, the example of ${p.path}`,
        onclick: () => showResult(e.result_id, renderDiffs),
      }, `#${e.result_id}`) : '');
  }
}

function renderTopPaths(rep) {
  const top = (rep && rep.top_paths) || [];
  syncChildren($('top-body'), top, (p) => p.kind + ' ' + p.path,
    (p) => el('tr', { 'data-path': p.path },
      el('th', { scope: 'row' }, el('code', { class: 'path' })),
      el('td', { class: 'kind' }), el('td', { class: 'num count' }), el('td', { class: 'noise' }), el('td', { class: 'example' })),
    updateTopPath);
  $('top-empty').hidden = top.length > 0 || !rep;
  const noise = (rep && rep.noise) || [];
  setText($('noise-list'), noise.length
    ? 'Learned noise (differs between two calls of the monolith itself): ' + noise.map((x) => `${x.path} (${x.count}×)`).join(', ')
    : '');
}

function updateRecent(tr, d) {
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
}

function renderRecent(name) {
  const diffs = state.diffsFor === name ? state.diffs : [];
  syncChildren($('recent-body'), diffs, (d) => d.id,
    (d) => el('tr', { 'data-id': d.id },
      el('th', { scope: 'row', class: 'num' }, String(d.id)),
      el('td', { class: 'time' }), el('td', { class: 'req' }), el('td', { class: 'verdict' }),
      el('td', { class: 'num ndiff' }), el('td', { class: 'status' }),
      el('td', { class: 'act' }, el('button', {
        type: 'button', class: 'show-result', 'aria-label': `Show result ${d.id}`,
        onclick: () => showResult(d.id, renderDiffs),
      }, 'Show'))),
    updateRecent);
  $('recent-empty').hidden = diffs.length > 0 || state.reportsOff;
}

/** renderDiffs fills the diffs view of the selected route. */
export function renderDiffs() {
  const name = state.selected;
  setText($('diffs-route'), name ? `for ${name}` : '');
  $('diffs-off').hidden = !state.reportsOff;
  const rep = state.reportByRoute.get(name);
  renderSummary(rep);
  renderTopPaths(rep);
  renderRecent(name);
}
