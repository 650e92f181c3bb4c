package diff

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// bodyCase is one comparison of two bodies of one content type.
type bodyCase struct {
	desc            string
	legacy, service string
	cfg             RulesConfig
	verdict         Verdict
	want            []Difference // compared without their Excerpt
}

// runBodyCases compares each case's bodies, sent as contentType, and
// checks the verdict, the body kind and the differences.
func runBodyCases(t *testing.T, contentType string, kind BodyKind, cases []bodyCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.desc, func(t *testing.T) {
			rules, err := NewRules(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := Compare(resp(tt.legacy, "Content-Type", contentType), resp(tt.service, "Content-Type", contentType), rules)
			if got.Verdict != tt.verdict || got.BodyKind != kind {
				t.Errorf("verdict, kind = %s, %s; want %s, %s (error %q, differences %+v)",
					got.Verdict, got.BodyKind, tt.verdict, kind, got.Error, got.Differences)
			}
			want := tt.want
			if want == nil {
				want = []Difference{}
			}
			if d := cmp.Diff(want, withoutExcerpts(got.Differences)); d != "" {
				t.Errorf("differences (-want +got):\n%s", d)
			}
		})
	}
}

// withoutExcerpts copies diffs with their Excerpts left out.
func withoutExcerpts(diffs []Difference) []Difference {
	out := make([]Difference, len(diffs))
	for i, d := range diffs {
		d.Excerpt = nil
		out[i] = d
	}
	return out
}

// learned is a NoiseSet of generalized paths, as the shadow package's
// learner keeps them.
type learned map[string]bool

func (l learned) IsNoise(path string) bool { return l[Generalize(path)] }

// learn builds a NoiseSet from the differences of two answers.
func learn(res Result) learned {
	l := learned{}
	for _, d := range res.Differences {
		l[Generalize(d.Path)] = true
	}
	return l
}

func TestCompareText(t *testing.T) {
	runBodyCases(t, "text/plain; charset=utf-8", BodyText, []bodyCase{
		{desc: "CRLF vs LF", legacy: "a\r\nb\r\nc\r\n", service: "a\nb\nc\n", verdict: VerdictEqual},
		{desc: "final newline", legacy: "a\nb\n", service: "a\nb", verdict: VerdictEqual},
		{desc: "ignored line", legacy: "a\nb 10:00\nc", service: "a\nb 10:01\nc",
			cfg: RulesConfig{IgnoreLines: []int{2}}, verdict: VerdictEqual},
		{desc: "marker echo dropped", legacy: "GET / HTTP/1.1\nAccept: */*\n",
			service: "GET / HTTP/1.1\nAccept: */*\nX-Strangler-Shadow: 1\n", verdict: VerdictEqual},
		{desc: "marker echo keeps later line numbers", legacy: "a\nb\nc",
			service: "a\nX-Strangler-Shadow: 1\nb\nX", verdict: VerdictDifferent,
			want: []Difference{{Path: "line:3", Kind: KindChanged, Legacy: "c", Service: "X"}}},
		{desc: "changed line", legacy: "a\nb\nc\nd", service: "a\nb\nC\nd", verdict: VerdictDifferent,
			want: []Difference{{Path: "line:3", Kind: KindChanged, Legacy: "c", Service: "C"}}},
		{desc: "missing line is one difference", legacy: "a\nb\nc\nd\ne", service: "a\nb\nd\ne",
			verdict: VerdictDifferent,
			want:    []Difference{{Path: "line:3", Kind: KindMissing, Legacy: "c"}}},
		{desc: "extra line at the legacy line it precedes", legacy: "a\nb\nc", service: "a\nnew\nb\nc",
			verdict: VerdictDifferent,
			want:    []Difference{{Path: "line:2", Kind: KindExtra, Service: "new"}}},
		{desc: "extra line at the end", legacy: "a\nb", service: "a\nb\nc",
			verdict: VerdictDifferent,
			want:    []Difference{{Path: "line:3", Kind: KindExtra, Service: "c"}}},
		{desc: "replaced block pairs, then the rest is missing", legacy: "a\nx1\nx2\nx3\nz", service: "a\ny1\nz",
			verdict: VerdictDifferent,
			want: []Difference{
				{Path: "line:2", Kind: KindChanged, Legacy: "x1", Service: "y1"},
				{Path: "line:3", Kind: KindMissing, Legacy: "x2"},
				{Path: "line:4", Kind: KindMissing, Legacy: "x3"},
			}},
		{desc: "ignored line does not hide another", legacy: "a\nb\nc", service: "A\nb\nC",
			cfg: RulesConfig{IgnoreLines: []int{1}}, verdict: VerdictDifferent,
			want: []Difference{{Path: "line:3", Kind: KindChanged, Legacy: "c", Service: "C"}}},
		{desc: "one side empty", legacy: "a\nb", service: "",
			verdict: VerdictDifferent,
			want: []Difference{
				{Path: "line:1", Kind: KindMissing, Legacy: "a"},
				{Path: "line:2", Kind: KindMissing, Legacy: "b"},
			}},
	})
	runBodyCases(t, "text/csv", BodyText, []bodyCase{
		{desc: "csv row changed", legacy: "id,name\n1,ann\n2,bob\n", service: "id,name\n1,ann\n2,rob\n",
			verdict: VerdictDifferent,
			want:    []Difference{{Path: "line:3", Kind: KindChanged, Legacy: "2,bob", Service: "2,rob"}}},
	})
}

