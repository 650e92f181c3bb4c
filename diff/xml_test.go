package diff

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// order is an XML order with the given items (inner XML of each).
func order(items ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n<order id=\"7\">\n")
	for _, it := range items {
		b.WriteString("  <item>" + it + "</item>\n")
	}
	b.WriteString("  <note>thanks</note>\n</order>\n")
	return b.String()
}

func TestCompareXML(t *testing.T) {
	three := order(`<sku>A</sku><qty>1</qty>`, `<sku>B</sku><qty>2</qty>`, `<sku>C</sku><qty>3</qty>`)
	runBodyCases(t, "application/xml", BodyXML, []bodyCase{
		{desc: "identical after pretty-printing", legacy: three,
			service: strings.NewReplacer("\n", "", "  ", "").Replace(three), verdict: VerdictEqual},
		{desc: "attribute order", legacy: `<a x="1" y="2"/>`, service: `<a y="2"  x="1"></a>`, verdict: VerdictEqual},
		{desc: "namespace prefix change with the same URL",
			legacy:  `<p:a xmlns:p="urn:x"><p:b p:k="1">t</p:b></p:a>`,
			service: `<q:a xmlns:q="urn:x"><q:b q:k="1">t</q:b></q:a>`, verdict: VerdictEqual},
		{desc: "default namespace vs prefix", legacy: `<a xmlns="urn:x"><b/></a>`,
			service: `<x:a xmlns:x="urn:x"><x:b/></x:a>`, verdict: VerdictEqual},
		{desc: "comments and processing instructions", legacy: `<a><!-- c --><b>t</b><?pi x?></a>`,
			service: `<a><b>t</b></a>`, verdict: VerdictEqual},
		{desc: "comment inside text", legacy: `<a>hel<!-- c -->lo</a>`, service: `<a>hello</a>`, verdict: VerdictEqual},
		{desc: "CDATA vs escaped", legacy: `<a><![CDATA[x < y]]></a>`, service: `<a>x &lt; y</a>`, verdict: VerdictEqual},
		{desc: "surrounding whitespace of text", legacy: "<a>\n  hi\n</a>", service: `<a>hi</a>`, verdict: VerdictEqual},
		{desc: "ignore attribute of every item", legacy: order(`<ts at="1"/>`, `<ts at="2"/>`),
			service: order(`<ts at="3"/>`, `<ts at="4"/>`),
			cfg:     RulesConfig{IgnorePaths: []string{"/order/item/ts/@at"}}, verdict: VerdictEqual},
		{desc: "ignore one item by position", legacy: order("a", "b", "c"), service: order("a", "B", "c"),
			cfg: RulesConfig{IgnorePaths: []string{"/order/item[2]"}}, verdict: VerdictEqual},
		{desc: "ignore with star", legacy: order(`<ts at="1"/>`), service: order(`<ts at="2"/>`),
			cfg: RulesConfig{IgnorePaths: []string{"/order/*/*/@at"}}, verdict: VerdictEqual},
		{desc: "ignore text()", legacy: `<a><t>10:00</t></a>`, service: `<a><t>10:01</t></a>`,
			cfg: RulesConfig{IgnorePaths: []string{"/a/t/text()"}}, verdict: VerdictEqual},
		{desc: "ignore pattern with a prefix", legacy: `<o:a xmlns:o="urn:o" o:ts="1"/>`,
			service: `<o:a xmlns:o="urn:o" o:ts="2"/>`,
			cfg:     RulesConfig{IgnorePaths: []string{"/o:a/@o:ts"}}, verdict: VerdictEqual},
		{desc: "ignore pattern covers the subtree", legacy: `<a><m><x>1</x><y k="1"/></m></a>`,
			service: `<a><m><x>2</x><y k="2"/><z/></m></a>`,
			cfg:     RulesConfig{IgnorePaths: []string{"/a/m"}}, verdict: VerdictEqual},
		{desc: "marker echo element", legacy: `<req><h>a</h></req>`,
			service: `<req><h>a</h><X-Strangler-Shadow>1</X-Strangler-Shadow></req>`, verdict: VerdictEqual},

		{desc: "changed attribute", legacy: `<order><item qty="1"/><item qty="2"/></order>`,
			service: `<order><item qty="1"/><item qty="5"/></order>`, verdict: VerdictDifferent,
			want: []Difference{{Path: "/order/item[2]/@qty", Kind: KindChanged, Legacy: "2", Service: "5"}}},
		{desc: "missing and extra attribute", legacy: `<a x="1"/>`, service: `<a y="2"/>`, verdict: VerdictDifferent,
			want: []Difference{
				{Path: "/a/@x", Kind: KindMissing, Legacy: "1"},
				{Path: "/a/@y", Kind: KindExtra, Service: "2"},
			}},
		{desc: "changed text", legacy: three, service: strings.Replace(three, "thanks", "merci", 1),
			verdict: VerdictDifferent,
			want:    []Difference{{Path: "/order/note[1]/text()", Kind: KindChanged, Legacy: "thanks", Service: "merci"}}},
		{desc: "changed deep text", legacy: three, service: strings.Replace(three, "<qty>2</qty>", "<qty>9</qty>", 1),
			verdict: VerdictDifferent,
			want:    []Difference{{Path: "/order/item[2]/qty[1]/text()", Kind: KindChanged, Legacy: "2", Service: "9"}}},
		{desc: "missing item is one difference", legacy: three,
			service: order(`<sku>A</sku><qty>1</qty>`, `<sku>C</sku><qty>3</qty>`), verdict: VerdictDifferent,
			want: []Difference{{Path: "/order/item[2]", Kind: KindMissing,
				Legacy: "<item><sku>B</sku><qty>2</qty></item>"}}},
		{desc: "extra item at its service position", legacy: three,
			service: order(`<sku>A</sku><qty>1</qty>`, `<sku>B</sku><qty>2</qty>`, `<sku>C</sku><qty>3</qty>`, `<sku>D</sku><qty>4</qty>`),
			verdict: VerdictDifferent,
			want: []Difference{{Path: "/order/item[4]", Kind: KindExtra,
				Service: "<item><sku>D</sku><qty>4</qty></item>"}}},
		{desc: "missing item and a changed one", legacy: three,
			service: order(`<sku>A</sku><qty>1</qty>`, `<sku>C</sku><qty>4</qty>`), verdict: VerdictDifferent,
			want: []Difference{
				{Path: "/order/item[2]", Kind: KindMissing, Legacy: "<item><sku>B</sku><qty>2</qty></item>"},
				{Path: "/order/item[3]/qty[1]/text()", Kind: KindChanged, Legacy: "3", Service: "4"},
			}},
		{desc: "large replaced block pairs in order", legacy: "<r>" + strings.Repeat("<i>a</i>", 70) + "</r>",
			service: "<r>" + strings.Repeat("<i>b</i>", 70) + "</r>", verdict: VerdictDifferent,
			want: func() []Difference {
				var want []Difference
				for k := 1; k <= 70; k++ {
					want = append(want, Difference{Path: fmt.Sprintf("/r/i[%d]/text()", k), Kind: KindChanged, Legacy: "a", Service: "b"})
				}
				slices.SortFunc(want, func(a, b Difference) int { return strings.Compare(a.Path, b.Path) })
				return want
			}()},
		{desc: "other namespace URL", legacy: `<a xmlns="urn:x"><b/></a>`, service: `<a xmlns="urn:y"><b/></a>`,
			verdict: VerdictDifferent,
			want: []Difference{{Path: "/a", Kind: KindChanged,
				Legacy: `<a xmlns="urn:x"><b/></a>`, Service: `<a xmlns="urn:y"><b/></a>`}}},
		{desc: "ignore by position leaves the others compared", legacy: order("a", "b", "c"), service: order("A", "B", "c"),
			cfg: RulesConfig{IgnorePaths: []string{"/order/item[2]"}}, verdict: VerdictDifferent,
			want: []Difference{{Path: "/order/item[1]/text()", Kind: KindChanged, Legacy: "a", Service: "A"}}},
		{desc: "ignored attribute does not hide a sibling attribute", legacy: `<a ts="1" v="1"/>`, service: `<a ts="2" v="2"/>`,
			cfg: RulesConfig{IgnorePaths: []string{"/a/@ts"}}, verdict: VerdictDifferent,
			want: []Difference{{Path: "/a/@v", Kind: KindChanged, Legacy: "1", Service: "2"}}},
	})
	runBodyCases(t, "application/xml", BodyText, []bodyCase{
		{desc: "malformed XML is compared as text", legacy: "<a>\n<b>\n</a>", service: "<a>\n<c>\n</a>",
			verdict: VerdictDifferent,
			want:    []Difference{{Path: "line:2", Kind: KindChanged, Legacy: "<b>", Service: "<c>"}}},
	})
}

