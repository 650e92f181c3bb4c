// Badges: a word in a coloured box, with its meaning as a tooltip.
import { el, mount } from './dom.js';
import { VERDICT_TEXT } from './format.js';
import { redactedNode, valueNode } from './jsonview.js';

/** badge is a span of class "badge cls" reading text. */
export function badge(text, cls, title) {
  return el('span', { class: 'badge ' + (cls || ''), title: title || null }, text);
}

/** BREAKER_TEXT says what each circuit breaker state means. */
export const BREAKER_TEXT = {
  closed: 'closed: requests flow to the service',
  'half-open': 'half-open: a few probe requests test the service',
  open: 'open: the service gets no traffic for now; the monolith answers what can fall back, the rest gets a fast 503',
};

/**
 * breakerBadge shows a circuit breaker's state in words (an icon is
 * added by the stylesheet; "open" stands out).
 */
export function breakerBadge(r) {
  const st = r.breaker;
  return badge(st, 'breaker b-' + st, `circuit breaker of ${r.service}: ${BREAKER_TEXT[st] || st}`);
}

/** redactedBadge stands for a value never stored. */
export function redactedBadge() {
  return mount(redactedNode());
}

/** valueView shows a JSON-encoded difference value: absent, redacted or code. */
export function valueView(encoded) {
  return mount(valueNode(encoded));
}

/** verdictBadge shows a comparison's verdict. */
export function verdictBadge(v) {
  return badge(VERDICT_TEXT[v] || v, 'verdict v-' + v);
}

/** noiseBadge marks a difference learned as noise. */
export function noiseBadge() {
  return badge('noise', 'noise', 'learned noise: does not count as a mismatch');
}
