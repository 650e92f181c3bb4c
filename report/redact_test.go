package report

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/diff"
)

func TestRedactBody(t *testing.T) {
	r := NewRedactor(nil, []string{"/user/token", "/items/*/card", "/a~1b"})
	tests := []struct {
		name         string
		redactor     *Redactor
		body         string
		want         string
		wantComplete bool
	}{
		{"no json paths", NewRedactor(nil, nil), `{"user":{"name":"s"}}`, `{"user":{"name":"s"}}`, true},
		{"secret-like key by default", NewRedactor(nil, nil), `{"user":{"token":"s"}}`, `{"user":{"token":"[redacted]"}}`, true},
		{"nothing to hide keeps formatting", r, "{ \"user\": {\"name\": \"ann\"} }", "{ \"user\": {\"name\": \"ann\"} }", true},
		{"field", r, `{"user": {"name":"ann", "token":"s1"}, "n": 1.50}`, `{"user":{"name":"ann","token":"[redacted]"},"n":1.50}`, true},
		{"wildcard and subtree", r, `{"items":[{"card":"s1","id":1},{"card":{"n":"s2"}}]}`,
			`{"items":[{"card":"[redacted]","id":1},{"card":"[redacted]"}]}`, true},
		{"escaped key", r, `{"a/b":"s1","a":{"b":"kept"}}`, `{"a/b":"[redacted]","a":{"b":"kept"}}`, true},
		{"scalars", r, `[true,false,null,"x",-1e3]`, `[true,false,null,"x",-1e3]`, true},
		{"cut after the secret", r, `{"user":{"token":"s1"},"more":"abc`, `{"user":{"token":"[redacted]"},"more":`, false},
		{"cut inside the secret", r, `{"user":{"token":"s1abc`, `{"user":{"token":"[redacted]"`, false},
		{"malformed", r, `{"a":1,"user":nope,"user":{"token":"s1"}}`, `{"a":1,"user":`, false},
		{"several values", r, "{\"user\":{\"token\":\"s1\"}}\n{\"user\":{\"token\":\"s2\"}}",
			"{\"user\":{\"token\":\"[redacted]\"}}\n{\"user\":{\"token\":\"[redacted]\"}}", true},
		{"text in a JSON body is scrubbed", r, `token=s1`, `token=[redacted]`, true},
		{"json scalar is not a document", r, `"s1"`, `"s1"`, true},
		{"too deep", r, strings.Repeat("[", maxJSONDepth+1), strings.Repeat("[", maxJSONDepth), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, complete := tt.redactor.body(tt.body, diff.BodyJSON, 0)
			if got != tt.want || complete != tt.wantComplete {
				t.Errorf("body(%q) = %q, %v; want %q, %v", tt.body, got, complete, tt.want, tt.wantComplete)
			}
		})
	}
}

