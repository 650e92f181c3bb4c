package diff

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// hdoc is one document normalized for comparison.
type hdoc struct {
	root  *hnode         // the <html> element
	ids   map[string]int // how many elements carry each id
	names map[string]int // how many elements carry each tag+"\x00"+name
}

// hnode is one element, normalized: its attributes sorted (class values
// sorted too), its own text, its element children, and a hash of all
// that, ignored parts left out.
type hnode struct {
	n        *html.Node
	parent   *hnode
	tag      string
	attrs    []hattr
	text     string
	kids     []*hnode
	hash     uint64
	ignored  bool     // the whole subtree is ignored
	skipText bool     // the own text is ignored
	skipAttr []string // these attributes are ignored
	id, name string
	nth      int  // 1-based position among same-tag siblings
	sameTag  int  // same-tag siblings, itself included
	nameOnly bool // name is unique among same-tag siblings
}

// hattr is one attribute, namespace folded into the key.
type hattr struct{ key, val string }

// hashSeed makes the hashes of both documents of one comparison agree.
type hashSeed = maphash.Seed

// newHashSeed returns a seed for one comparison.
func newHashSeed() hashSeed { return maphash.MakeSeed() }

// treeBuilder converts a parsed document into hnodes.
type treeBuilder struct {
	r     *Rules
	marks map[*html.Node]*mark
	seed  hashSeed
	doc   *hdoc
	buf   []byte
}

// buildDoc normalizes a parsed document (within the bounds).
func buildDoc(doc *html.Node, marks map[*html.Node]*mark, r *Rules, seed hashSeed) *hdoc {
	b := treeBuilder{r: r, marks: marks, seed: seed,
		doc: &hdoc{ids: map[string]int{}, names: map[string]int{}}}
	root := findElement(doc, "html")
	if root == nil { // the parser always makes one; be safe
		root = &html.Node{Type: html.ElementNode, Data: "html"}
	}
	b.doc.root = b.build(root, nil, false)
	b.doc.root.nth, b.doc.root.sameTag = 1, 1
	return b.doc
}

// findElement is the first child element of n named tag.
func findElement(n *html.Node, tag string) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			return c
		}
	}
	return nil
}

// preTags are the elements whose text keeps its whitespace.
var preTags = map[string]bool{"pre": true, "textarea": true, "listing": true, "xmp": true, "plaintext": true}

// build normalizes element n; pre says whitespace is significant.
func (b *treeBuilder) build(n *html.Node, parent *hnode, pre bool) *hnode {
	e := &hnode{n: n, parent: parent, tag: n.Data}
	pre = pre || preTags[n.Data]
	m := b.marks[n]
	if m != nil {
		e.ignored, e.skipText, e.skipAttr = m.whole, m.text, m.attrs
	}
	e.attrs = normalizeAttrs(n.Attr, e.skipAttr)
	e.id, e.name = attrValue(e.attrs, "id"), attrValue(e.attrs, "name")
	if e.id != "" {
		b.doc.ids[e.id]++
	}
	if e.name != "" {
		b.doc.names[e.tag+"\x00"+e.name]++
	}
	if e.ignored {
		b.countNames(n)
		e.hash = b.hashIgnored(e.tag)
		return e
	}
	e.text = b.buildKids(e, pre)
	if e.skipText {
		e.text = ""
	}
	placeKids(e.kids)
	e.hash = b.hashElem(e)
	return e
}

// buildKids builds e's child elements and returns its own text: each
// run of text nodes between child elements (comments left out, so
// "a<!-- -->b" is "ab") normalized, the runs joined.
func (b *treeBuilder) buildKids(e *hnode, pre bool) string {
	var texts []string
	run := ""
	flush := func() {
		if t := b.normText(run, pre); t != "" {
			texts = append(texts, t)
		}
		run = ""
	}
	for c := e.n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.ElementNode:
			flush()
			e.kids = append(e.kids, b.build(c, e, pre))
		case html.TextNode:
			run += c.Data // one node is the common case: no copy
		}
	}
	flush()
	return joinTexts(texts, pre)
}

// countNames counts the ids and names of the elements below an ignored
// element, which locators must still tell apart.
func (b *treeBuilder) countNames(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		for _, a := range c.Attr {
			switch {
			case a.Namespace != "":
			case a.Key == "id":
				b.doc.ids[a.Val]++
			case a.Key == "name":
				b.doc.names[c.Data+"\x00"+a.Val]++
			}
		}
		b.countNames(c)
	}
}

