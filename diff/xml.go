package diff

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strconv"
	"strings"
)

// XML bodies are parsed (strictly, with only the five predefined
// entities: no DTD is read and nothing is fetched) into an element tree
// and compared node by node:
//
//   - names are compared by namespace URL and local name, so a prefix
//     bound to the same URL is equal; namespace declarations themselves
//     are not compared;
//   - attribute order, comments, processing instructions, the doctype
//     and whitespace-only text are insignificant;
//   - an element's own text is its character data (CDATA included)
//     between child elements, each piece trimmed and the non-empty ones
//     joined by one space.
//
// Paths name elements by local name, every element below the root with
// its 1-based position among the siblings of that local name
// ("/order/item[2]"); "@name" is an attribute (by local name) and
// "text()" the element's own text: "/order/item[2]/@qty",
// "/order/note[1]/text()". The children of two paired elements are
// aligned by a Myers diff over their subtrees, so one missing element is
// one KindMissing (at its legacy path) and one added element one
// KindExtra (at the legacy parent's path with the service position);
// within a replaced block, removed and added elements of the same name
// are paired in order and compared below. Values are attribute values,
// text, or an element re-serialised; each difference's Excerpt holds the
// enclosing element re-serialised on each side (for a missing or extra
// element: that element on its side, the parent on the other).
//
// Ignore paths apply: a segment "item" matches every item element,
// "item[2]" only the second, "@qty" the attribute, "text()" the own
// text, "*" any one step; a prefix ("ns:item") is dropped, and a pattern
// covers everything below it. Elements and attributes named after a
// marker are left out.
//
// A document deeper than maxXMLDepth or larger than maxXMLNodes, or that
// is not one well-formed element, is not parsed as XML (it is then
// compared as text).

// Bounds on a parsed XML document.
const (
	maxXMLDepth = 256
	maxXMLNodes = 250_000
)

// xmlNode is one element, reduced to what is compared.
type xmlNode struct {
	name  xml.Name
	idx   int // 1-based position among same-local-name siblings
	attrs []xml.Attr
	kids  []*xmlNode
	text  string
	hash  uint64
}

// step is the node's path step: "local[idx]", or "local" for the root.
func (n *xmlNode) step(root bool) string {
	if root {
		return n.name.Local
	}
	return n.name.Local + "[" + strconv.Itoa(n.idx) + "]"
}

// compareXML compares two XML documents; ok is false if one does not
// parse.
func compareXML(l, s []byte, r *Rules) ([]Difference, bool) {
	lt, err := parseXML(l)
	if err != nil {
		return nil, false
	}
	st, err := parseXML(s)
	if err != nil {
		return nil, false
	}
	pats := xmlPatterns(r.ignore)
	newXMLPruner(r, pats, r.mayEcho(l)).root(lt)
	newXMLPruner(r, pats, r.mayEcho(s)).root(st)
	c := xmlComparer{out: &cappedDiffs{rules: r}}
	c.roots(lt, st)
	return c.out.diffs, true
}

// xmlFrame is an element being parsed.
type xmlFrame struct {
	node   *xmlNode
	seg    []byte   // character data since the last child boundary
	pieces []string // trimmed non-empty pieces of own text
}

// flush ends the current piece of character data.
func (f *xmlFrame) flush() {
	if t := bytes.TrimSpace(f.seg); len(t) > 0 {
		f.pieces = append(f.pieces, string(t))
	}
	f.seg = f.seg[:0]
}

// ownText joins the pieces of own text.
func (f *xmlFrame) ownText() string {
	if len(f.pieces) == 1 {
		return f.pieces[0]
	}
	return strings.Join(f.pieces, " ")
}

// errXMLShape is wrapped by parseXML for documents it does not compare
// as XML although encoding/xml reads them.
var errXMLShape = errors.New("not one bounded XML element")

// parseXML reads one XML document into a tree.
func parseXML(b []byte) (*xmlNode, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var p xmlParse
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		if err := p.token(tok); err != nil {
			return nil, err
		}
	}
	if p.root == nil || p.depth > 0 {
		return nil, fmt.Errorf("xml: no complete root element: %w", errXMLShape)
	}
	return p.root, nil
}

// xmlParse is the state of parseXML. Its frames are reused as the
// parse goes deeper and back, so their buffers are too.
type xmlParse struct {
	root   *xmlNode
	stack  []xmlFrame
	depth  int
	nodes  int
	counts map[string]int // scratch: children per local name
}

