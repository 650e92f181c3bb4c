package routing

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/stage"
)

func TestCanonicalPath(t *testing.T) {
	tests := []struct {
		in, want string
		held     Allow
		ok       bool
	}{
		{"/public/x", "/public/x", 0, true},
		{"/", "/", 0, true},
		{"*", "*", 0, true},
		{"/%70ublic/x", "/public/x", 0, true},
		{"/%7e%41%2d%5f%2E", "/~A-_.", 0, true},
		{"/a%2fb", "/a%2Fb", AllowEncodedSlash, true},
		{"/a%3bb", "/a%3Bb", 0, true},
		{"/a;b/c", "/a;b/c", AllowSemicolon, true},
		{"/a\\b", "/a%5Cb", AllowBackslash, true},
		{"/a%5cb", "/a%5Cb", AllowBackslash, true},
		{"//public/x", "//public/x", AllowEmptySegment, true},
		{"/a%00b", "/a%00b", AllowControl, true},
		{"/a%c0%ae", "/a%C0%AE", AllowInvalidUTF8, true},
		{"/caf%c3%a9", "/caf%C3%A9", 0, true},
		{"/a%252e%252e/b", "/a%252e%252e/b", AllowDoubleEncoding, true},
		{"/a%25%32%65", "/a%252e", AllowDoubleEncoding, true},
		{"/a%2525%32f", "/a%25252f", AllowDoubleEncoding, true},
		{"/a%2541", "/a%2541", 0, true},
		{"/a b", "/a%20b", 0, true},
		{"/.well-known/x", "/.well-known/x", 0, true},
		{"/a/.../b", "/a/.../b", 0, true},
		{"/a/../b", "", 0, false},
		{"/a/./b", "", 0, false},
		{"/a/..", "", 0, false},
		{"/a/%2e%2e/b", "", 0, false},
		{"/a/.%2E/b", "", 0, false},
		{"/public/..;/admin", "", 0, false},
		{"/public/..%5cadmin", "", 0, false},
		{"/public/..\\admin", "", 0, false},
		{"/public/..%2fadmin", "", 0, false},
		{"/a%zz", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, held, ok := CanonicalPath(tt.in)
			if ok != tt.ok || ok && (got != tt.want || held != tt.held) {
				t.Errorf("CanonicalPath(%q) = %q, %v, %v; want %q, %v, %v", tt.in, got, held, ok, tt.want, tt.held, tt.ok)
			}
		})
	}
}

func TestCanonicalPathPlainDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { CanonicalPath("/api/orders/42/items") }); n != 0 {
		t.Errorf("%v allocations for a canonical path; want 0", n)
	}
}

// ambiguous reports which byte-level marks of an ambiguous property stay
// in a canonical path that held none of them.
func ambiguous(canon string) string {
	switch {
	case strings.ContainsAny(canon, ";\\"):
		return "raw ; or \\"
	case strings.Contains(canon, "//"):
		return "//"
	case strings.Contains(canon, "%2F"), strings.Contains(canon, "%5C"):
		return "encoded slash or backslash"
	case hasDotSegment(canon):
		return "dot-segment"
	}
	for i := 0; i < len(canon); i++ {
		if c := canon[i]; c < 0x21 || c >= 0x7f {
			return fmt.Sprintf("raw byte %#x", c)
		}
	}
	return ""
}

func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/public/x", "/public/..;/admin", "/%70ublic", "//a", "/a%2fb", "/a%252e", "/%c0%ae"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		canon, held, ok := CanonicalPath(p)
		if !ok {
			return
		}
		again, held2, ok2 := CanonicalPath(canon)
		if !ok2 || again != canon || held2 != held {
			t.Fatalf("not idempotent: %q -> %q (%v) -> %q (%v, %v)", p, canon, held, again, held2, ok2)
		}
		if held == 0 && strings.HasPrefix(p, "/") {
			if what := ambiguous(canon); what != "" {
				t.Fatalf("%q accepted as plain, but its canonical form %q holds %s", p, canon, what)
			}
		}
	})
}

// BenchmarkCanonicalPath measures the path check on the request path:
// a path that is canonical already (most traffic) and one that is not.
func BenchmarkCanonicalPath(b *testing.B) {
	for _, p := range []string{"/api/fn99/items/42", "/api/fn99/items/%34%32"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				CanonicalPath(p)
			}
		})
	}
}

// TestCaseInsensitiveMatch checks file order between case-sensitive and
// case-insensitive routes and that only the latter ignore case.
func TestCaseInsensitiveMatch(t *testing.T) {
	specs := []Spec{
		{Name: "upper", Prefix: "/API/v1/", Stage: stage.Legacy},
		{Name: "ci", Prefix: "/api/", CaseInsensitive: true, Stage: stage.Legacy},
		{Name: "ci-tpl", Path: "/Shop/{id:[0-9]+}", CaseInsensitive: true, Stage: stage.Legacy},
		{Name: "exact", Prefix: "/docs/", Stage: stage.Legacy},
	}
	tab, err := Build(specs, named("monolith"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"/API/v1/x", "upper"},
		{"/api/v1/x", "ci"},
		{"/Api/v2/x", "ci"},
		{"/API/V1/x", "ci"},
		{"/shop/42", "ci-tpl"},
		{"/SHOP/42", "ci-tpl"},
		{"/shop/x", ""},
		{"/docs/a", "exact"},
		{"/DOCS/a", ""},
		{"/a%2Fb", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		got := ""
		if rt := tab.Match(req); rt != nil {
			got = rt.Name()
		}
		if got != tt.want {
			t.Errorf("%s matched %q; want %q", tt.path, got, tt.want)
		}
	}
}
