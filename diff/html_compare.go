package diff

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
	"golang.org/x/net/html"
)

// htmlComparer walks two normalized documents together and collects
// their differences.
type htmlComparer struct {
	l, s   *hdoc
	diffs  []htmlDiff
	differ differ
}

// htmlDiff is a difference whose renderings wait until it is known to
// be kept (see htmlComparer.result): the elements of its excerpt, and
// of Legacy and Service for a missing, extra or reordered element.
type htmlDiff struct {
	Difference
	ex, value [2]*html.Node
}

// add records a difference; ex are the elements of its excerpt, value
// those rendered as Legacy and Service (nil when the values are set).
func (c *htmlComparer) add(d Difference, ex, value [2]*html.Node) {
	c.diffs = append(c.diffs, htmlDiff{Difference: d, ex: ex, value: value})
}

// result is the differences sorted by path (as Compare sorts them),
// rendered: only the first MaxDifferences can be kept, so only those
// are rendered, which keeps a page that differs everywhere cheap.
func (c *htmlComparer) result() []Difference {
	slices.SortStableFunc(c.diffs, func(a, b htmlDiff) int { return strings.Compare(a.Path, b.Path) })
	out := make([]Difference, len(c.diffs))
	for i, d := range c.diffs {
		out[i] = d.Difference
		if i >= MaxDifferences {
			continue
		}
		out[i].Excerpt = &Excerpt{Legacy: renderHTML(d.ex[0], MaxExcerptLen), Service: renderHTML(d.ex[1], MaxExcerptLen)}
		if d.value[0] != nil {
			out[i].Legacy = shortHTML(d.value[0])
		}
		if d.value[1] != nil {
			out[i].Service = shortHTML(d.value[1])
		}
	}
	return out
}

// compareElem compares two paired elements of the same tag.
func (c *htmlComparer) compareElem(a, b *hnode) {
	if a.hash == b.hash || a.ignored || b.ignored {
		return
	}
	c.compareAttrs(a, b)
	c.compareText(a, b)
	c.compareKids(a, b)
}

// compareAttrs reports attributes that differ, are missing or extra,
// leaving out those ignored on either side.
func (c *htmlComparer) compareAttrs(a, b *hnode) {
	i, j := 0, 0
	for i < len(a.attrs) || j < len(b.attrs) {
		switch {
		case j == len(b.attrs) || (i < len(a.attrs) && a.attrs[i].key < b.attrs[j].key):
			c.attrDiff(a, b, a.attrs[i].key, KindMissing, a.attrs[i].val, "")
			i++
		case i == len(a.attrs) || b.attrs[j].key < a.attrs[i].key:
			c.attrDiff(a, b, b.attrs[j].key, KindExtra, "", b.attrs[j].val)
			j++
		default:
			if a.attrs[i].val != b.attrs[j].val {
				c.attrDiff(a, b, a.attrs[i].key, KindChanged, a.attrs[i].val, b.attrs[j].val)
			}
			i, j = i+1, j+1
		}
	}
}

// attrDiff records one attribute difference unless either side ignores
// the attribute.
func (c *htmlComparer) attrDiff(a, b *hnode, key string, k Kind, lv, sv string) {
	if slices.Contains(a.skipAttr, key) || slices.Contains(b.skipAttr, key) {
		return
	}
	c.add(Difference{Path: c.l.locator(a) + "@" + key, Kind: k, Legacy: cut(lv), Service: cut(sv)},
		[2]*html.Node{a.n, b.n}, [2]*html.Node{})
}

// compareText reports a difference of the elements' own text.
func (c *htmlComparer) compareText(a, b *hnode) {
	if a.text == b.text || a.skipText || b.skipText {
		return
	}
	k := KindChanged
	switch {
	case b.text == "":
		k = KindMissing
	case a.text == "":
		k = KindExtra
	}
	c.add(Difference{Path: c.l.locator(a) + "::text", Kind: k, Legacy: cut(a.text), Service: cut(b.text)},
		[2]*html.Node{a.n, b.n}, [2]*html.Node{})
}

// compareKids aligns the children of two paired elements and reports
// what differs among them.
func (c *htmlComparer) compareKids(a, b *hnode) {
	if sameHashes(a.kids, b.kids) {
		return
	}
	if len(a.kids) == len(b.kids) && sameMultiset(a.kids, b.kids) {
		c.orderDiff(a, b)
		return
	}
	al := c.alignKids(a.kids, b.kids)
	if al.moved {
		c.orderDiff(a, b)
	}
	for _, p := range al.pairs {
		c.compareElem(a.kids[p[0]], b.kids[p[1]])
	}
	for _, i := range al.missing {
		c.missing(a.kids[i], b)
	}
	for _, j := range al.extra {
		c.extra(a, b.kids[j])
	}
}

// orderDiff reports that a's children appear in another order in b.
func (c *htmlComparer) orderDiff(a, b *hnode) {
	c.add(Difference{Path: c.l.locator(a), Kind: KindOrder}, [2]*html.Node{a.n, b.n}, [2]*html.Node{a.n, b.n})
}

// missing reports legacy element x, which service parent b lacks.
func (c *htmlComparer) missing(x, b *hnode) {
	if x.ignored {
		return
	}
	c.add(Difference{Path: c.l.locator(x), Kind: KindMissing}, [2]*html.Node{x.n, b.n}, [2]*html.Node{x.n, nil})
}

