package diff

import (
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Result.Error texts for bodies that were cut.
const (
	errNotCompared = "body not compared"
	errTruncated   = "body truncated at capture cap; " + errNotCompared
)

// Compare compares the monolith's response (legacy) with the service's
// under rules (nil means the defaults). It never panics: a panic inside
// becomes a Result with VerdictError. See the package doc for the number,
// array and body policies.
func Compare(legacy, service Response, rules *Rules) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Result{Verdict: VerdictError, Error: fmt.Sprintf("comparison panicked: %v", p)}
		}
	}()
	if rules == nil {
		rules = defaultRules
	}
	diffs := compareStatus(nil, legacy.Status, service.Status)
	diffs = compareHeaders(diffs, legacy.Header, service.Header, rules)
	b := compareBodies(legacy, service, rules)
	return finish(Result{BodyKind: b.kind, Error: b.err, Truncated: b.truncated}, append(diffs, b.diffs...), rules)
}

// defaultRules are the rules of a nil *Rules.
var defaultRules = &Rules{markers: compileMarkers(nil)}

// compareStatus appends a difference if the status codes differ.
func compareStatus(diffs []Difference, l, s int) []Difference {
	if l == s {
		return diffs
	}
	return append(diffs, Difference{Path: "status", Kind: KindStatus,
		Legacy: strconv.Itoa(l), Service: strconv.Itoa(s)})
}

// compareHeaders appends a difference per compared header that differs,
// is missing or is extra.
func compareHeaders(diffs []Difference, lh, sh http.Header, r *Rules) []Difference {
	l, s := joinHeaders(lh, r), joinHeaders(sh, r)
	for name, lv := range l {
		if sv, ok := s[name]; !ok || sv != lv {
			diffs = append(diffs, Difference{Path: "header:" + name, Kind: KindHeader,
				Legacy: cut(lv), Service: cut(sv)})
		}
	}
	for name, sv := range s {
		if _, ok := l[name]; !ok {
			diffs = append(diffs, Difference{Path: "header:" + name, Kind: KindHeader, Service: cut(sv)})
		}
	}
	return diffs
}

// joinHeaders maps each compared canonical header name to its values
// joined with ", " (names that canonicalize alike merge in sorted order).
func joinHeaders(h http.Header, r *Rules) map[string]string {
	out := make(map[string]string, len(h))
	for _, k := range slices.Sorted(maps.Keys(h)) {
		name := textproto.CanonicalMIMEHeaderKey(k)
		if r.headerIgnored(name) {
			continue
		}
		v := strings.Join(h[k], ", ")
		if prev, ok := out[name]; ok {
			v = prev + ", " + v
		}
		out[name] = v
	}
	return out
}

// finish cuts long paths, marks noise, sets the verdict, sorts and caps
// the differences.
func finish(res Result, diffs []Difference, r *Rules) Result {
	for i := range diffs {
		diffs[i].Path = cutPath(diffs[i].Path)
	}
	if r.noise != nil {
		for i := range diffs {
			diffs[i].Noise = r.noise.IsNoise(diffs[i].Path)
		}
	}
	res.Verdict = verdict(res.Error, diffs)
	slices.SortStableFunc(diffs, func(a, b Difference) int { return strings.Compare(a.Path, b.Path) })
	if len(diffs) > MaxDifferences {
		res.Omitted = len(diffs) - MaxDifferences
		diffs = diffs[:MaxDifferences:MaxDifferences]
	}
	if diffs == nil {
		diffs = []Difference{}
	}
	res.Differences = diffs
	return res
}

// verdict sums up the differences.
func verdict(errMsg string, diffs []Difference) Verdict {
	switch {
	case errMsg != "":
		return VerdictError
	case len(diffs) == 0:
		return VerdictEqual
	}
	for _, d := range diffs {
		if !d.Noise {
			return VerdictDifferent
		}
	}
	return VerdictNoiseOnly
}

// cutPath shortens a path to at most MaxPathLen bytes, on a UTF-8
// boundary, marking the cut with "…". The cut path is a new string.
func cutPath(p string) string {
	if len(p) <= MaxPathLen {
		return p
	}
	n := MaxPathLen - len("…")
	for n > 0 && !utf8.RuneStart(p[n]) {
		n--
	}
	return p[:n] + "…"
}
