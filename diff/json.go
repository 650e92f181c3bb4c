package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// parseJSON decodes one JSON value, numbers as json.Number. It fails on
// anything but exactly one value (whitespace aside).
func parseJSON(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return v, true
}

// compareJSON compares two decoded bodies. It prunes and rewrites both
// trees in place.
func compareJSON(l, s any, r *Rules) []Difference {
	prune(l, r.ignore)
	prune(s, r.ignore)
	red := reducer{rules: r}
	rl, rs, eq := red.reduce(l, s)
	if eq {
		return red.diffs
	}
	ml, okl := rl.(map[string]any)
	ms, oks := rs.(map[string]any)
	if !okl || !oks { // the roots themselves differ
		return append(red.diffs, newDifference("", rl, true, rs, true))
	}
	return reportDiffs(ml, ms, r, red.diffs)
}

// pruner deletes what the ignore patterns cover from one decoded tree.
type pruner struct {
	pats []pattern
	path []step
}

// prune applies the ignore patterns to v in place.
func prune(v any, pats []pattern) {
	if len(pats) > 0 {
		p := pruner{pats: pats}
		p.walk(v)
	}
}

// walk prunes the children of v: covered object keys are deleted,
// covered array elements become ignored{}.
func (p *pruner) walk(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if p.visit(step{key: k, idx: -1}, c) {
				delete(x, k)
			}
		}
	case []any:
		for i, c := range x {
			if p.visit(step{idx: i}, c) {
				x[i] = ignored{}
			}
		}
	}
}

// visit handles child c at st: it reports whether c is covered, and walks
// it when some pattern reaches below it.
func (p *pruner) visit(st step, c any) (covered bool) {
	p.path = append(p.path, st)
	defer func() { p.path = p.path[:len(p.path)-1] }()
	deeper := false
	for _, pat := range p.pats {
		if !pat.prefixOf(p.path) {
			continue
		}
		if len(pat) == len(p.path) {
			return true
		}
		deeper = true
	}
	if deeper {
		p.walk(c)
	}
	return false
}

// maxOrderDepth bounds the depth of the arrays checked for order-only
// differences: each check walks the elements, so checking at every level
// of a deeply nested body would cost depth × size.
const maxOrderDepth = 64

// reducer walks both pruned trees together and drops every equal
// subtree, so that cmp only sees what differs. Arrays become residue maps
// keyed by index (so cmp compares them index by index); order-only
// differences are recorded here.
type reducer struct {
	rules *Rules
	path  []step
	diffs []Difference
}

// reduce returns the differing residue of a and b, or eq.
func (rd *reducer) reduce(a, b any) (ra, rb any, eq bool) {
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			return rd.reduceObject(x, y)
		}
	case []any:
		if y, ok := b.([]any); ok {
			return rd.reduceArray(x, y)
		}
	}
	if rd.rules.equal(a, b) {
		return nil, nil, true
	}
	return a, b, false
}

// reduceObject deletes the equal members of x and y.
func (rd *reducer) reduceObject(x, y map[string]any) (any, any, bool) {
	for k, v := range x {
		w, ok := y[k]
		if !ok {
			continue
		}
		rd.path = append(rd.path, step{key: k, idx: -1})
		rv, rw, eq := rd.reduce(v, w)
		rd.path = rd.path[:len(rd.path)-1]
		if eq {
			delete(x, k)
			delete(y, k)
		} else {
			x[k], y[k] = rv, rw
		}
	}
	return x, y, len(x) == 0 && len(y) == 0
}

// reduceArray compares two arrays index by index (or as multisets).
func (rd *reducer) reduceArray(x, y []any) (any, any, bool) {
	if rd.unordered() {
		return rd.reduceUnordered(x, y)
	}
	n := min(len(x), len(y))
	check := len(rd.path) < maxOrderDepth
	var unequal []int
	for i := range n {
		if !check || !rd.rules.equal(x[i], y[i]) {
			unequal = append(unequal, i)
		}
	}
	if len(unequal) == 0 && len(x) == len(y) {
		return nil, nil, true
	}
	if check && len(x) == len(y) && len(unequal) > 1 && sameElements(x, y, unequal) {
		rd.diffs = append(rd.diffs, Difference{Path: pointer(rd.path), Kind: KindOrder,
			Legacy: encodeValue(x), Service: encodeValue(y)})
		return nil, nil, true
	}
	rx, ry := map[string]any{}, map[string]any{}
	for _, i := range unequal {
		rd.reducePair(rx, ry, i, x[i], y[i])
	}
	addTail(rx, x, n)
	addTail(ry, y, n)
	return rx, ry, len(rx) == 0 && len(ry) == 0
}