// extra reports service element y, which legacy parent a lacks.
func (c *htmlComparer) extra(a, y *hnode) {
	if y.ignored {
		return
	}
	c.add(Difference{Path: c.s.locator(y), Kind: KindExtra}, [2]*html.Node{a.n, y.n}, [2]*html.Node{nil, y.n})
}

// sameHashes reports whether two child lists are equal in order.
func sameHashes(a, b []*hnode) bool {
	return slices.EqualFunc(a, b, func(x, y *hnode) bool { return x.hash == y.hash })
}

// sameMultiset reports whether two child lists hold the same children,
// in any order.
func sameMultiset(a, b []*hnode) bool {
	return slices.Equal(sortedHashes(a), sortedHashes(b))
}

// sortedHashes is the sorted hashes of a child list.
func sortedHashes(kids []*hnode) []uint64 {
	hs := make([]uint64, len(kids))
	for i, k := range kids {
		hs[i] = k.hash
	}
	slices.Sort(hs)
	return hs
}

// alignment is how two child lists line up: pairs of indexes compared as
// changed subtrees, legacy indexes missing from the service, service
// indexes extra, and whether some equal children only moved.
type alignment struct {
	pairs   [][2]int
	missing []int
	extra   []int
	moved   bool
}

// alignKids diffs two child lists by content hash (Myers, through
// diffmatchpatch on runes standing for hashes), then matches runs of
// deleted and inserted children: equal hashes anywhere are moves, then
// same tag and id, then same tag in order, are pairs.
func (c *htmlComparer) alignKids(a, b []*hnode) alignment {
	ra, rb := hashRunes(a, b)
	var runs [][2][]int // per run: deleted legacy, inserted service indexes
	var cur [2][]int
	i, j := 0, 0
	for _, d := range c.differ.diff(ra, rb) {
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			runs, cur = flushRun(runs, cur)
			i, j = i+n, j+n
		case diffmatchpatch.DiffDelete:
			for range n {
				cur[0] = append(cur[0], i)
				i++
			}
		case diffmatchpatch.DiffInsert:
			for range n {
				cur[1] = append(cur[1], j)
				j++
			}
		}
	}
	runs, _ = flushRun(runs, cur)
	var al alignment
	al.moved = matchMoves(a, b, runs)
	for _, run := range runs {
		pairRun(a, b, run, &al)
	}
	return al
}

// flushRun appends the current run, if any, and starts a new one.
func flushRun(runs [][2][]int, cur [2][]int) ([][2][]int, [2][]int) {
	if len(cur[0]) > 0 || len(cur[1]) > 0 {
		runs = append(runs, cur)
	}
	return runs, [2][]int{}
}

// hashRunes maps each distinct child hash to a rune (valid, never a
// surrogate: diffmatchpatch turns runes into strings).
func hashRunes(a, b []*hnode) ([]rune, []rune) {
	ids := make(map[uint64]rune, len(a))
	conv := func(kids []*hnode) []rune {
		out := make([]rune, len(kids))
		for i, k := range kids {
			r, ok := ids[k.hash]
			if !ok {
				r = runeFor(len(ids))
				ids[k.hash] = r
			}
			out[i] = r
		}
		return out
	}
	return conv(a), conv(b)
}

// matchMoves takes out of the runs the deleted and inserted children
// with equal hashes (moved elsewhere) and reports whether there were any.
func matchMoves(a, b []*hnode, runs [][2][]int) bool {
	dels := map[uint64][]int{}
	for _, run := range runs {
		for _, i := range run[0] {
			dels[a[i].hash] = append(dels[a[i].hash], i)
		}
	}
	moved := map[int]bool{}
	var movedIns map[int]bool
	for _, run := range runs {
		for _, j := range run[1] {
			if q := dels[b[j].hash]; len(q) > 0 {
				moved[q[0]] = true
				dels[b[j].hash] = q[1:]
				if movedIns == nil {
					movedIns = map[int]bool{}
				}
				movedIns[j] = true
			}
		}
	}
	for r := range runs {
		runs[r][0] = slices.DeleteFunc(runs[r][0], func(i int) bool { return moved[i] })
		runs[r][1] = slices.DeleteFunc(runs[r][1], func(j int) bool { return movedIns[j] })
	}
	return len(moved) > 0
}

// pairRun pairs the deleted and inserted children of one run: same tag
// and id first, then same tag in order; the rest are missing or extra.
func pairRun(a, b []*hnode, run [2][]int, al *alignment) {
	used := make([]bool, len(run[1]))
	paired := make([]bool, len(run[0]))
	pair := func(d, k int) {
		used[k], paired[d] = true, true
		al.pairs = append(al.pairs, [2]int{run[0][d], run[1][k]})
	}
	byID := map[string]int{}
	byTag := map[string][]int{}
	for k, j := range run[1] {
		if b[j].id != "" {
			byID[b[j].tag+"#"+b[j].id] = k
		}
		byTag[b[j].tag] = append(byTag[b[j].tag], k)
	}
	for d, i := range run[0] {
		if k, ok := byID[a[i].tag+"#"+a[i].id]; ok && a[i].id != "" && !used[k] {
			pair(d, k)
		}
	}
	for d, i := range run[0] {
		if paired[d] {
			continue
		}
		q := byTag[a[i].tag]
		for len(q) > 0 && used[q[0]] {
			q = q[1:]
		}
		byTag[a[i].tag] = q
		if len(q) == 0 {
			al.missing = append(al.missing, i)
			continue
		}
		pair(d, q[0])
	}
	for k, j := range run[1] {
		if !used[k] {
			al.extra = append(al.extra, j)
		}
	}
}
