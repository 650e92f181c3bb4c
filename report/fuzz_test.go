package report

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/diff"
)

// canary is the secret FuzzRedact plants at redacted places. Inputs that
// carry it themselves are skipped: only the planted copies count.
const canary = "CANARYq7Zx3Kp9"

// fuzzRedactor hides one extra header and three JSON paths.
var fuzzRedactor = NewRedactor([]string{"X-Secret"}, []string{"/secret", "/data/*/token", "/0/card"})

// FuzzRedact plants the canary in headers that are always or
// configurably redacted, and at redacted JSON paths around a fuzzed
// body (before it, after it, in an array with it), then redacts the
// record as the store does: the canary must not come out anywhere, and
// a valid JSON body must stay valid when nothing was cut.
func FuzzRedact(f *testing.F) {
	f.Add([]byte(`{"token":"t","n":1.50,"a":[true,null]}`), "X-Api-Key", "v")
	f.Fuzz(func(t *testing.T, body []byte, name, value string) {
		if holdsCanary(body, name, value) {
			t.Skip("the input carries the canary itself")
		}
		for _, doc := range plantedDocs(string(body)) {
			rec := plantedRecord(doc, string(body), name, value)
			for _, max := range []int{64, 1 << 20} {
				out := fuzzRedactor.apply(rec, max)
				b, err := json.Marshal(out)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), canary) {
					t.Fatalf("canary in the redacted record (excerpt %d) of %q:\n%s", max, doc, b)
				}
				checkStillValid(t, doc, out.Legacy)
				// A difference value is not marked when the redactor cuts
				// it (too deep): ask the redactor whether it did.
				_, complete := fuzzRedactor.jsonValue(doc, "")
				checkStillValid(t, doc, Side{Body: out.Result.Differences[0].Legacy, Truncated: !complete})
			}
		}
	})
}

// plantedDocs wraps body in JSON documents that hold the canary at
// redacted paths, before, after and beside it.
func plantedDocs(body string) []string {
	return []string{
		`{"secret":"` + canary + `","data":` + body + `}`,
		`{"data":` + body + `,"secret":{"n":["` + canary + `"]}}`,
		`[{"card":"` + canary + `"},` + body + `]`,
	}
}

// plantedRecord is a record of doc with the canary in redacted headers
// and in differences at redacted paths; the fuzzed header is added too.
func plantedRecord(doc, body, name, value string) Record {
	legacy := http.Header{"Authorization": {"Bearer " + canary}, "X-Secret": {canary}, "x-secret": {canary}}
	legacy[name] = append(legacy[name], value)
	return Record{
		Legacy:  Side{Status: 200, Header: legacy, Body: doc},
		Service: Side{Status: 200, Header: http.Header{"Set-Cookie": {"sid=" + canary}, "Cookie": {canary}}, Body: doc},
		Result: diff.Result{Verdict: diff.VerdictDifferent, Differences: []diff.Difference{
			{Path: "", Kind: diff.KindChanged, Legacy: doc, Service: "1"},
			{Path: "/secret", Kind: diff.KindChanged, Legacy: `"` + canary + `"`},
			{Path: "/secret/n/0", Kind: diff.KindMissing, Legacy: `"` + canary + `"`},
			{Path: "/data", Kind: diff.KindChanged, Service: body},
			{Path: "header:X-Secret", Kind: diff.KindHeader, Legacy: canary},
			{Path: "header:Set-Cookie", Kind: diff.KindHeader, Service: "sid=" + canary},
		}},
	}
}

// holdsCanary reports whether the fuzzed input carries the canary, as
// sent or once its JSON strings are decoded.
func holdsCanary(body []byte, name, value string) bool {
	if strings.Contains(string(body)+name+value, canary) {
		return true
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return strings.Contains(string(body), `\u`) // escapes might spell it
	}
	b, err := json.Marshal(v)
	return err != nil || strings.Contains(string(b), canary)
}

// checkStillValid fails when doc is valid JSON, the redacted s was not
// cut, and s is not valid JSON.
func checkStillValid(t *testing.T, doc string, s Side) {
	t.Helper()
	if json.Valid([]byte(doc)) && !s.Truncated && len(s.Body) > 0 && !json.Valid([]byte(s.Body)) {
		t.Fatalf("valid %q redacted into invalid %q", doc, s.Body)
	}
}

// emailOracle is an independent statement of what scrub must hide as an
// e-mail address; scrub finds these (and more) by scanning.
var emailOracle = regexp.MustCompile(`[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// FuzzScrub checks the scrubber never panics, never leaves a run of 16
// digits that passes the Luhn check, and never leaves an e-mail address
// of its input.
func FuzzScrub(f *testing.F) {
	for _, seed := range []string{
		"mail ann@example.com card 4111 1111 1111 1111", "a%40b.co 4111111111111111x", "Bearer abcdefghij Basic dXNlcjpwdw==",
		plantedJWT, "password: 'x' token=\"y\\\"z\"", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6", "a@b.cc@d.ee", orderNumber,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, out := range []string{scrub(in), scrubText(in)} {
			if run, ok := luhnRun16(out); ok {
				t.Fatalf("scrub(%q) = %q keeps the card number %s", in, out, run)
			}
			for _, m := range emailOracle.FindAllString(in, -1) {
				if strings.Contains(out, m) {
					t.Fatalf("scrub(%q) = %q keeps the e-mail %s", in, out, m)
				}
			}
		}
	})
}

// luhnRun16 returns a run of exactly 16 digits in s (not preceded or
// followed by a digit) that passes the Luhn check.
func luhnRun16(s string) (string, bool) {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j-i == 16 && luhn(s[i:j]) {
			return s[i:j], true
		}
		i = max(j, i+1)
	}
	return "", false
}

// FuzzRedactMarkup plants the canary in secret places of an HTML and an
// XML document put before a fuzzed body, and redacts the whole, cut at
// several lengths, as the store does: it never panics, and the canary
// never comes out.
func FuzzRedactMarkup(f *testing.F) {
	f.Add([]byte(`<p>x</p><input name="a" value="b">`))
	f.Add([]byte(`<a b="c"><![CDATA[x]]></a><!-- c -->`))
	r, err := NewRedactorConfig(RedactorConfig{Selectors: []string{"div.secret", "span@data-x"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if strings.Contains(string(body), canary[:6]) {
			t.Skip("the input carries the canary itself")
		}
		html := `<input type="password" value="` + canary + `"><meta name="csrf-token" content="` + canary + `">` +
			`<div class="secret">` + canary + `</div><span data-x="` + canary + `"></span>`
		xml := `<?xml version="1.0"?><r token="` + canary + `"><password>` + canary + `</password>`
		docs := map[string]diff.BodyKind{html + string(body): diff.BodyHTML, xml + string(body): diff.BodyXML}
		for doc, kind := range docs {
			for _, max := range []int{40, 100, 1 << 20} {
				rec := Record{Legacy: Side{Body: doc}, Service: Side{Body: doc, Truncated: true},
					Result: diff.Result{BodyKind: kind, Differences: []diff.Difference{{Path: "x", Legacy: doc, Excerpt: &diff.Excerpt{Legacy: doc}}}}}
				b, err := json.Marshal(r.apply(rec, max))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), canary) {
					t.Fatalf("canary in the redacted %s record (excerpt %d):\n%s", kind, max, b)
				}
			}
		}
	})
}
