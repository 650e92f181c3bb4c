// DOM helpers: every element is built with createElement and every text
// goes in as a text node; no data ever goes through markup.

/** $ is the element with this id. */
export const $ = (id) => document.getElementById(id);

let svgNS = '';

// The HTML parser puts <svg> in the SVG namespace: take its URI from the
// page rather than spelling it here.
function svgNamespace() {
  if (!svgNS) svgNS = $('svg-ns').namespaceURI;
  return svgNS;
}

const motion = typeof window === 'undefined' ? { matches: true } : window.matchMedia('(prefers-reduced-motion: reduce)');

/** scrollToNode scrolls node into view, smoothly unless motion is reduced. */
export function scrollToNode(node, block) {
  node.scrollIntoView({ block, behavior: motion.matches ? 'auto' : 'smooth' });
}

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

/** el builds an HTML element: attributes (onX: listeners) and children. */
export function el(tag, attrs, ...kids) {
  return add(setAttrs(document.createElement(tag), attrs), kids);
}

/** sv builds an SVG element. */
export function sv(tag, attrs, ...kids) {
  return add(setAttrs(document.createElementNS(svgNamespace(), tag), attrs), kids);
}

/** mount turns a DOM-free node tree ({tag, attrs, kids} or text) into DOM. */
export function mount(v) {
  if (v === null || v === undefined || v === false) return '';
  if (typeof v !== 'object') return String(v);
  return el(v.tag, v.attrs, ...(v.kids || []).map(mount));
}

/** setText sets node's text, touching the DOM only on a change. */
export function setText(node, text) {
  text = String(text);
  if (node.textContent !== text) node.textContent = text;
}

/**
 * syncChildren updates parent's children to one per item, keyed, reusing
 * (and so keeping the focus of) the elements already there.
 */
export function syncChildren(parent, items, keyOf, build, update) {
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

/** textOf flattens a fact's value for change detection. */
export function textOf(v) {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(textOf).join('');
  if (v instanceof Node) return (v.className ? `[${v.className}]` : '') + v.textContent;
  return String(v);
}