func TestRedactSide(t *testing.T) {
	r := NewRedactor([]string{"x-api-key"}, []string{"/token"})
	tests := []struct {
		name      string
		in        Side
		max       int
		want      Side
		wantClean bool
	}{
		{"headers", Side{Header: http.Header{"Authorization": {"a"}, "Cookie": {"b", "c"}, "X-Api-Key": {"d"}, "Accept": {"e"}}},
			10, Side{Header: http.Header{"Authorization": {Redacted}, "Cookie": {Redacted, Redacted}, "X-Api-Key": {Redacted}, "Accept": {"e"}}}, true},
		{"non-canonical header key", Side{Header: http.Header{"set-cookie": {"a"}}}, 10,
			Side{Header: http.Header{"set-cookie": {Redacted}}}, true},
		{"excerpt", Side{Body: "0123456789"}, 4, Side{Body: "0123", Truncated: true}, true},
		{"excerpt on a rune boundary", Side{Body: "aé"}, 2, Side{Body: "a", Truncated: true}, true},
		{"already truncated drops the cut word", Side{Body: "ab cd", Truncated: true}, 8, Side{Body: "ab", Truncated: true}, true},
		{"json cut by redaction", Side{Body: `{"token":"s","x":"ab`}, 100, Side{Body: `{"token":"[redacted]","x":`, Truncated: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.side(tt.in, diff.BodyJSON, tt.max)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("side = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRedactDoesNotModifyInput(t *testing.T) {
	h := http.Header{"Authorization": {"secret"}}
	ds := []diff.Difference{{Path: "header:Authorization", Legacy: "secret"}}
	rec := Record{Legacy: Side{Header: h}, Result: diff.Result{Differences: ds}}
	defaultRedactor.apply(rec, 100)
	if h.Get("Authorization") != "secret" || ds[0].Legacy != "secret" {
		t.Error("apply modified the caller's header or differences")
	}
}

func TestRedactDifferences(t *testing.T) {
	r := NewRedactor([]string{"X-Api-Key"}, []string{"/user/token", "/items/*/card"})
	tests := []struct {
		name string
		in   diff.Difference
		want diff.Difference
	}{
		{"covered path", diff.Difference{Path: "/user/token", Legacy: `"s1"`, Service: `"s2"`},
			diff.Difference{Path: "/user/token", Legacy: Redacted, Service: Redacted}},
		{"below a covered path", diff.Difference{Path: "/items/3/card/number", Legacy: `"s1"`},
			diff.Difference{Path: "/items/3/card/number", Legacy: Redacted}},
		{"above a covered path", diff.Difference{Path: "/user", Legacy: `{"name":"ann","token":"s1"}`},
			diff.Difference{Path: "/user", Legacy: `{"name":"ann","token":"[redacted]"}`}},
		{"above, value cut", diff.Difference{Path: "/items", Service: `[{"card":"s1"},{"card":"s2`},
			diff.Difference{Path: "/items", Service: `[{"card":"[redacted]"},{"card":"[redacted]"`}},
		{"root", diff.Difference{Path: "", Legacy: `{"user":{"token":"s1"}}`},
			diff.Difference{Path: "", Legacy: `{"user":{"token":"[redacted]"}}`}},
		{"redacted header", diff.Difference{Path: "header:X-Api-Key", Legacy: "s1", Service: "s2"},
			diff.Difference{Path: "header:X-Api-Key", Legacy: Redacted, Service: Redacted}},
		{"default header, absent on one side", diff.Difference{Path: "header:Set-Cookie", Service: "s2"},
			diff.Difference{Path: "header:Set-Cookie", Service: Redacted}},
		{"other header", diff.Difference{Path: "header:Cache-Control", Legacy: "a", Service: "b"},
			diff.Difference{Path: "header:Cache-Control", Legacy: "a", Service: "b"}},
		{"unrelated path", diff.Difference{Path: "/user/name", Legacy: `"a"`, Service: `"b"`},
			diff.Difference{Path: "/user/name", Legacy: `"a"`, Service: `"b"`}},
		{"status", diff.Difference{Path: "status", Legacy: "200", Service: "500"},
			diff.Difference{Path: "status", Legacy: "200", Service: "500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.differences([]diff.Difference{tt.in}, diff.BodyJSON)
			if got[0] != tt.want {
				t.Errorf("got %+v, want %+v", got[0], tt.want)
			}
		})
	}
}

// secrets are planted in every place a secret can hide; none may come out.
var secrets = []string{
	"sekret-auth-1", "sekret-cookie-2", "sekret-setcookie-3", "sekret-apikey-4",
	"sekret-token-5", "sekret-card-6", "sekret-card-7", "sekret-proxyauth-8",
}

// secretRecord returns a record carrying all the secrets.
func secretRecord(route string) Record {
	legacyBody := `{"user":{"name":"ann","token":"sekret-token-5"},"items":[{"id":1,"card":"sekret-card-6"},{"id":2,"card":{"n":"sekret-card-7"}}]}`
	rec := record(route, diff.VerdictDifferent,
		diff.Difference{Path: "/user/token", Kind: diff.KindChanged, Legacy: `"sekret-token-5"`, Service: `"x"`},
		diff.Difference{Path: "/items/1/card", Kind: diff.KindMissing, Legacy: `{"n":"sekret-card-7"}`},
		diff.Difference{Path: "/user", Kind: diff.KindType, Legacy: `{"name":"ann","token":"sekret-token-5"}`, Service: `"ann"`},
		diff.Difference{Path: "/items", Kind: diff.KindOrder, Legacy: `[{"id":1,"card":"sekret-card-6"},{"id":2,"card":{"n":"sekret-ca`},
		diff.Difference{Path: "header:X-Api-Key", Kind: diff.KindHeader, Legacy: "sekret-apikey-4"},
		diff.Difference{Path: "header:Set-Cookie", Kind: diff.KindHeader, Service: "sid=sekret-setcookie-3"},
	)
	rec.Legacy.Header = http.Header{
		"Authorization":       {"Bearer sekret-auth-1"},
		"Proxy-Authorization": {"Basic sekret-proxyauth-8"},
		"Cookie":              {"sid=sekret-cookie-2"},
		"X-Api-Key":           {"sekret-apikey-4"},
	}
	rec.Legacy.Body = legacyBody
	rec.Service.Header = http.Header{"Set-Cookie": {"sid=sekret-setcookie-3; HttpOnly"}}
	// The service body was cut by the capture cap after a secret.
	rec.Service.Body = `{"user":{"token":"sekret-token-5"},"items":[{"card":"sekret-card-6"},{"card":"sekret-card-`
	rec.Service.Truncated = true
	rec.Redactor = NewRedactor([]string{"X-Api-Key"}, []string{"/user/token", "/items/*/card"})
	return rec
}

func TestSecretsNeverLeave(t *testing.T) {
	s := startStore(t, Options{})
	in := secretRecord("orders")
	offerAll(t, s, in)
	rec, ok := s.Get(1)
	if !ok {
		t.Fatal("not stored")
	}
	rep := s.Report([]string{"orders"})
	outputs := map[string][]byte{
		"Get":    mustJSON(t, rec),
		"Recent": mustJSON(t, s.Recent("", 0)),
		"Report": mustJSON(t, rep),
	}
	for name, write := range map[string]func(*bytes.Buffer, Report) error{
		"WriteJSON":     func(b *bytes.Buffer, r Report) error { return WriteJSON(b, r) },
		"WriteMarkdown": func(b *bytes.Buffer, r Report) error { return WriteMarkdown(b, r) },
		"WriteHTML":     func(b *bytes.Buffer, r Report) error { return WriteHTML(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b, rep); err != nil {
			t.Fatal(name, err)
		}
		outputs[name] = b.Bytes()
	}
	for name, out := range outputs {
		for _, secret := range secrets {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("%s output contains %q", name, secret)
			}
		}
	}
	if !strings.Contains(rec.Legacy.Body, `"name":"ann"`) || !strings.Contains(rec.Legacy.Body, Redacted) {
		t.Errorf("legacy body = %s, want the name kept and secrets redacted", rec.Legacy.Body)
	}
	if !rec.Service.Truncated {
		t.Error("service body not marked truncated")
	}
	if in.Legacy.Header.Get("Authorization") != "Bearer sekret-auth-1" {
		t.Error("the caller's header was modified")
	}
}

func TestRedactBodyStopsPastLimit(t *testing.T) {
	r := NewRedactor(nil, []string{"/*/token"})
	body := `[{"token":"s1","n":1},{"token":"s2","n":2},{"token":"s3","n":3}]`
	tests := []struct {
		name         string
		limit        int
		want         string
		wantComplete bool
	}{
		{"no limit", 0, `[{"token":"[redacted]","n":1},{"token":"[redacted]","n":2},{"token":"[redacted]","n":3}]`, true},
		{"over the output", 1000, `[{"token":"[redacted]","n":1},{"token":"[redacted]","n":2},{"token":"[redacted]","n":3}]`, true},
		// The key is written, then its value found past the limit.
		{"stops at the first value past it", 10, `[{"token":"[redacted]","n":`, false},
		{"stops in the second element", 30, `[{"token":"[redacted]","n":1},{"token":`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, complete := r.body(body, diff.BodyJSON, tt.limit)
			if got != tt.want || complete != tt.wantComplete {
				t.Errorf("body(limit %d) = %q, %v; want %q, %v", tt.limit, got, complete, tt.want, tt.wantComplete)
			}
		})
	}
}