// reduceUnordered matches equal elements away and compares the leftovers
// in order.
func (rd *reducer) reduceUnordered(x, y []any) (any, any, bool) {
	lx, ly := matchAway(x, y)
	n := min(len(lx), len(ly))
	rx, ry := map[string]any{}, map[string]any{}
	for k := range n {
		rd.reducePair(rx, ry, lx[k], x[lx[k]], y[ly[k]])
	}
	for _, i := range lx[n:] {
		addElem(rx, strconv.Itoa(i), x[i])
	}
	for _, j := range ly[n:] {
		addElem(ry, freeKey(j, rx, ry), y[j])
	}
	return rx, ry, len(rx) == 0 && len(ry) == 0
}

// reducePair reduces one pair of elements and keeps it under index i if
// it differs.
func (rd *reducer) reducePair(rx, ry map[string]any, i int, a, b any) {
	rd.path = append(rd.path, step{idx: i})
	ra, rb, eq := rd.reduce(a, b)
	rd.path = rd.path[:len(rd.path)-1]
	if !eq {
		k := strconv.Itoa(i)
		rx[k], ry[k] = ra, rb
	}
}

// addTail keeps the elements of a from index n on (one side only).
func addTail(m map[string]any, a []any, n int) {
	for i := n; i < len(a); i++ {
		addElem(m, strconv.Itoa(i), a[i])
	}
}

// addElem keeps an unpaired element unless it is ignored.
func addElem(m map[string]any, k string, v any) {
	if _, ok := v.(ignored); !ok {
		m[k] = v
	}
}

// freeKey is index j as a key not yet used in rx or ry.
func freeKey(j int, rx, ry map[string]any) string {
	for ; ; j++ {
		k := strconv.Itoa(j)
		_, inx := rx[k]
		_, iny := ry[k]
		if !inx && !iny {
			return k
		}
	}
}

// unordered reports whether the array at the current path is a multiset.
func (rd *reducer) unordered() bool {
	for _, p := range rd.rules.unordered {
		if p.exact(rd.path) {
			return true
		}
	}
	return false
}

// matchAway pairs off exactly equal elements of x and y and returns the
// indexes of the rest, in order.
func matchAway(x, y []any) (lx, ly []int) {
	pool := make(map[string][]int, len(x))
	var buf []byte
	for i, v := range x {
		buf = appendJSON(buf[:0], v, true, 0)
		pool[string(buf)] = append(pool[string(buf)], i)
	}
	matched := make([]bool, len(x))
	for j, v := range y {
		buf = appendJSON(buf[:0], v, true, 0)
		if is := pool[string(buf)]; len(is) > 0 {
			matched[is[0]] = true
			pool[string(buf)] = is[1:]
		} else {
			ly = append(ly, j)
		}
	}
	for i, m := range matched {
		if !m {
			lx = append(lx, i)
		}
	}
	return lx, ly
}

// sameElements reports whether x and y hold the same multiset of elements
// at the given indexes (the others are equal pairwise already).
func sameElements(x, y []any, idx []int) bool {
	count := make(map[string]int, len(idx))
	var buf []byte
	for _, i := range idx {
		buf = appendJSON(buf[:0], x[i], true, 0)
		count[string(buf)]++
	}
	for _, i := range idx {
		buf = appendJSON(buf[:0], y[i], true, 0)
		if count[string(buf)] == 0 {
			return false
		}
		count[string(buf)]--
	}
	return true
}

// equal is deep equality of decoded values under the rules' number
// policy; ignored elements equal anything.
func (r *Rules) equal(a, b any) bool {
	if isIgnored(a) || isIgnored(b) {
		return true
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && r.equalObjects(x, y)
	case []any:
		y, ok := b.([]any)
		return ok && r.equalArrays(x, y)
	case json.Number:
		y, ok := b.(json.Number)
		return ok && r.numbersEqual(x, y)
	case string, bool, nil:
		return a == b
	default:
		return false
	}
}

// equalObjects is equal for two objects.
func (r *Rules) equalObjects(x, y map[string]any) bool {
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		w, ok := y[k]
		if !ok || !r.equal(v, w) {
			return false
		}
	}
	return true
}

// equalArrays is equal for two arrays, index by index.
func (r *Rules) equalArrays(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !r.equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// isIgnored reports whether v is an ignored array element.
func isIgnored(v any) bool {
	_, ok := v.(ignored)
	return ok
}
