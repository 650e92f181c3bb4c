// Chart drawing: inline SVG line charts with a title, a description, a
// legend in text and a data table, from chartscale.js's math.
import { el, setText, sv } from './dom.js';
import { fmtTime } from './format.js';
import {
  SERIES_STYLE, barWidth, defaultTicks, describe, frame, latestPoints, markerIndices, segments, spreadLabels,
  tableRows, tickAnchor,
} from './chartscale.js';
import { bucketSeconds } from './timeline.js';

/** marker draws a point: square, triangle or circle, with a tooltip. */
export function marker(kind, x, y, title) {
  let m;
  if (kind === 'square') m = sv('rect', { class: 'marker', x: (x - 3.2).toFixed(1), y: (y - 3.2).toFixed(1), width: 6.4, height: 6.4 });
  else if (kind === 'triangle') m = sv('path', { class: 'marker', d: `M${x.toFixed(1)} ${(y - 4.6).toFixed(1)}L${(x + 4.2).toFixed(1)} ${(y + 3).toFixed(1)}L${(x - 4.2).toFixed(1)} ${(y + 3).toFixed(1)}Z` });
  else m = sv('circle', { class: 'marker', cx: x.toFixed(1), cy: y.toFixed(1), r: 3.4 });
  if (title) m.append(sv('title', null, title));
  return m;
}

/** bar draws a progress bar filled to fraction, labelled for screen readers. */
export function bar(fraction, label) {
  return sv('svg', { viewBox: '0 0 100 8', preserveAspectRatio: 'none', role: 'img', 'aria-label': label, class: 'bar-svg' },
    sv('rect', { class: 'bar-bg', x: 0, y: 0, width: 100, height: 8 }),
    sv('rect', { class: 'bar-fg', x: 0, y: 0, width: barWidth(fraction), height: 8 }));
}

function axes(svg, f, spec, n) {
  const { X, Y, padL, padT, pw, ph, H, yMax } = f;
  for (const k of [0, 0.5, 1]) {
    const y = Y(yMax * k);
    svg.append(sv('line', { class: k === 0 ? 'axis' : 'grid', x1: padL, x2: padL + pw, y1: y.toFixed(1), y2: y.toFixed(1) }),
      sv('text', { class: 'tick', x: padL - 6, y: (y + 4).toFixed(1), 'text-anchor': 'end' }, spec.fmt(yMax * k)));
  }
  svg.append(sv('line', { class: 'axis', x1: padL, x2: padL, y1: padT, y2: padT + ph }));
  for (const [i, label] of spec.ticks || defaultTicks(n, spec.minutes)) {
    svg.append(sv('line', { class: 'grid', x1: X(i).toFixed(1), x2: X(i).toFixed(1), y1: padT + ph, y2: padT + ph + 4 }),
      sv('text', { class: 'tick', x: X(i).toFixed(1), y: H - 8, 'text-anchor': tickAnchor(i, n) }, label));
  }
}

// lines draws each series and returns the labels to set at their ends.
function lines(svg, f, spec, n, latest) {
  const when = spec.timeFmt || fmtTime;
  const labels = [];
  for (const s of spec.series) {
    const st = SERIES_STYLE[s.key];
    const g = sv('g', { class: `series s-${s.key}`, 'data-series': s.key });
    for (const points of segments(s.values, f.X, f.Y)) g.append(sv('polyline', { class: 'line', points }));
    for (const i of markerIndices(s.values, n)) {
      const v = s.values[i];
      g.append(marker(st.marker, f.X(i), f.Y(v), `${when(spec.times[i])} · ${st.label}: ${spec.fmt(v)}`));
    }
    svg.append(g);
    const l = latest.find((x) => x.s === s);
    if (l.v !== null) labels.push({ key: s.key, text: st.label, x: f.X(l.i), y: f.Y(l.v) });
  }
  return labels;
}

function legend(spec) {
  return spec.series.map((s) => {
    const st = SERIES_STYLE[s.key];
    return el('span', { class: 'legend-item' },
      sv('svg', { width: 34, height: 12, viewBox: '0 0 34 12', 'aria-hidden': 'true', class: `series s-${s.key}` },
        sv('line', { class: 'line', x1: 1, x2: 33, y1: 6, y2: 6 }), marker(st.marker, 17, 6)),
      st.label);
  });
}

function dataTable(spec, n) {
  const when = spec.timeFmt || fmtTime;
  const rows = tableRows(spec.series, n, spec.zeroIsData).map(({ i, vals }) => el('tr', null, el('th', { scope: 'row' }, when(spec.times[i])),
    ...vals.map((v) => el('td', { class: 'num' }, v === null ? '—' : spec.fmt(v)))));
  return el('table', { class: 'data small' },
    el('caption', null, `${spec.title}, newest first (${spec.rows || 'buckets'} with data only)`),
    el('thead', null, el('tr', null, el('th', { scope: 'col' }, spec.rowLabel || 'Bucket'),
      ...spec.series.map((s) => el('th', { scope: 'col' }, SERIES_STYLE[s.key].label + (spec.unit ? ` (${spec.unit})` : ''))))),
    el('tbody', null, rows.length ? rows : el('tr', null, el('td', { colspan: spec.series.length + 1 }, 'No data in this window.'))));
}

/**
 * renderChart draws a line chart into fig: an SVG with a title and a
 * description, a legend in text and a data table. spec: title, what,
 * sub, unit, yMax, minutes or span and ticks, times, timeFmt, zeroIsData,
 * fmt, rows, rowLabel and series [{key, values}].
 */
export function renderChart(fig, spec) {
  const n = spec.times.length;
  const f = frame(fig.clientWidth, n, spec.series, spec.yMax);
  const tid = fig.id + '-title';
  const did = fig.id + '-desc';
  const latest = latestPoints(spec.series, n);
  const desc = describe(spec, latest, spec.span || `per ${bucketSeconds()} s over the last ${spec.minutes} minutes`);
  const svg = sv('svg', {
    class: 'chart-svg', width: f.W, height: f.H, viewBox: `0 0 ${f.W} ${f.H}`, role: 'img',
    'aria-labelledby': `${tid} ${did}`, 'data-ymax': f.yMax,
  }, sv('title', { id: tid }, spec.title), sv('desc', { id: did }, desc));
  axes(svg, f, spec, n);
  // Name each line at its last point, nudging labels apart.
  for (const l of spreadLabels(lines(svg, f, spec, n, latest))) {
    svg.append(sv('text', { class: `end-label s-${l.key}`, x: (Math.max(l.x, f.padL + f.pw) + 8).toFixed(1), y: (l.y + 4).toFixed(1) }, l.text));
  }
  // The parts are built once and then refilled, so that the focus (on
  // the Data table toggle, say) survives the refresh every 2 s.
  if (!fig.firstChild) {
    fig.append(el('figcaption', null, el('strong', { class: 'chart-title' }), ' ', el('span', { class: 'hint chart-sub' })),
      el('div', { class: 'chart-plot' }), el('div', { class: 'legend' }),
      el('details', null, el('summary', null, 'Data table'), el('div', { class: 'chart-table' })));
  }
  setText(fig.querySelector('.chart-title'), spec.title);
  setText(fig.querySelector('.chart-sub'), spec.sub || '');
  fig.querySelector('.chart-plot').replaceChildren(svg);
  fig.querySelector('.legend').replaceChildren(...legend(spec));
  fig.querySelector('.chart-table').replaceChildren(dataTable(spec, n));
}
