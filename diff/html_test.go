package diff

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// page is an HTML response.
func page(body string) Response { return resp(body, "Content-Type", "text/html; charset=utf-8") }

// doc wraps a body fragment in a whole document.
func doc(body string) string {
	return "<!DOCTYPE html><html><head><title>Shop</title></head><body>" + body + "</body></html>"
}

// htmlRules compiles a config or fails the test.
func htmlRules(t testing.TB, c RulesConfig) *Rules {
	t.Helper()
	r, err := NewRules(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCompareHTMLEqual(t *testing.T) {
	tests := []struct {
		desc, legacy, service string
		rules                 RulesConfig
	}{
		{desc: "attribute order",
			legacy:  doc(`<a href="/x" class="b" id="q">x</a>`),
			service: doc(`<a id="q" class="b" href="/x">x</a>`)},
		{desc: "whitespace between elements",
			legacy:  doc(`<ul><li>a</li><li>b</li></ul>`),
			service: doc("<ul>\n  <li>a</li>\n\t<li>b</li>\n</ul>\n")},
		{desc: "runs of whitespace in text",
			legacy:  doc("<p>hello   big\n world </p>"),
			service: doc(`<p> hello big world</p>`)},
		{desc: "comments",
			legacy:  doc(`<p>a<!-- note -->b</p><!-- end -->`),
			service: doc(`<p>ab</p>`)},
		{desc: "quote style",
			legacy:  doc(`<a href='/x' title=t>x</a>`),
			service: doc(`<a href="/x" title="t">x</a>`)},
		{desc: "self-closing spelling",
			legacy:  doc(`<p>a<br/><img src="i.png" /></p>`),
			service: doc(`<p>a<br><img src="i.png"></p>`)},
		{desc: "entity spelling",
			legacy:  doc(`<p title="&quot;q&quot;">&amp; &#38; &lt; &eacute; &nbsp;</p>`),
			service: doc(`<p title='"q"'>&#x26; &amp; &#60; é &#160;</p>`)},
		{desc: "tag and attribute case",
			legacy:  doc(`<DIV CLASS="a" Data-X="1">x</DIV>`),
			service: doc(`<div class="a" data-x="1">x</div>`)},
		{desc: "class order",
			legacy:  doc(`<p class="b a  c">x</p>`),
			service: doc(`<p class="a c b">x</p>`)},
		{desc: "doctype and implied elements",
			legacy:  `<!DOCTYPE html><html><head><title>Shop</title></head><body><p>x</p></body></html>`,
			service: `<title>Shop</title><p>x`},
		{desc: "marker echo in pre",
			legacy:  doc("<pre>Accept: */*\nHost: shop\n</pre>"),
			service: doc("<pre>Accept: */*\nX-Strangler-Shadow: 1\nHost: shop\n</pre>")},
		{desc: "ignored element",
			legacy:  doc(`<main>x</main><footer>built 10:01 <b>by a</b></footer>`),
			service: doc(`<main>x</main><footer>built 10:02</footer>`),
			rules:   RulesConfig{IgnoreSelectors: []string{"footer"}}},
		{desc: "ignored element on one side only",
			legacy:  doc(`<div><p class="ad">buy</p><p>x</p></div>`),
			service: doc(`<div><p>x</p></div>`),
			rules:   RulesConfig{IgnoreSelectors: []string{"p.ad"}}},
		{desc: "ignored attribute",
			legacy:  doc(`<form id="checkout"><input name="csrf" value="a1"></form>`),
			service: doc(`<form id="checkout"><input name="csrf" value="b2"></form>`),
			rules:   RulesConfig{IgnoreSelectors: []string{"form#checkout input[name=csrf]@value"}}},
		{desc: "ignored own text",
			legacy:  doc(`<p>Updated <time>10:01</time></p>`),
			service: doc(`<p>Updated <time>10:02</time></p>`),
			rules:   RulesConfig{IgnoreSelectors: []string{"time::text"}}},
		{desc: "text only ignores markup",
			legacy:  doc(`<div class="a"><p>Hello <b>big</b> world</p><ul><li>one</li></ul></div>`),
			service: doc(`<section><p>Hello big <i>world</i></p><p>one</p></section><script>x=1</script>`),
			rules:   RulesConfig{TextOnly: true}},
		{desc: "same page",
			legacy:  doc(`<main id="m"><h1>T</h1><p>x</p></main>`),
			service: doc(`<main id="m"><h1>T</h1><p>x</p></main>`)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := Compare(page(tt.legacy), page(tt.service), htmlRules(t, tt.rules))
			if got.Verdict != VerdictEqual || got.BodyKind != BodyHTML {
				t.Fatalf("got %s %s %q, differences %+v", got.Verdict, got.BodyKind, got.Error, got.Differences)
			}
		})
	}
}

// want is the part of a Difference the tables check.
type want struct {
	Path            string
	Kind            Kind
	Legacy, Service string
}

func TestCompareHTMLDifferences(t *testing.T) {
	items := func(xs ...string) string {
		return doc(`<main><h1>Cart</h1><ul class="items"><li>` + strings.Join(xs, "</li><li>") + `</li></ul></main>`)
	}
	tests := []struct {
		desc, legacy, service string
		rules                 RulesConfig
		want                  []want
	}{
		{desc: "text of the third item",
			legacy: items("a", "b", "c", "d"), service: items("a", "b", "C", "d"),
			want: []want{{"main > ul.items > li:nth-of-type(3)::text", KindChanged, "c", "C"}}},
		{desc: "one missing item is one difference",
			legacy: items("a", "b", "c", "d", "e"), service: items("a", "b", "d", "e"),
			want: []want{{"main > ul.items > li:nth-of-type(3)", KindMissing, "<li>c</li>", ""}}},
		{desc: "extra item",
			legacy: items("a", "b"), service: items("a", "x", "b"),
			want: []want{{"main > ul.items > li:nth-of-type(2)", KindExtra, "", "<li>x</li>"}}},
		{desc: "extra element",
			legacy:  doc(`<main><h1>T</h1></main>`),
			service: doc(`<main><h1>T</h1><p class="new">hi</p></main>`),
			want:    []want{{"main > p.new", KindExtra, "", `<p class="new">hi</p>`}}},
		{desc: "order",
			legacy: items("a", "b", "c"), service: items("c", "a", "b"),
			want: []want{{"main > ul.items", KindOrder,
				`<ul class="items"><li>a</li><li>b</li><li>c</li></ul>`,
				`<ul class="items"><li>c</li><li>a</li><li>b</li></ul>`}}},
		{desc: "one item moved and another changed",
			legacy: items("a", "b", "c", "d"), service: items("b", "c", "a", "D"),
			want: []want{{"main > ul.items", KindOrder,
				`<ul class="items"><li>a</li><li>b</li><li>c</li><li>d</li></ul>`,
				`<ul class="items"><li>b</li><li>c</li><li>a</li><li>D</li></ul>`},
				{"main > ul.items > li:nth-of-type(4)::text", KindChanged, "d", "D"}}},
		{desc: "elements with ids pair by id",
			legacy:  doc(`<div><p id="x">1</p><p id="y">2</p></div>`),
			service: doc(`<div><p id="y">3</p></div>`),
			want: []want{{"p#x", KindMissing, `<p id="x">1</p>`, ""},
				{"p#y::text", KindChanged, "2", "3"}}},
		{desc: "attribute with id and name locator",
			legacy:  doc(`<form id="checkout"><div><input name="csrf" value="a1"><input name="qty" value="2"></div></form>`),
			service: doc(`<form id="checkout"><div><input name="csrf" value="b2"><input name="qty" value="2"></div></form>`),
			want:    []want{{"form#checkout input[name=csrf]@value", KindChanged, "a1", "b2"}}},
		{desc: "id starts the locator",
			legacy:  doc(`<section><div id="main"><p class="x">t</p><p class="y">u</p></div></section>`),
			service: doc(`<section><div id="main"><p class="x">t</p><p class="z">u</p></div></section>`),
			want:    []want{{"div#main > p.y:nth-of-type(2)@class", KindChanged, "y", "z"}}},
		{desc: "missing and extra attributes",
			legacy:  doc(`<a href="/x" title="t">x</a>`),
			service: doc(`<a href="/x" rel="next">x</a>`),
			want: []want{{"a@rel", KindExtra, "", "next"},
				{"a@title", KindMissing, "t", ""}}},
		{desc: "pre whitespace is significant",
			legacy: doc("<pre>a  b</pre>"), service: doc("<pre>a b</pre>"),
			want: []want{{"pre::text", KindChanged, "a  b", "a b"}}},
		{desc: "textarea whitespace is significant",
			legacy:  doc("<form><textarea name=n>x\n y</textarea></form>"),
			service: doc("<form><textarea name=n>x y</textarea></form>"),
			want:    []want{{"form > textarea::text", KindChanged, "x\n y", "x y"}}},
		{desc: "head title",
			legacy: doc("<p>x</p>"), service: strings.Replace(doc("<p>x</p>"), "Shop", "Shop!", 1),
			want: []want{{"head > title::text", KindChanged, "Shop", "Shop!"}}},
		{desc: "missing text",
			legacy: doc(`<p>x</p>`), service: doc(`<p></p>`),
			want: []want{{"p::text", KindMissing, "x", ""}}},
		{desc: "ignore keeps other differences",
			legacy:  doc(`<footer>a</footer><p>x</p>`),
			service: doc(`<footer>b</footer><p>y</p>`),
			rules:   RulesConfig{IgnoreSelectors: []string{"footer"}},
			want:    []want{{"p::text", KindChanged, "x", "y"}}},
		{desc: "ids inside ignored elements still count",
			legacy:  doc(`<div id="d"><p>x</p></div><footer><span id="d">f</span></footer>`),
			service: doc(`<div id="d"><p>y</p></div><footer><span id="d">g</span></footer>`),
			rules:   RulesConfig{IgnoreSelectors: []string{"footer"}},
			want:    []want{{"div > p::text", KindChanged, "x", "y"}}},
		{desc: "repeated attribute: the first counts",
			legacy:  doc(`<p title="a" title="b">x</p>`),
			service: doc(`<p title="c" title="a">x</p>`),
			want:    []want{{"p@title", KindChanged, "a", "c"}}},
		{desc: "ignored attribute keeps others",
			legacy:  doc(`<input name="csrf" value="a" class="c">`),
			service: doc(`<input name="csrf" value="b" class="d">`),
			rules:   RulesConfig{IgnoreSelectors: []string{"input@value"}},
			want:    []want{{"input.c@class", KindChanged, "c", "d"}}},
		{desc: "text only by line",
			legacy:  doc(`<h1>Cart</h1><p>Total: <b>5</b> EUR</p>`),
			service: doc(`<div><h1>Cart</h1><div>Total: 6 EUR</div></div>`),
			rules:   RulesConfig{TextOnly: true},
			want:    []want{{"line:3", KindChanged, "Total: 5 EUR", "Total: 6 EUR"}}},
		{desc: "text only missing line",
			legacy:  doc(`<p>a</p><p>b</p><p>c</p>`),
			service: doc(`<p>a</p><p>c</p>`),
			rules:   RulesConfig{TextOnly: true},
			want:    []want{{"line:3", KindMissing, "b", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := Compare(page(tt.legacy), page(tt.service), htmlRules(t, tt.rules))
			if got.BodyKind != BodyHTML || got.Error != "" {
				t.Fatalf("got %s %q", got.BodyKind, got.Error)
			}
			if g := wants(got.Differences); !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("differences\n got %+v\nwant %+v", g, tt.want)
			}
			for _, d := range got.Differences {
				if d.Excerpt == nil || d.Excerpt.Legacy == "" && d.Excerpt.Service == "" {
					t.Errorf("%s: no excerpt", d.Path)
				}
			}
		})
	}
}

// wants keeps what the tables check of each difference.
func wants(ds []Difference) []want {
	out := make([]want, 0, len(ds))
	for _, d := range ds {
		out = append(out, want{d.Path, d.Kind, d.Legacy, d.Service})
	}
	return out
}

func TestCompareHTMLExcerptAndCuts(t *testing.T) {
	long := strings.Repeat("é", 2000)
	got := Compare(page(doc(`<div id="d"><p>`+long+`</p></div>`)), page(doc(`<div id="d"><p>x</p></div>`)), nil)
	if len(got.Differences) != 1 {
		t.Fatalf("got %+v", got.Differences)
	}
	d := got.Differences[0]
	if d.Path != "div#d > p::text" || len(d.Legacy) > MaxValueLen || !strings.HasSuffix(d.Legacy, "…") {
		t.Errorf("path %q, legacy %d bytes", d.Path, len(d.Legacy))
	}
	ex := d.Excerpt
	if len(ex.Legacy) > MaxExcerptLen || !strings.HasPrefix(ex.Legacy, "<p>éé") || ex.Service != "<p>x</p>" {
		t.Errorf("excerpt %q / %q", ex.Legacy, ex.Service)
	}
}

func TestCompareHTMLSelf(t *testing.T) {
	files, err := filepath.Glob("testdata/html/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []RulesConfig{{}, {TextOnly: true}, {IgnoreSelectors: []string{"footer", "input@value"}}} {
			r := htmlRules(t, c)
			if got := Compare(page(string(b)), page(string(b)), r); got.Verdict != VerdictEqual {
				t.Errorf("%s: Compare(a, a) = %s %+v", f, got.Verdict, got.Differences)
			}
			if diffs, ok := compareHTML(b, bytes.Clone(b), r); !ok || len(diffs) != 0 {
				t.Errorf("%s: compareHTML(a, a) = %v %+v", f, ok, diffs)
			}
		}
	}
}

