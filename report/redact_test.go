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
	textPlain := http.Header{"Content-Type": {"text/plain"}}
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
		{"already truncated text drops the cut word", Side{Header: textPlain, Body: "ab cd", Truncated: true}, 8,
			Side{Header: textPlain, Body: "ab", Truncated: true}, true},
		{"cut json keeps its last whole token", Side{Body: `{"a":"b c"}`, Truncated: true}, 100, Side{Body: `{"a":"b c"}`, Truncated: true}, true},
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

// secretRecord returns a record carrying all the secrets, and the
// route's Redactor it is offered with.
func secretRecord(route string) (Record, *Redactor) {
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
	return rec, NewRedactor([]string{"X-Api-Key"}, []string{"/user/token", "/items/*/card"})
}

func TestSecretsNeverLeave(t *testing.T) {
	s := startStore(t, Options{})
	in, red := secretRecord("orders")
	offerWith(t, s, red, in)
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

func TestRedactBodyKinds(t *testing.T) {
	r := NewRedactor(nil, nil)
	tests := []struct {
		name         string
		kind         diff.BodyKind
		body, want   string
		wantComplete bool
	}{
		{"json", diff.BodyJSON,
			`{"user":"ann","password":"hunter2","contact":"` + plantedEmail + `","card":` + plantedCard + `,"order":` + orderNumber + `,"auth":{"api_key":"k1"}}`,
			`{"user":"ann","password":"[redacted]","contact":"[redacted:email]","card":"[redacted:card]","order":` + orderNumber + `,"auth":{"api_key":"[redacted]"}}`, true},
		{"json escapes are decoded first", diff.BodyJSON, `{"m":"ann\u0040example.com"}`, `{"m":"[redacted:email]"}`, true},
		{"json string holding an assignment", diff.BodyJSON, `{"log":"login password=hunter2 ok"}`, `{"log":"login password=[redacted] ok"}`, true},
		{"json lines", diff.BodyJSONLines, "{\"token\":\"t1\",\"n\":1}\n{\"jwt\":\"" + plantedJWT + "\"}\n{\"ok\":true}",
			"{\"token\":\"[redacted]\",\"n\":1}\n{\"jwt\":\"[redacted:jwt]\"}\n{\"ok\":true}", true},
		{"json lines cut in a secret", diff.BodyJSONLines, "{\"a\":1}\n{\"email\":\"ann@exa", "{\"a\":1}\n{\"email\":", false},
		{"form", diff.BodyForm, "user=ann&password=hunter2&email=ann%40example.com&note=call+me&card=4111+1111+1111+1111",
			"user=ann&password=[redacted]&email=[redacted:email]&note=call+me&card=[redacted:card]", true},
		{"form bad escape", diff.BodyForm, "q=%zz&Passwd=x%4", "q=%zz&Passwd=[redacted]", true},
		{"html", diff.BodyHTML,
			`<form id="login"><input type="password" name="pw" value="hunter2"><input name="csrf_token" value="abc123"><input name=user value='ann'></form>` +
				`<meta name="csrf-token" content="zzz"><p data-api-key="k2">Mail ` + plantedEmail + ` &amp; more</p><script>var cfg = {"apiKey": "k-1"};</script><textarea name="secret">s3</textarea>`,
			`<form id="login"><input type="password" name="pw" value="[redacted]"><input name="csrf_token" value="[redacted]"><input name=user value='ann'></form>` +
				`<meta name="csrf-token" content="[redacted]"><p data-api-key="[redacted]">Mail [redacted:email] &amp; more</p><script>var cfg = {"apiKey": [redacted]};</script><textarea name="secret">[redacted]</textarea>`, true},
		{"html entity-encoded email", diff.BodyHTML, `<p>ann&#64;example.com</p>`, `<p>[redacted:email]</p>`, true},
		{"html cut in a tag", diff.BodyHTML, `<p>hi</p><input name="password" value="hun`, `<p>hi</p>`, false},
		{"html unchanged keeps its bytes", diff.BodyHTML, `<P CLASS=x>Hi <b>there</b>`, `<P CLASS=x>Hi <b>there</b>`, true},
		{"xml", diff.BodyXML,
			`<?xml version="1.0"?><user token="t1" id="7"><name>ann</name><password>hunter2</password><email>` + plantedEmail + `</email><keys><private_key><pem>P</pem></private_key></keys></user>`,
			`<?xml version="1.0"?><user token="[redacted]" id="7"><name>ann</name><password>[redacted]</password><email>[redacted:email]</email><keys><private_key><pem>[redacted]</pem></private_key></keys></user>`, true},
		{"xml cut in a tag", diff.BodyXML, `<user><name>` + plantedEmail + `</name><secret a="x`, `<user><name>[redacted:email]</name>`, false},
		{"xml cut in a secret's text", diff.BodyXML, `<user><password>hun`, `<user><password>[redacted]`, true},
		{"xml comment in a secret", diff.BodyXML, `<a><!-- x@y.org --><token><!-- t --></token></a>`, `<a><!-- ` + RedactedEmail + ` --><token><!--[redacted]--></token></a>`, true},
		{"xml fragment", diff.BodyXML, `</item><token>x</token>`, `</item><token>[redacted]</token>`, true},
		{"text", diff.BodyText, "login ann password: hunter2\ncard 4111 1111 1111 1111 order " + orderNumber + "\nAuthorization: Bearer " + plantedBearer,
			"login ann password: [redacted]\ncard [redacted:card] order " + orderNumber + "\nAuthorization: [redacted]", true},
		{"text inside binary scrubbed", diff.BodyBinary, "\x00password=x \xff", "\x00password=[redacted] \xff", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, complete := r.body(tt.body, tt.kind, 0)
			if got != tt.want || complete != tt.wantComplete {
				t.Errorf("body(%s, %q)\n got %q, %v\nwant %q, %v", tt.kind, tt.body, got, complete, tt.want, tt.wantComplete)
			}
		})
	}
}

