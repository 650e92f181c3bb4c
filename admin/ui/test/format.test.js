import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  errRate, figureRows, fmtDateTime, fmtDuration, fmtMs, fmtNum, fmtPct, fmtRate, fmtTime, goDuration, matchText,
  perReplica, plural, stageText,
} from '../js/format.js';

const NBSP = '\u00a0';

// table runs fn over [input, want] cases, naming the failing input.
function table(name, fn, cases) {
  for (const [in_, want] of cases) assert.equal(fn(...[].concat(in_)), want, `${name}(${JSON.stringify(in_)})`);
}

test('fmtNum', () => table('fmtNum', fmtNum, [
  [0, '0'], [42, '42'], [1.5, '1.5'], [1.234, '1.23'], [1.005, '1'], [2.999, '3'], [-3.14159, '-3.14'],
  [NaN, '—'], [Infinity, '—'], [[undefined], '—'],
]));

test('fmtPct', () => table('fmtPct', fmtPct, [
  [0, '0.0%'], [1, '100.0%'], [0.1234, '12.3%'], [[0.1234, 2], '12.34%'], [[0.5, 0], '50%'],
  [[null], '—'], [[undefined], '—'], [NaN, '—'],
]));

test('fmtRate', () => table('fmtRate', fmtRate, [
  [0, '0'], [0.05, '0.05'], [0.1, '0.1'], [2.345, '2.3'], [9.99, '10.0'], [10, '10'], [123.6, '124'],
  [[null], '—'], [NaN, '—'],
]));

test('fmtMs', () => table('fmtMs', fmtMs, [
  [0, '0 ms'], [0.123, '0.12 ms'], [1, '1.0 ms'], [22.04, '22.0 ms'], [99.96, '100.0 ms'], [100, '100 ms'],
  [999.4, '999 ms'], [1000, '1.00 s'], [2345, '2.35 s'], [[null], '—'], [[undefined], '—'], [NaN, '—'],
]));

test('fmtDuration', () => table('fmtDuration', fmtDuration, [
  [0, `0${NBSP}s`], [-5, `0${NBSP}s`], [250, `250${NBSP}ms`], [999.4, `999${NBSP}ms`], [1000, `1${NBSP}s`],
  [12000, `12${NBSP}s`], [260000, `4${NBSP}min 20${NBSP}s`], [60000, `1${NBSP}min`],
  [3900000, `1${NBSP}h 5${NBSP}min`], [3600000 + 30000, `1${NBSP}h`], [7200000, `2${NBSP}h`], [NaN, '—'],
]));

test('goDuration', () => table('goDuration', goDuration, [
  ['1m30s', `1${NBSP}min 30${NBSP}s`], ['100ms', `100${NBSP}ms`], ['1h0m0s', `1${NBSP}h`], ['0', `0${NBSP}s`],
  ['soon', 'soon'], ['', '—'], [[undefined], '—'],
]));

test('fmtTime and fmtDateTime', () => {
  const t = new Date(2026, 11, 2, 13, 5, 9);
  assert.match(fmtTime(t), /13.05.09/);
  assert.equal(fmtTime(t.toISOString()), fmtTime(t));
  assert.equal(fmtTime('not a time'), '—');
  assert.equal(fmtDateTime(t, new Date(2026, 11, 2, 23, 0, 0)), fmtTime(t), 'today: the time alone');
  const other = fmtDateTime(t, new Date(2026, 11, 3, 1, 0, 0));
  assert.ok(other.endsWith(' ' + fmtTime(t)) && other.length > fmtTime(t).length, `another day: ${other}`);
  assert.equal(fmtDateTime('nope'), '—');
});

test('stageText', () => table('stageText', stageText, [
  [{ stage: 'shadow' }, 'shadow'], [{ stage: 'canary', percent: 5 }, 'canary 5%'],
  [{ stage: 'canary', percent: 12.345 }, 'canary 12.35%'], [{ stage: 'migrated', percent: 100 }, 'migrated'],
  [{}, '—'], [[null], '—'],
]));

test('matchText', () => table('matchText', matchText, [
  [{ prefix: '/api/orders' }, '/api/orders…'],
  [{ methods: ['GET', 'HEAD'], host: 'shop.example', path: '/x' }, 'GET,HEAD host shop.example /x'],
  [{ methods: [] }, 'everything'], [[null], '—'],
]));

test('errRate', () => {
  assert.deepEqual(errRate({ requests: 40, errors: 2 }), { text: '5.0%', title: '2 of 40 requests failed (status ≥ 500)' });
  assert.deepEqual(errRate({ requests: 0, errors: 0 }), { text: '—', title: 'no requests' });
  assert.deepEqual(errRate(undefined), { text: '—', title: 'no requests' });
});

test('perReplica lists replicas in name order', () => {
  assert.equal(perReplica({}, 'legacy'), '');
  const r = { replica_figures: { b: { legacy: { requests: 3, errors: 1, p99_ms: 2 } }, a: { service: { requests: 1 } } } };
  assert.equal(perReplica(r, 'legacy'), '\ncluster sum over 2 replicas:\na: 0 requests, 0 errors, p99 0 ms\nb: 3 requests, 1 errors, p99 2.0 ms');
});

test('figureRows orders known figures first, then by name, with units', () => {
  const rows = figureRows({ zeta: 3, fallbacks: 1, match_rate: 0.995, window_seconds: 60, service_p99_ms: 12.5, alpha: 2 });
  assert.deepEqual(rows, [
    ['window', `1${NBSP}min`], ['match rate', '99.50%'], ['service p99', '12.5 ms'], ['fallbacks', '1'], ['alpha', '2'], ['zeta', '3'],
  ]);
  assert.deepEqual(figureRows(undefined), []);
});

test('plural', () => table('plural', plural, [[[1, 'route'], '1 route'], [[0, 'route'], '0 routes'], [[2, 'route'], '2 routes']]));
