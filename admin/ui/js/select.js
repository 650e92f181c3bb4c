// Route selection, shared by the overview, the route view and the diffs.
import { $, scrollToNode } from './dom.js';
import { refresh, renderAll } from './hooks.js';
import { setSelected } from './state.js';

/**
 * selectRoute selects a route; opts.quiet only notes it, opts.focus moves
 * the focus to the route view (opts.to 'diffs': to its diffs).
 */
export function selectRoute(name, opts = {}) {
  const changed = setSelected(name);
  if (changed) $('result').hidden = true;
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