func TestCompareHTMLDeterministic(t *testing.T) {
	l := doc(`<ul><li>a</li><li>b</li><li>c</li></ul><ul><li>a</li><li>x</li></ul><p id="p">1</p>`)
	s := doc(`<ul><li>a</li><li>c</li></ul><ul><li>a</li><li>y</li><li>z</li></ul><p id="p">2</p>`)
	first := Compare(page(l), page(s), nil)
	if len(first.Differences) == 0 {
		t.Fatal("no differences")
	}
	for range 5 {
		if again := Compare(page(l), page(s), nil); !reflect.DeepEqual(first, again) {
			t.Fatalf("paths differ between runs:\n%+v\n%+v", first.Differences, again.Differences)
		}
	}
	for _, d := range first.Differences {
		if strings.Contains(d.Path, "nth-of-type") && !strings.Contains(Generalize(d.Path), ":nth-of-type(*)") {
			t.Errorf("Generalize(%q) = %q", d.Path, Generalize(d.Path))
		}
	}
}

func TestCompareHTMLBounds(t *testing.T) {
	deep := doc(strings.Repeat("<div>", maxHTMLDepth+10) + "x")
	deeper := doc(strings.Repeat("<div>", maxHTMLDepth+10) + "y")
	got := Compare(page(deep), page(deeper), nil)
	if got.BodyKind != BodyText || got.Verdict != VerdictDifferent {
		t.Fatalf("too deep: got %s %s %q", got.BodyKind, got.Verdict, got.Error)
	}
	ok := doc(strings.Repeat("<div>", maxHTMLDepth-10) + "x")
	if got := Compare(page(ok), page(strings.Replace(ok, "x", "y", 1)), nil); got.BodyKind != BodyHTML || len(got.Differences) != 1 {
		t.Fatalf("deep but within bounds: got %s %+v", got.BodyKind, got.Differences)
	}
}

