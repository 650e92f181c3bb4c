// The charts' pure math: scales, lines, markers, labels and the data
// table's rows. No DOM here: charts.js draws what this computes.

/** SERIES_STYLE names each series and gives it a marker shape. */
export const SERIES_STYLE = {
  legacy: { label: 'monolith', marker: 'square' },
  service: { label: 'service', marker: 'circle' },
  match: { label: 'match rate', marker: 'triangle' },
  requests: { label: 'requests', marker: 'circle' },
  endpoints: { label: 'endpoints', marker: 'square' },
  shadow: { label: 'shadow', marker: 'triangle' },
  canary: { label: 'canary', marker: 'square' },
  migrated: { label: 'migrated', marker: 'circle' },
};

/** niceMax rounds v up to 1, 2, 3, 4, 5, 6 or 8 times a power of ten; 1 when v ≤ 0. */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** seriesMax is the largest value of any series (0 when none). */
export function seriesMax(series) {
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  return max;
}

/**
 * frame lays out a chart of n points in a figure clientWidth wide: its
 * size, paddings, the y scale's top (yMax, or a nice one above the data)
 * and the scales X(i) and Y(v) in SVG units.
 */
export function frame(clientWidth, n, series, yMax) {
  const W = Math.round(Math.max(260, Math.min(900, clientWidth || 420)));
  const H = 200;
  const padL = 52;
  const padR = 78;
  const padT = 14;
  const padB = 30;
  const pw = W - padL - padR;
  const ph = H - padT - padB;
  const top = yMax || niceMax(seriesMax(series));
  const X = (i) => padL + (n <= 1 ? pw : (i * pw) / (n - 1));
  const Y = (v) => padT + ph - (Math.min(v, top) / top) * ph;
  return { W, H, padL, padR, padT, padB, pw, ph, yMax: top, X, Y };
}

/** latestPoints is each series' last value and its index (-1, null: none). */
export function latestPoints(series, n) {
  return series.map((s) => {
    for (let i = n - 1; i >= 0; i--) if (s.values[i] !== null) return { s, i, v: s.values[i] };
    return { s, i: -1, v: null };
  });
}

/** hasData tells whether any latest value counts (a zero only with zeroIsData). */
export function hasData(latest, zeroIsData) {
  return latest.some((l) => l.v !== null && (l.v !== 0 || zeroIsData));
}

/** describe is the chart's text description, for screen readers. */
export function describe(spec, latest, span) {
  if (!hasData(latest, spec.zeroIsData)) return `${spec.what}: no data ${spec.span ? 'yet' : `in the last ${spec.minutes} minutes`}.`;
  return `${spec.what} ${span}. Latest: ` +
    latest.map((l) => `${SERIES_STYLE[l.s.key].label} ${l.v === null ? 'no data' : spec.fmt(l.v)}`).join(', ') + '.';
}

/** segments cuts values into polylines at the gaps (nulls): SVG points strings. */
export function segments(values, X, Y) {
  const out = [];
  let seg = [];
  const flush = () => {
    if (seg.length) out.push(seg.join(' '));
    seg = [];
  };
  values.forEach((v, i) => {
    if (v === null) {
      flush();
      return;
    }
    seg.push(`${X(i).toFixed(1)},${Y(v).toFixed(1)}`);
  });
  flush();
  return out;
}

/**
 * markerIndices are the points that get a marker: every step-th counted
 * from the newest (at most about 20), and any point standing alone.
 */
export function markerIndices(values, n = values.length) {
  const step = Math.max(1, Math.ceil(n / 20));
  const out = [];
  values.forEach((v, i) => {
    if (v === null) return;
    const alone = (i === 0 || values[i - 1] === null) && (i === n - 1 || values[i + 1] === null);
    if ((n - 1 - i) % step === 0 || alone) out.push(i);
  });
  return out;
}

/**
 * spreadLabels orders end labels from the bottom up and pushes each at
 * least 13 units above the one below, so that labels of lines at zero
 * stay readable. It changes and returns labels.
 */
export function spreadLabels(labels) {
  labels.sort((a, b) => b.y - a.y);
  labels.forEach((l, i) => {
    if (i > 0 && labels[i - 1].y - l.y < 13) l.y = labels[i - 1].y - 13;
  });
  return labels;
}

/** defaultTicks are the time axis' ticks of a window of minutes: [index, label]. */
export function defaultTicks(n, minutes) {
  return [[0, `−${minutes} min`], [Math.round((n - 1) / 2), `−${minutes / 2} min`], [n - 1, 'now']];
}

/** tickAnchor aligns a tick label: the first at its start, the last at its end. */
export function tickAnchor(i, n) {
  if (i === 0) return 'start';
  return i === n - 1 ? 'end' : 'middle';
}

/**
 * tableRows are the data table's rows, newest first, at most 40, skipping
 * rows without data: [{i, vals}].
 */
export function tableRows(series, n, zeroIsData) {
  const rows = [];
  for (let i = n - 1; i >= 0 && rows.length < 40; i--) {
    const vals = series.map((s) => s.values[i]);
    if (vals.every((v) => v === null || (v === 0 && !zeroIsData))) continue;
    rows.push({ i, vals });
  }
  return rows;
}

/** barWidth is a progress bar's filled width out of 100, as SVG writes it. */
export function barWidth(fraction) {
  return (Math.max(0, Math.min(1, fraction || 0)) * 100).toFixed(2);
}