func TestCompareTextExcerpt(t *testing.T) {
	l := "1\n2\n3\n4\n5\n6\n7"
	s := "1\n2\n3\n4x\n5\n6\n7"
	res := Compare(resp(l, "Content-Type", "text/plain"), resp(s, "Content-Type", "text/plain"), nil)
	want := []Difference{{Path: "line:4", Kind: KindChanged, Legacy: "4", Service: "4x",
		Excerpt: &Excerpt{Legacy: "2\n3\n4\n5\n6", Service: "2\n3\n4x\n5\n6"}}}
	if d := cmp.Diff(want, res.Differences); d != "" {
		t.Errorf("differences (-want +got):\n%s", d)
	}
	res = Compare(resp(l, "Content-Type", "text/plain"), resp("1\n2\n3\n5\n6\n7", "Content-Type", "text/plain"), nil)
	want = []Difference{{Path: "line:4", Kind: KindMissing, Legacy: "4",
		Excerpt: &Excerpt{Legacy: "2\n3\n4\n5\n6", Service: "2\n3\n5\n6"}}}
	if d := cmp.Diff(want, res.Differences); d != "" {
		t.Errorf("missing line (-want +got):\n%s", d)
	}
	long := strings.Repeat("é", 400)
	res = Compare(resp(long+"\na", "Content-Type", "text/plain"), resp(long+"\nb", "Content-Type", "text/plain"), nil)
	for _, d := range res.Differences {
		if len(d.Excerpt.Legacy) > MaxExcerptLen || len(d.Excerpt.Service) > MaxExcerptLen {
			t.Errorf("excerpt of %d / %d bytes, over %d", len(d.Excerpt.Legacy), len(d.Excerpt.Service), MaxExcerptLen)
		}
		if !strings.HasSuffix(d.Excerpt.Legacy, "…") {
			t.Errorf("long excerpt not marked as cut: %q", d.Excerpt.Legacy[len(d.Excerpt.Legacy)-10:])
		}
	}
}

// monolithPage is a text page with a timestamp on line 2 and a price on
// line 4.
func monolithPage(ts, price string) string {
	return "Order 42\nGenerated " + ts + "\nItems: 3\nTotal " + price + "\nThanks\n"
}

func TestCompareTextLearnedNoise(t *testing.T) {
	plain := func(s string) Response { return resp(s, "Content-Type", "text/plain") }
	first := Compare(plain(monolithPage("10:00:01", "9.99")), plain(monolithPage("10:00:02", "9.99")), nil)
	if len(first.Differences) != 1 || first.Differences[0].Path != "line:2" {
		t.Fatalf("two monolith answers: %+v, want one difference at line:2", first.Differences)
	}
	rules, err := NewRules(RulesConfig{Noise: learn(first)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		service string
		verdict Verdict
		real    []string
	}{
		{desc: "timestamp only", service: monolithPage("11:12:13", "9.99"), verdict: VerdictNoiseOnly},
		{desc: "price changed too", service: monolithPage("11:12:13", "10.99"), verdict: VerdictDifferent,
			real: []string{"line:4"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			res := Compare(plain(monolithPage("10:00:01", "9.99")), plain(tt.service), rules)
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s: %+v", res.Verdict, tt.verdict, res.Differences)
			}
			var real []string
			for _, d := range res.Differences {
				if !d.Noise {
					real = append(real, d.Path)
				}
			}
			if d := cmp.Diff(tt.real, real); d != "" {
				t.Errorf("non-noise paths (-want +got):\n%s", d)
			}
		})
	}
}

