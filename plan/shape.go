package plan

import "strings"

// Placeholders that stand for a variable path segment in a shape.
const (
	PlaceholderID    = "{id}"    // a number or an opaque token, or a position seen with many values
	PlaceholderUUID  = "{uuid}"  // 8-4-4-4-12 hex digits
	PlaceholderHash  = "{hash}"  // 16 or more hex digits
	PlaceholderDate  = "{date}"  // YYYY-MM-DD, optionally followed by a time
	PlaceholderEmail = "{email}" // local@domain.tld
)

// Segment kinds: literal or one of the placeholders.
type segKind uint8

const (
	kindLiteral segKind = iota
	kindID
	kindUUID
	kindHash
	kindDate
	kindEmail
	kindVariable // a literal at a position that takes many values: {id}
)

var kindText = [...]string{"", PlaceholderID, PlaceholderUUID, PlaceholderHash, PlaceholderDate, PlaceholderEmail, PlaceholderID}

// Limits on what one shape may hold, so that a hostile path cannot make an
// entry large.
const (
	// MaxSegments is the number of path segments a shape keeps; deeper
	// segments are dropped.
	MaxSegments = 24
	// MaxSegmentLen is the longest literal segment kept; a longer one is
	// taken as an opaque token ({id}).
	MaxSegmentLen = 64
	// MaxShapeLen bounds the length of a shape's text.
	MaxShapeLen = 256
)

// classify returns the placeholder kind of one path segment, or
// kindLiteral. It does not allocate.
func classify(seg string) segKind {
	n := len(seg)
	if n == 0 {
		return kindLiteral
	}
	if n > MaxSegmentLen {
		return kindID
	}
	var digits, hex, letters, other int
	at, dots := -1, 0
	for i := 0; i < n; i++ {
		c := seg[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
			letters++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			letters++
		case c == '@':
			at = i
		case c == '.':
			dots++
			other++
		default:
			other++
		}
	}
	switch {
	case digits == n:
		return kindID
	case isUUID(seg):
		return kindUUID
	case isDate(seg):
		return kindDate
	case at > 0 && dots > 0 && strings.LastIndexByte(seg, '.') > at+1:
		return kindEmail
	case hex == n && n >= 16:
		return kindHash
	case isNumber(seg, digits, dots, other):
		return kindID
	case other == 0 && digits >= 3 && letters >= 1 && n >= 8 && digits*4 >= n:
		return kindID // a token mixing letters and digits: ab12cd34ef
	}
	return kindLiteral
}

// isNumber reports a signed or decimal number: -3, 12.50.
func isNumber(seg string, digits, dots, other int) bool {
	if digits == 0 || dots > 1 {
		return false
	}
	signs := other - dots
	return digits+other == len(seg) && (signs == 0 || signs == 1 && (seg[0] == '-' || seg[0] == '+'))
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// isDate reports YYYY-MM-DD, optionally followed by T or a space and more.
func isDate(s string) bool {
	if len(s) < 10 || len(s) > 35 {
		return false
	}
	for i := 0; i < 10; i++ {
		c := s[i]
		if i == 4 || i == 7 {
			if c != '-' {
				return false
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) == 10 || s[10] == 'T' || s[10] == '_'
}

// trimQuery returns the path without its query string or fragment.
func trimQuery(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// placeholderKind returns the kind of a segment that is already a
// placeholder in a shape's text.
func placeholderKind(seg string) segKind {
	for k := kindID; k <= kindEmail; k++ {
		if seg == kindText[k] {
			return k
		}
	}
	return kindLiteral
}

// FNV-1a, inlined so hashing a path does not allocate.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashSegment folds one shape segment (its literal text or placeholder)
// into a prefix hash.
func hashSegment(h uint64, seg string, k segKind) uint64 {
	h ^= '/'
	h *= fnvPrime
	if k != kindLiteral {
		return hashString(h, kindText[k])
	}
	return hashString(h, seg)
}

// mix finalises a hash (splitmix64) so that its low bits are well spread.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// buildShape writes the shape of path given each segment's kind.
func buildShape(path string, kinds []segKind) string {
	var b strings.Builder
	b.Grow(min(len(path)+8, MaxShapeLen))
	i := 0
	for seg := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		if i >= len(kinds) {
			break
		}
		b.WriteByte('/')
		if kinds[i] == kindLiteral {
			b.WriteString(seg)
		} else {
			b.WriteString(kindText[kinds[i]])
		}
		i++
	}
	s := b.String()
	if s == "" {
		s = "/"
	}
	if len(s) > MaxShapeLen {
		s = s[:MaxShapeLen]
	}
	return s
}
