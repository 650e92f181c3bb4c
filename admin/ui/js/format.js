// Number, duration, date and stage formatting: pure functions, no DOM.
import { parseGoDuration } from './duration.js';

/** fmtNum writes v with at most two decimals; '—' when not finite. */
export function fmtNum(v) {
  if (!Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)));
}

/** fmtPct writes a fraction as a percentage. */
export function fmtPct(fraction, digits = 1) {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return (fraction * 100).toFixed(digits) + '%';
}

/** fmtRate writes a rate (per second) with a precision fit for its size. */
export function fmtRate(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  if (v < 0.1) return v.toFixed(2);
  if (v < 10) return v.toFixed(1);
  return String(Math.round(v));
}

/** fmtMs writes a latency given in ms, in ms or s. */
export function fmtMs(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
  if (v >= 100) return Math.round(v) + ' ms';
  if (v >= 1) return v.toFixed(1) + ' ms';
  if (v === 0) return '0 ms';
  return v.toFixed(2) + ' ms';
}

/** fmtDuration writes ms for people: "1 h 5 min", "4 min 20 s", "12 s". */
export function fmtDuration(ms) {
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

/** goDuration rewrites a Go duration string for people. */
export function goDuration(s) {
  const ms = parseGoDuration(s);
  return Number.isFinite(ms) ? fmtDuration(ms) : String(s || '—');
}

/** fmtTime writes the time of day of t (a Date or anything Date takes). */
export function fmtTime(t) {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleTimeString(undefined, { hour12: false });
}

/** fmtDateTime writes t's time of day, with its date unless it is today. */
export function fmtDateTime(t, today = new Date()) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return '—';
  if (d.toDateString() === today.toDateString()) return fmtTime(d);
  return d.toLocaleDateString() + ' ' + fmtTime(d);
}

/** stageText writes a rollout position: "shadow", "canary 5%". */
export function stageText(pos) {
  if (!pos || !pos.stage) return '—';
  return pos.stage === 'canary' ? `canary ${fmtNum(pos.percent)}%` : pos.stage;
}

/** matchText writes a route's match rule. */
export function matchText(m) {
  if (!m) return '—';
  const parts = [];
  if (m.methods && m.methods.length) parts.push(m.methods.join(','));
  if (m.host) parts.push('host ' + m.host);
  if (m.path) parts.push(m.path);
  if (m.prefix) parts.push(m.prefix + '…');
  return parts.join(' ') || 'everything';
}

/** errRate is a side's error rate as text, with its counts as a title. */
export function errRate(f) {
  if (!f || !f.requests) return { text: '—', title: 'no requests' };
  return { text: fmtPct(f.errors / f.requests), title: `${f.errors} of ${f.requests} requests failed (status ≥ 500)` };
}

/**
 * perReplica lists each live replica's figures of one side, for a
 * tooltip, when the route's figures are a cluster sum (etcd backend).
 */
export function perReplica(r, side) {
  const per = r.replica_figures;
  if (!per) return '';
  const lines = Object.keys(per).sort().map((name) => {
    const fs = per[name][side] || {};
    return `${name}: ${fs.requests || 0} requests, ${fs.errors || 0} errors, p99 ${fmtMs(fs.p99_ms || 0)}`;
  });
  return `\ncluster sum over ${lines.length} replicas:\n` + lines.join('\n');
}

/** FIGURE_ORDER ranks the figures behind an automatic decision. */
export const FIGURE_ORDER = ['window_seconds', 'compared', 'match_rate', 'service_requests', 'service_error_rate',
  'service_p99_ms', 'legacy_requests', 'legacy_p99_ms', 'fallbacks'];

/** fmtFigure writes one figure, by the unit its key ends in. */
export function fmtFigure(k, v) {
  if (k.endsWith('_rate')) return fmtPct(v, 2);
  if (k.endsWith('_ms')) return fmtMs(v);
  if (k.endsWith('_seconds')) return fmtDuration(v * 1000);
  return fmtNum(v);
}

/** figureRows orders the figures and names each for people: [[label, text]]. */
export function figureRows(figures) {
  const keys = Object.keys(figures || {});
  const rank = (k) => (FIGURE_ORDER.includes(k) ? FIGURE_ORDER.indexOf(k) : FIGURE_ORDER.length);
  keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return keys.map((k) => [k.replace(/_(seconds|ms)$/, '').replace(/_/g, ' '), fmtFigure(k, figures[k])]);
}

/** VERDICT_TEXT is how a comparison's verdict reads. */
export const VERDICT_TEXT = { equal: '= equal', different: '≠ different', 'noise-only': '≈ noise only', error: '! error' };

/** plural is n with its noun, "1 route", "2 routes". */
export function plural(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
