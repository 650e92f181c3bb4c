package diff

import (
	"slices"
	"strconv"
	"strings"
)

// maxLocatorClasses bounds the classes shown in one locator segment.
const maxLocatorClasses = 3

// locator is a CSS-like path to element e that a person can paste into
// a browser console. It starts at the nearest element (e or an
// ancestor) whose id is unique in the document ("form#checkout >
// input"), else below body ("main > ul.items > li:nth-of-type(3)");
// html and body appear only as the element itself. Each segment is the
// tag, then "#id" for a unique id, else the classes (sorted, at most
// three) and, among several siblings of the same tag, "[name=x]" when
// the name is unique among them, else ":nth-of-type(N)". An element
// whose tag and name are unique in the document, below an element with
// an id, is "anchor tag[name=x]" (descendant combinator). Locators depend
// only on the document, so they are the same across parses.
func (d *hdoc) locator(e *hnode) string {
	if e.name != "" && d.names[e.tag+"\x00"+e.name] == 1 {
		for x := e.parent; x != nil; x = x.parent {
			if d.uniqueID(x) {
				return d.segment(x) + " " + e.tag + "[name=" + cssValue(e.name) + "]"
			}
		}
	}
	var segs []string
	for x := e; x != nil; x = x.parent {
		if len(segs) > 0 && (x.parent == nil || x.tag == "body" && x.parent.parent == nil) {
			break // the root, or body below it
		}
		segs = append(segs, d.segment(x))
		if d.uniqueID(x) {
			break
		}
	}
	slices.Reverse(segs)
	return strings.Join(segs, " > ")
}

// uniqueID reports whether e has an id no other element of its document
// has.
func (d *hdoc) uniqueID(e *hnode) bool {
	return e.id != "" && d.ids[e.id] == 1
}

// segment is one step of a locator.
func (d *hdoc) segment(e *hnode) string {
	var b strings.Builder
	b.WriteString(e.tag)
	if d.uniqueID(e) {
		writeIDSelector(&b, e.id)
		return b.String()
	}
	writeClasses(&b, attrValue(e.attrs, "class"))
	switch {
	case e.sameTag <= 1:
	case e.nameOnly:
		b.WriteString("[name=" + cssValue(e.name) + "]")
	default:
		b.WriteString(nthOfType + strconv.Itoa(e.nth) + ")")
	}
	return b.String()
}

// writeIDSelector writes "#id", or `[id="..."]` when id is not a CSS
// identifier.
func writeIDSelector(b *strings.Builder, id string) {
	if isCSSIdent(id) {
		b.WriteString("#" + id)
		return
	}
	b.WriteString("[id=" + cssValue(id) + "]")
}

// writeClasses writes up to maxLocatorClasses of the (sorted) classes
// that are CSS identifiers.
func writeClasses(b *strings.Builder, class string) {
	n := 0
	for c := range strings.FieldsSeq(class) {
		if n == maxLocatorClasses {
			return
		}
		if isCSSIdent(c) {
			b.WriteString("." + c)
			n++
		}
	}
}

// isCSSIdent reports whether s can be written bare as a CSS identifier:
// letters, digits, '-', '_' and non-ASCII, not starting with a digit,
// "--" or '-' and a digit.
func isCSSIdent(s string) bool {
	if s == "" || s == "-" {
		return false
	}
	t := strings.TrimPrefix(s, "-")
	if t[0] == '-' || ('0' <= t[0] && t[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 0x80 || c == '-' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// cssValue is an attribute selector value: bare when an identifier,
// else a double-quoted CSS string.
func cssValue(s string) string {
	if isCSSIdent(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString("\\" + strconv.FormatInt(int64(r), 16) + " ")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
