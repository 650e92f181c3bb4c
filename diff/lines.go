package diff

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Text bodies are compared line by line. Lines are split at "\n" with a
// trailing "\r" dropped (so CRLF and LF texts are equal), and a final
// line break does not count as an empty last line. Lines echoing a
// marker ("X-Strangler-Shadow: 1") are dropped first; the others keep
// their numbers. The two line sequences are aligned by a Myers diff
// (github.com/sergi/go-diff), and every place where they differ is
// reported at "line:N":
//
//   - a legacy line replaced by a service line is KindChanged at the
//     legacy line's number (within one replaced block, the k-th removed
//     line pairs with the k-th added one);
//   - a legacy line with no counterpart is KindMissing at its number;
//   - a service line with no counterpart is KindExtra at the number of
//     the legacy line it comes before (one past the last legacy line at
//     the end), so several extra lines in a row share one path.
//
// RulesConfig.IgnoreLines drops the differences at those numbers. At
// most MaxDifferences differences are built (plus, when every one of
// them is learned noise, the first one that is not, so that the verdict
// stays right); the rest are not counted in Result.Omitted.

// alignTimeout bounds the time one alignment may take: past it, go-diff
// stops looking for a minimal alignment of what remains and reports it
// as replaced (more differences, never fewer). Typical inputs take a
// tiny fraction of it.
const alignTimeout = 250 * time.Millisecond

// Context lines shown in a text Excerpt before and after a line.
const excerptContext = 2

// textLine is one line of a text body and its 1-based number.
type textLine struct {
	text string
	num  int
}

// compareLines compares two texts line by line (see above).
func compareLines(l, s []byte, r *Rules) []Difference {
	ll, sl := splitLines(l, r), splitLines(s, r)
	c := cappedDiffs{rules: r}
	lw := lineWalker{l: ll, s: sl, out: &c}
	lw.walk(alignLines(ll, sl))
	return c.diffs
}

// splitLines splits b into lines, CR before LF dropped, marker echoes
// left out (their numbers are skipped).
func splitLines(b []byte, r *Rules) []textLine {
	if len(b) == 0 {
		return nil
	}
	text := string(b)
	echo := r.mayEcho(b)
	lines := make([]textLine, 0, strings.Count(text, "\n")+1)
	num := 0
	for rest := text; rest != ""; {
		line, tail, _ := strings.Cut(rest, "\n")
		rest = tail
		num++
		line = strings.TrimSuffix(line, "\r")
		if echo && r.echoLine(line) {
			continue
		}
		lines = append(lines, textLine{text: line, num: num})
	}
	return lines
}

// alignLines aligns two line sequences. When they hold more distinct
// lines than there are runes to name them, it pairs them in order.
func alignLines(l, s []textLine) []seqEdit {
	ids := newSeqInterner[string](len(l) + len(s))
	a, okA := lineRunes(l, ids)
	b, okB := lineRunes(s, ids)
	if !okA || !okB {
		return []seqEdit{{op: diffmatchpatch.DiffDelete, n: len(l)}, {op: diffmatchpatch.DiffInsert, n: len(s)}}
	}
	return seqAlign(a, b)
}

// lineRunes names each line by a rune, equal lines alike.
func lineRunes(lines []textLine, ids *seqInterner[string]) ([]rune, bool) {
	out := make([]rune, len(lines))
	for i, ln := range lines {
		id, ok := ids.id(ln.text)
		if !ok {
			return nil, false
		}
		out[i] = id
	}
	return out, true
}

// seqEdit is one run of an alignment: n items kept, removed or added.
type seqEdit struct {
	op diffmatchpatch.Operation
	n  int
}

// seqAlign aligns two rune sequences with go-diff's Myers diff and returns
// the runs of its edit script. Items found on one side only are set
// aside first (they can only be removed or added), so that two largely
// different sequences cost little more than reading them; Myers then
// works on what is shared.
func seqAlign(a, b []rune) []seqEdit {
	ra, ia, rb, ib := keepShared(a, b)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = alignTimeout
	var out seqScript
	pa, pb, x, y := 0, 0, 0, 0 // consumed in a and b; in ra and rb
	for _, d := range dmp.DiffMainRunes(ra, rb, false) {
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			for k := range n {
				oa, ob := ia[x+k], ib[y+k]
				out.add(diffmatchpatch.DiffDelete, oa-pa)
				out.add(diffmatchpatch.DiffInsert, ob-pb)
				out.add(diffmatchpatch.DiffEqual, 1)
				pa, pb = oa+1, ob+1
			}
			x, y = x+n, y+n
		case diffmatchpatch.DiffDelete:
			x += n
		case diffmatchpatch.DiffInsert:
			y += n
		}
	}
	out.add(diffmatchpatch.DiffDelete, len(a)-pa)
	out.add(diffmatchpatch.DiffInsert, len(b)-pb)
	return out
}

