package report

import (
	"encoding/json"
	"net/http"
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
