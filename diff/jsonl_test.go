package diff

import "testing"

func TestCompareJSONLines(t *testing.T) {
	runBodyCases(t, "application/x-ndjson", BodyJSONLines, []bodyCase{
		{desc: "key order and number form", legacy: "{\"a\":1,\"b\":2}\n{\"a\":3}\n",
			service: "{\"b\":2,\"a\":1.0}\n{\"a\":3}\n", verdict: VerdictEqual},
		{desc: "blank lines and CRLF", legacy: "{\"a\":1}\n\n{\"a\":2}\n",
			service: "{\"a\":1}\r\n{\"a\":2}\r\n\r\n", verdict: VerdictEqual},
		{desc: "ignored field on every line", legacy: "{\"id\":1,\"ts\":\"a\"}\n{\"id\":2,\"ts\":\"b\"}",
			service: "{\"id\":1,\"ts\":\"c\"}\n{\"id\":2,\"ts\":\"d\"}",
			cfg:     RulesConfig{IgnorePaths: []string{"/*/ts"}}, verdict: VerdictEqual},
		{desc: "marker echo in a line", legacy: "{\"headers\":{\"Accept\":\"*/*\"}}\n{\"n\":1}",
			service: "{\"headers\":{\"Accept\":\"*/*\",\"X-Strangler-Shadow\":\"1\"}}\n{\"n\":1}", verdict: VerdictEqual},
		{desc: "changed field", legacy: "{\"id\":1}\n{\"id\":2}\n{\"id\":3,\"s\":\"x\"}\n{\"id\":4}",
			service: "{\"id\":1}\n{\"id\":2}\n{\"id\":3,\"s\":\"y\"}\n{\"id\":4}", verdict: VerdictDifferent,
			want: []Difference{{Path: "/2/s", Kind: KindChanged, Legacy: `"x"`, Service: `"y"`}}},
		{desc: "missing last line", legacy: "{\"id\":1}\n{\"id\":2}", service: "{\"id\":1}\n", verdict: VerdictDifferent,
			want: []Difference{{Path: "/1", Kind: KindMissing, Legacy: `{"id":2}`}}},
		{desc: "noise", legacy: "{\"id\":1,\"ts\":1}\n{\"id\":2,\"ts\":2}", service: "{\"id\":1,\"ts\":3}\n{\"id\":2,\"ts\":4}",
			cfg: RulesConfig{Noise: learned{"/*/ts": true}}, verdict: VerdictNoiseOnly,
			want: []Difference{
				{Path: "/0/ts", Kind: KindChanged, Legacy: "1", Service: "3", Noise: true},
				{Path: "/1/ts", Kind: KindChanged, Legacy: "2", Service: "4", Noise: true},
			}},
	})
	runBodyCases(t, "application/x-ndjson", BodyText, []bodyCase{
		{desc: "a line that is not JSON is compared as text", legacy: "{\"a\":1}\n{\"a\":2}",
			service: "{\"a\":1}\n{\"a\":2", verdict: VerdictDifferent,
			want: []Difference{{Path: "line:2", Kind: KindChanged, Legacy: `{"a":2}`, Service: `{"a":2`}}},
	})
}

func TestCompareJSONLinesSniffed(t *testing.T) {
	res := Compare(resp("{\"a\":1}\n{\"a\":2}\n"), resp("{\"a\":1}\n{\"a\":5}\n"), nil)
	if res.BodyKind != BodyJSONLines || len(res.Differences) != 1 || res.Differences[0].Path != "/1/a" {
		t.Errorf("kind %s, differences %+v; want jsonl, one at /1/a", res.BodyKind, res.Differences)
	}
	for _, ct := range []string{"application/jsonl", "application/x-ndjson; charset=utf-8"} {
		res := Compare(resp("{\"a\":1}", "Content-Type", ct), resp("{\"a\":2}", "Content-Type", ct), nil)
		if res.BodyKind != BodyJSONLines || len(res.Differences) != 1 || res.Differences[0].Path != "/0/a" {
			t.Errorf("%s: kind %s, differences %+v; want jsonl, one at /0/a", ct, res.BodyKind, res.Differences)
		}
	}
}