func TestCompareXMLKinds(t *testing.T) {
	for _, ct := range []string{"application/xml", "text/xml; charset=utf-8", "application/atom+xml"} {
		res := Compare(resp(`<a x="1"/>`, "Content-Type", ct), resp(`<a x="2"/>`, "Content-Type", ct), nil)
		if res.BodyKind != BodyXML || len(res.Differences) != 1 || res.Differences[0].Path != "/a/@x" {
			t.Errorf("%s: kind %s, differences %+v; want xml, one at /a/@x", ct, res.BodyKind, res.Differences)
		}
	}
	res := Compare(resp("<?xml version=\"1.0\"?><a/>"), resp("<?xml version=\"1.0\"?><a/>\n"), nil)
	if res.BodyKind != BodyXML || res.Verdict != VerdictEqual {
		t.Errorf("sniffed XML: kind %s, verdict %s; want xml, equal", res.BodyKind, res.Verdict)
	}
}

func TestCompareXMLExcerpt(t *testing.T) {
	res := Compare(resp(`<order><item qty="1"><sku>A</sku></item></order>`, "Content-Type", "text/xml"),
		resp(`<order><item qty="2"><sku>A</sku></item></order>`, "Content-Type", "text/xml"), nil)
	want := []Difference{{Path: "/order/item[1]/@qty", Kind: KindChanged, Legacy: "1", Service: "2",
		Excerpt: &Excerpt{Legacy: `<item qty="1"><sku>A</sku></item>`, Service: `<item qty="2"><sku>A</sku></item>`}}}
	if d := cmp.Diff(want, res.Differences); d != "" {
		t.Errorf("differences (-want +got):\n%s", d)
	}
	big := "<a><b>" + strings.Repeat("x", 2000) + "</b><c>1</c></a>"
	res = Compare(resp(big, "Content-Type", "text/xml"), resp(strings.Replace(big, "<c>1", "<c>2", 1), "Content-Type", "text/xml"), nil)
	if len(res.Differences) != 1 {
		t.Fatalf("differences %+v, want one", res.Differences)
	}
	if e := res.Differences[0].Excerpt; e == nil || e.Legacy != "<c>1</c>" || e.Service != "<c>2</c>" {
		t.Errorf("excerpt %+v, want the <c> elements", e)
	}
	res = Compare(resp(big+"", "Content-Type", "text/xml"), resp(strings.Replace(big, "<c>1</c>", "", 1), "Content-Type", "text/xml"), nil)
	if e := res.Differences[0].Excerpt; len(e.Service) > MaxExcerptLen || !strings.HasSuffix(e.Service, "…") {
		t.Errorf("excerpt of a large parent is %d bytes (%q…), want at most %d, marked cut", len(e.Service), e.Service[:20], MaxExcerptLen)
	}
}

