import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../js/duration.js';

test('parseGoDuration reads Go durations in ms', () => {
  const cases = [
    ['0', 0],
    ['1s', 1000],
    ['250ms', 250],
    ['1h2m3.5s', 3723500],
    ['1m30s', 90000],
    ['1.5h', 5400000],
    ['2us', 0.002],
    ['2µs', 0.002],
    ['500ns', 0.0005],
    ['-1m', -60000],
    ['1h0m0s', 3600000],
  ];
  for (const [in_, want] of cases) assert.ok(Math.abs(parseGoDuration(in_) - want) < 1e-9, `${in_}: got ${parseGoDuration(in_)}, want ${want}`);
});

test('parseGoDuration answers NaN for what is not a duration', () => {
  for (const bad of ['', '1', 's', '1x', '1 s', 'abc', '1s ', ' 1s', '--1s', null, undefined, 5, {}]) {
    assert.ok(Number.isNaN(parseGoDuration(bad)), `${JSON.stringify(bad)}: got ${parseGoDuration(bad)}, want NaN`);
  }
});