// normText drops marker echoes and, outside pre, collapses whitespace.
func (b *treeBuilder) normText(s string, pre bool) string {
	s = b.r.stripMarkerLines(s)
	if pre {
		return s
	}
	return collapseSpace(s)
}

// joinTexts joins the text children of one element.
func joinTexts(texts []string, pre bool) string {
	if pre {
		return strings.Join(texts, "")
	}
	return strings.Join(texts, " ")
}

// isHTMLSpace reports ASCII whitespace as HTML defines it.
func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// collapseSpace trims s and turns each run of HTML whitespace into one
// space. It returns s itself when nothing changes.
func collapseSpace(s string) string {
	if strings.TrimLeft(s, " \t\n\f\r") == "" {
		return "" // whitespace between elements, the common case
	}
	clean := len(s) == 0 || (!isHTMLSpace(s[0]) && !isHTMLSpace(s[len(s)-1]))
	for i := 0; clean && i < len(s); i++ {
		if isHTMLSpace(s[i]) && (s[i] != ' ' || isHTMLSpace(s[i+1])) {
			clean = false
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if isHTMLSpace(s[i]) {
			space = sb.Len() > 0
			continue
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// normalizeAttrs sorts attributes by key, sorts class values, folds the
// namespace into the key and leaves out the skipped ones. Of repeated
// keys the first is kept, as browsers do.
func normalizeAttrs(in []html.Attribute, skip []string) []hattr {
	out := make([]hattr, 0, len(in))
	for _, a := range in {
		k := a.Key
		if a.Namespace != "" {
			k = a.Namespace + ":" + k
		}
		if slices.Contains(skip, k) {
			continue
		}
		v := a.Val
		if k == "class" {
			v = sortClasses(v)
		}
		out = append(out, hattr{key: k, val: v})
	}
	slices.SortStableFunc(out, func(a, b hattr) int { return strings.Compare(a.key, b.key) })
	return slices.CompactFunc(out, func(a, b hattr) bool { return a.key == b.key })
}

// sortClasses is a class attribute's classes sorted, one space apart.
func sortClasses(v string) string {
	if !strings.ContainsAny(v, " \t\n\f\r") {
		return v
	}
	cls := strings.Fields(v)
	slices.Sort(cls)
	return strings.Join(slices.Compact(cls), " ")
}

// attrValue is the value of key in sorted attrs, or "".
func attrValue(attrs []hattr, key string) string {
	for _, a := range attrs {
		if a.key == key {
			return a.val
		}
	}
	return ""
}

// placeKids numbers siblings among those of the same tag and says which
// are the only ones of their tag with their name.
func placeKids(kids []*hnode) {
	if len(kids) < 2 {
		for _, k := range kids {
			k.nth, k.sameTag = 1, 1
		}
		return
	}
	count := map[string]int{}
	names := map[string]int{}
	for _, k := range kids {
		count[k.tag]++
		k.nth = count[k.tag]
		if k.name != "" {
			names[k.tag+"\x00"+k.name]++
		}
	}
	for _, k := range kids {
		k.sameTag = count[k.tag]
		k.nameOnly = k.name != "" && names[k.tag+"\x00"+k.name] == 1
	}
}

// hashIgnored is the hash of an ignored element: its tag alone.
func (b *treeBuilder) hashIgnored(tag string) uint64 {
	b.buf = appendHashString(b.buf[:0], "ignored")
	b.buf = appendHashString(b.buf, tag)
	return maphash.Bytes(b.seed, b.buf)
}

// hashElem hashes an element's tag, attributes, own text and the hashes
// of its children.
func (b *treeBuilder) hashElem(e *hnode) uint64 {
	buf := appendHashString(b.buf[:0], e.tag)
	buf = binary.AppendUvarint(buf, uint64(len(e.attrs)))
	for _, a := range e.attrs {
		buf = appendHashString(appendHashString(buf, a.key), a.val)
	}
	buf = appendHashString(buf, e.text)
	buf = binary.AppendUvarint(buf, uint64(len(e.kids)))
	for _, k := range e.kids {
		buf = binary.LittleEndian.AppendUint64(buf, k.hash)
	}
	b.buf = buf
	return maphash.Bytes(b.seed, buf)
}

// appendHashString appends s with its length, so that strings cannot run
// into each other.
func appendHashString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}
