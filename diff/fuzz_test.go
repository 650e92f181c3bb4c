package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// fuzzRules exercise ignore paths, multisets and tolerance.
func fuzzRules(t *testing.T) []*Rules {
	r, err := NewRules(RulesConfig{
		IgnorePaths: []string{"/*/x", "/0"},
		Unordered:   []string{"/*", "/*/*/*"},
		Tolerance:   Tolerance{Abs: 0.5, Rel: 0.01},
	})
	if err != nil {
		t.Fatal(err)
	}
	return []*Rules{nil, r}
}

func FuzzJSONDiff(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1,2]}`), []byte(`{"b":[2,1],"a":1.0}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, rules := range fuzzRules(t) {
			checkSelf(t, a, rules)
			checkSelf(t, b, rules)
			ab := Compare(js(string(a)), js(string(b)), rules)
			ba := Compare(js(string(b)), js(string(a)), rules)
			noPanic(t, ab)
			noPanic(t, ba)
			if (ab.Verdict == VerdictEqual) != (ba.Verdict == VerdictEqual) {
				t.Fatalf("asymmetric: a,b %s %v; b,a %s %v", ab.Verdict, ab.Differences, ba.Verdict, ba.Differences)
			}
		}
	})
}

// checkSelf checks that a body equals itself, also re-indented.
func checkSelf(t *testing.T, a []byte, rules *Rules) {
	if got := Compare(js(string(a)), js(string(a)), rules); got.Verdict != VerdictEqual {
		t.Fatalf("a vs a: %s %q %v", got.Verdict, got.Error, got.Differences)
	}
	var ind bytes.Buffer
	if json.Indent(&ind, a, "", "  ") != nil {
		return
	}
	if got := Compare(js(string(a)), js(ind.String()), rules); got.Verdict != VerdictEqual {
		t.Fatalf("a vs indented a: %s %q %v", got.Verdict, got.Error, got.Differences)
	}
}

// noPanic fails on a recovered panic.
func noPanic(t *testing.T, r Result) {
	if strings.Contains(r.Error, "panicked") {
		t.Fatal(r.Error)
	}
}
