package diff

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/net/html"
)

// Bounds on the HTML documents compared as trees. A document past them
// is not compared as a tree (compareHTML reports !ok and the body is
// compared as text), so that work stays linear in the body's size.
const (
	maxHTMLDepth = 512     // elements nested deeper than this
	maxHTMLNodes = 1 << 20 // nodes of any type in one document
)

// errHTMLBounds says a document passed maxHTMLDepth or maxHTMLNodes.
var errHTMLBounds = errors.New("html: document too deep or too large")

// compareHTML compares two HTML documents as trees; ok is false if one
// passes the depth or node bounds (the caller then compares text).
//
// Equal, because the parser or the normalization erases them: attribute
// order, quote style, self-closing spelling, entity spelling, case of tag
// and attribute names, comments, the doctype, the order of classes in
// class, whitespace-only text between elements, and runs of whitespace in
// text (collapsed to one space and trimmed), except inside pre, textarea,
// listing, xmp and plaintext, where text is compared as written. An
// element's own text is its direct text children joined by one space.
// Marker echoes ("X-Strangler-Shadow: 1" lines) are dropped from text.
//
// Paths are CSS-like locators of the legacy element (of the service
// element for an extra one), see locator: "main > ul.items >
// li:nth-of-type(3)::text", "form#checkout input[name=csrf]@value",
// "#main > p@class". Sibling elements are aligned by a Myers diff of their
// content hashes, so one missing item is one KindMissing, children that
// only moved are one KindOrder at the parent, and remaining unmatched
// siblings of the same tag are compared as changed subtrees.
//
// With RulesConfig.TextOnly only visible text is compared (see
// compareHTMLText): paths are "line:N" of the extracted text.
func compareHTML(l, s []byte, r *Rules) ([]Difference, bool) {
	ln, err := parseHTML(l)
	if err != nil {
		return nil, false
	}
	sn, err := parseHTML(s)
	if err != nil {
		return nil, false
	}
	lm, sm := r.markSelected(ln), r.markSelected(sn)
	if r.textOnly {
		ll, sl := htmlTextLines(ln, lm, r), htmlTextLines(sn, sm, r)
		if len(ll) > maxHTMLNodes/2 || len(sl) > maxHTMLNodes/2 {
			return nil, false // more lines than runes to stand for them
		}
		return compareHTMLText(ll, sl), true
	}
	seed := newHashSeed()
	ld, sd := buildDoc(ln, lm, r, seed), buildDoc(sn, sm, r, seed)
	c := htmlComparer{l: ld, s: sd, differ: newDiffer()}
	c.compareElem(ld.root, sd.root)
	return c.result(), true
}

// parseHTML parses a document and checks it against the bounds.
func parseHTML(b []byte) (*html.Node, error) {
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("html: parse %d bytes: %w", len(b), err)
	}
	if !withinBounds(doc) {
		return nil, errHTMLBounds
	}
	return doc, nil
}

// withinBounds walks the tree without recursion and reports whether it
// stays within maxHTMLDepth and maxHTMLNodes.
func withinBounds(doc *html.Node) bool {
	nodes, depth := 0, 0
	n := doc
	for n != nil {
		nodes++
		if nodes > maxHTMLNodes || depth > maxHTMLDepth {
			return false
		}
		if n.FirstChild != nil {
			n = n.FirstChild
			depth++
			continue
		}
		for n != nil && n.NextSibling == nil {
			n = n.Parent
			depth--
		}
		if n != nil {
			n = n.NextSibling
		}
	}
	return true
}