// token takes one token.
func (p *xmlParse) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		return p.start(t)
	case xml.EndElement:
		p.end()
	case xml.CharData:
		if p.depth == 0 {
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("xml: text outside the root element: %w", errXMLShape)
			}
			return nil
		}
		top := &p.stack[p.depth-1]
		top.seg = append(top.seg, t...)
	}
	return nil
}

// start opens an element.
func (p *xmlParse) start(t xml.StartElement) error {
	p.nodes++
	switch {
	case p.nodes > maxXMLNodes:
		return fmt.Errorf("xml: over %d elements: %w", maxXMLNodes, errXMLShape)
	case p.depth >= maxXMLDepth:
		return fmt.Errorf("xml: nested over %d deep: %w", maxXMLDepth, errXMLShape)
	case p.depth == 0 && p.root != nil:
		return fmt.Errorf("xml: second root element <%s>: %w", t.Name.Local, errXMLShape)
	}
	n := &xmlNode{name: t.Name, idx: 1, attrs: contentAttrs(t.Attr)}
	if p.depth > 0 {
		parent := &p.stack[p.depth-1]
		parent.flush()
		parent.node.kids = append(parent.node.kids, n)
	} else {
		p.root = n
	}
	if p.depth == len(p.stack) {
		p.stack = append(p.stack, xmlFrame{})
	}
	f := &p.stack[p.depth]
	f.node, f.seg, f.pieces = n, f.seg[:0], f.pieces[:0]
	p.depth++
	return nil
}

// end closes the innermost element (encoding/xml checks it matches) and
// numbers its children among those of the same local name.
func (p *xmlParse) end() {
	top := &p.stack[p.depth-1]
	top.flush()
	top.node.text = top.ownText()
	p.depth--
	kids := top.node.kids
	if len(kids) < 2 {
		return
	}
	if p.counts == nil {
		p.counts = map[string]int{}
	}
	clear(p.counts)
	for _, k := range kids {
		p.counts[k.name.Local]++
		k.idx = p.counts[k.name.Local]
	}
}

// contentAttrs drops namespace declarations and sorts the rest by
// namespace and local name.
func contentAttrs(attrs []xml.Attr) []xml.Attr {
	out := make([]xml.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b xml.Attr) int {
		if c := strings.Compare(a.Name.Space, b.Name.Space); c != 0 {
			return c
		}
		return strings.Compare(a.Name.Local, b.Name.Local)
	})
	return out
}

// xmlStepKind says what an XML path step names.
type xmlStepKind uint8

// XML path step kinds.
const (
	xmlElem xmlStepKind = iota
	xmlAttr
	xmlText
	xmlAny // pattern only: "*"
)

// xmlStep is one step of an XML path, or of an ignore pattern (where
// idx 0 means any position).
type xmlStep struct {
	kind  xmlStepKind
	local string
	idx   int
}

// matches reports whether pattern step p matches path step st.
func (p xmlStep) matches(st xmlStep) bool {
	switch {
	case p.kind == xmlAny:
		return true
	case p.kind != st.kind:
		return false
	case p.kind == xmlText:
		return true
	}
	return p.local == st.local && (p.idx == 0 || p.idx == st.idx)
}

// xmlPatterns reads the ignore patterns as XML paths.
func xmlPatterns(pats []pattern) [][]xmlStep {
	out := make([][]xmlStep, 0, len(pats))
	for _, p := range pats {
		steps := make([]xmlStep, len(p))
		for i, seg := range p {
			steps[i] = xmlPatternStep(seg)
		}
		out = append(out, steps)
	}
	return out
}

// xmlPatternStep reads one pattern segment as an XML step.
func xmlPatternStep(seg segment) xmlStep {
	k := seg.key
	switch {
	case seg.star:
		return xmlStep{kind: xmlAny}
	case k == "text()":
		return xmlStep{kind: xmlText}
	case strings.HasPrefix(k, "@"):
		return xmlStep{kind: xmlAttr, local: localPart(k[1:])}
	}
	st := xmlStep{kind: xmlElem}
	if open := strings.LastIndexByte(k, '['); open > 0 && strings.HasSuffix(k, "]") {
		if n := indexOf(k[open+1 : len(k)-1]); n > 0 {
			st.idx, k = n, k[:open]
		}
	}
	st.local = localPart(k)
	return st
}

