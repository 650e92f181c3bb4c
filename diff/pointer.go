package diff

import (
	"errors"
	"strconv"
	"strings"
)

// step is one segment of a path inside a decoded body: an object key
// (idx < 0) or an array index.
type step struct {
	key string
	idx int
}

// segment is one compiled pattern segment.
type segment struct {
	key  string // unescaped object key
	idx  int    // the key as an array index, or -1
	star bool   // "*": any key or index
}

// pattern is a compiled JSON Pointer pattern.
type pattern []segment

// parsePattern compiles a JSON Pointer with optional "*" segments.
func parsePattern(p string) (pattern, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, errors.New(`must start with "/"`)
	}
	var pat pattern
	for raw := range strings.SplitSeq(p[1:], "/") {
		key, err := unescapeSegment(raw)
		if err != nil {
			return nil, err
		}
		pat = append(pat, segment{key: key, idx: indexOf(key), star: raw == "*"})
	}
	return pat, nil
}

// unescapeSegment decodes ~0 and ~1 in one pointer segment.
func unescapeSegment(s string) (string, error) {
	if !strings.Contains(s, "~") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '~' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) || (s[i+1] != '0' && s[i+1] != '1') {
			return "", errors.New(`bad ~ escape (want ~0 or ~1)`)
		}
		b.WriteByte("~/"[s[i+1]-'0'])
		i++
	}
	return b.String(), nil
}

// indexOf returns s as an array index, or -1 if it is not one.
func indexOf(s string) int {
	if !isDigits(s) || (len(s) > 1 && s[0] == '0') || len(s) > 9 {
		return -1
	}
	n, _ := strconv.Atoi(s)
	return n
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// matches reports whether the segment matches one path step.
func (s segment) matches(st step) bool {
	switch {
	case s.star:
		return true
	case st.idx >= 0:
		return s.idx == st.idx
	default:
		return s.key == st.key
	}
}

// prefixOf reports whether path matches the first len(path) segments of p.
func (p pattern) prefixOf(path []step) bool {
	if len(p) < len(path) {
		return false
	}
	for i, st := range path {
		if !p[i].matches(st) {
			return false
		}
	}
	return true
}

// exact reports whether p names exactly the node at path.
func (p pattern) exact(path []step) bool {
	return len(p) == len(path) && p.prefixOf(path)
}

// escapeKey escapes an object key for a JSON Pointer (~ as ~0, / as ~1).
func escapeKey(k string) string {
	if !strings.ContainsAny(k, "~/") {
		return k
	}
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// pointer renders a path as a JSON Pointer.
func pointer(path []step) string {
	var b strings.Builder
	for _, st := range path {
		b.WriteByte('/')
		if st.idx >= 0 {
			b.WriteString(strconv.Itoa(st.idx))
		} else {
			b.WriteString(escapeKey(st.key))
		}
	}
	return b.String()
}

// Generalize replaces the positions in a path with "*", so that one
// learned path covers every element of a list: in a JSON Pointer the
// all-digit segments ("/items/3/id" becomes "/items/*/id"; an object key
// made of digits is replaced too), in an XML path the indexes
// ("/order/item[2]/@qty" becomes "/order/item[*]/@qty"), in an HTML
// locator the nth-of-type positions ("ul > li:nth-of-type(3)::text"
// becomes "ul > li:nth-of-type(*)::text"). Other paths ("status",
// "header:Date", "line:7", "body") are returned unchanged.
func Generalize(path string) string {
	switch {
	case strings.HasPrefix(path, "/"):
		if !hasDigitSegment(path) {
			return path
		}
		return generalizePointer(path)
	case strings.Contains(path, nthOfType):
		return generalizeNth(path)
	}
	return path
}

// nthOfType opens a positional pseudo-class in an HTML locator.
const nthOfType = ":nth-of-type("

// generalizePointer replaces digit segments and [N] indexes.
func generalizePointer(path string) string {
	var b strings.Builder
	b.Grow(len(path))
	for seg := range strings.SplitSeq(path[1:], "/") {
		b.WriteByte('/')
		switch {
		case isDigits(seg):
			seg = "*"
		case strings.HasSuffix(seg, "]"):
			if open := strings.LastIndexByte(seg, '['); open >= 0 && isDigits(seg[open+1:len(seg)-1]) {
				seg = seg[:open] + "[*]"
			}
		}
		b.WriteString(seg)
	}
	return b.String()
}

// generalizeNth replaces the number of every :nth-of-type(N).
func generalizeNth(path string) string {
	var b strings.Builder
	b.Grow(len(path))
	for {
		i := strings.Index(path, nthOfType)
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		i += len(nthOfType)
		b.WriteString(path[:i])
		path = path[i:]
		if j := strings.IndexByte(path, ')'); j > 0 && isDigits(path[:j]) {
			b.WriteByte('*')
			path = path[j:]
		}
	}
}

// hasDigitSegment reports whether a pointer has an all-digit segment or
// an [N] index.
func hasDigitSegment(path string) bool {
	for seg := range strings.SplitSeq(path[1:], "/") {
		if isDigits(seg) || strings.HasSuffix(seg, "]") {
			return true
		}
	}
	return false
}

// Match reports whether pattern covers path: path is the pattern's node or
// lies below it. Both are JSON Pointers as written (escaped); a "*"
// pattern segment matches any one segment. The pattern "" (the root)
// covers every pointer. Non-pointer paths ("status", "header:Date") match
// only themselves.
func Match(pattern, path string) bool {
	pHead, pRest, pMore := strings.Cut(pattern, "/")
	qHead, qRest, qMore := strings.Cut(path, "/")
	if pHead != qHead {
		return false
	}
	for pMore {
		if !qMore {
			return false
		}
		pHead, pRest, pMore = strings.Cut(pRest, "/")
		qHead, qRest, qMore = strings.Cut(qRest, "/")
		if pHead != "*" && pHead != qHead {
			return false
		}
	}
	return true
}