// keepShared returns the items of a that b also holds and those of b
// that a holds, each with their indexes in the original.
func keepShared(a, b []rune) (ra []rune, ia []int, rb []rune, ib []int) {
	top := rune(0)
	for _, r := range a {
		top = max(top, r)
	}
	for _, r := range b {
		top = max(top, r)
	}
	in := make([]uint8, top+1) // bit 1: in a; bit 2: in b
	for _, r := range a {
		in[r] |= 1
	}
	for _, r := range b {
		in[r] |= 2
	}
	ra, ia = filterShared(a, in)
	rb, ib = filterShared(b, in)
	return ra, ia, rb, ib
}

// filterShared keeps the items marked as on both sides.
func filterShared(s []rune, in []uint8) ([]rune, []int) {
	out, idx := make([]rune, 0, len(s)), make([]int, 0, len(s))
	for i, r := range s {
		if in[r] == 3 {
			out, idx = append(out, r), append(idx, i)
		}
	}
	return out, idx
}

// seqScript is an edit script being built.
type seqScript []seqEdit

// add appends n items of op, merged into the last run of the same op.
func (s *seqScript) add(op diffmatchpatch.Operation, n int) {
	switch {
	case n == 0:
	case len(*s) > 0 && (*s)[len(*s)-1].op == op:
		(*s)[len(*s)-1].n += n
	default:
		*s = append(*s, seqEdit{op: op, n: n})
	}
}

// seqBlocks calls fn for each block of removed and added items between two
// kept runs: i and j are where the block starts in a and in b, del and
// ins its lengths. It stops when fn returns false.
func seqBlocks(edits []seqEdit, fn func(i, del, j, ins int) bool) {
	i, j := 0, 0
	for k := 0; k < len(edits); {
		if edits[k].op == diffmatchpatch.DiffEqual {
			i, j = i+edits[k].n, j+edits[k].n
			k++
			continue
		}
		del, ins := 0, 0
		for ; k < len(edits) && edits[k].op != diffmatchpatch.DiffEqual; k++ {
			if edits[k].op == diffmatchpatch.DiffDelete {
				del += edits[k].n
			} else {
				ins += edits[k].n
			}
		}
		if !fn(i, del, j, ins) {
			return
		}
		i, j = i+del, j+ins
	}
}

// seqInterner names distinct keys by distinct valid runes (no surrogates),
// for go-diff to align sequences of them.
type seqInterner[K comparable] struct {
	ids  map[K]rune
	next rune
}

// newSeqInterner makes a seqInterner sized for about n keys.
func newSeqInterner[K comparable](n int) *seqInterner[K] {
	return &seqInterner[K]{ids: make(map[K]rune, min(n, 1<<16)), next: 1}
}

// id is the rune naming k; ok is false when the runes have run out.
func (in *seqInterner[K]) id(k K) (rune, bool) {
	if r, ok := in.ids[k]; ok {
		return r, true
	}
	if in.next > utf8.MaxRune {
		return 0, false
	}
	r := in.next
	in.ids[k] = r
	in.next++
	if in.next == 0xD800 { // skip the surrogates: go-diff turns runes into strings
		in.next = 0xE000
	}
	return r, true
}

// lineWalker reports the differences of an alignment of two texts.
type lineWalker struct {
	l, s []textLine
	out  *cappedDiffs
}

// walk reports every replaced, removed and added line.
func (w *lineWalker) walk(edits []seqEdit) {
	seqBlocks(edits, w.block)
}

// block reports one block: lines l[i:i+del] replaced by s[j:j+ins]. It
// returns false once no more differences are wanted.
func (w *lineWalker) block(i, del, j, ins int) bool {
	for k := range max(del, ins) {
		var ok bool
		switch {
		case k < del && k < ins:
			ok = w.changed(i+k, j+k)
		case k < del:
			ok = w.missing(i+k, j+ins)
		default:
			ok = w.extra(i+del, j+k)
		}
		if !ok {
			return false
		}
	}
	return true
}