func TestCheckSelector(t *testing.T) {
	tests := []struct {
		sel     string
		wantErr string
	}{
		{sel: "footer"},
		{sel: "form#checkout input[name=csrf]@value"},
		{sel: "time::text"},
		{sel: `a[href="x@y"]`},
		{sel: "ul > li:nth-of-type(2), .ad"},
		{sel: "", wantErr: "empty selector"},
		{sel: "@value", wantErr: "empty selector"},
		{sel: "div[", wantErr: `ignore selector "div["`},
		{sel: "p@", wantErr: `ignore selector "p@"`},
		{sel: "p::before", wantErr: `ignore selector "p::before"`},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			err := CheckSelector(tt.sel)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if _, nerr := NewRules(RulesConfig{IgnoreSelectors: []string{tt.sel}}); (nerr == nil) != (err == nil) {
				t.Fatalf("NewRules error %v, CheckSelector %v", nerr, err)
			}
		})
	}
}

func TestLocatorSegments(t *testing.T) {
	tests := []struct {
		desc, body, want string
	}{
		{"non-identifier id", `<div id="a b"><p>x</p></div>`, `div[id="a b"] > p::text`},
		{"duplicate id is not an anchor", `<div id="d"><p>x</p></div><div id="d"></div>`, `div:nth-of-type(1) > p::text`},
		{"name among same-tag siblings", `<form><input name="a" value="x"><input name="b" value="1"></form>`, `form > input[name=b]@value`},
		{"at most three classes", `<p class="e d c b a">x</p>`, `p.a.b.c::text`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			changed := strings.Replace(strings.Replace(tt.body, ">x<", ">y<", 1), `value="1"`, `value="2"`, 1)
			got := Compare(page(doc(tt.body)), page(doc(changed)), nil)
			if len(got.Differences) != 1 || got.Differences[0].Path != tt.want {
				t.Fatalf("got %+v, want path %q", got.Differences, tt.want)
			}
		})
	}
}
