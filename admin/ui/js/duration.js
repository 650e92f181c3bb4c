// The Go duration parser: the automation settings and explanations carry
// durations as Go writes them ("1h2m3.5s", "250ms").

const UNIT_MS = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 };

/** parseGoDuration reads a Go duration in ms; NaN when it is not one. */
export function parseGoDuration(s) {
  if (typeof s !== 'string' || !s) return NaN;
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/y;
  let ms = 0;
  let i = s[0] === '-' ? 1 : 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return NaN;
    ms += Number(m[1]) * UNIT_MS[m[2]];
    i = re.lastIndex;
  }
  return s[0] === '-' ? -ms : ms;
}
