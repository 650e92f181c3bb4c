package diff

import (
	"strings"
)

// markerStem is what every default marker name contains; a body without
// it (any case) cannot echo a marker, and is not searched further.
const markerStem = "strangler-shadow"

// compileMarkers lower-cases DefaultMarkers and extra.
func compileMarkers(extra []string) []string {
	out := make([]string, 0, len(DefaultMarkers)+len(extra))
	for _, m := range append(DefaultMarkers[:len(DefaultMarkers):len(DefaultMarkers)], extra...) {
		if m = strings.ToLower(strings.TrimSpace(m)); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// isMarker reports whether name (a header name, JSON key or form field)
// is a marker, in any case.
func (r *Rules) isMarker(name string) bool {
	for _, m := range r.markers {
		if strings.EqualFold(m, name) {
			return true
		}
	}
	return false
}

// mayEcho reports whether b may echo a marker: it contains a marker
// name, in any case. It is the cheap test before the strippers.
func (r *Rules) mayEcho(b []byte) bool {
	if len(r.markers) == len(DefaultMarkers) { // defaults only
		return containsFold(b, markerStem)
	}
	for _, m := range r.markers {
		if containsFold(b, m) {
			return true
		}
	}
	return false
}

// containsFold reports whether b contains the lower-case ASCII needle in
// any case, without allocating.
func containsFold(b []byte, needle string) bool {
	for i := 0; i+len(needle) <= len(b); i++ {
		if asciiEqualFold(b[i:i+len(needle)], needle) {
			return true
		}
	}
	return false
}

// asciiEqualFold reports whether b equals the lower-case needle in any
// ASCII case.
func asciiEqualFold(b []byte, needle string) bool {
	for i := range len(needle) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != needle[i] {
			return false
		}
	}
	return true
}

// stripMarkerLines drops the lines of s that echo a marker: lines that,
// after leading spaces and an optional quote, start with a marker name
// followed by optional spaces and ':' or '=' ("X-Strangler-Shadow: 1",
// "x-strangler-shadow=1", `"X-Strangler-Shadow": "1",`). Other lines, and
// the line breaks between them, are kept as they are. s is returned
// unchanged (not copied) when it echoes no marker.
func (r *Rules) stripMarkerLines(s string) string {
	if !r.mayEcho([]byte(s)) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	rest := s
	for rest != "" {
		line, tail, found := strings.Cut(rest, "\n")
		if !r.echoLine(line) {
			b.WriteString(line)
			if found {
				b.WriteByte('\n')
			}
		}
		rest = tail
	}
	return b.String()
}

// echoLine reports whether one line is a marker's "Name: value" echo.
func (r *Rules) echoLine(line string) bool {
	t := strings.TrimLeft(line, " \t")
	t = strings.TrimLeft(t, `"'`)
	for _, m := range r.markers {
		if len(t) < len(m) || !strings.EqualFold(t[:len(m)], m) {
			continue
		}
		after := strings.TrimLeft(strings.TrimLeft(t[len(m):], `"'`), " \t")
		if after != "" && (after[0] == ':' || after[0] == '=') {
			return true
		}
	}
	return false
}

// stripMarkers drops marker echoes from a decoded JSON value in place:
// object keys that are marker names, list entries that echo one (see
// isMarkerEntry), and marker lines in
// strings (a raw request dump). It returns the value: a list or string
// that changed is a new one.
func (r *Rules) stripMarkers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if r.isMarker(k) {
				delete(x, k)
				continue
			}
			x[k] = r.stripMarkers(c)
		}
	case []any:
		out := x[:0]
		for _, c := range x {
			if !r.isMarkerEntry(c) {
				out = append(out, r.stripMarkers(c))
			}
		}
		return out
	case string:
		return r.stripMarkerLines(x)
	}
	return v
}

// maxPairKeys is the most keys a list entry may have to count as one
// header's name/value pair.
const maxPairKeys = 3

// isMarkerEntry reports whether a list entry echoes a marker: a
// "Name: value" string, a name/value object whose values include a
// marker name, or an object whose only keys are markers
// ({"X-Strangler-Shadow": "1"}, a JSON Lines echo of one header).
func (r *Rules) isMarkerEntry(v any) bool {
	switch x := v.(type) {
	case string:
		return r.echoLine(x)
	case map[string]any:
		if len(x) == 0 || len(x) > maxPairKeys {
			return false
		}
		onlyMarkers := true
		for k, c := range x {
			if s, ok := c.(string); ok && r.isMarker(s) {
				return true
			}
			onlyMarkers = onlyMarkers && r.isMarker(k)
		}
		return onlyMarkers
	}
	return false
}
