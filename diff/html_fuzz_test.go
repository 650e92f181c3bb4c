package diff

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzHTMLRules exercise the defaults, ignore selectors and text only.
func fuzzHTMLRules(t testing.TB) []*Rules {
	return []*Rules{nil,
		htmlRules(t, RulesConfig{IgnoreSelectors: []string{"footer", "li:nth-of-type(2)", "input@value", "p::text"}}),
		htmlRules(t, RulesConfig{TextOnly: true, IgnoreSelectors: []string{"time::text"}}),
	}
}

func FuzzCompareHTML(f *testing.F) {
	files, _ := filepath.Glob("testdata/html/*.html")
	var pages [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		pages = append(pages, b)
	}
	for i, p := range pages {
		f.Add(p, pages[(i+1)%len(pages)])
		f.Add(p, bytes.Replace(p, []byte("<li"), []byte("<li class=x"), 1))
	}
	f.Add([]byte(doc(`<ul><li>a<li>b<li>c</ul>`)), []byte(doc(`<ul><li>c<li>a<li>b</ul>`)))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, r := range fuzzHTMLRules(t) {
			rr := r
			if rr == nil {
				rr = defaultRules
			}
			if d, ok := compareHTML(a, bytes.Clone(a), rr); ok && len(d) != 0 {
				t.Fatalf("a vs a: %+v", d)
			}
			ab, okab := compareHTML(a, b, rr)
			ba, okba := compareHTML(b, a, rr)
			if okab != okba || (len(ab) == 0) != (len(ba) == 0) {
				t.Fatalf("asymmetric: a,b %v %+v; b,a %v %+v", okab, ab, okba, ba)
			}
			res := Compare(page(string(a)), page(string(b)), r)
			noPanic(t, res)
		}
	})
}
