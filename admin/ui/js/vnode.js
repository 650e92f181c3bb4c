// A DOM-free node tree: what the pure renderers (the JSON viewer) build,
// so that node --test can check them; dom.js's mount turns one into DOM.

/** h is a node: {tag, attrs, kids}; kids are nodes or strings. */
export function h(tag, attrs, ...kids) {
  return { tag, attrs: attrs || null, kids: kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false && k !== '') };
}

/** textContent is the text of a node tree, as the DOM would give it. */
export function textContent(v) {
  if (v === null || v === undefined || v === false) return '';
  if (typeof v !== 'object') return String(v);
  return (v.kids || []).map(textContent).join('');
}

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ESC[c]);

/** toMarkup writes a node tree as escaped markup, for tests and debugging. */
export function toMarkup(v) {
  if (v === null || v === undefined || v === false) return '';
  if (typeof v !== 'object') return esc(v);
  const attrs = Object.entries(v.attrs || {})
    .filter(([, x]) => x !== null && x !== undefined && x !== false)
    .map(([k, x]) => ` ${k}="${esc(x === true ? '' : x)}"`).join('');
  return `<${v.tag}${attrs}>${(v.kids || []).map(toMarkup).join('')}</${v.tag}>`;
}
