import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  barWidth, defaultTicks, describe, frame, hasData, latestPoints, markerIndices, niceMax, segments, seriesMax,
  spreadLabels, tableRows, tickAnchor,
} from '../js/chartscale.js';

test('niceMax rounds up to a readable scale top', () => {
  const cases = [[0, 1], [-3, 1], [NaN, 1], [0.07, 0.08], [1, 1], [1.2, 2], [2.5, 3], [3.5, 4], [4.1, 5], [5.5, 6],
    [7, 8], [8.5, 10], [10, 10], [11, 20], [99, 100], [101, 200], [0.5, 0.5], [1234, 2000]];
  for (const [v, want] of cases) assert.ok(Math.abs(niceMax(v) - want) < 1e-12, `niceMax(${v}) = ${niceMax(v)}; want ${want}`);
});

test('seriesMax skips gaps', () => {
  assert.equal(seriesMax([{ values: [1, null, 7] }, { values: [null, 3] }]), 7);
  assert.equal(seriesMax([{ values: [null] }]), 0);
});

test('frame maps indices and values into the plot area', () => {
  const f = frame(500, 11, [{ values: [0, 37] }]);
  assert.equal(f.W, 500);
  assert.equal(f.H, 200);
  assert.equal(f.yMax, 40, 'a nice top above the data');
  assert.equal(f.X(0), f.padL);
  assert.equal(f.X(10), f.padL + f.pw);
  assert.equal(f.X(5), f.padL + f.pw / 2);
  assert.equal(f.Y(0), f.padT + f.ph, 'zero on the axis');
  assert.equal(f.Y(40), f.padT, 'the top at the top');
  assert.equal(f.Y(400), f.padT, 'values above the top are clipped');
  assert.equal(f.Y(20), f.padT + f.ph / 2);
});

test('frame bounds the width and honours a fixed top', () => {
  for (const [w, want] of [[0, 420], [undefined, 420], [100, 260], [5000, 900], [640.4, 640]]) assert.equal(frame(w, 2, []).W, want, `width ${w}`);
  const f = frame(420, 1, [{ values: [5] }], 100);
  assert.equal(f.yMax, 100);
  assert.equal(f.X(0), f.padL + f.pw, 'a single point sits at the right');
});

test('latestPoints and hasData', () => {
  const a = { key: 'legacy', values: [1, 2, null] };
  const b = { key: 'service', values: [null, null, null] };
  const z = { key: 'match', values: [0, 0] };
  assert.deepEqual(latestPoints([a, b], 3), [{ s: a, i: 1, v: 2 }, { s: b, i: -1, v: null }]);
  assert.equal(hasData(latestPoints([a, b], 3), false), true);
  assert.equal(hasData(latestPoints([b], 3), true), false);
  assert.equal(hasData(latestPoints([z], 2), false), false, 'zero is no data by default');
  assert.equal(hasData(latestPoints([z], 2), true), true, 'zero counts with zeroIsData');
});

test('describe says the latest values, or that there are none', () => {
  const spec = { what: 'Requests per second served by each side', minutes: 15, fmt: (v) => v.toFixed(1) };
  const series = [{ key: 'legacy', values: [1, 2] }, { key: 'service', values: [null, null] }];
  assert.equal(describe(spec, latestPoints(series, 2), 'per 15 s over the last 15 minutes'),
    'Requests per second served by each side per 15 s over the last 15 minutes. Latest: monolith 2.0, service no data.');
  assert.equal(describe(spec, latestPoints([series[1]], 2), 'unused'),
    'Requests per second served by each side: no data in the last 15 minutes.');
  assert.equal(describe({ ...spec, span: 'from a to b' }, latestPoints([series[1]], 2), 'from a to b'),
    'Requests per second served by each side: no data yet.');
});

test('segments cut lines at gaps', () => {
  const X = (i) => i * 10;
  const Y = (v) => 100 - v;
  assert.deepEqual(segments([1, 2, null, 4, null, null, 7, 8.25], X, Y), ['0.0,99.0 10.0,98.0', '30.0,96.0', '60.0,93.0 70.0,91.8']);
  assert.deepEqual(segments([null, null], X, Y), []);
});

test('markerIndices: every step-th from the newest, and lone points', () => {
  assert.deepEqual(markerIndices([1, 2, 3]), [0, 1, 2]);
  const v = Array.from({ length: 60 }, (_, i) => i);
  assert.deepEqual(markerIndices(v), Array.from({ length: 20 }, (_, k) => 2 + 3 * k), 'step 3 ending on the newest');
  const gaps = v.map((x) => (x === 10 ? 10 : x < 30 ? null : x));
  assert.ok(markerIndices(gaps).includes(10), 'a lone point keeps its marker');
  assert.ok(!markerIndices(gaps).includes(31));
});

test('spreadLabels keeps end labels 13 units apart, from the bottom up', () => {
  const labels = spreadLabels([{ key: 'a', y: 100 }, { key: 'b', y: 180 }, { key: 'c', y: 175 }]);
  assert.deepEqual(labels.map((l) => [l.key, l.y]), [['b', 180], ['c', 167], ['a', 100]]);
  const same = spreadLabels([{ key: 'x', y: 50 }, { key: 'y', y: 50 }, { key: 'z', y: 50 }]);
  assert.deepEqual(same.map((l) => l.y), [50, 37, 24]);
});

test('ticks and their anchors', () => {
  assert.deepEqual(defaultTicks(60, 15), [[0, '−15 min'], [30, '−7.5 min'], [59, 'now']]);
  assert.deepEqual([0, 30, 59].map((i) => tickAnchor(i, 60)), ['start', 'middle', 'end']);
});

test('tableRows: newest first, rows with data only, at most 40', () => {
  const s = [{ values: [1, 0, null, 3] }, { values: [null, 0, null, 0] }];
  assert.deepEqual(tableRows(s, 4, false), [{ i: 3, vals: [3, 0] }, { i: 0, vals: [1, null] }]);
  assert.deepEqual(tableRows(s, 4, true), [{ i: 3, vals: [3, 0] }, { i: 1, vals: [0, 0] }, { i: 0, vals: [1, null] }]);
  const long = [{ values: Array.from({ length: 100 }, () => 1) }];
  const rows = tableRows(long, 100, false);
  assert.equal(rows.length, 40);
  assert.equal(rows[0].i, 99);
});

test('barWidth clamps a fraction to 0..100', () => {
  for (const [f, want] of [[0.5, '50.00'], [0.12345, '12.35'], [-1, '0.00'], [2, '100.00'], [null, '0.00'], [NaN, '0.00']]) {
    assert.equal(barWidth(f), want, `barWidth(${f})`);
  }
});