func TestCompareXMLLearnedNoise(t *testing.T) {
	doc := func(ts, qty string) string {
		return `<order><meta generated="` + ts + `"/><item qty="1"/><item qty="` + qty + `"/></order>`
	}
	x := func(s string) Response { return resp(s, "Content-Type", "application/xml") }
	first := Compare(x(doc("t1", "2")), x(doc("t2", "2")), nil)
	rules, err := NewRules(RulesConfig{Noise: learn(first)})
	if err != nil {
		t.Fatal(err)
	}
	if res := Compare(x(doc("t1", "2")), x(doc("t3", "2")), rules); res.Verdict != VerdictNoiseOnly {
		t.Errorf("noise only: verdict %s, %+v", res.Verdict, res.Differences)
	}
	res := Compare(x(doc("t1", "2")), x(doc("t3", "3")), rules)
	if res.Verdict != VerdictDifferent || len(res.Differences) != 2 {
		t.Errorf("noise and a change: verdict %s, %+v; want different, two differences", res.Verdict, res.Differences)
	}
}

func TestCompareXMLBounds(t *testing.T) {
	deep := strings.Repeat("<a>", maxXMLDepth+1) + strings.Repeat("</a>", maxXMLDepth+1)
	wide := "<r>" + strings.Repeat("<i/>", maxXMLNodes) + "</r>"
	tests := []struct {
		desc string
		body string
		ok   bool
	}{
		{desc: "at the depth bound", body: strings.Repeat("<a>", maxXMLDepth) + strings.Repeat("</a>", maxXMLDepth), ok: true},
		{desc: "past the depth bound", body: deep},
		{desc: "past the node bound", body: wide},
		{desc: "two roots", body: "<a/><b/>"},
		{desc: "text outside the root", body: "<a/>x"},
		{desc: "unclosed", body: "<a><b></a>"},
		{desc: "custom entity", body: `<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>`},
		{desc: "external entity", body: `<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>`},
		{desc: "empty", body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := parseXML([]byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("parseXML error %v; want ok %v", err, tt.ok)
			}
		})
	}
	// A document over the bounds is compared as text, not as XML.
	res := Compare(resp(deep, "Content-Type", "application/xml"), resp(deep+" ", "Content-Type", "application/xml"), nil)
	if res.BodyKind != BodyText {
		t.Errorf("too deep: kind %s, want text", res.BodyKind)
	}
}

