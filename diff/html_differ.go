package diff

import (
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Work bounds of the sequence diffs of one HTML comparison. Myers' diff
// of n+m items costs at most (n+m)² steps; each diff is charged that
// bound against diffBudget and runs exactly while the budget lasts.
// Past it, up to maxTimedDiffs diffs run with diffTimeout (their result
// may then depend on the machine's speed: a coarser alignment, never a
// wrong one), and the rest are coarse: common head and tail equal, the
// middle deleted and inserted whole (then paired by tag, in order).
const (
	diffBudget    = 1 << 26
	maxTimedDiffs = 4
	diffTimeout   = 100 * time.Millisecond
)

// differ runs the sequence diffs of one comparison within the bounds.
type differ struct {
	budget int
	timed  int
}

// newDiffer returns a differ with the whole budget.
func newDiffer() differ { return differ{budget: diffBudget} }

// diff is the Myers diff of a and b, or a coarse one past the bounds.
func (d *differ) diff(a, b []rune) []diffmatchpatch.Diff {
	head := commonHead(a, b)
	tail := commonTail(a[head:], b[head:])
	n := len(a) + len(b) - 2*head - 2*tail
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	switch {
	case n*n <= d.budget:
		d.budget -= n * n
	case d.timed < maxTimedDiffs:
		d.timed++
		dmp.DiffTimeout = diffTimeout
	default:
		return coarseDiff(a, b, head, tail)
	}
	return dmp.DiffMainRunes(a, b, false)
}

// commonHead is the length of the common prefix of a and b.
func commonHead(a, b []rune) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// commonTail is the length of the common suffix of a and b.
func commonTail(a, b []rune) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// coarseDiff keeps the common head and tail equal and deletes and
// inserts the middle whole.
func coarseDiff(a, b []rune, head, tail int) []diffmatchpatch.Diff {
	var out []diffmatchpatch.Diff
	add := func(t diffmatchpatch.Operation, rs []rune) {
		if len(rs) > 0 {
			out = append(out, diffmatchpatch.Diff{Type: t, Text: string(rs)})
		}
	}
	add(diffmatchpatch.DiffEqual, a[:head])
	add(diffmatchpatch.DiffDelete, a[head:len(a)-tail])
	add(diffmatchpatch.DiffInsert, b[head:len(b)-tail])
	add(diffmatchpatch.DiffEqual, a[len(a)-tail:])
	return out
}
