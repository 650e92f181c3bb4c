package diff

import (
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// reportDiffs runs cmp over two residue trees and collects a Difference
// per leaf that differs, after the ones already in diffs.
func reportDiffs(l, s map[string]any, r *Rules, diffs []Difference) []Difference {
	rep := &reporter{diffs: diffs}
	cmp.Equal(l, s, cmp.Comparer(r.numbersEqual), cmp.Reporter(rep))
	return rep.diffs
}

// reporter is a cmp.Reporter that records each differing leaf with its
// JSON Pointer.
type reporter struct {
	steps []cmp.PathStep
	diffs []Difference
}

// PushStep enters a path step.
func (r *reporter) PushStep(ps cmp.PathStep) { r.steps = append(r.steps, ps) }

// PopStep leaves the last path step.
func (r *reporter) PopStep() { r.steps = r.steps[:len(r.steps)-1] }

// Report records a difference at the current path.
func (r *reporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	vx, vy := r.steps[len(r.steps)-1].Values()
	l, hasL := valueOf(vx)
	s, hasS := valueOf(vy)
	r.diffs = append(r.diffs, newDifference(r.pointer(), l, hasL, s, hasS))
}

// pointer is the JSON Pointer of the current path: its map keys (object
// keys, or array indexes in residue maps).
func (r *reporter) pointer() string {
	var b strings.Builder
	for _, ps := range r.steps {
		if mi, ok := ps.(cmp.MapIndex); ok {
			b.WriteByte('/')
			b.WriteString(escapeKey(mi.Key().String()))
		}
	}
	return b.String()
}

// valueOf unwraps a reflected value; ok is false when it is absent.
func valueOf(v reflect.Value) (any, bool) {
	if !v.IsValid() {
		return nil, false
	}
	return v.Interface(), true
}
