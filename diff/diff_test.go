package diff

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// resp builds a 200 response with the given body and header pairs.
func resp(body string, kv ...string) Response {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return Response{Status: 200, Header: h, Body: []byte(body)}
}

// js is a JSON response.
func js(body string) Response { return resp(body, "Content-Type", "application/json") }

// withStatus returns r with another status.
func withStatus(r Response, status int) Response { r.Status = status; return r }

// encoded compresses body with the named Content-Encoding.
func encoded(t testing.TB, enc, body string) Response {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
		enc = "deflate"
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := js(buf.String())
	r.Header.Set("Content-Encoding", enc)
	return r
}

// sha is "sha256:<hex>" of s.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// noise is a NoiseSet of patterns.
type noise []string

func (n noise) IsNoise(path string) bool {
	for _, p := range n {
		if Match(p, path) {
			return true
		}
	}
	return false
}

func TestCompare(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		desc    string
		legacy  Response
		service Response
		cfg     RulesConfig
		verdict Verdict
		kind    BodyKind
		want    []Difference
	}{
		{
			desc:    "equal with reordered keys",
			legacy:  js(`{"a":1,"b":{"x":[1,2],"y":"s"},"c":null}`),
			service: js(`{"c":null,"b":{"y":"s","x":[1,2]},"a":1}`),
			verdict: VerdictEqual, kind: BodyJSON,
		},
		{
			desc:    "numbers beyond 2^53 differing in the last digit",
			legacy:  js(`{"id":9007199254740993}`),
			service: js(`{"id":9007199254740992}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/id", Kind: KindChanged, Legacy: "9007199254740993", Service: "9007199254740992"}},
		},
		{
			desc:    "same number written differently is equal",
			legacy:  js(`[1, 1.0, 1e0, 10e-1, -0, 0.5, 1500, 123456789012345678901234567890]`),
			service: js(`[1.0, 1, 0.1e1, 1, 0, 5E-1, 1.5e+3, 1.23456789012345678901234567890e29]`),
			verdict: VerdictEqual, kind: BodyJSON,
		},
		{
			desc:    "number vs string is a type difference",
			legacy:  js(`{"n":1}`),
			service: js(`{"n":"1"}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/n", Kind: KindType, Legacy: "1", Service: `"1"`}},
		},
		{
			desc:    "null vs object and object vs array are type differences",
			legacy:  js(`{"a":null,"b":{"x":1}}`),
			service: js(`{"a":{"x":1},"b":[1]}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{
				{Path: "/a", Kind: KindType, Legacy: "null", Service: `{"x":1}`},
				{Path: "/b", Kind: KindType, Legacy: `{"x":1}`, Service: "[1]"},
			},
		},
		{
			desc:    "root values of other types",
			legacy:  js(`{"a":1}`),
			service: js(`[1]`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "", Kind: KindType, Legacy: `{"a":1}`, Service: "[1]"}},
		},
		{
			desc:    "ignored path with wildcard",
			legacy:  js(`{"items":[{"id":1,"updated_at":"a"},{"id":2,"updated_at":"b"}]}`),
			service: js(`{"items":[{"id":1,"updated_at":"c"},{"id":2}]}`),
			cfg:     RulesConfig{IgnorePaths: []string{"/items/*/updated_at"}},
			verdict: VerdictEqual, kind: BodyJSON,
		},
		{
			desc:    "ignored subtree, other differences still seen",
			legacy:  js(`{"meta":{"took":3,"host":"a"},"n":1}`),
			service: js(`{"meta":{"took":9},"n":2}`),
			cfg:     RulesConfig{IgnorePaths: []string{"/meta"}},
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/n", Kind: KindChanged, Legacy: "1", Service: "2"}},
		},
		{
			desc:    "ignored array elements keep the others' indexes",
			legacy:  js(`{"a":[{"t":1},"x",3]}`),
			service: js(`{"a":[{"t":2},"x",4,5]}`),
			cfg:     RulesConfig{IgnorePaths: []string{"/a/0", "/a/3"}},
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/a/2", Kind: KindChanged, Legacy: "3", Service: "4"}},
		},
		{
			desc:    "absolute tolerance",
			legacy:  js(`{"a":1.00,"b":2.0}`),
			service: js(`{"a":1.005,"b":2.02}`),
			cfg:     RulesConfig{Tolerance: Tolerance{Abs: 0.01}},
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/b", Kind: KindChanged, Legacy: "2.0", Service: "2.02"}},
		},
		{
			desc:    "relative tolerance",
			legacy:  js(`{"a":100,"b":100,"c":-1e300}`),
			service: js(`{"a":101,"b":110,"c":-1.01e300}`),
			cfg:     RulesConfig{Tolerance: Tolerance{Rel: 0.02}},
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/b", Kind: KindChanged, Legacy: "100", Service: "110"}},
		},
		{
			desc:    "unordered arrays equal",
			legacy:  js(`{"tags":["a","b","c","a"],"items":[{"id":1,"t":[1,2]},{"id":2}]}`),
			service: js(`{"tags":["a","c","a","b"],"items":[{"id":2},{"t":[1,2],"id":1.0}]}`),
			cfg:     RulesConfig{Unordered: []string{"/tags", "/items"}},
			verdict: VerdictEqual, kind: BodyJSON,
		},
		{
			desc:    "unordered arrays with one different element",
			legacy:  js(`{"tags":["a","b","c"]}`),
			service: js(`{"tags":["c","a","d"]}`),
			cfg:     RulesConfig{Unordered: []string{"/tags"}},
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/tags/1", Kind: KindChanged, Legacy: `"b"`, Service: `"d"`}},
		},
		{
			desc:    "unordered arrays with wildcard and an extra element",
			legacy:  js(`{"o":[{"tags":["x","y"]}]}`),
			service: js(`{"o":[{"tags":["y","z","x"]}]}`),
			cfg:     RulesConfig{Unordered: []string{"/o/*/tags"}},
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/o/0/tags/1", Kind: KindExtra, Service: `"z"`}},
		},
		{
			desc:    "same elements reordered is one order difference",
			legacy:  js(`{"a":[1,2,{"x":3}],"b":[1,2]}`),
			service: js(`{"a":[{"x":3},1,2],"b":[1,2]}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/a", Kind: KindOrder, Legacy: `[1,2,{"x":3}]`, Service: `[{"x":3},1,2]`}},
		},
		{
			desc:    "reordered nested array inside a changed object",
			legacy:  js(`{"o":{"ids":[1,2],"n":"a"}}`),
			service: js(`{"o":{"ids":[2,1],"n":"b"}}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{
				{Path: "/o/ids", Kind: KindOrder, Legacy: "[1,2]", Service: "[2,1]"},
				{Path: "/o/n", Kind: KindChanged, Legacy: `"a"`, Service: `"b"`},
			},
		},
		{
			desc:    "missing, extra, type and changed, nested",
			legacy:  js(`{"user":{"name":"ann","age":30,"tags":["a"],"addr":{"zip":"1"}},"gone":true}`),
			service: js(`{"user":{"name":"bob","age":"30","tags":["a"],"addr":{"zip":"1","city":"x"}},"new":false}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{
				{Path: "/gone", Kind: KindMissing, Legacy: "true"},
				{Path: "/new", Kind: KindExtra, Service: "false"},
				{Path: "/user/addr/city", Kind: KindExtra, Service: `"x"`},
				{Path: "/user/age", Kind: KindType, Legacy: "30", Service: `"30"`},
				{Path: "/user/name", Kind: KindChanged, Legacy: `"ann"`, Service: `"bob"`},
			},
		},
		{
			desc:    "array elements changed in place",
			legacy:  js(`{"items":[{"id":1,"p":"1.50"},{"id":2,"p":"3"}]}`),
			service: js(`{"items":[{"id":1,"p":"1.50"},{"id":2,"p":"4"}]}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/items/1/p", Kind: KindChanged, Legacy: `"3"`, Service: `"4"`}},
		},
		{
			desc:    "longer service array: extra elements by index",
			legacy:  js(`{"a":[1,2]}`),
			service: js(`{"a":[1,2,3,[4]]}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{
				{Path: "/a/2", Kind: KindExtra, Service: "3"},
				{Path: "/a/3", Kind: KindExtra, Service: "[4]"},
			},
		},
		{
			desc:    "shorter service array: missing elements by index",
			legacy:  js(`[1,9,3]`),
			service: js(`[1,2]`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{
				{Path: "/1", Kind: KindChanged, Legacy: "9", Service: "2"},
				{Path: "/2", Kind: KindMissing, Legacy: "3"},
			},
		},
		{
			desc:    "keys with ~ and / are escaped in the pointer",
			legacy:  js(`{"a/b":{"c~d":1}}`),
			service: js(`{"a/b":{"c~d":2}}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/a~1b/c~0d", Kind: KindChanged, Legacy: "1", Service: "2"}},
		},
		{
			desc:    "status differs",
			legacy:  js(`{}`),
			service: withStatus(js(`{}`), 500),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "status", Kind: KindStatus, Legacy: "200", Service: "500"}},
		},
		{
			desc: "header differences, default-ignored Date, configured ignore",
			legacy: resp("", "Date", "Mon", "X-Trace", "1", "Cache-Control", "no-cache",
				"X-Gone", "g", "Vary", "a", "X-Multi", "a", "X-Multi", "b"),
			service: resp("", "Date", "Tue", "X-Trace", "2", "Cache-Control", "max-age=60",
				"X-New", "n", "X-Multi", "a, b"),
			cfg:     RulesConfig{IgnoreHeaders: []string{"x-trace"}},
			verdict: VerdictDifferent, kind: BodyEmpty,
			want: []Difference{
				{Path: "header:Cache-Control", Kind: KindHeader, Legacy: "no-cache", Service: "max-age=60"},
				{Path: "header:X-Gone", Kind: KindHeader, Legacy: "g"},
				{Path: "header:X-New", Kind: KindHeader, Service: "n"},
			},
		},
		{
			desc:    "non-canonical header keys",
			legacy:  Response{Status: 200, Header: http.Header{"content-type": {"text/plain"}}},
			service: Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}},
			verdict: VerdictEqual, kind: BodyEmpty,
		},
		{
			desc:    "gzip body vs plain body",
			legacy:  encoded(t, "gzip", `{"a":[1,2,3]}`),
			service: js(`{"a":[1,2,3]}`),
			verdict: VerdictEqual, kind: BodyJSON,
		},
		{
			desc:    "deflate body vs plain body, differing",
			legacy:  js(`{"a":1}`),
			service: encoded(t, "deflate", `{"a":2}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/a", Kind: KindChanged, Legacy: "1", Service: "2"}},
		},
		{
			desc:    "raw deflate vs gzip",
			legacy:  encoded(t, "raw-deflate", `{"a":1}`),
			service: encoded(t, "gzip", `{"a":1}`),
			verdict: VerdictEqual, kind: BodyJSON,
		},
		{
			desc:    "unsupported encoding compared as sent",
			legacy:  resp("\x8b\x00opaque", "Content-Encoding", "br"),
			service: resp("\x8b\x00opaque", "Content-Encoding", "br"),
			verdict: VerdictEqual, kind: BodyBinary,
		},
		{
			desc:    "empty gzip-encoded body (204)",
			legacy:  resp("", "Content-Encoding", "gzip"),
			service: resp(""),
			verdict: VerdictEqual, kind: BodyEmpty,
		},
		{
			desc:    "text difference by line",
			legacy:  resp("first\n"+strings.Repeat("a", 100)+"Hello, wörld"+strings.Repeat("z", 100)+"\nlast", "Content-Type", "text/plain"),
			service: resp("first\n"+strings.Repeat("a", 100)+"Hello, world"+strings.Repeat("z", 100)+"\nlast", "Content-Type", "text/plain"),
			verdict: VerdictDifferent, kind: BodyText,
			want: []Difference{{Path: "line:2", Kind: KindChanged,
				Legacy:  strings.Repeat("a", 100) + "Hello, wörld" + strings.Repeat("z", 100),
				Service: strings.Repeat("a", 100) + "Hello, world" + strings.Repeat("z", 100),
				Excerpt: &Excerpt{
					Legacy:  "first\n" + strings.Repeat("a", 100) + "Hello, wörld" + strings.Repeat("z", 100) + "\nlast",
					Service: "first\n" + strings.Repeat("a", 100) + "Hello, world" + strings.Repeat("z", 100) + "\nlast"}}},
		},
		{
			desc:    "binary bodies by hash",
			legacy:  resp("\xff\x00\x01"),
			service: resp("\xff\x00\x02"),
			verdict: VerdictDifferent, kind: BodyBinary,
			want: []Difference{{Path: "body", Kind: KindBody, Legacy: sha("\xff\x00\x01"), Service: sha("\xff\x00\x02")}},
		},
		{
			desc:    "empty bodies",
			legacy:  js(""),
			service: js(""),
			verdict: VerdictEqual, kind: BodyEmpty,
		},
		{
			desc:    "malformed JSON on one side is compared as text",
			legacy:  js(`{"a":1}`),
			service: js(`{"a":1`),
			verdict: VerdictDifferent, kind: BodyText,
			want: []Difference{{Path: "line:1", Kind: KindChanged, Legacy: `{"a":1}`, Service: `{"a":1`,
				Excerpt: &Excerpt{Legacy: `{"a":1}`, Service: `{"a":1`}}},
		},
		{
			desc:    "trailing data is not JSON",
			legacy:  js(`{"a":1} x`),
			service: js(`{"a":1}`),
			verdict: VerdictDifferent, kind: BodyText,
			want: []Difference{{Path: "line:1", Kind: KindChanged, Legacy: `{"a":1} x`, Service: `{"a":1}`,
				Excerpt: &Excerpt{Legacy: `{"a":1} x`, Service: `{"a":1}`}}},
		},
		{
			desc:    "JSON recognised without a content type",
			legacy:  resp(` {"a":1,"b":2}`),
			service: resp(`{"b":2,"a":1.0}`),
			verdict: VerdictEqual, kind: BodyJSON,
		},
		{
			desc:    "noise-only",
			legacy:  js(`{"items":[{"ts":1},{"ts":2}]}`),
			service: js(`{"items":[{"ts":3},{"ts":4}]}`),
			cfg:     RulesConfig{Noise: noise{"/items/*/ts"}},
			verdict: VerdictNoiseOnly, kind: BodyJSON,
			want: []Difference{
				{Path: "/items/0/ts", Kind: KindChanged, Legacy: "1", Service: "3", Noise: true},
				{Path: "/items/1/ts", Kind: KindChanged, Legacy: "2", Service: "4", Noise: true},
			},
		},
		{
			desc:    "noise plus a real difference",
			legacy:  js(`{"ts":1,"n":1}`),
			service: js(`{"ts":2,"n":2}`),
			cfg:     RulesConfig{Noise: noise{"/ts"}},
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{
				{Path: "/n", Kind: KindChanged, Legacy: "1", Service: "2"},
				{Path: "/ts", Kind: KindChanged, Legacy: "1", Service: "2", Noise: true},
			},
		},
		{
			desc:    "values cut at MaxValueLen",
			legacy:  js(`{"s":"` + long + `"}`),
			service: js(`{"s":"y"}`),
			verdict: VerdictDifferent, kind: BodyJSON,
			want: []Difference{{Path: "/s", Kind: KindChanged,
				Legacy: `"` + long[:MaxValueLen-len("…")-1] + "…", Service: `"y"`}},
		},
		{
			desc:    "truncated body is not compared",
			legacy:  js(`{"a":1}`),
			service: func() Response { r := withStatus(js(`{"a":2}`), 201); r.Truncated = true; return r }(),
			verdict: VerdictError,
			want:    []Difference{{Path: "status", Kind: KindStatus, Legacy: "200", Service: "201"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rules, err := NewRules(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := Compare(tt.legacy, tt.service, rules)
			if got.Verdict != tt.verdict || got.BodyKind != tt.kind {
				t.Errorf("verdict, kind = %s, %s; want %s, %s (error %q)", got.Verdict, got.BodyKind, tt.verdict, tt.kind, got.Error)
			}
			want := tt.want
			if want == nil {
				want = []Difference{}
			}
			if d := cmp.Diff(want, got.Differences); d != "" {
				t.Errorf("differences (-want +got):\n%s", d)
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	bomb := func() Response {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zeros := make([]byte, 64<<10)
		for range 160 { // 10 MB of zeros, ~10 KB compressed
			zw.Write(zeros)
		}
		zw.Close()
		r := js(buf.String())
		r.Header.Set("Content-Encoding", "gzip")
		return r
	}()
	truncated := js(`{}`)
	truncated.Truncated = true
	tests := []struct {
		desc    string
		legacy  Response
		service Response
		cfg     RulesConfig
		errHas  string
		cut     bool // Result.Truncated
	}{
		{desc: "decompression bomb stops at the cap", legacy: js(`{}`), service: bomb, cfg: RulesConfig{MaxDecoded: 1 << 20},
			errHas: "service body: gzip: decoded body over the decode cap (1048576 bytes): decoding stopped there; body not compared", cut: true},
		{desc: "bomb under the default cap", legacy: bomb, service: js(`{}`),
			errHas: "legacy body: gzip: decoded body over the decode cap (8388608 bytes)", cut: true},
		{desc: "undecodable gzip", legacy: resp("not gzip", "Content-Encoding", "gzip"), service: js(`{}`),
			errHas: "legacy body: gzip:"},
		{desc: "corrupt deflate", legacy: js(`{}`), service: resp("\x78\x9c\xff\xff", "Content-Encoding", "deflate"),
			errHas: "service body: deflate:"},
		{desc: "truncated body", legacy: truncated, service: js(`{}`),
			errHas: "body truncated at capture cap; body not compared", cut: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rules, err := NewRules(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got := Compare(tt.legacy, tt.service, rules)
			if got.Verdict != VerdictError || !strings.Contains(got.Error, tt.errHas) || got.Truncated != tt.cut {
				t.Errorf("got %s %q truncated %v; want error containing %q, truncated %v",
					got.Verdict, got.Error, got.Truncated, tt.errHas, tt.cut)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

// panicky is a NoiseSet that panics.
type panicky struct{}

func (panicky) IsNoise(string) bool { panic("boom") }

func TestComparePanicGuard(t *testing.T) {
	rules, err := NewRules(RulesConfig{Noise: panicky{}})
	if err != nil {
		t.Fatal(err)
	}
	got := Compare(js(`{"a":1}`), js(`{"a":2}`), rules)
	if got.Verdict != VerdictError || got.Error != "comparison panicked: boom" {
		t.Errorf("got %+v", got)
	}
}

func TestCompareCapsDifferences(t *testing.T) {
	var l, s strings.Builder
	l.WriteString("[")
	s.WriteString("[")
	for i := range MaxDifferences + 5 {
		if i > 0 {
			l.WriteString(",")
			s.WriteString(",")
		}
		fmt.Fprintf(&l, `{"n":%d}`, i)
		fmt.Fprintf(&s, `{"n":"%d"}`, i)
	}
	l.WriteString("]")
	s.WriteString("]")
	got := Compare(js(l.String()), js(s.String()), nil)
	if got.Verdict != VerdictDifferent || len(got.Differences) != MaxDifferences || got.Omitted != 5 {
		t.Errorf("verdict %s, %d differences, %d omitted", got.Verdict, len(got.Differences), got.Omitted)
	}
}

func TestCompareNilRulesAndDefaults(t *testing.T) {
	l := resp(`{"a":1}`, "Date", "x", "Server", "a")
	s := resp(`{"a":1.0}`, "Date", "y", "Server", "b")
	if got := Compare(l, s, nil); got.Verdict != VerdictEqual || got.BodyKind != BodyJSON {
		t.Errorf("got %+v", got)
	}
}

func TestNumbersEqual(t *testing.T) {
	tests := []struct {
		desc string
		a, b string
		tol  Tolerance
		want bool
	}{
		{desc: "same literal", a: "12", b: "12", want: true},
		{desc: "trailing zeros", a: "1.500", b: "1.5", want: true},
		{desc: "exponent forms", a: "1.5e3", b: "1500", want: true},
		{desc: "negative zero", a: "-0.0", b: "0e10", want: true},
		{desc: "2^53+1", a: "9007199254740993", b: "9007199254740992", want: false},
		{desc: "sign", a: "-1", b: "1", want: false},
		{desc: "huge exponents exact", a: "1e99999999999999999999", b: "10e99999999999999999998", want: true},
		{desc: "huge exponents differ", a: "1e99999999999999999999", b: "1e99999999999999999998", want: false},
		{desc: "huge exponent ignores tolerance", a: "1e5000", b: "1.0001e5000", tol: Tolerance{Rel: 0.1}, want: false},
		{desc: "abs bound inclusive", a: "1", b: "1.5", tol: Tolerance{Abs: 0.5}, want: true},
		{desc: "rel uses the larger magnitude", a: "90", b: "100", tol: Tolerance{Rel: 0.1}, want: true},
		{desc: "rel just over", a: "89", b: "100", tol: Tolerance{Rel: 0.1}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := NewRules(RulesConfig{Tolerance: tt.tol})
			if err != nil {
				t.Fatal(err)
			}
			a, b := json.Number(tt.a), json.Number(tt.b)
			if got := r.numbersEqual(a, b); got != tt.want || r.numbersEqual(b, a) != got {
				t.Errorf("numbersEqual(%s, %s) = %v; want %v (symmetric)", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestGeneralize(t *testing.T) {
	tests := []struct {
		desc, in, want string
	}{
		{desc: "index", in: "/items/3/id", want: "/items/*/id"},
		{desc: "nested indexes", in: "/a/0/b/12", want: "/a/*/b/*"},
		{desc: "no index", in: "/a/b", want: "/a/b"},
		{desc: "mixed segment kept", in: "/a/1x/b", want: "/a/1x/b"},
		{desc: "root", in: "", want: ""},
		{desc: "status", in: "status", want: "status"},
		{desc: "header", in: "header:X-1", want: "header:X-1"},
		{desc: "empty key kept", in: "/a//0", want: "/a//*"},
		{desc: "xml index", in: "/order/item[2]/@qty", want: "/order/item[*]/@qty"},
		{desc: "xml key with brackets kept", in: "/a[x]/b", want: "/a[x]/b"},
		{desc: "html nth", in: "main > ul.items > li:nth-of-type(3)::text", want: "main > ul.items > li:nth-of-type(*)::text"},
		{desc: "html two nths", in: "tr:nth-of-type(10) > td:nth-of-type(2)@title", want: "tr:nth-of-type(*) > td:nth-of-type(*)@title"},
		{desc: "html id kept", in: "form#checkout input[name=csrf]@value", want: "form#checkout input[name=csrf]@value"},
		{desc: "line kept", in: "line:12", want: "line:12"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := Generalize(tt.in); got != tt.want {
				t.Errorf("Generalize(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		desc, pattern, path string
		want                bool
	}{
		{desc: "same node", pattern: "/meta", path: "/meta", want: true},
		{desc: "below", pattern: "/meta", path: "/meta/took/0", want: true},
		{desc: "prefix of a key is not a match", pattern: "/meta", path: "/metadata", want: false},
		{desc: "wildcard index", pattern: "/items/*/updated_at", path: "/items/3/updated_at", want: true},
		{desc: "wildcard key", pattern: "/*/id", path: "/user/id", want: true},
		{desc: "wildcard needs a segment", pattern: "/items/*", path: "/items", want: false},
		{desc: "other field", pattern: "/items/*/updated_at", path: "/items/3/id", want: false},
		{desc: "root covers all", pattern: "", path: "/a/b", want: true},
		{desc: "pointer vs root path", pattern: "/a", path: "", want: false},
		{desc: "status", pattern: "status", path: "status", want: true},
		{desc: "star does not match status", pattern: "*", path: "status", want: false},
		{desc: "header", pattern: "header:Date", path: "header:Date", want: true},
		{desc: "escaped key", pattern: "/a~1b", path: "/a~1b/c", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := Match(tt.pattern, tt.path); got != tt.want {
				t.Errorf("Match(%q, %q) = %v; want %v", tt.pattern, tt.path, got, tt.want)
			}
		})
	}
}

func TestNewRulesErrors(t *testing.T) {
	tests := []struct {
		desc string
		cfg  RulesConfig
		want string // substring naming the bad entry
	}{
		{desc: "ignore path without slash", cfg: RulesConfig{IgnorePaths: []string{"/ok", "items/*"}}, want: `ignore path "items/*"`},
		{desc: "empty ignore path", cfg: RulesConfig{IgnorePaths: []string{""}}, want: `ignore path ""`},
		{desc: "bad escape", cfg: RulesConfig{IgnorePaths: []string{"/a~2b"}}, want: `ignore path "/a~2b": bad ~ escape`},
		{desc: "dangling escape", cfg: RulesConfig{Unordered: []string{"/a~"}}, want: `unordered path "/a~"`},
		{desc: "empty header", cfg: RulesConfig{IgnoreHeaders: []string{"X-A", " "}}, want: "ignore header #2"},
		{desc: "negative tolerance", cfg: RulesConfig{Tolerance: Tolerance{Abs: -1}}, want: "tolerance abs"},
		{desc: "NaN tolerance", cfg: RulesConfig{Tolerance: Tolerance{Rel: nan()}}, want: "tolerance rel"},
		{desc: "negative cap", cfg: RulesConfig{MaxDecoded: -1}, want: "max decoded"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := NewRules(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRules error = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

// nan is a NaN computed at run time.
func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestNewRulesAcceptsEscapes(t *testing.T) {
	r, err := NewRules(RulesConfig{IgnorePaths: []string{"/a~1b/~0c"}})
	if err != nil {
		t.Fatal(err)
	}
	got := Compare(js(`{"a/b":{"~c":1,"d":1}}`), js(`{"a/b":{"~c":2,"d":1}}`), r)
	if got.Verdict != VerdictEqual {
		t.Errorf("got %+v", got)
	}
}

func TestCompareDeepNesting(t *testing.T) {
	const depth = 9000 // encoding/json allows 10000
	for _, tt := range []struct{ desc, tail string }{
		{desc: "single-element arrays", tail: "]"},
		{desc: "two-element arrays", tail: ",0]"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			l := strings.Repeat("[", depth) + "1" + strings.Repeat(tt.tail, depth)
			s := strings.Repeat("[", depth) + "2" + strings.Repeat(tt.tail, depth)
			start := time.Now()
			got := Compare(js(l), js(s), nil)
			if got.Verdict != VerdictDifferent || len(got.Differences) != 1 || got.Differences[0].Kind != KindChanged {
				t.Errorf("got %s %q %d differences", got.Verdict, got.Error, len(got.Differences))
			}
			if el := time.Since(start); el > 2*time.Second && !raceEnabled {
				t.Errorf("took %v: quadratic?", el)
			}
		})
	}
}

func TestVerdictMatched(t *testing.T) {
	for v, want := range map[Verdict]bool{
		VerdictEqual: true, VerdictNoiseOnly: true, VerdictDifferent: false, VerdictError: false, "": false,
	} {
		if got := v.Matched(); got != want {
			t.Errorf("%q.Matched() = %v, want %v", v, got, want)
		}
	}
}

func TestLongPathsAreCut(t *testing.T) {
	long := strings.Repeat("k", 4*MaxPathLen)
	wide := strings.Repeat("é", MaxPathLen) // 2 bytes each: the cut must not split one
	tests := []struct {
		desc    string
		legacy  Response
		service Response
		want    string
	}{
		{"json key", js(`{"` + long + `":1}`), js(`{"` + long + `":2}`), "/" + long[:MaxPathLen-len("…")-1] + "…"},
		{"multibyte key", js(`{"` + wide + `":1}`), js(`{"` + wide + `":2}`), "/" + wide[:MaxPathLen-len("…")-1] + "…"},
		{"header name", resp("", "X-"+long, "a"), resp("", "X-"+long, "b"),
			("header:X-K" + long)[:MaxPathLen-len("…")] + "…"},
		{"short key kept", js(`{"a":1}`), js(`{"a":2}`), "/a"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := Compare(tt.legacy, tt.service, nil)
			if len(got.Differences) != 1 {
				t.Fatalf("differences = %+v, want 1", got.Differences)
			}
			if p := got.Differences[0].Path; p != tt.want || len(p) > MaxPathLen || !utf8.ValidString(p) {
				t.Errorf("path = %.40q… (%d bytes), want %.40q… (%d bytes)", p, len(p), tt.want, len(tt.want))
			}
		})
	}
}

// gzipped compresses body; isize, when not nil, replaces the trailer's
// stated size, as a lying server would.
func gzipped(t *testing.T, body []byte, isize *uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if isize != nil {
		binary.LittleEndian.PutUint32(b[len(b)-4:], *isize)
	}
	return b
}

func TestDecodeCapped(t *testing.T) {
	const limit = 64 << 10
	text := bytes.Repeat([]byte("0123456789abcdef"), limit/16) // exactly limit bytes
	small, huge := uint32(10), uint32(1<<32-1)
	twoMembers := append(gzipped(t, text[:1000], nil), gzipped(t, text[:2000], nil)...)
	// want is the decoded body, or nil for an error: over the cap
	// (overCap), or else a gzip error (a stated size that does not match
	// is one: the trailer is only ever a hint for the first buffer).
	tests := []struct {
		desc    string
		body    []byte
		want    []byte
		overCap bool
	}{
		{"small", gzipped(t, text[:100], nil), text[:100], false},
		{"exactly the cap", gzipped(t, text, nil), text, false},
		{"one byte over the cap", gzipped(t, append(slices.Clone(text), 'x'), nil), nil, true},
		{"two members", twoMembers, append(slices.Clone(text[:1000]), text[:2000]...), false},
		{"trailer claims less", gzipped(t, text[:50000], &small), nil, false},
		{"trailer claims 4 GiB", gzipped(t, text[:100], &huge), nil, false},
		{"bomb with a small claim", gzipped(t, make([]byte, 4*limit), &small), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := decodeBody(tt.body, http.Header{"Content-Encoding": {"gzip"}}, limit)
			switch {
			case errors.Is(err, errOverCap) != tt.overCap:
				t.Fatalf("err = %v, want over cap %v", err, tt.overCap)
			case tt.want == nil && err == nil:
				t.Errorf("decoded %d bytes, want an error", len(got))
			case tt.want != nil && (err != nil || !bytes.Equal(got, tt.want)):
				t.Errorf("decoded %d bytes (err %v), want %d", len(got), err, len(tt.want))
			}
		})
	}
}
