package shadow

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/report"
)

// TestLearnerMerge: merged paths take the larger count, so merging twice
// changes nothing; whole-body paths and zero counts are not merged; the
// bound on learned paths holds.
func TestLearnerMerge(t *testing.T) {
	tests := []struct {
		name    string
		learned []string // learned locally first, once each
		merge   [][]report.NoisePath
		want    []report.NoisePath
	}{
		{name: "into empty", merge: [][]report.NoisePath{{{Path: "/at", Count: 2}}},
			want: []report.NoisePath{{Path: "/at", Count: 2}}},
		{name: "twice is once", merge: [][]report.NoisePath{{{Path: "/at", Count: 2}}, {{Path: "/at", Count: 2}}},
			want: []report.NoisePath{{Path: "/at", Count: 2}}},
		{name: "larger local count stays", learned: []string{"/at", "/at", "/at"},
			merge: [][]report.NoisePath{{{Path: "/at", Count: 1}}}, want: []report.NoisePath{{Path: "/at", Count: 3}}},
		{name: "root, empty and zero skipped",
			merge: [][]report.NoisePath{{{Path: "/", Count: 5}, {Path: "", Count: 5}, {Path: "/id", Count: 0}}},
			want:  []report.NoisePath{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLearner()
			for _, p := range tc.learned {
				l.Learn([]diff.Difference{{Path: p, Kind: diff.KindChanged}})
			}
			for _, m := range tc.merge {
				l.Merge(m)
			}
			if got := l.Paths(); !slices.Equal(got, tc.want) {
				t.Errorf("Paths() = %v, want %v", got, tc.want)
			}
		})
	}
	l := NewLearner()
	many := make([]report.NoisePath, maxNoisePaths+10)
	for i := range many {
		many[i] = report.NoisePath{Path: fmt.Sprintf("/p%d", i), Count: 1}
	}
	l.Merge(many)
	if n := len(l.Paths()); n != maxNoisePaths {
		t.Errorf("%d paths after merging %d, want the bound %d", n, len(many), maxNoisePaths)
	}
}
