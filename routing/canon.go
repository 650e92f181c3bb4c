package routing

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Allow is a set of request properties that backends read in different
// ways. A request that holds one is refused (400) unless the route it
// matches allows it.
type Allow uint16

// The properties a route may allow. Their config names are in AllowNames.
const (
	// AllowSemicolon: ';' in the path, which Tomcat and Spring read as a
	// path parameter ("/a;x/b" is "/a/b" there).
	AllowSemicolon Allow = 1 << iota
	// AllowBackslash: '\' raw or as %5C, a path separator on IIS/ASP.NET.
	AllowBackslash
	// AllowEncodedSlash: %2F, one segment here, two on backends that
	// decode before splitting.
	AllowEncodedSlash
	// AllowEmptySegment: "//", which many backends merge into "/".
	AllowEmptySegment
	// AllowDoubleEncoding: %25 followed by an encoding of '.', '/', '\' or
	// a control byte, which a backend decoding twice reads as that byte.
	AllowDoubleEncoding
	// AllowControl: %00 to %1F and %7F.
	AllowControl
	// AllowInvalidUTF8: decoded bytes that are not valid UTF-8, such as
	// the overlong %C0%AE ('.' to lenient decoders).
	AllowInvalidUTF8
	// AllowH2C: an "Upgrade: h2c" request header, which would tunnel
	// HTTP/2 past the proxy to the upstream.
	AllowH2C
)

// AllowNames maps the config names of match.allow to their properties.
var AllowNames = map[string]Allow{
	"semicolon":       AllowSemicolon,
	"backslash":       AllowBackslash,
	"encoded_slash":   AllowEncodedSlash,
	"empty_segment":   AllowEmptySegment,
	"double_encoding": AllowDoubleEncoding,
	"control":         AllowControl,
	"invalid_utf8":    AllowInvalidUTF8,
	"h2c":             AllowH2C,
}

// allowOrder lists the properties in the order refusals name them.
var allowOrder = []struct {
	a    Allow
	name string
}{
	{AllowSemicolon, "semicolon"}, {AllowBackslash, "backslash"}, {AllowEncodedSlash, "encoded_slash"},
	{AllowEmptySegment, "empty_segment"}, {AllowDoubleEncoding, "double_encoding"}, {AllowControl, "control"},
	{AllowInvalidUTF8, "invalid_utf8"}, {AllowH2C, "h2c"},
}

// String names the properties in a, comma-separated.
func (a Allow) String() string {
	var names []string
	for _, o := range allowOrder {
		if a&o.a != 0 {
			names = append(names, o.name)
		}
	}
	return strings.Join(names, ",")
}

// pathClass tells, per byte, how the canonical form writes it.
const (
	classEscape  = iota // percent-encoded (upper-case hex)
	classKeep           // kept as is
	classSpecial        // kept, but noted or checked (';', '\', '%', '/', '.')
	classHigh           // non-ASCII byte: escaped and checked for UTF-8
	classControl        // control byte: escaped and noted
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c < 0x20 || c == 0x7f:
			t[c] = classControl
		case c >= 0x80:
			t[c] = classHigh
		case isUnreserved(byte(c)) || strings.IndexByte("!$&'()*+,=:@", byte(c)) >= 0:
			t[c] = classKeep
		default:
			t[c] = classEscape
		}
	}
	for _, c := range []byte(";\\%/.") {
		t[c] = classSpecial
	}
	return t
}()

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// CanonicalPath returns the canonical form of an escaped request path:
// percent-escapes of unreserved characters decoded (RFC 3986 §6.2.2.2),
// every other escape in upper-case hex, bytes not allowed in a path
// escaped. held says which ambiguous properties the path has. ok is false
// when the path is refused whatever the route: a "." or ".." segment (also
// before a ';' parameter or a '\'), or a malformed escape. A path that is
// canonical already is returned as it is, without allocating.
func CanonicalPath(esc string) (canon string, held Allow, ok bool) {
	if esc == "" || esc[0] != '/' {
		return esc, 0, true // "*" and the like: nothing to match on
	}
	if plainPath(esc) {
		return esc, 0, true
	}
	b := make([]byte, 0, len(esc)+8)
	high := false
	for i := 0; i < len(esc); i++ {
		c := esc[i]
		if c != '%' {
			b, held, high = appendRaw(b, c, held, high)
			continue
		}
		if i+2 >= len(esc) || !ishex(esc[i+1]) || !ishex(esc[i+2]) {
			return "", held, false
		}
		d := unhex(esc[i+1])<<4 | unhex(esc[i+2])
		i += 2
		b, held, high = appendDecoded(b, d, esc[i+1:], held, high)
	}
	canon = string(b)
	if high && !validUTF8(canon) {
		held |= AllowInvalidUTF8
	}
	if strings.Contains(canon, "//") {
		held |= AllowEmptySegment
	}
	if hasDotSegment(canon) {
		return canon, held, false
	}
	return canon, held, true
}

