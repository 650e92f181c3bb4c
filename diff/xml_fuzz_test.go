package diff

import "testing"

// xmlResp is an XML response.
func xmlResp(b []byte) Response { return resp(string(b), "Content-Type", "application/xml") }

func FuzzCompareXML(f *testing.F) {
	f.Add([]byte(`<order id="7"><item qty="1">a</item><item qty="2"/></order>`),
		[]byte(`<order id="7"><item qty="1">a</item></order>`))
	f.Add([]byte(`<p:a xmlns:p="urn:x"><p:b p:k="1"><![CDATA[x]]></p:b><!--c--></p:a>`),
		[]byte(`<a xmlns="urn:x"><b k="1">x</b></a>`))
	f.Add([]byte(`<?xml version="1.0"?><a><b/><b/><c>t</c></a>`), []byte(`<a><c>t</c><b/></a>`))
	f.Add([]byte(`<a>`), []byte(`<a/><b/>`))
	rules, err := NewRules(RulesConfig{IgnorePaths: []string{"/*/b[2]", "/a/@k", "/*/*/text()"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, r := range []*Rules{nil, rules} {
			for _, x := range [][]byte{a, b} {
				if got := Compare(xmlResp(x), xmlResp(x), r); got.Verdict != VerdictEqual || len(got.Differences) != 0 {
					t.Fatalf("a vs a: %s %q %+v", got.Verdict, got.Error, got.Differences)
				}
			}
			ab, ba := Compare(xmlResp(a), xmlResp(b), r), Compare(xmlResp(b), xmlResp(a), r)
			noPanic(t, ab)
			noPanic(t, ba)
			if (len(ab.Differences) == 0) != (len(ba.Differences) == 0) {
				t.Fatalf("asymmetric: a,b %s %+v; b,a %s %+v", ab.Verdict, ab.Differences, ba.Verdict, ba.Differences)
			}
		}
	})
}
