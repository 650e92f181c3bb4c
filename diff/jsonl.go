package diff

import "bytes"

// compareJSONLines compares two bodies of one JSON value per line; ok is
// false if a line of one is not JSON. Blank lines are skipped, and the
// other lines are compared as the elements of one JSON array, index by
// index: "/3/field" is the field of the fourth non-blank line (counted
// from 0). Ignore paths, multisets, tolerance and noise apply as to
// JSON, and marker echoes are left out of each value.
func compareJSONLines(l, s []byte, r *Rules) ([]Difference, bool) {
	lv, ok := parseJSONLines(l, r)
	if !ok {
		return nil, false
	}
	sv, ok := parseJSONLines(s, r)
	if !ok {
		return nil, false
	}
	return compareJSON(lv, sv, r), true
}

// parseJSONLines decodes the non-blank lines of b, marker echoes left
// out; ok is false if one is not exactly one JSON value.
func parseJSONLines(b []byte, r *Rules) ([]any, bool) {
	out := make([]any, 0, bytes.Count(b, []byte("\n"))+1)
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		v, ok := parseJSON(line)
		if !ok {
			return nil, false
		}
		if r.mayEcho(line) {
			if r.isMarkerEntry(v) { // a line that echoes only a marker
				continue
			}
			v = r.stripMarkers(v)
		}
		out = append(out, v)
	}
	return out, true
}
