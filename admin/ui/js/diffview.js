// The diff viewer: one stored comparison, its differences listed and
// highlighted in both bodies (the JSON viewer) and in the headers.
import { $, el, mount, scrollToNode, setText } from './dom.js';
import { api } from './api.js';
import { noiseBadge, redactedBadge, valueView, verdictBadge } from './badges.js';
import { fmtDateTime, fmtMs } from './format.js';
import { REDACTED, bodyMarks, bodyNodes } from './jsonview.js';
import { setResultId, state } from './state.js';
import { notice } from './status.js';

const SIDE_LABEL = { legacy: 'monolith', service: 'service' };

function renderBody(pre, side, marks) {
  pre.replaceChildren(...bodyNodes(side, marks).map(mount));
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

/** sideMeta sums up one side's answer: status, time, role, truncation, error. */
export function sideMeta(rec, side) {
  const s = rec[side];
  const parts = [`status ${s.status || '—'}`, fmtMs(s.duration_ns / 1e6)];
  if (rec.primary === side) parts.push('answered the user');
  else parts.push('compared only');
  if (s.truncated) parts.push('body truncated at the capture cap');
  if (s.error) parts.push('error: ' + s.error);
  return parts.join(' · ');
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

function diffRows(diffs) {
  if (!diffs.length) return [el('tr', null, el('td', { colspan: 5 }, 'No differences: the answers matched.'))];
  return diffs.flatMap((d) => [el('tr', { 'data-path': d.path },
    el('th', { scope: 'row' }, el('button', {
      type: 'button', class: 'link path', title: 'Show in both bodies',
      onclick: () => flash(d.path),
    }, el('code', null, d.path || '(whole body)'))),
    el('td', null, d.kind),
    el('td', null, valueView(d.legacy)),
    el('td', null, valueView(d.service)),
    el('td', null, d.noise ? noiseBadge() : '')),
  ...excerptRows(d)]);
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
  const marks = bodyMarks(diffs);
  $('result-diffs-body').replaceChildren(...diffRows(diffs));
  renderBody($('legacy-body'), rec.legacy, marks.legacy);
  renderBody($('service-body'), rec.service, marks.service);
  setText($('legacy-body-meta'), sideMeta(rec, 'legacy'));
  setText($('service-body-meta'), sideMeta(rec, 'service'));
  renderHeaders($('legacy-headers'), rec.legacy.header, diffs);
  renderHeaders($('service-headers'), rec.service.header, diffs);
}

/**
 * showResult loads comparison id (GET /admin/diffs/{id}) and shows it;
 * rerender redraws the list that marks the result shown.
 */
export async function showResult(id, rerender) {
  setResultId(id);
  rerender();
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
  rerender();
  const sec = $('result');
  sec.hidden = false;
  $('result-h').focus({ preventScroll: true });
  scrollToNode(sec, 'start');
}

