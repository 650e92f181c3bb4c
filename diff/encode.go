package diff

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// ignored replaces an array element matched by an ignore path, so that
// the indexes of the others stay put. It equals anything.
type ignored struct{}

// ignoredMark is how an ignored element is shown in a reported value.
const ignoredMark = `"<ignored>"`

// encodeValue renders a decoded JSON value for a Difference, numbers as
// written, cut to MaxValueLen.
func encodeValue(v any) string {
	return cut(string(appendJSON(make([]byte, 0, 64), v, false, MaxValueLen)))
}

// cut shortens s to at most MaxValueLen bytes, marking the cut with "…".
func cut(s string) string {
	if len(s) <= MaxValueLen {
		return s
	}
	n := MaxValueLen - len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// appendJSON appends v as JSON. canon writes the canonical form (sorted
// keys, canonical numbers) used to match elements; limit > 0 stops
// early once the output is longer than limit.
func appendJSON(buf []byte, v any, canon bool, limit int) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case bool:
		return fmt.Append(buf, x)
	case json.Number:
		if canon {
			return appendCanonNumber(buf, string(x))
		}
		return append(buf, x...)
	case string:
		return appendQuoted(buf, x)
	case map[string]any:
		return appendObject(buf, x, canon, limit)
	case []any:
		return appendArray(buf, x, canon, limit)
	case ignored:
		return append(buf, ignoredMark...)
	default:
		return fmt.Appendf(buf, "%q", fmt.Sprint(x))
	}
}

// appendObject appends an object with its keys sorted.
func appendObject(buf []byte, m map[string]any, canon bool, limit int) []byte {
	buf = append(buf, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if limit > 0 && len(buf) > limit {
			break
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(appendQuoted(buf, k), ':')
		buf = appendJSON(buf, m[k], canon, limit)
	}
	return append(buf, '}')
}

// appendArray appends an array.
func appendArray(buf []byte, a []any, canon bool, limit int) []byte {
	buf = append(buf, '[')
	for i, v := range a {
		if limit > 0 && len(buf) > limit {
			break
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSON(buf, v, canon, limit)
	}
	return append(buf, ']')
}

// appendQuoted appends s as a JSON string, escaping only what JSON
// requires.
func appendQuoted(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// newDifference classifies and renders a difference between two values
// at path; hasL/hasS say whether each side has a value there.
func newDifference(path string, l any, hasL bool, s any, hasS bool) Difference {
	d := Difference{Path: path, Kind: KindChanged}
	switch {
	case !hasL:
		d.Kind = KindExtra
	case !hasS:
		d.Kind = KindMissing
	case jsonType(l) != jsonType(s):
		d.Kind = KindType
	}
	if hasL {
		d.Legacy = encodeValue(l)
	}
	if hasS {
		d.Service = encodeValue(s)
	}
	return d
}
