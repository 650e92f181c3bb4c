// The JSON viewer: a parser that keeps key order and numbers as written,
// and a pretty-printer that marks the members that differ. It builds a
// DOM-free node tree (vnode.js), so that its output can be tested without
// a browser; the diff viewer mounts it.
import { h } from './vnode.js';

/** REDACTED is what the proxy stores in place of a redacted value. */
export const REDACTED = '[redacted]';

/** redactedNode is the badge that stands for a redacted value. */
export function redactedNode() {
  return h('span', { class: 'badge redacted', title: 'value redacted: never stored or shown' }, 'redacted');
}

/**
 * valueNode shows a JSON-encoded difference value: absent, redacted or
 * the value as code.
 */
export function valueNode(encoded) {
  if (encoded === '' || encoded === undefined || encoded === null) return h('em', { class: 'absent' }, 'absent');
  if (encoded === JSON.stringify(REDACTED) || encoded === REDACTED) return redactedNode();
  return h('code', { class: 'val' }, encoded);
}

/**
 * parseJSON parses text keeping key order and numbers as written: a tree
 * of {t: 'o'|'a', e: [[key, node]]} and {t: 's'|'n'|'l', v}. It throws a
 * SyntaxError on anything that is not one JSON value.
 */
export function parseJSON(s) {
  let i = 0;
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const fail = () => { throw new SyntaxError('not JSON at ' + i); };
  const ws = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++; };
  const str = () => {
    let j = i + 1;
    while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) fail();
    const raw = s.slice(i, j + 1);
    i = j + 1;
    return JSON.parse(raw);
  };
  const container = (depth) => {
    const obj = s[i] === '{';
    const close = obj ? '}' : ']';
    const e = [];
    i++;
    ws();
    if (s[i] === close) {
      i++;
      return { t: obj ? 'o' : 'a', e };
    }
    for (;;) {
      ws();
      if (obj) {
        if (s[i] !== '"') fail();
        const k = str();
        ws();
        if (s[i] !== ':') fail();
        i++;
        e.push([k, val(depth + 1)]);
      } else {
        e.push([e.length, val(depth + 1)]);
      }
      ws();
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === close) {
        i++;
        return { t: obj ? 'o' : 'a', e };
      }
      fail();
    }
  };
  const val = (depth) => {
    if (depth > 400) fail();
    ws();
    const c = s[i];
    if (c === '{' || c === '[') return container(depth);
    if (c === '"') return { t: 's', v: str() };
    for (const lit of ['true', 'false', 'null']) {
      if (s.startsWith(lit, i)) {
        i += lit.length;
        return { t: 'l', v: lit };
      }
    }
    NUM.lastIndex = i;
    const m = NUM.exec(s);
    if (!m) fail();
    i += m[0].length;
    return { t: 'n', v: m[0] };
  };
  const root = val(0);
  ws();
  if (i !== s.length) fail();
  return root;
}

/** ptrEsc escapes a key for a JSON Pointer (RFC 6901). */
export const ptrEsc = (k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1');

// emit appends node, pretty-printed, to kids; a member whose JSON
// Pointer is in marks is wrapped, key and value, in a <mark>.
function emit(kids, node, path, depth, marks, key) {
  const d = marks.get(path);
  let out = kids;
  if (d) {
    const m = h('mark', {
      class: 'diff kind-' + d.kind + (d.noise ? ' noise' : ''), 'data-path': path,
      title: `${path || '(whole body)'}: ${d.kind}${d.noise ? ' (learned noise)' : ''}`,
    });
    kids.push(m);
    out = m.kids;
  }
  if (key !== null && typeof key === 'string') out.push(h('span', { class: 'j-key' }, JSON.stringify(key)), ': ');
  const pad = '  '.repeat(depth);
  if (node.t === 'o' || node.t === 'a') {
    const [open, close] = node.t === 'o' ? ['{', '}'] : ['[', ']'];
    if (!node.e.length) {
      out.push(open + close);
      return;
    }
    out.push(open + '\n');
    node.e.forEach(([k, v], idx) => {
      out.push(pad + '  ');
      emit(out, v, path + '/' + ptrEsc(k), depth + 1, marks, node.t === 'o' ? k : null);
      out.push(idx < node.e.length - 1 ? ',\n' : '\n');
    });
    out.push(pad + close);
    return;
  }
  if (node.t === 's') {
    out.push(node.v === REDACTED ? redactedNode() : h('span', { class: 'j-str' }, JSON.stringify(node.v)));
  } else {
    out.push(h('span', { class: node.t === 'n' ? 'j-num' : 'j-lit' }, node.v));
  }
  if (d) out.push(h('span', { class: 'sr-only' }, ` (differs: ${d.kind})`));
}

/** jsonNodes pretty-prints a parsed value, marking the paths in marks (JSON Pointer -> difference). */
export function jsonNodes(root, marks) {
  const kids = [];
  emit(kids, root, '', 0, marks || new Map(), null);
  return kids;
}

/**
 * bodyNodes shows one side's captured body: pretty-printed and marked
 * when it is whole JSON, as text otherwise, or why there is none.
 */
export function bodyNodes(side, marks) {
  const body = side.body || '';
  if (!body) return [h('em', { class: 'absent' }, side.error ? `no answer: ${side.error}` : '(empty body)')];
  let root = null;
  if (!side.truncated) {
    try {
      root = parseJSON(body);
    } catch (_) {
      root = null;
    }
  }
  if (!root) return [body === REDACTED ? redactedNode() : body];
  return jsonNodes(root, marks);
}

/**
 * bodyMarks splits a result's differences into the marks of each body:
 * only JSON Pointers; an extra member has no place in the monolith's
 * body, a missing one none in the service's.
 */
export function bodyMarks(diffs) {
  const legacy = new Map();
  const service = new Map();
  for (const d of diffs) {
    if (d.path !== '' && !d.path.startsWith('/')) continue;
    if (d.kind !== 'extra') legacy.set(d.path, d);
    if (d.kind !== 'missing') service.set(d.path, d);
  }
  return { legacy, service };
}