func TestCompareTextCapsDifferences(t *testing.T) {
	var l, s strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&l, "line %d\n", i)
		fmt.Fprintf(&s, "LINE %d\n", i)
	}
	res := Compare(resp(l.String(), "Content-Type", "text/plain"), resp(s.String(), "Content-Type", "text/plain"), nil)
	if res.Verdict != VerdictDifferent || len(res.Differences) != MaxDifferences {
		t.Errorf("verdict %s with %d differences; want different with %d", res.Verdict, len(res.Differences), MaxDifferences)
	}
	// Every line but the last differs; the noise covers all but that one.
	var ls, ss strings.Builder
	n := learned{}
	for i := range 3000 {
		fmt.Fprintf(&ls, "a%d\n", i)
		if i == 2999 {
			fmt.Fprintf(&ss, "real change\n")
			continue
		}
		fmt.Fprintf(&ss, "b%d\n", i)
		n[fmt.Sprintf("line:%d", i+1)] = true
	}
	rules, err := NewRules(RulesConfig{Noise: n})
	if err != nil {
		t.Fatal(err)
	}
	res = Compare(resp(ls.String(), "Content-Type", "text/plain"), resp(ss.String(), "Content-Type", "text/plain"), rules)
	if res.Verdict != VerdictDifferent {
		t.Errorf("a real difference past the cap, behind noise: verdict %s, want different", res.Verdict)
	}
	if len(res.Differences) > MaxDifferences {
		t.Errorf("%d differences, over %d", len(res.Differences), MaxDifferences)
	}
}

func TestSeqInternerSkipsSurrogates(t *testing.T) {
	in := newSeqInterner[int](0)
	in.next = 0xD7FF
	a, _ := in.id(1)
	b, _ := in.id(2)
	if a != 0xD7FF || b != 0xE000 {
		t.Errorf("ids %#x, %#x; want 0xd7ff, 0xe000", a, b)
	}
	in.next = 0x10FFFF
	if _, ok := in.id(3); !ok {
		t.Error("last rune refused")
	}
	if _, ok := in.id(4); ok {
		t.Error("ran past the last rune")
	}
}

// TestCompareReversedIsBounded: a body reordered wholesale is Myers'
// worst case; the alignment deadline bounds it, for text and for XML.
func TestCompareReversedIsBounded(t *testing.T) {
	const n = 20000
	var lt, st, lx, sx strings.Builder
	lx.WriteString("<r>")
	sx.WriteString("<r>")
	for i := range n {
		fmt.Fprintf(&lt, "line %d\n", i)
		fmt.Fprintf(&st, "line %d\n", n-1-i)
		fmt.Fprintf(&lx, "<i>%d</i>", i)
		fmt.Fprintf(&sx, "<i>%d</i>", n-1-i)
	}
	lx.WriteString("</r>")
	sx.WriteString("</r>")
	for _, tc := range []struct{ ct, l, s string }{
		{"text/plain", lt.String(), st.String()},
		{"text/xml", lx.String(), sx.String()},
	} {
		start := time.Now()
		res := Compare(resp(tc.l, "Content-Type", tc.ct), resp(tc.s, "Content-Type", tc.ct), nil)
		took := time.Since(start)
		t.Logf("%s, %d items reversed: %v, %d differences", tc.ct, n, took, len(res.Differences))
		if res.Verdict != VerdictDifferent || len(res.Differences) != MaxDifferences {
			t.Errorf("%s: verdict %s, %d differences; want different, %d", tc.ct, res.Verdict, len(res.Differences), MaxDifferences)
		}
		if took > 5*time.Second {
			t.Errorf("%s: took %v, over 5s", tc.ct, took)
		}
	}
}
