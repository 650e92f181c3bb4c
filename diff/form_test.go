package diff

import "testing"

func TestCompareForm(t *testing.T) {
	runBodyCases(t, "application/x-www-form-urlencoded", BodyForm, []bodyCase{
		{desc: "order of different names", legacy: "a=1&b=2&c=3", service: "c=3&a=1&b=2", verdict: VerdictEqual},
		{desc: "encoding of the same value", legacy: "q=a+b&r=%2F", service: "q=a%20b&r=/", verdict: VerdictEqual},
		{desc: "marker field dropped", legacy: "a=1", service: "a=1&X-Strangler-Shadow=1", verdict: VerdictEqual},
		{desc: "ignored field", legacy: "a=1&csrf=x", service: "a=1&csrf=y",
			cfg: RulesConfig{IgnorePaths: []string{"/csrf"}}, verdict: VerdictEqual},
		{desc: "unordered values of one name", legacy: "t=x&t=y", service: "t=y&t=x",
			cfg: RulesConfig{Unordered: []string{"/t"}}, verdict: VerdictEqual},
		{desc: "changed value", legacy: "a=1&b=2", service: "a=1&b=3", verdict: VerdictDifferent,
			want: []Difference{{Path: "/b/0", Kind: KindChanged, Legacy: `"2"`, Service: `"3"`}}},
		{desc: "missing field", legacy: "a=1&b=2", service: "a=1", verdict: VerdictDifferent,
			want: []Difference{{Path: "/b", Kind: KindMissing, Legacy: `["2"]`}}},
		{desc: "extra value of a repeated name", legacy: "t=x", service: "t=x&t=y", verdict: VerdictDifferent,
			want: []Difference{{Path: "/t/1", Kind: KindExtra, Service: `"y"`}}},
		{desc: "values of one name in another order", legacy: "t=x&t=y", service: "t=y&t=x", verdict: VerdictDifferent,
			want: []Difference{{Path: "/t", Kind: KindOrder, Legacy: `["x","y"]`, Service: `["y","x"]`}}},
		{desc: "noise", legacy: "a=1&nonce=p", service: "a=1&nonce=q",
			cfg: RulesConfig{Noise: learned{"/nonce/*": true}}, verdict: VerdictNoiseOnly,
			want: []Difference{{Path: "/nonce/0", Kind: KindChanged, Legacy: `"p"`, Service: `"q"`, Noise: true}}},
	})
	runBodyCases(t, "application/x-www-form-urlencoded", BodyText, []bodyCase{
		{desc: "bad escape is compared as text", legacy: "a=%zz", service: "a=1", verdict: VerdictDifferent,
			want: []Difference{{Path: "line:1", Kind: KindChanged, Legacy: "a=%zz", Service: "a=1"}}},
	})
}