func TestXMLPatternStep(t *testing.T) {
	tests := []struct {
		seg  string
		want xmlStep
	}{
		{"item", xmlStep{kind: xmlElem, local: "item"}},
		{"item[2]", xmlStep{kind: xmlElem, local: "item", idx: 2}},
		{"ns:item[3]", xmlStep{kind: xmlElem, local: "item", idx: 3}},
		{"item[x]", xmlStep{kind: xmlElem, local: "item[x]"}},
		{"@qty", xmlStep{kind: xmlAttr, local: "qty"}},
		{"text()", xmlStep{kind: xmlText}},
		{"*", xmlStep{kind: xmlAny}},
	}
	for _, tt := range tests {
		pat, err := parsePattern("/" + tt.seg)
		if err != nil {
			t.Fatal(err)
		}
		if got := xmlPatternStep(pat[0]); got != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.seg, got, tt.want)
		}
	}
}

func TestCompareXMLManyItems(t *testing.T) {
	var l, s strings.Builder
	l.WriteString("<list>")
	s.WriteString("<list>")
	for i := range 2000 {
		fmt.Fprintf(&l, `<i n="%d"/>`, i)
		if i != 1000 {
			fmt.Fprintf(&s, `<i n="%d"/>`, i)
		}
	}
	l.WriteString("</list>")
	s.WriteString("</list>")
	res := Compare(resp(l.String(), "Content-Type", "text/xml"), resp(s.String(), "Content-Type", "text/xml"), nil)
	want := []Difference{{Path: "/list/i[1001]", Kind: KindMissing, Legacy: `<i n="1000"/>`}}
	if d := cmp.Diff(want, withoutExcerpts(res.Differences)); d != "" {
		t.Errorf("differences (-want +got):\n%s", d)
	}
}