// plainPath reports whether esc is canonical already with nothing to
// note: only kept bytes, no "//", no dot-segment.
func plainPath(esc string) bool {
	dotStart := false
	for i := 0; i < len(esc); i++ {
		c := esc[i]
		if byteClass[c] == classKeep {
			continue
		}
		switch c {
		case '.':
			dotStart = dotStart || esc[i-1] == '/' // esc[0] is '/'
		case '/':
			if i > 0 && esc[i-1] == '/' {
				return false
			}
		default:
			return false
		}
	}
	return !dotStart || !hasDotSegment(esc)
}

func appendRaw(b []byte, c byte, held Allow, high bool) ([]byte, Allow, bool) {
	switch byteClass[c] {
	case classKeep:
		return append(b, c), held, high
	case classHigh:
		return appendEscape(b, c), held, true
	case classControl:
		return appendEscape(b, c), held | AllowControl, high
	case classSpecial:
		switch c {
		case ';':
			return append(b, c), held | AllowSemicolon, high
		case '\\':
			return appendEscape(b, c), held | AllowBackslash, high
		}
		return append(b, c), held, high // '/' and '.'
	}
	return appendEscape(b, c), held, high
}

// appendDecoded writes the byte d that was percent-encoded; rest is what
// follows the escape (to spot double encoding).
func appendDecoded(b []byte, d byte, rest string, held Allow, high bool) ([]byte, Allow, bool) {
	switch {
	case isUnreserved(d):
		return append(b, d), held, high
	case d == '/':
		held |= AllowEncodedSlash
	case d == '\\':
		held |= AllowBackslash
	case d < 0x20 || d == 0x7f:
		held |= AllowControl
	case d >= 0x80:
		high = true
	case d == '%' && doubleEncoded(rest):
		held |= AllowDoubleEncoding
	}
	return appendEscape(b, d), held, high
}

// doubleEncoded reports whether rest, which follows an encoded '%',
// starts with the encoding of '.', '/', '\' or a control byte, once or
// more times over ("2e", "252e", "%32%65").
func doubleEncoded(rest string) bool {
	for range 8 { // bounded: each level eats at least two bytes
		h1, r1, ok1 := nextChar(rest)
		h2, r2, ok2 := nextChar(r1)
		if !ok1 || !ok2 || !ishex(h1) || !ishex(h2) {
			return false
		}
		d := unhex(h1)<<4 | unhex(h2)
		switch {
		case d == '%':
			rest = r2
			continue
		case d == '.' || d == '/' || d == '\\' || d < 0x20 || d == 0x7f:
			return true
		}
		return false
	}
	return true
}

// nextChar returns the first character of s, decoding one level of
// percent-encoding.
func nextChar(s string) (byte, string, bool) {
	if s == "" {
		return 0, s, false
	}
	if s[0] == '%' && len(s) >= 3 && ishex(s[1]) && ishex(s[2]) {
		return unhex(s[1])<<4 | unhex(s[2]), s[3:], true
	}
	return s[0], s[1:], true
}

const upperHex = "0123456789ABCDEF"

func appendEscape(b []byte, c byte) []byte {
	return append(b, '%', upperHex[c>>4], upperHex[c&15])
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// validUTF8 reports whether the decoded canonical path is valid UTF-8.
func validUTF8(canon string) bool {
	dec, err := url.PathUnescape(canon)
	return err == nil && utf8.ValidString(dec)
}

// hasDotSegment reports whether a canonical path has a "." or ".."
// segment. Segments end at '/', at an encoded '/' or '\' (IIS splits
// there) and at ';' (Tomcat drops the parameter: "..;x" is "..").
func hasDotSegment(p string) bool {
	start := 0
	for i := 0; i <= len(p); i++ {
		end := i == len(p)
		if !end {
			switch c := p[i]; {
			case c == '/' || c == ';':
			case c == '%' && i+2 < len(p) && (p[i+1:i+3] == "2F" || p[i+1:i+3] == "5C"):
			default:
				continue
			}
		}
		if seg := p[start:i]; seg == "." || seg == ".." {
			return true
		}
		if end {
			break
		}
		if p[i] == '%' {
			i += 2
		}
		start = i + 1
	}
	return false
}

// canonicalize puts r's path into canonical form (URL.Path decoded,
// URL.RawPath the canonical escaping, so upstreams forward exactly it)
// and returns what it holds; ok is false when the path is refused.
func canonicalize(r *http.Request) (Allow, bool) {
	raw := r.URL.RawPath
	if raw == "" {
		raw = r.URL.EscapedPath()
	}
	canon, held, ok := CanonicalPath(raw)
	if !ok || canon == raw {
		return held, ok
	}
	dec, err := url.PathUnescape(canon)
	if err != nil {
		return held, false
	}
	r.URL.Path, r.URL.RawPath = dec, canon
	return held, true
}

// hasH2C reports whether r asks to upgrade to cleartext HTTP/2.
func hasH2C(r *http.Request) bool {
	for _, v := range r.Header["Upgrade"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "h2c") {
				return true
			}
		}
	}
	return false
}

// lowerPath returns p with ASCII letters lower-cased, except the hex
// digits of percent-escapes.
func lowerPath(p string) string {
	i := 0
	for ; i < len(p); i++ {
		if c := p[i]; 'A' <= c && c <= 'Z' || c == '%' {
			break
		}
	}
	if i == len(p) {
		return p
	}
	b := []byte(p)
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%':
			i += 2
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
