import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, bodyMarks, bodyNodes, jsonNodes, parseJSON, ptrEsc, valueNode } from '../js/jsonview.js';
import { textContent, toMarkup } from '../js/vnode.js';

const text = (nodes) => nodes.map(textContent).join('');
const markup = (nodes) => nodes.map(toMarkup).join('');

test('parseJSON keeps key order and numbers as written', () => {
  const root = parseJSON('{"b": 1.50, "a": [true, null, "x\\"y"], "big": 12345678901234567890, "e": 1e-7}');
  assert.equal(root.t, 'o');
  assert.deepEqual(root.e.map(([k]) => k), ['b', 'a', 'big', 'e']);
  assert.deepEqual(root.e[0][1], { t: 'n', v: '1.50' });
  assert.deepEqual(root.e[2][1], { t: 'n', v: '12345678901234567890' });
  assert.deepEqual(root.e[3][1], { t: 'n', v: '1e-7' });
  assert.deepEqual(root.e[1][1], { t: 'a', e: [[0, { t: 'l', v: 'true' }], [1, { t: 'l', v: 'null' }], [2, { t: 's', v: 'x"y' }]] });
  assert.deepEqual(parseJSON(' "\\u00e9" '), { t: 's', v: 'é' });
  assert.deepEqual(parseJSON('[]'), { t: 'a', e: [] });
  assert.deepEqual(parseJSON('{ }'), { t: 'o', e: [] });
});

test('parseJSON throws on anything but one JSON value', () => {
  for (const bad of ['', '{', '{"a" 1}', '{"a":1,}', '[1,]', '[1 2]', '01', '1.', 'tru', '"open', '{a:1}', '1 2', "'x'", '[' .repeat(500) + ']'.repeat(500)]) {
    assert.throws(() => parseJSON(bad), SyntaxError, JSON.stringify(bad.slice(0, 20)));
  }
});

test('jsonNodes pretty-prints with two-space indents', () => {
  const nodes = jsonNodes(parseJSON('{"id":"7","items":[1,{"x":false}],"empty":{},"none":[]}'), new Map());
  assert.equal(text(nodes), '{\n  "id": "7",\n  "items": [\n    1,\n    {\n      "x": false\n    }\n  ],\n  "empty": {},\n  "none": []\n}');
  assert.equal(markup(jsonNodes(parseJSON('{"a":1}'))),
    '{\n  <span class="j-key">&quot;a&quot;</span>: <span class="j-num">1</span>\n}');
});

test('jsonNodes marks differing members, key and value, with their JSON Pointer', () => {
  const marks = new Map([
    ['/customer_name', { kind: 'missing' }],
    ['/items/1', { kind: 'changed', noise: true }],
    ['/a~1b', { kind: 'extra' }],
  ]);
  const nodes = jsonNodes(parseJSON('{"customer_name":"Ada","items":[1,2],"a/b":null}'), marks);
  assert.equal(text(nodes), '{\n  "customer_name": "Ada" (differs: missing),\n  "items": [\n    1,\n    2 (differs: changed)\n  ],\n  "a/b": null (differs: extra)\n}');
  const m = markup(nodes);
  assert.ok(m.includes('<mark class="diff kind-missing" data-path="/customer_name" title="/customer_name: missing">' +
    '<span class="j-key">&quot;customer_name&quot;</span>: <span class="j-str">&quot;Ada&quot;</span>' +
    '<span class="sr-only"> (differs: missing)</span></mark>'), m);
  assert.ok(m.includes('<mark class="diff kind-changed noise" data-path="/items/1" title="/items/1: changed (learned noise)">'), m);
  assert.ok(m.includes('data-path="/a~1b"'), m);
  const whole = markup(jsonNodes(parseJSON('3'), new Map([['', { kind: 'changed' }]])));
  assert.equal(whole, '<mark class="diff kind-changed" data-path="" title="(whole body): changed"><span class="j-num">3</span><span class="sr-only"> (differs: changed)</span></mark>');
});

test('jsonNodes shows a redacted string as a badge, never its text', () => {
  const m = markup(jsonNodes(parseJSON(`{"card":${JSON.stringify(REDACTED)}}`)));
  assert.ok(m.includes('<span class="badge redacted" title="value redacted: never stored or shown">redacted</span>'), m);
  assert.ok(!m.includes('[redacted]'), m);
});

test('jsonNodes escapes markup in data', () => {
  const m = markup(jsonNodes(parseJSON('{"<b>":"<script>x</script>"}')));
  assert.ok(!m.includes('<script>') && !m.includes('<b>'), m);
});

test('bodyNodes: JSON, text, truncated, redacted, empty, error', () => {
  const cases = [
    [{ body: '{"a":1}' }, '{\n  "a": 1\n}'],
    [{ body: 'plain <p>text</p>' }, 'plain <p>text</p>'],
    [{ body: '{"a":1', truncated: true }, '{"a":1'],
    [{ body: '{"a":1}', truncated: true }, '{"a":1}'],
    [{ body: '' }, '(empty body)'],
    [{ error: 'connection refused' }, 'no answer: connection refused'],
    [{ body: REDACTED }, 'redacted'],
  ];
  for (const [side, want] of cases) assert.equal(text(bodyNodes(side, new Map())), want, JSON.stringify(side));
  assert.equal(markup(bodyNodes({ body: '' })), '<em class="absent">(empty body)</em>');
});

test('bodyMarks: JSON Pointers only, extra on the service side, missing on the monolith side', () => {
  const { legacy, service } = bodyMarks([
    { path: '/a', kind: 'missing' }, { path: '/b', kind: 'extra' }, { path: '/c', kind: 'changed' },
    { path: 'header:ETag', kind: 'changed' }, { path: '', kind: 'type' },
  ]);
  assert.deepEqual([...legacy.keys()], ['/a', '/c', '']);
  assert.deepEqual([...service.keys()], ['/b', '/c', '']);
});

test('valueNode: absent, redacted or code', () => {
  for (const [v, want] of [
    ['', '<em class="absent">absent</em>'], [undefined, '<em class="absent">absent</em>'], [null, '<em class="absent">absent</em>'],
    [JSON.stringify(REDACTED), '<span class="badge redacted" title="value redacted: never stored or shown">redacted</span>'],
    [REDACTED, '<span class="badge redacted" title="value redacted: never stored or shown">redacted</span>'],
    ['"Ada"', '<code class="val">&quot;Ada&quot;</code>'], ['0', '<code class="val">0</code>'],
  ]) assert.equal(toMarkup(valueNode(v)), want, JSON.stringify(v));
});

test('ptrEsc escapes ~ and / (RFC 6901)', () => {
  assert.equal(ptrEsc('a/b~c'), 'a~1b~0c');
  assert.equal(ptrEsc(3), '3');
});
