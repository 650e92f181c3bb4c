package diff

import "net/url"

// compareForm compares two application/x-www-form-urlencoded bodies; ok
// is false if one does not parse. A form is compared as an object of
// arrays, {"name": ["value", ...]}, so paths are "/name/0": the order of
// different names is insignificant, the order of one name's values is
// not. Fields named after a marker are left out; ignore paths, multisets
// ("/tags" makes one name's values unordered) and noise apply as to JSON.
func compareForm(l, s []byte, r *Rules) ([]Difference, bool) {
	lv, ok := parseForm(l, r)
	if !ok {
		return nil, false
	}
	sv, ok := parseForm(s, r)
	if !ok {
		return nil, false
	}
	return compareJSON(lv, sv, r), true
}

// parseForm decodes a form into an object of arrays of strings, marker
// fields left out.
func parseForm(b []byte, r *Rules) (map[string]any, bool) {
	q, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, false
	}
	out := make(map[string]any, len(q))
	for name, vals := range q {
		if r.isMarker(name) {
			continue
		}
		arr := make([]any, len(vals))
		for i, v := range vals {
			arr[i] = v
		}
		out[name] = arr
	}
	return out, true
}
