// The audit log: every change of a route, by whom and why, with the
// figures behind an automatic decision (GET /admin/events).
import { $, el, setText, syncChildren } from '../dom.js';
import { figureRows, fmtDateTime, stageText } from '../format.js';
import { state } from '../state.js';

// figuresView shows the figures behind an automatic decision, folded.
function figuresView(figures) {
  const rows = figureRows(figures);
  if (!rows.length) return '';
  return el('details', { class: 'figs' }, el('summary', null, `Figures (${rows.length})`),
    el('dl', null, ...rows.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)])));
}

function buildEvent() {
  return el('tr', null, el('td', { class: 'time' }), el('th', { scope: 'row', class: 'route' }), el('td', { class: 'action' }),
    el('td', { class: 'move' }), el('td', { class: 'source' }),
    el('td', { class: 'reason' }, el('span', { class: 'reason-text' }), el('span', { class: 'figures' })));
}

function updateEvent(tr, e) {
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
}

/** renderAudit fills the audit log. */
export function renderAudit() {
  syncChildren($('audit-body'), state.events, (e) => e.id, buildEvent, updateEvent);
  $('audit-empty').hidden = state.events.length > 0;
}