// changed reports legacy line i replaced by service line j, unless they
// are equal (lines paired in order when alignment was not possible).
func (w *lineWalker) changed(i, j int) bool {
	if w.l[i].text == w.s[j].text {
		return true
	}
	return w.report(w.l[i].num, func() Difference {
		return Difference{Kind: KindChanged, Legacy: cut(w.l[i].text), Service: cut(w.s[j].text),
			Excerpt: &Excerpt{Legacy: lineContext(w.l, i, 1), Service: lineContext(w.s, j, 1)}}
	})
}

// missing reports legacy line i absent from the service, whose text
// would have it before line j.
func (w *lineWalker) missing(i, j int) bool {
	return w.report(w.l[i].num, func() Difference {
		return Difference{Kind: KindMissing, Legacy: cut(w.l[i].text),
			Excerpt: &Excerpt{Legacy: lineContext(w.l, i, 1), Service: lineContext(w.s, j, 0)}}
	})
}

// extra reports service line j absent from the legacy text, where it
// would come before legacy line i.
func (w *lineWalker) extra(i, j int) bool {
	return w.report(w.legacyNum(i), func() Difference {
		return Difference{Kind: KindExtra, Service: cut(w.s[j].text),
			Excerpt: &Excerpt{Legacy: lineContext(w.l, i, 0), Service: lineContext(w.s, j, 1)}}
	})
}

// legacyNum is the number of legacy line i, or one past the last line.
func (w *lineWalker) legacyNum(i int) int {
	switch {
	case i < len(w.l):
		return w.l[i].num
	case len(w.l) > 0:
		return w.l[len(w.l)-1].num + 1
	}
	return 1
}

// report adds a difference at line num unless that line is ignored.
func (w *lineWalker) report(num int, mk func() Difference) bool {
	if w.out.rules.lines[num] {
		return true
	}
	return w.out.add("line:"+strconv.Itoa(num), mk)
}

// lineContext is the excerpt around lines[at]: up to excerptContext lines
// before it, the n lines at it (0 for a gap before lines[at]) and up to
// excerptContext lines after, cut to MaxExcerptLen.
func lineContext(lines []textLine, at, n int) string {
	from, to := max(0, at-excerptContext), min(len(lines), at+n+excerptContext)
	var b strings.Builder
	for k := from; k < to && b.Len() <= MaxExcerptLen; k++ {
		if k > from {
			b.WriteByte('\n')
		}
		b.WriteString(lines[k].text[:min(len(lines[k].text), MaxExcerptLen+1)])
	}
	return cutToLen(b.String(), MaxExcerptLen)
}

// cutToLen shortens s to at most n bytes, on a rune boundary, marking the
// cut with "…".
func cutToLen(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// cappedDiffs collects the differences of a text or XML body, building
// at most MaxDifferences of them: Compare reports no more, and a large
// body could otherwise cost one allocation per line. While every
// collected difference is learned noise it looks on for the first one
// that is not, so that the verdict stays right.
type cappedDiffs struct {
	rules *Rules
	diffs []Difference
	real  bool // a collected difference is not noise (or no noise is learned)
	done  bool
}

// add adds the difference mk builds at path, unless enough are
// collected; it returns false once no more are wanted.
func (c *cappedDiffs) add(path string, mk func() Difference) bool {
	switch {
	case c.done:
		return false
	case len(c.diffs) < MaxDifferences:
		c.diffs = append(c.diffs, c.build(path, mk))
		c.real = c.real || c.isReal(path)
		return true
	case c.real:
		c.done = true
		return false
	case c.isReal(path):
		c.diffs = append(c.diffs, c.build(path, mk))
		c.real, c.done = true, true
		return false
	}
	return true // every collected one is noise: look on for one that is not
}

// isReal reports whether a difference at path counts (is not noise).
func (c *cappedDiffs) isReal(path string) bool {
	return c.rules.noise == nil || !c.rules.noise.IsNoise(cutPath(path))
}

// build makes one difference at path.
func (c *cappedDiffs) build(path string, mk func() Difference) Difference {
	d := mk()
	d.Path = path
	return d
}
