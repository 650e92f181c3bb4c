package diff

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
	"golang.org/x/net/html"
)

// hiddenTags hold no visible text.
var hiddenTags = map[string]bool{"script": true, "style": true, "template": true, "noscript": true,
	"head": true, "iframe": true, "object": true}

// blockTags break the visible text into lines.
var blockTags = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "br": true, "caption": true,
	"dd": true, "details": true, "dialog": true, "div": true, "dl": true, "dt": true, "fieldset": true,
	"figcaption": true, "figure": true, "footer": true, "form": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "header": true, "hgroup": true, "hr": true, "legend": true,
	"li": true, "main": true, "menu": true, "nav": true, "ol": true, "option": true, "p": true,
	"pre": true, "section": true, "summary": true, "table": true, "tbody": true, "td": true,
	"tfoot": true, "th": true, "thead": true, "tr": true, "ul": true, "textarea": true, "title": true,
}

// textWalker extracts the visible text of a document as lines.
type textWalker struct {
	r     *Rules
	marks map[*html.Node]*mark
	cur   strings.Builder
	lines []string
	pre   int // depth inside pre-like elements
}

// htmlTextLines is the visible text of a parsed document (within the
// bounds): the title and the body without script, style, template,
// noscript, iframe and object, nor what the ignore selectors cover; one
// line per block element, <br> and line break in pre, whitespace
// collapsed, blank lines left out.
func htmlTextLines(doc *html.Node, marks map[*html.Node]*mark, r *Rules) []string {
	w := textWalker{r: r, marks: marks}
	if h := findElement(doc, "html"); h != nil {
		if head := findElement(h, "head"); head != nil {
			if t := findElement(head, "title"); t != nil {
				w.walk(t, false)
			}
		}
	}
	w.walk(doc, false)
	w.endLine()
	return w.lines
}

// walk appends the visible text of n; skipText says n's parent's own
// text is ignored.
func (w *textWalker) walk(n *html.Node, skipText bool) {
	switch n.Type {
	case html.TextNode:
		if !skipText {
			w.text(n.Data)
		}
		return
	case html.ElementNode:
		m := w.marks[n]
		if hiddenTags[n.Data] || m != nil && m.whole {
			return
		}
		skipText = m != nil && m.text
	case html.DocumentNode:
	default:
		return
	}
	block := n.Type == html.ElementNode && blockTags[n.Data]
	pre := n.Type == html.ElementNode && preTags[n.Data]
	if block {
		w.endLine()
	}
	if pre {
		w.pre++
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c, skipText)
	}
	if pre {
		w.pre--
	}
	if block {
		w.endLine()
	}
}

// text adds one text node, marker echoes dropped. A line break ends a
// line inside pre-like elements and is a space elsewhere; whitespace is
// collapsed either way.
func (w *textWalker) text(s string) {
	s = w.r.stripMarkerLines(s)
	for {
		line, rest, found := strings.Cut(s, "\n")
		w.cur.WriteString(line)
		if !found {
			return
		}
		if w.pre > 0 {
			w.endLine()
		} else {
			w.cur.WriteByte(' ')
		}
		s = rest
	}
}

// endLine ends the current line, keeping it if it is not blank.
func (w *textWalker) endLine() {
	if line := collapseSpace(w.cur.String()); line != "" {
		w.lines = append(w.lines, line)
	}
	w.cur.Reset()
}

// excerptLines is the number of lines either side of a line in a
// text-only excerpt.
const excerptLines = 1

// compareHTMLText compares two pages' visible text line by line (Myers,
// through diffmatchpatch): a run of changed lines pairs legacy and
// service lines in order as KindChanged at "line:N" (the legacy line,
// 1-based); unpaired legacy lines are KindMissing at their number,
// unpaired service lines KindExtra at theirs.
func compareHTMLText(l, s []string) []Difference {
	rl, rs := visibleLineRunes(l, s)
	d := newDiffer()
	var diffs []Difference
	var dels, ins []int
	i, j := 0, 0
	flush := func() {
		diffs = appendLineRun(diffs, l, s, dels, ins)
		dels, ins = dels[:0], ins[:0]
	}
	for _, d := range d.diff(rl, rs) {
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			flush()
			i, j = i+n, j+n
		case diffmatchpatch.DiffDelete:
			for range n {
				dels = append(dels, i)
				i++
			}
		case diffmatchpatch.DiffInsert:
			for range n {
				ins = append(ins, j)
				j++
			}
		}
	}
	flush()
	return diffs
}

// appendLineRun reports one run of deleted and inserted lines.
func appendLineRun(diffs []Difference, l, s []string, dels, ins []int) []Difference {
	n := min(len(dels), len(ins))
	for k := range n {
		diffs = append(diffs, lineDiff(KindChanged, dels[k], l, s, ins[k]))
	}
	for _, i := range dels[n:] {
		diffs = append(diffs, lineDiff(KindMissing, i, l, s, -1))
	}
	for _, j := range ins[n:] {
		diffs = append(diffs, lineDiff(KindExtra, -1, l, s, j))
	}
	return diffs
}

// lineDiff is one text-only difference at legacy line i or (extra)
// service line j; -1 is absent.
func lineDiff(k Kind, i int, l, s []string, j int) Difference {
	at := i
	if i < 0 {
		at = j
	}
	d := Difference{Path: "line:" + strconv.Itoa(at+1), Kind: k,
		Excerpt: &Excerpt{Legacy: linesAround(l, i, j), Service: linesAround(s, j, i)}}
	if i >= 0 {
		d.Legacy = cut(l[i])
	}
	if j >= 0 {
		d.Service = cut(s[j])
	}
	return d
}

// linesAround is the lines of one side around line i (or around other,
// the other side's line, when i is absent), cut to MaxExcerptLen.
func linesAround(lines []string, i, other int) string {
	if i < 0 {
		i = other
	}
	lo, hi := max(i-excerptLines, 0), min(i+excerptLines+1, len(lines))
	if lo >= hi {
		return ""
	}
	return cutTo(strings.Join(lines[lo:hi], "\n"), MaxExcerptLen)
}

// visibleLineRunes maps each distinct line to a rune (never a surrogate).
func visibleLineRunes(l, s []string) ([]rune, []rune) {
	ids := make(map[string]rune, len(l))
	conv := func(lines []string) []rune {
		out := make([]rune, len(lines))
		for i, line := range lines {
			r, ok := ids[line]
			if !ok {
				r = runeFor(len(ids))
				ids[line] = r
			}
			out[i] = r
		}
		return out
	}
	return conv(l), conv(s)
}

// runeFor is the rune standing for the n-th distinct item (0-based):
// valid and never a surrogate, since diffmatchpatch turns runes into
// strings and back.
func runeFor(n int) rune {
	r := rune(n + 1)
	if r >= 0xD800 {
		r += 0x800
	}
	return r
}
