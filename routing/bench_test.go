package routing

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stranglerfig/strangler/stage"
)

// benchSpecs returns n routes shaped like a real migration: each function
// of the monolith under its own literal path, with a template tail.
func benchSpecs(n int) []Spec {
	specs := make([]Spec, n)
	for i := range specs {
		specs[i] = Spec{
			Name:    fmt.Sprintf("route-%d", i),
			Path:    fmt.Sprintf("/api/fn%d/items/{id:[0-9]+}", i),
			Methods: []string{"GET"},
			Stage:   stage.Canary, Percent: 50, Sticky: "header:X-User-ID",
			Service: named("svc"),
		}
	}
	return specs
}

// BenchmarkLookup measures matching plus the canary decision for a
// request to the last route of the table.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			tab, err := Build(benchSpecs(n), named("monolith"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/api/fn%d/items/42", n-1), nil)
			req.Header.Set("X-User-ID", "alice")
			b.ReportAllocs()
			for b.Loop() {
				if d, _, _ := tab.Decide(req); d.Route == "" {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkLookupUnmatched measures a request no route claims (it goes
// to the monolith).
func BenchmarkLookupUnmatched(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			tab, err := Build(benchSpecs(n), named("monolith"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/legacy/page/7", nil)
			b.ReportAllocs()
			for b.Loop() {
				if d, _, _ := tab.Decide(req); d.Route != "" {
					b.Fatal("matched")
				}
			}
		})
	}
}

// nopWriter is a ResponseWriter that keeps nothing, for benchmarks.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkRouterServe measures the Router's own work per request (path
// checks, lookup, canary decision) in front of a handler that does
// nothing, for a plain path and for one that needs canonicalizing.
func BenchmarkRouterServe(b *testing.B) {
	tab, err := Build(benchSpecs(100), named("monolith"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	rt := NewRouter(tab)
	for _, target := range []string{"/api/fn99/items/42", "/api/fn99/items/%34%32"} {
		b.Run(target, func(b *testing.B) {
			w := &nopWriter{h: http.Header{}}
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("X-User-ID", "alice")
			sent := *req.URL
			b.ReportAllocs()
			for b.Loop() {
				*req.URL = sent // as the server parsed it
				rt.ServeHTTP(w, req)
			}
		})
	}
}