// localPart drops a "prefix:" from a name.
func localPart(name string) string {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// xmlPruner drops what the ignore patterns cover and the marker echoes
// from one tree, and hashes every node that is left.
type xmlPruner struct {
	rules   *Rules
	pats    [][]xmlStep
	markers bool // the body may echo a marker
	path    []xmlStep
	h       maphash.Hash
	buf     []byte
}

// xmlSeed seeds node hashes; it is set once, and both trees of one
// comparison use it.
var xmlSeed = maphash.MakeSeed()

// newXMLPruner makes a pruner.
func newXMLPruner(r *Rules, pats [][]xmlStep, markers bool) *xmlPruner {
	p := &xmlPruner{rules: r, pats: pats, markers: markers}
	p.h.SetSeed(xmlSeed)
	return p
}

// root prunes and hashes a whole tree.
func (p *xmlPruner) root(n *xmlNode) {
	p.path = append(p.path[:0], xmlStep{kind: xmlElem, local: n.name.Local, idx: 1})
	if p.covered() {
		n.attrs, n.kids, n.text = nil, nil, ""
	}
	p.node(n)
}

// node prunes the attributes, text and children of n, whose path is
// p.path, and hashes it.
func (p *xmlPruner) node(n *xmlNode) {
	n.attrs = slices.DeleteFunc(n.attrs, func(a xml.Attr) bool {
		return p.markers && p.rules.isMarker(a.Name.Local) || p.coveredStep(xmlStep{kind: xmlAttr, local: a.Name.Local})
	})
	if n.text != "" && p.coveredStep(xmlStep{kind: xmlText}) {
		n.text = ""
	}
	n.kids = slices.DeleteFunc(n.kids, func(k *xmlNode) bool {
		if p.markers && p.rules.isMarker(k.name.Local) {
			return true
		}
		p.path = append(p.path, xmlStep{kind: xmlElem, local: k.name.Local, idx: k.idx})
		defer func() { p.path = p.path[:len(p.path)-1] }()
		if p.covered() {
			return true
		}
		p.node(k)
		return false
	})
	n.hash = p.hash(n)
}

// coveredStep reports whether a pattern covers p.path plus st.
func (p *xmlPruner) coveredStep(st xmlStep) bool {
	if len(p.pats) == 0 {
		return false
	}
	p.path = append(p.path, st)
	defer func() { p.path = p.path[:len(p.path)-1] }()
	return p.covered()
}

// covered reports whether a pattern covers p.path: it matches a prefix
// of it.
func (p *xmlPruner) covered() bool {
	for _, pat := range p.pats {
		if len(pat) <= len(p.path) && xmlPrefix(pat, p.path) {
			return true
		}
	}
	return false
}

// xmlPrefix reports whether every step of pat matches path's step there.
func xmlPrefix(pat, path []xmlStep) bool {
	for i, ps := range pat {
		if !ps.matches(path[i]) {
			return false
		}
	}
	return true
}

// hash hashes what is compared of n: its name, attributes, text and its
// children's hashes. XML text holds no NUL, so NUL separates fields.
func (p *xmlPruner) hash(n *xmlNode) uint64 {
	b := p.buf[:0]
	b = append(append(append(append(b, n.name.Space...), 0), n.name.Local...), 0)
	for _, a := range n.attrs {
		b = append(append(append(append(b, a.Name.Space...), 0), a.Name.Local...), 0)
		b = append(append(b, a.Value...), 0)
	}
	b = append(append(append(b, 1), n.text...), 0)
	for _, k := range n.kids {
		b = binary.LittleEndian.AppendUint64(b, k.hash)
	}
	p.buf = b
	p.h.Reset()
	_, _ = p.h.Write(b)
	return p.h.Sum64()
}

// xmlComparer reports the differences of two pruned trees.
type xmlComparer struct {
	out *cappedDiffs
}

// roots compares the two root elements.
func (c *xmlComparer) roots(a, b *xmlNode) {
	path := "/" + a.step(true)
	if a.name != b.name {
		c.out.add(path, func() Difference {
			return Difference{Kind: KindChanged, Legacy: cut(xmlString(a, MaxValueLen)),
				Service: cut(xmlString(b, MaxValueLen)), Excerpt: xmlExcerpt(a, b)}
		})
		return
	}
	c.pair(a, b, path)
}

// pair compares two elements of the same name; path is a's.
func (c *xmlComparer) pair(a, b *xmlNode, path string) bool {
	if a.hash == b.hash {
		return true
	}
	return c.attrs(a, b, path) && c.text(a, b, path) && c.children(a, b, path)
}

// attrs compares the sorted attributes of a and b.
func (c *xmlComparer) attrs(a, b *xmlNode, path string) bool {
	i, j := 0, 0
	for i < len(a.attrs) || j < len(b.attrs) {
		var la, sa *xml.Attr
		switch cmpAttr(a.attrs, i, b.attrs, j) {
		case -1:
			la, i = &a.attrs[i], i+1
		case 1:
			sa, j = &b.attrs[j], j+1
		default:
			la, sa, i, j = &a.attrs[i], &b.attrs[j], i+1, j+1
			if la.Value == sa.Value {
				continue
			}
		}
		if !c.attr(a, b, path, la, sa) {
			return false
		}
	}
	return true
}

// cmpAttr orders a[i] against b[j]; a side that has run out comes last.
func cmpAttr(a []xml.Attr, i int, b []xml.Attr, j int) int {
	switch {
	case i == len(a):
		return 1
	case j == len(b):
		return -1
	}
	if c := strings.Compare(a[i].Name.Space, b[j].Name.Space); c != 0 {
		return c
	}
	return strings.Compare(a[i].Name.Local, b[j].Name.Local)
}

// attr reports one differing attribute (nil where a side lacks it).
func (c *xmlComparer) attr(a, b *xmlNode, path string, la, sa *xml.Attr) bool {
	local := ""
	if la != nil {
		local = la.Name.Local
	} else {
		local = sa.Name.Local
	}
	return c.out.add(path+"/@"+local, func() Difference {
		d := Difference{Kind: KindChanged, Excerpt: xmlExcerpt(a, b)}
		switch {
		case sa == nil:
			d.Kind, d.Legacy = KindMissing, cut(la.Value)
		case la == nil:
			d.Kind, d.Service = KindExtra, cut(sa.Value)
		default:
			d.Legacy, d.Service = cut(la.Value), cut(sa.Value)
		}
		return d
	})
}

// text compares the own text of a and b.
func (c *xmlComparer) text(a, b *xmlNode, path string) bool {
	if a.text == b.text {
		return true
	}
	return c.out.add(path+"/text()", func() Difference {
		d := Difference{Kind: KindChanged, Legacy: cut(a.text), Service: cut(b.text), Excerpt: xmlExcerpt(a, b)}
		switch {
		case b.text == "":
			d.Kind = KindMissing
		case a.text == "":
			d.Kind = KindExtra
		}
		return d
	})
}

// children aligns the children of a and b by their hashes and compares
// what differs.
func (c *xmlComparer) children(a, b *xmlNode, path string) bool {
	if len(a.kids) == 0 && len(b.kids) == 0 {
		return true
	}
	ids := newSeqInterner[uint64](len(a.kids) + len(b.kids))
	ra, rb := make([]rune, len(a.kids)), make([]rune, len(b.kids))
	for i, k := range a.kids {
		ra[i], _ = ids.id(k.hash) // at most maxXMLNodes ids: never run out
	}
	for j, k := range b.kids {
		rb[j], _ = ids.id(k.hash)
	}
	ok := true
	seqBlocks(seqAlign(ra, rb), func(i, del, j, ins int) bool {
		ok = c.block(a, b, path, a.kids[i:i+del], b.kids[j:j+ins])
		return ok
	})
	return ok
}

// block compares a replaced block of children: removed and added
// elements of the same name are paired (see pairBlock) and compared
// below; the others are missing or extra.
func (c *xmlComparer) block(a, b *xmlNode, path string, del, ins []*xmlNode) bool {
	q := 0
	for i, t := range pairBlock(del, ins) {
		if t < 0 {
			if !c.missing(del[i], b, path) {
				return false
			}
			continue
		}
		for _, e := range ins[q:t] {
			if !c.extra(e, a, path) {
				return false
			}
		}
		if !c.pair(del[i], ins[t], path+"/"+del[i].step(false)) {
			return false
		}
		q = t + 1
	}
	for _, e := range ins[q:] {
		if !c.extra(e, a, path) {
			return false
		}
	}
	return true
}

// Bounds on pairing a replaced block: the best pairing is searched when
// the block has at most maxPairCells removed × added elements; in a
// larger one, each removed element takes the next added one of its name
// within pairWindow. Similarity looks at most at simKids children.
const (
	maxPairCells = 4096
	pairWindow   = 64
	simKids      = 64
)

// pairBlock pairs removed with added elements of the same name, in
// order: for each removed one, the index of its added partner or -1.
// In a small block the pairing is the one with the greatest total
// similarity, so that a removed element next to a changed one does not
// take its partner.
func pairBlock(del, ins []*xmlNode) []int {
	if len(del)*len(ins) > maxPairCells {
		return pairGreedy(del, ins)
	}
	w := len(ins) + 1
	score := make([]int, (len(del)+1)*w)
	for i := 1; i <= len(del); i++ {
		for j := 1; j <= len(ins); j++ {
			best := max(score[(i-1)*w+j], score[i*w+j-1])
			if del[i-1].name == ins[j-1].name {
				best = max(best, score[(i-1)*w+j-1]+similarity(del[i-1], ins[j-1]))
			}
			score[i*w+j] = best
		}
	}
	match := make([]int, len(del))
	for i, j := len(del), len(ins); i > 0; {
		switch {
		case j > 0 && score[i*w+j] == score[i*w+j-1]:
			j--
		case j > 0 && score[i*w+j] != score[(i-1)*w+j]:
			match[i-1] = j - 1
			i, j = i-1, j-1
		default:
			match[i-1] = -1
			i--
		}
	}
	return match
}

// pairGreedy pairs each removed element with the next added one of its
// name within pairWindow.
func pairGreedy(del, ins []*xmlNode) []int {
	match := make([]int, len(del))
	q := 0
	for i, d := range del {
		match[i] = -1
		for k := q; k < min(len(ins), q+pairWindow); k++ {
			if ins[k].name == d.name {
				match[i], q = k, k+1
				break
			}
		}
	}
	return match
}

// similarity scores two elements of the same name: one, plus one per
// equal attribute, for equal own text and per child equal at its
// position.
func similarity(a, b *xmlNode) int {
	n := 1
	for i, j := 0, 0; i < len(a.attrs) && j < len(b.attrs); {
		switch cmpAttr(a.attrs, i, b.attrs, j) {
		case -1:
			i++
		case 1:
			j++
		default:
			if a.attrs[i].Value == b.attrs[j].Value {
				n++
			}
			i, j = i+1, j+1
		}
	}
	if a.text == b.text {
		n++
	}
	for k := range min(len(a.kids), len(b.kids), simKids) {
		if a.kids[k].hash == b.kids[k].hash {
			n++
		}
	}
	return n
}

// missing reports legacy element d absent from service parent sp.
func (c *xmlComparer) missing(d, sp *xmlNode, path string) bool {
	return c.out.add(path+"/"+d.step(false), func() Difference {
		return Difference{Kind: KindMissing, Legacy: cut(xmlString(d, MaxValueLen)),
			Excerpt: xmlExcerpt(d, sp)}
	})
}

// extra reports service element e absent from legacy parent lp.
func (c *xmlComparer) extra(e, lp *xmlNode, path string) bool {
	return c.out.add(path+"/"+e.step(false), func() Difference {
		return Difference{Kind: KindExtra, Service: cut(xmlString(e, MaxValueLen)),
			Excerpt: xmlExcerpt(lp, e)}
	})
}

// xmlExcerpt re-serialises an element of each side.
func xmlExcerpt(l, s *xmlNode) *Excerpt {
	return &Excerpt{Legacy: cutToLen(xmlString(l, MaxExcerptLen), MaxExcerptLen),
		Service: cutToLen(xmlString(s, MaxExcerptLen), MaxExcerptLen)}
}

// xmlString re-serialises n in a canonical form (attributes sorted, own
// text before the children, a default namespace declared where it
// changes), stopping soon after limit bytes.
func xmlString(n *xmlNode, limit int) string {
	return string(appendXMLNode(make([]byte, 0, 128), n, "", limit))
}

// xmlEscaper escapes text and attribute values.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// appendXMLNode appends n; space is the parent's namespace.
func appendXMLNode(b []byte, n *xmlNode, space string, limit int) []byte {
	if len(b) > limit {
		return b
	}
	b = append(append(b, '<'), n.name.Local...)
	if n.name.Space != space {
		b = append(append(append(b, ` xmlns="`...), xmlEscaper.Replace(n.name.Space)...), '"')
	}
	for _, a := range n.attrs {
		b = append(append(append(append(append(b, ' '), a.Name.Local...), `="`...), xmlEscaper.Replace(xmlClip(a.Value, limit))...), '"')
	}
	if n.text == "" && len(n.kids) == 0 {
		return append(b, "/>"...)
	}
	b = append(append(b, '>'), xmlEscaper.Replace(xmlClip(n.text, limit))...)
	for _, k := range n.kids {
		if len(b) > limit {
			break
		}
		b = appendXMLNode(b, k, n.name.Space, limit)
	}
	return append(append(append(b, "</"...), n.name.Local...), '>')
}

// xmlClip is at most the first limit+1 bytes of s: enough for a serialised
// form cut at limit afterwards.
func xmlClip(s string, limit int) string {
	return s[:min(len(s), limit+1)]
}