func TestSideKind(t *testing.T) {
	tests := []struct {
		name     string
		side     Side
		compared diff.BodyKind
		want     diff.BodyKind
	}{
		{"declared", Side{Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}}, diff.BodyText, diff.BodyHTML},
		{"declared problem json", Side{Header: http.Header{"Content-Type": {"application/problem+json"}}}, "", diff.BodyJSON},
		{"declared form", Side{Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}, "", diff.BodyForm},
		{"declared text", Side{Header: http.Header{"Content-Type": {"text/plain"}}, Body: "{"}, diff.BodyJSON, diff.BodyText},
		{"compared", Side{Body: "a=1"}, diff.BodyXML, diff.BodyXML},
		{"sniffed json", Side{Body: ` {"a":1}`}, diff.BodyText, diff.BodyJSON},
		{"sniffed xml", Side{Body: `<?xml version="1.0"?><a/>`}, "", diff.BodyXML},
		{"sniffed html", Side{Body: `<div>`}, diff.BodyEmpty, diff.BodyHTML},
		{"text", Side{Body: `password=x`}, diff.BodyBinary, diff.BodyText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sideKind(tt.side, tt.compared); got != tt.want {
				t.Errorf("sideKind = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRedactDifferencesByKind(t *testing.T) {
	r, err := NewRedactorConfig(RedactorConfig{Selectors: []string{"#profile .ssn", "input[name=zip]@value", "p.note::text"}})
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + plantedCard + strings.Repeat("ab", 24)
	htmlExcerpt := `<form id="login"><input type="password" name="pw" value="hunter2"></form>`
	tests := []struct {
		name string
		kind diff.BodyKind
		in   diff.Difference
		want diff.Difference
	}{
		{"json secret leaf", diff.BodyJSON, diff.Difference{Path: "/user/password", Legacy: `"a"`, Service: `"b"`},
			diff.Difference{Path: "/user/password", Legacy: Redacted, Service: Redacted}},
		{"json below a secret", diff.BodyJSON, diff.Difference{Path: "/auth/client_secret/v", Legacy: `"a"`},
			diff.Difference{Path: "/auth/client_secret/v", Legacy: Redacted}},
		{"json value holding a secret key", diff.BodyJSON, diff.Difference{Path: "/user", Legacy: `{"name":"ann","apiKey":"k"}`},
			diff.Difference{Path: "/user", Legacy: `{"name":"ann","apiKey":"[redacted]"}`}},
		{"json string value scrubbed", diff.BodyJSON, diff.Difference{Path: "/contact", Legacy: `"` + plantedEmail + `"`, Service: `"bob"`},
			diff.Difference{Path: "/contact", Legacy: `"[redacted:email]"`, Service: `"bob"`}},
		{"json number card", diff.BodyJSON, diff.Difference{Path: "/n", Legacy: plantedCard, Service: orderNumber},
			diff.Difference{Path: "/n", Legacy: RedactedCard, Service: orderNumber}},
		{"jsonl line", diff.BodyJSONLines, diff.Difference{Path: "/3/token", Legacy: `"t"`},
			diff.Difference{Path: "/3/token", Legacy: Redacted}},
		{"form field", diff.BodyForm, diff.Difference{Path: "/password/0", Legacy: `"a"`, Service: `"b"`},
			diff.Difference{Path: "/password/0", Legacy: Redacted, Service: Redacted}},
		{"xml element text", diff.BodyXML, diff.Difference{Path: "/user/password/text()", Legacy: "a", Service: "b"},
			diff.Difference{Path: "/user/password/text()", Legacy: Redacted, Service: Redacted}},
		{"xml attribute", diff.BodyXML, diff.Difference{Path: "/user[2]/@token", Legacy: "a"},
			diff.Difference{Path: "/user[2]/@token", Legacy: Redacted}},
		{"xml element value", diff.BodyXML, diff.Difference{Path: "/user", Legacy: "<user><pwd>p</pwd><n>ann@example.com</n></user>"},
			diff.Difference{Path: "/user", Legacy: "<user><pwd>[redacted]</pwd><n>[redacted:email]</n></user>"}},
		{"html input value", diff.BodyHTML, diff.Difference{Path: "form#login input[name=password]@value", Legacy: "a", Service: "b"},
			diff.Difference{Path: "form#login input[name=password]@value", Legacy: Redacted, Service: Redacted}},
		{"html password input", diff.BodyHTML, diff.Difference{Path: `form > input[type="password"]:nth-of-type(2)@value`, Legacy: "a"},
			diff.Difference{Path: `form > input[type="password"]:nth-of-type(2)@value`, Legacy: Redacted}},
		{"html meta content", diff.BodyHTML, diff.Difference{Path: "head > meta[name=csrf-token]@content", Legacy: "a"},
			diff.Difference{Path: "head > meta[name=csrf-token]@content", Legacy: Redacted}},
		{"html secret attribute", diff.BodyHTML, diff.Difference{Path: "div#app@data-auth-token", Legacy: "a"},
			diff.Difference{Path: "div#app@data-auth-token", Legacy: Redacted}},
		{"html selector whole element", diff.BodyHTML, diff.Difference{Path: "main > div#profile > span.ssn.big::text", Legacy: "078-05-1120"},
			diff.Difference{Path: "main > div#profile > span.ssn.big::text", Legacy: Redacted}},
		{"html selector attribute", diff.BodyHTML, diff.Difference{Path: "form input[name=zip]@value", Legacy: "1234"},
			diff.Difference{Path: "form input[name=zip]@value", Legacy: Redacted}},
		{"html selector text", diff.BodyHTML, diff.Difference{Path: "main > p.note:nth-of-type(3)::text", Legacy: "x"},
			diff.Difference{Path: "main > p.note:nth-of-type(3)::text", Legacy: Redacted}},
		{"html selector other attribute kept", diff.BodyHTML, diff.Difference{Path: "form input[name=zip]@class", Legacy: "x"},
			diff.Difference{Path: "form input[name=zip]@class", Legacy: "x"}},
		{"html text scrubbed, excerpt redacted", diff.BodyHTML,
			diff.Difference{Path: "main > p:nth-of-type(2)::text", Legacy: "mail " + plantedEmail, Service: "mail",
				Excerpt: &diff.Excerpt{Legacy: htmlExcerpt, Service: "<p>" + plantedJWT + "</p>"}},
			diff.Difference{Path: "main > p:nth-of-type(2)::text", Legacy: "mail " + RedactedEmail, Service: "mail",
				Excerpt: &diff.Excerpt{Legacy: `<form id="login"><input type="password" name="pw" value="[redacted]"></form>`, Service: "<p>" + RedactedJWT + "</p>"}}},
		{"html password input known from the excerpt", diff.BodyHTML,
			diff.Difference{Path: "form#login input[name=p1]@value", Legacy: "hunter2",
				Excerpt: &diff.Excerpt{Legacy: `<form id="login"><input type="password" name="p1" value="hunter2"></form>`}},
			diff.Difference{Path: "form#login input[name=p1]@value", Legacy: Redacted, Excerpt: &diff.Excerpt{Legacy: Redacted}}},
		{"html element value", diff.BodyHTML, diff.Difference{Path: "form#login", Legacy: htmlExcerpt},
			diff.Difference{Path: "form#login", Legacy: `<form id="login"><input type="password" name="pw" value="[redacted]"></form>`}},
		{"secret path hides the excerpt", diff.BodyXML,
			diff.Difference{Path: "/user/@token", Legacy: "a", Excerpt: &diff.Excerpt{Legacy: `<user token="a"/>`}},
			diff.Difference{Path: "/user/@token", Legacy: Redacted, Excerpt: &diff.Excerpt{Legacy: Redacted}}},
		{"text line", diff.BodyText,
			diff.Difference{Path: "line:3", Legacy: "password: hunter2", Service: "card 4111-1111-1111-1111",
				Excerpt: &diff.Excerpt{Legacy: "a\npassword: hunter2\nb", Service: "Basic dXNlcjpodW50ZXIy"}},
			diff.Difference{Path: "line:3", Legacy: "password: [redacted]", Service: "card " + RedactedCard,
				Excerpt: &diff.Excerpt{Legacy: "a\npassword: [redacted]\nb", Service: "Basic " + Redacted}}},
		{"default secret header", diff.BodyJSON, diff.Difference{Path: "header:X-Api-Key", Legacy: "k1", Service: "k2"},
			diff.Difference{Path: "header:X-Api-Key", Legacy: Redacted, Service: Redacted}},
		{"secret-like header name", diff.BodyJSON, diff.Difference{Path: "header:X-Session-Token", Legacy: "k1"},
			diff.Difference{Path: "header:X-Session-Token", Legacy: Redacted}},
		{"other header scrubbed", diff.BodyJSON, diff.Difference{Path: "header:Location", Legacy: "/reset?email=ann%40example.com"},
			diff.Difference{Path: "header:Location", Legacy: "/reset?email=" + RedactedEmail}},
		{"path holding an e-mail", diff.BodyJSON, diff.Difference{Path: "/users/ann@example.com/name", Legacy: `"a"`},
			diff.Difference{Path: "/users/" + RedactedEmail + "/name", Legacy: `"a"`}},
		{"binary digest kept", diff.BodyBinary, diff.Difference{Path: "body", Legacy: digest, Service: "sha256:" + strings.Repeat("0", 64)},
			diff.Difference{Path: "body", Legacy: digest, Service: "sha256:" + strings.Repeat("0", 64)}},
		{"whole body", diff.BodyText, diff.Difference{Path: "body", Legacy: "sha256:ab", Service: "token=x"},
			diff.Difference{Path: "body", Legacy: "sha256:ab", Service: "token=[redacted]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.differences([]diff.Difference{tt.in}, tt.kind)[0]
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", got, got.Excerpt, tt.want, tt.want.Excerpt)
			}
		})
	}
}

func TestRedactDoesNotModifyExcerpt(t *testing.T) {
	ex := &diff.Excerpt{Legacy: "password=x"}
	ds := []diff.Difference{{Path: "line:1", Excerpt: ex}}
	out := defaultRedactor.differences(ds, diff.BodyText)
	if ex.Legacy != "password=x" || out[0].Excerpt == ex {
		t.Error("the caller's excerpt was modified or shared")
	}
}

func TestNewRedactorConfig(t *testing.T) {
	tests := []struct {
		name      string
		selectors []string
		wantErr   string
	}{
		{"none", nil, ""},
		{"plain, attribute and text", []string{"#a .b", "input[name=zip]@value", "p::text", "a, b"}, ""},
		{"bad selector", []string{"div", "p[[x"}, `"p[[x"`},
		{"empty attribute", []string{"input@"}, `"input@"`},
		{"empty selector", []string{""}, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRedactorConfig(RedactorConfig{Selectors: tt.selectors})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestRedactHTMLSelectors(t *testing.T) {
	r, err := NewRedactorConfig(RedactorConfig{Selectors: []string{"#profile .ssn", "input[name=zip]@value", "p.note::text"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body, want string
	}{
		{"whole element", `<div id="profile"><span class="ssn" title="t">078-05-1120<b>x</b></span><span>ok</span></div>`,
			`<div id="profile"><span class="ssn" title="[redacted]">[redacted]<b>[redacted]</b></span><span>ok</span></div>`},
		{"attribute", `<input name="zip" value="1234" size="4">`, `<input name="zip" value="[redacted]" size="4">`},
		{"comment inside", `<div id="profile"><p class="ssn"><!-- 078 --></p><!-- ok --></div>`,
			`<div id="profile"><p class="ssn"><!--[redacted]--></p><!-- ok --></div>`},
		{"text", `<p class="note" lang="en">call me</p><p>kept</p>`, `<p class="note" lang="en">[redacted]</p><p>kept</p>`},
		{"not matched", `<div id="other"><span class="ssn">1</span></div>`, `<div id="other"><span class="ssn">1</span></div>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := r.body(tt.body, diff.BodyHTML, 0); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// planted are the secrets plantedRecords hide in every kind of body,
// header, difference, excerpt and error text; none may come out of the
// store. They hold no character an HTML or JSON encoder would escape.
var planted = []string{
	"ann.lee@example.com", "4111111111111111", "5500 0000 0000 0004", "5500000000000004",
	plantedJWT, plantedBearer, "dXNlcjpodW50ZXIy",
	"hunter2-json", "hunter2-jsonl", "hunter2-html", "hunter2-xml", "hunter2-form", "hunter2-text",
	"hunter2-diff", "hunter2-excerpt", "hunter2-error", "apikey-hdr-1", "sess-tok-2", "csrf-meta-3",
	"xml-attr-4", "ssn-078051120", "cut-secret-5",
}

// plantedRecords returns one record per body kind carrying the planted
// secrets, and the Redactor of each (nil: the default), as the shadow
// dispatcher offers them.
func plantedRecords(t *testing.T) ([]Record, []*Redactor) {
	t.Helper()
	withSelector, err := NewRedactorConfig(RedactorConfig{Selectors: []string{"#profile .ssn"}})
	if err != nil {
		t.Fatal(err)
	}
	ctype := func(ct string) http.Header { return http.Header{"Content-Type": {ct}} }
	recs := []Record{
		kindRecord("json", diff.BodyJSON, ctype("application/json"),
			`{"user":{"name":"ann","password":"hunter2-json","email":"ann.lee@example.com"},"card":4111111111111111,"order":`+orderNumber+`}`,
			`{"user":{"name":"ann","token":"`+plantedJWT+`"},"note":"pay 5500 0000 0000 0004","more":"cut-secret-5`,
			diff.Difference{Path: "/user/password", Kind: diff.KindChanged, Legacy: `"hunter2-diff"`, Service: `"x"`},
			diff.Difference{Path: "/user", Kind: diff.KindChanged, Legacy: `{"password":"hunter2-diff","email":"ann.lee@example.com"}`},
			diff.Difference{Path: "/order", Kind: diff.KindChanged, Legacy: orderNumber, Service: "4111111111111111"},
			diff.Difference{Path: "header:X-Api-Key", Kind: diff.KindHeader, Legacy: "apikey-hdr-1"}),
		kindRecord("jsonl", diff.BodyJSONLines, ctype("application/x-ndjson"),
			"{\"n\":1,\"pwd\":\"hunter2-jsonl\"}\n{\"n\":2,\"auth\":\"Bearer "+plantedBearer+"\"}", "{\"n\":1}",
			diff.Difference{Path: "/1/auth", Kind: diff.KindChanged, Legacy: `"Bearer ` + plantedBearer + `"`}),
		kindRecord("html", diff.BodyHTML, ctype("text/html"),
			`<html><head><meta name="csrf-token" content="csrf-meta-3"></head><body><form id="login"><input type="password" name="pw" value="hunter2-html"></form>`+
				`<p>Mail ann.lee@example.com</p><div id="profile"><span class="ssn">ssn-078051120</span></div></body></html>`,
			`<p>ok</p><input name="password" value="cut-secret-5`,
			diff.Difference{Path: "form#login input[name=pw]@value", Kind: diff.KindChanged, Legacy: "hunter2-diff",
				Excerpt: &diff.Excerpt{Legacy: `<input type="password" name="pw" value="hunter2-excerpt">`}},
			diff.Difference{Path: "body > p::text", Kind: diff.KindChanged, Legacy: "Mail ann.lee@example.com",
				Excerpt: &diff.Excerpt{Legacy: `<p>Mail ann.lee@example.com</p>`, Service: `<p>Mail</p>`}},
			diff.Difference{Path: "div#profile > span.ssn::text", Kind: diff.KindChanged, Legacy: "ssn-078051120"}),
		kindRecord("xml", diff.BodyXML, ctype("application/xml"),
			`<?xml version="1.0"?><user token="xml-attr-4"><password>hunter2-xml</password><mail>ann.lee@example.com</mail></user>`,
			`<user><name>x</name><secret>cut-secret-5`,
			diff.Difference{Path: "/user/password/text()", Kind: diff.KindChanged, Legacy: "hunter2-diff",
				Excerpt: &diff.Excerpt{Legacy: `<password>hunter2-excerpt</password>`}},
			diff.Difference{Path: "/user/@token", Kind: diff.KindChanged, Legacy: "xml-attr-4"}),
		kindRecord("form", diff.BodyForm, ctype("application/x-www-form-urlencoded"),
			"user=ann&password=hunter2-form&email=ann.lee%40example.com&card=4111+1111+1111+1111", "user=ann",
			diff.Difference{Path: "/password/0", Kind: diff.KindChanged, Legacy: `"hunter2-diff"`}),
		kindRecord("text", diff.BodyText, ctype("text/plain"),
			"user ann.lee@example.com\npassword: hunter2-text\nAuthorization: Basic dXNlcjpodW50ZXIy\norder "+orderNumber,
			"token "+plantedJWT+"\ncard 5500-0000-0000-0004 cut-secret-5",
			diff.Difference{Path: "line:2", Kind: diff.KindChanged, Legacy: "password: hunter2-diff",
				Excerpt: &diff.Excerpt{Legacy: "user ann.lee@example.com\npassword: hunter2-excerpt"}}),
	}
	reds := make([]*Redactor, len(recs))
	reds[2] = withSelector
	recs[5].Result.Error = "service body: bad line \"password=hunter2-error\""
	return recs, reds
}

// kindRecord is a record of route whose bodies are of the given kind; the
// service body is marked cut by the capture cap.
func kindRecord(route string, kind diff.BodyKind, h http.Header, legacy, service string, ds ...diff.Difference) Record {
	rec := record(route, diff.VerdictDifferent, ds...)
	rec.Result.BodyKind = kind
	rec.Legacy.Header, rec.Legacy.Body = h.Clone(), legacy
	rec.Legacy.Header["X-Api-Key"] = []string{"apikey-hdr-1"}
	rec.Legacy.Header["X-Session-Token"] = []string{"sess-tok-2"}
	rec.Service.Header, rec.Service.Body, rec.Service.Truncated = h.Clone(), service, true
	rec.Service.Header["Authorization"] = []string{"Bearer " + plantedBearer}
	return rec
}

// TestPlantedSecretsNeverLeave offers records of every body kind through
// the store, as the shadow dispatcher does, with the default redaction
// (and one selector): no planted secret comes out of a stored record, the
// listings, the report or any of its renderings.
func TestPlantedSecretsNeverLeave(t *testing.T) {
	s := startStore(t, Options{})
	recs, reds := plantedRecords(t)
	for i := range recs {
		offerWith(t, s, reds[i], recs[i])
	}
	var routes []string
	outputs := map[string][]byte{"Recent": mustJSON(t, s.Recent("", 0))}
	for i, in := range recs {
		rec, ok := s.Get(uint64(i + 1))
		if !ok {
			t.Fatalf("record %d not stored", i+1)
		}
		outputs["Get "+in.Route] = mustJSON(t, rec)
		routes = append(routes, in.Route)
	}
	rep := s.Report(routes)
	outputs["Report"] = mustJSON(t, rep)
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
		for _, secret := range planted {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("%s output contains %q", name, secret)
			}
		}
	}
	for _, route := range []string{"json", "text"} {
		if !bytes.Contains(outputs["Get "+route], []byte(orderNumber)) {
			t.Errorf("%s: the Luhn-invalid order number %s was hidden", route, orderNumber)
		}
	}
	if recs[0].Legacy.Header.Get("X-Api-Key") != "apikey-hdr-1" || recs[2].Result.Differences[0].Excerpt.Legacy == Redacted {
		t.Error("the caller's record was modified")
	}
}
