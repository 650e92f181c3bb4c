package shadow

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/report"
)

func changed(path string) diff.Difference { return diff.Difference{Path: path, Kind: diff.KindChanged} }

// TestLearner checks what a Learner learns from differences between two
// answers of the monolith, and how it answers IsNoise and Paths.
func TestLearner(t *testing.T) {
	tests := []struct {
		name  string
		learn [][]diff.Difference
		noisy []string
		quiet []string
		paths []report.NoisePath
	}{
		{name: "nothing learned", learn: [][]diff.Difference{nil, {}},
			quiet: []string{"/a", "status", "", "/items/1/x"}, paths: []report.NoisePath{}},
		{name: "array indexes generalized",
			learn: [][]diff.Difference{{changed("/items/3/x")}},
			noisy: []string{"/items/3/x", "/items/7/x", "/items/123/x"},
			quiet: []string{"/items/7/y", "/items/x", "/items/7", "/other/7/x", "/items/7/x/1"},
			paths: []report.NoisePath{{Path: "/items/*/x", Count: 1}}},
		{name: "digit object keys generalized too",
			learn: [][]diff.Difference{{changed("/by_id/42/updated_at")}},
			noisy: []string{"/by_id/7/updated_at"},
			paths: []report.NoisePath{{Path: "/by_id/*/updated_at", Count: 1}}},
		{name: "status differences never learned",
			learn: [][]diff.Difference{{{Path: "status", Kind: diff.KindStatus, Legacy: "200", Service: "503"}}},
			quiet: []string{"status"}, paths: []report.NoisePath{}},
		{name: "status skipped among others",
			learn: [][]diff.Difference{{{Path: "status", Kind: diff.KindStatus}, changed("/ts"),
				{Path: "header:X-Trace", Kind: diff.KindHeader}, {Path: "body", Kind: diff.KindBody}}},
			noisy: []string{"/ts", "header:X-Trace"}, quiet: []string{"status", "header:X-Other", "body"},
			paths: []report.NoisePath{{Path: "/ts", Count: 1}, {Path: "header:X-Trace", Count: 1}}},
		{name: "a whole body is never noise (it would hide every difference in it)",
			learn: [][]diff.Difference{{{Path: "body", Kind: diff.KindBody}, {Path: "", Kind: diff.KindType}, changed("/")}},
			quiet: []string{"body", "", "/"}, paths: []report.NoisePath{}},
		{name: "most often seen first, ties by path",
			learn: [][]diff.Difference{{changed("/b"), changed("/a")}, {changed("/a/0")}, {changed("/a/9")},
				{changed("/c"), changed("/a")}, {changed("/a/1")}},
			noisy: []string{"/a", "/a/5", "/b", "/c"},
			paths: []report.NoisePath{{Path: "/a/*", Count: 3}, {Path: "/a", Count: 2},
				{Path: "/b", Count: 1}, {Path: "/c", Count: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLearner()
			for _, ds := range tt.learn {
				l.Learn(ds)
			}
			for _, p := range tt.noisy {
				if !l.IsNoise(p) {
					t.Errorf("IsNoise(%q) = false, want true", p)
				}
			}
			for _, p := range tt.quiet {
				if l.IsNoise(p) {
					t.Errorf("IsNoise(%q) = true, want false", p)
				}
			}
			if got := l.Paths(); !slices.Equal(got, tt.paths) {
				t.Errorf("Paths() = %v, want %v", got, tt.paths)
			}
		})
	}
}

// TestLearnerBounded stops learning new paths at maxNoisePaths but keeps
// counting the ones it knows.
func TestLearnerBounded(t *testing.T) {
	l := NewLearner()
	var ds []diff.Difference
	for i := range maxNoisePaths + 100 {
		ds = append(ds, changed(fmt.Sprintf("/k%d", i)))
	}
	l.Learn(ds)
	if n := len(l.Paths()); n != maxNoisePaths {
		t.Fatalf("learned %d paths, want the bound %d", n, maxNoisePaths)
	}
	first, past := "/k0", fmt.Sprintf("/k%d", maxNoisePaths)
	if !l.IsNoise(first) || l.IsNoise(past) {
		t.Errorf("IsNoise(%s) = %v, IsNoise(%s) = %v; want true, false", first, l.IsNoise(first), past, l.IsNoise(past))
	}
	l.Learn([]diff.Difference{changed(first), changed(past), changed("/new")})
	paths := l.Paths()
	if len(paths) != maxNoisePaths || paths[0] != (report.NoisePath{Path: first, Count: 2}) {
		t.Errorf("after more learning: %d paths, first %v; want %d, {%s 2}", len(paths), paths[0], maxNoisePaths, first)
	}
	if l.IsNoise(past) || l.IsNoise("/new") {
		t.Error("learned a path past the bound")
	}
}

// TestLearnerKeptAcrossPolicies gives every policy of a route the same
// Learner, so a reload keeps what was learned, and reports it through
// Dispatcher.Noise.
func TestLearnerKeptAcrossPolicies(t *testing.T) {
	d := New(Options{})
	cfg := PolicyConfig{Route: testRoute, Noise: true}
	p1, err := d.NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p1.learner.Learn([]diff.Difference{changed("/items/0/ts")})
	p2, err := d.NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p1.learner != p2.learner || !p2.learner.IsNoise("/items/5/ts") {
		t.Error("a new policy for the route does not keep the learned noise")
	}
	want := []report.NoisePath{{Path: "/items/*/ts", Count: 1}}
	if got := d.Noise(testRoute); !slices.Equal(got, want) {
		t.Errorf("Noise = %v, want %v", got, want)
	}
	if got := d.Noise("other"); got != nil {
		t.Errorf("Noise of a route without learning = %v", got)
	}
	p3, err := d.NewPolicy(PolicyConfig{Route: "quiet"})
	if err != nil {
		t.Fatal(err)
	}
	if p3.learner != nil || d.Noise("quiet") != nil {
		t.Error("a route without Noise got a learner")
	}
}
