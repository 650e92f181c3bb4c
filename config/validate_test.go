package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/stage"
)

// baseYAML is a valid head every route case builds on: a legacy upstream,
// an ordinary service and a sandbox service.
const baseYAML = `legacy:
  url: http://legacy:8081
services:
  orders:
    url: http://orders:8082
  scratch:
    url: http://scratch:8083
    sandbox: true
`

// withRoutes returns baseYAML followed by a routes list.
func withRoutes(routes string) string { return baseYAML + "routes:\n" + routes }

// truncatedExample cuts the repository's example mid-line, inside the
// quoted path template, as an interrupted write would.
func truncatedExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), `"/api/orders/{id`)
	if i < 0 {
		t.Fatal("example config changed: quoted path template not found")
	}
	return string(data[:i+8])
}

// location is "file" or, with a line, "file:line".
func location(file string, line int) string {
	if line == 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}

// namesFile reports whether problem p starts with "file: " or
// "file:LINE: ".
func namesFile(p error, file string) bool {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `(:[1-9][0-9]*)?: `).MatchString(p.Error())
}

// findProblem returns the FieldError of err on field, if any.
func findProblem(err error, field string) *FieldError {
	for _, p := range Problems(err) {
		var fe *FieldError
		if errors.As(p, &fe) && fe.Field == field {
			return fe
		}
	}
	return nil
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		field  string
		reason string
	}{
		{"empty file", "", "(file)", "empty"},
		{"whitespace only", "\n  \n\t\n", "(file)", "empty"},
		{"comments only", "# strangler\n# nothing here yet\n---\n", "(file)", "empty"},
		{"truncated YAML", truncatedExample(t), "(file)", "not valid YAML"},
		{"tab indentation", "legacy:\n\turl: http://l:1\n", "(file)", "not valid YAML"},
		{"duplicate key", "legacy:\n  url: http://a:1\n  url: http://b:1\n", "(file)", "already defined"},
		{"top level is a list", "- legacy\n", "(file)", "not valid YAML"},
		{"unknown top-level key", baseYAML + "listn: \":8080\"\n", "listn", "unknown key"},
		{"unknown nested key", withRoutes("  - name: r\n    match:\n      pathh: /a\n"), "routes[0].match.pathh", "unknown key"},
		{"unknown service key", baseYAML + "    sandboxx: true\n", "services[scratch].sandboxx", "unknown key"},
		{"wrong type", withRoutes("  - name: r\n    match: {path: /a}\n    percent: ten\n"), "routes[0].percent", "cannot parse"},
		{"missing legacy.url", "listen: \":8080\"\n", "legacy.url", "required"},
		{"legacy url without scheme", "legacy:\n  url: legacy.internal/app\n", "legacy.url", "scheme must be http or https"},
		{"legacy url ftp scheme", "legacy:\n  url: ftp://legacy:21\n", "legacy.url", "scheme must be http or https"},
		{"legacy url without host", "legacy:\n  url: http:///app\n", "legacy.url", "no host"},
		{"legacy url with query", "legacy:\n  url: http://legacy:8081/?debug=1\n", "legacy.url", "query or fragment"},
		{"legacy url with fragment", "legacy:\n  url: http://legacy:8081/#top\n", "legacy.url", "query or fragment"},
		{"service url missing", baseYAML + "  billing:\n    timeout: 5s\n", "services.billing.url", "required"},
		{"unknown service", withRoutes("  - name: r\n    match: {path: /a}\n    service: billing\n    stage: migrated\n"),
			"routes[0].service", `unknown service "billing"`},
		{"duplicate route name", withRoutes("  - name: r\n    match: {path: /a}\n  - name: r\n    match: {path: /b}\n"),
			"routes[1].name", "duplicate route name \"r\" (also routes[0])"},
		{"missing route name", withRoutes("  - match: {path: /a}\n"), "routes[0].name", "required"},
		{"route name with bad characters", withRoutes("  - name: \"order details!\"\n    match: {path: /a}\n"),
			"routes[0].name", "letters, digits"},
		{"percent over 100", withRoutes("  - name: r\n    match: {path: /a}\n    service: orders\n    stage: canary\n    percent: 150\n"),
			"routes[0].percent", "between 0 and 100, got 150"},
		{"percent negative", withRoutes("  - name: r\n    match: {path: /a}\n    service: orders\n    stage: canary\n    percent: -1\n"),
			"routes[0].percent", "between 0 and 100, got -1"},
		{"percent NaN", withRoutes("  - name: r\n    match: {path: /a}\n    percent: .nan\n"), "routes[0].percent", "between 0 and 100"},
		{"bad path template", withRoutes("  - name: r\n    match: {path: \"/x/{id\"}\n"), "routes[0].match.path", "bad template \"/x/{id\""},
		{"bad prefix template", withRoutes("  - name: r\n    match: {prefix: \"/x/{id:[}\"}\n"), "routes[0].match.prefix", "bad template"},
		{"path without leading slash", withRoutes("  - name: r\n    match: {path: api/orders}\n"), "routes[0].match.path", "must start with /"},
		{"prefix without leading slash", withRoutes("  - name: r\n    match: {prefix: api/}\n"), "routes[0].match.prefix", "must start with /"},
		{"path and prefix both set", withRoutes("  - name: r\n    match: {path: /a, prefix: /b/}\n"), "routes[0].match", "exclusive"},
		{"neither path nor prefix", withRoutes("  - name: r\n    match: {methods: [GET]}\n"), "routes[0].match", "one of path or prefix is required"},
		{"bad match method", withRoutes("  - name: r\n    match: {path: /a, methods: [\"GE T\"]}\n"), "routes[0].match.methods[0]", "not an HTTP method"},
		{"bad host template", withRoutes("  - name: r\n    match: {path: /a, host: \"{sub.example.com\"}\n"), "routes[0].match.host", "bad host template"},
		{"bad header name", withRoutes("  - name: r\n    match: {path: /a, headers: {\"x user\": \"\"}}\n"), "routes[0].match.headers", "not a valid header name"},
		{"unknown stage", withRoutes("  - name: r\n    match: {path: /a}\n    service: orders\n    stage: beta\n"),
			"routes[0].stage", `unknown stage "beta"`},
		{"canary without service", withRoutes("  - name: r\n    match: {path: /a}\n    stage: canary\n    percent: 5\n"),
			"routes[0].service", `required for stage "canary"`},
		{"migrated without service", withRoutes("  - name: r\n    match: {path: /a}\n    stage: migrated\n"),
			"routes[0].service", `required for stage "migrated"`},
		{"sticky query", withRoutes("  - name: r\n    match: {path: /a}\n    sticky: query:x\n"), "routes[0].sticky", `malformed "query:x"`},
		{"sticky header without name", withRoutes("  - name: r\n    match: {path: /a}\n    sticky: \"header:\"\n"), "routes[0].sticky", `malformed "header:"`},
		{"sticky cookie bad name", withRoutes("  - name: r\n    match: {path: /a}\n    sticky: \"cookie:a b\"\n"), "routes[0].sticky", "want header:NAME, cookie:NAME or ip"},
		{"shadow POST to non-sandbox service", withRoutes("  - name: r\n    match: {path: /a}\n    service: orders\n    stage: shadow\n    shadow:\n      methods: [GET, POST]\n"),
			"routes[0].shadow.methods[1]", `shadowing POST writes to service "orders", which is not marked sandbox: true`},
		{"shadow lower-case delete to non-sandbox", withRoutes("  - name: r\n    match: {path: /a}\n  - name: s\n    match: {path: /b}\n    service: orders\n    stage: shadow\n    shadow:\n      methods: [delete]\n"),
			"routes[1].shadow.methods[0]", "sandbox"},
		{"shadow CONNECT", withRoutes("  - name: r\n    match: {path: /a}\n    service: scratch\n    stage: shadow\n    shadow: {methods: [CONNECT]}\n"),
			"routes[0].shadow.methods[0]", "CONNECT is never shadowed"},
		{"shadow sample over 100", withRoutes("  - name: r\n    match: {path: /a}\n    shadow: {sample: 101}\n"), "routes[0].shadow.sample", "between 0 and 100"},
		{"shadow sample NaN", withRoutes("  - name: r\n    match: {path: /a}\n    shadow: {sample: .nan}\n"), "routes[0].shadow.sample", "between 0 and 100"},
		{"bad duration string", "legacy:\n  url: http://l:1\n  timeout: 5 parsecs\n", "legacy.timeout", `invalid duration "5 parsecs"`},
		{"duration without unit", "legacy:\n  url: http://l:1\nserver:\n  idle_timeout: 30\n", "server.idle_timeout", "needs a unit"},
		{"negative duration", "legacy:\n  url: http://l:1\nserver:\n  shutdown_timeout: -1s\n", "server.shutdown_timeout", "must be positive"},
		{"bad size for max_body", withRoutes("  - name: r\n    match: {path: /a}\n    shadow: {max_body: 1 potato}\n"),
			"routes[0].shadow.max_body", `invalid size "1 potato"`},
		{"negative max_body", withRoutes("  - name: r\n    match: {path: /a}\n    shadow: {max_body: -5}\n"), "routes[0].shadow.max_body", "must not be negative"},
		{"max_header_bytes too small", "legacy:\n  url: http://l:1\nserver:\n  max_header_bytes: 1KiB\n", "server.max_header_bytes", "between 4KiB and 64MiB"},
		{"upper-case service name", baseYAML + "  Billing:\n    url: http://billing:8084\n", "services.Billing", "lower case"},
		{"service name with dot", baseYAML + "  billing.v2:\n    url: http://billing:8084\n", "services[billing].v2", "unknown key"},
		{"bad trusted_proxies entry", baseYAML + "trusted_proxies: [10.0.0.0/8, 10.0.0.300]\n", "trusted_proxies[1]", `"10.0.0.300" is neither an IP address nor a CIDR`},
		{"bad trusted_proxies CIDR", baseYAML + "trusted_proxies: [192.168.0.0/33]\n", "trusted_proxies[0]", "neither an IP address nor a CIDR"},
		{"bad log level", baseYAML + "log: {level: verbose}\n", "log.level", `unknown level "verbose"`},
		{"bad log format", baseYAML + "log: {format: xml}\n", "log.format", `unknown format "xml"`},
		{"diff.ignore neither pointer nor header", withRoutes("  - name: r\n    match: {path: /a}\n    diff: {ignore: [served_at]}\n"),
			"routes[0].diff.ignore[0]", "neither a JSON Pointer (did you mean /served_at?)"},
		{"diff.ignore bad css selector", withRoutes("  - name: r\n    match: {path: /a}\n    diff: {ignore: [\"div[\"]}\n"),
			"routes[0].diff.ignore[0]", "nor a CSS selector"},
		{"diff.redact bad css selector", withRoutes("  - name: r\n    match: {path: /a}\n    diff: {redact: [\"p..x@value\"]}\n"),
			"routes[0].diff.redact[0]", "nor a CSS selector"},
		{"diff.ignore bad line", withRoutes("  - name: r\n    match: {path: /a}\n    diff: {ignore: [\"line:0\"]}\n"),
			"routes[0].diff.ignore[0]", "want line:N with N a line number from 1"},
		{"diff.ignore bad pointer escape", withRoutes("  - name: r\n    match: {path: /a}\n    diff: {ignore: [/ok, /a~2b]}\n"),
			"routes[0].diff.ignore[1]", "not a JSON Pointer"},
		{"diff.ignore bad header name", withRoutes("  - name: r\n    match: {path: /a}\n    diff: {ignore: [\"header:Date Time\"]}\n"),
			"routes[0].diff.ignore[0]", "not a valid header name"},
		{"rewrite.strip_prefix without slash", withRoutes("  - name: r\n    match: {prefix: /api/}\n    rewrite: {strip_prefix: api}\n"),
			"routes[0].rewrite.strip_prefix", `"api" must be a path starting with /`},
		{"rewrite.add_prefix with query", withRoutes("  - name: r\n    match: {prefix: /api/}\n    rewrite: {add_prefix: \"/v2?x=1\"}\n"),
			"routes[0].rewrite.add_prefix", "without ? or #"},
		{"legacy host_header unknown", "legacy:\n  url: http://l:1\n  host_header: origin\n", "legacy.host_header", `unknown value "origin": want upstream or client`},
		{"route rewrite add_prefix control character", withRoutes("  - name: r\n    match: {path: /a}\n    rewrite: {add_prefix: \"/v2\\r\\nX-Evil: 1\"}\n"),
			"routes[0].rewrite.add_prefix", "control characters"},
		{"log buffer too large", "log: {buffer: 1GiB}\n", "log.buffer", "between 0 (off) and 16MiB"},
		{"log flush interval zero", "log: {buffer: 64KiB, flush_interval: 0s}\n", "log.flush_interval", "must be positive"},
		{"legacy client unknown", "legacy:\n  url: http://l:1\n  client: fasthttp\n", "legacy.client", `unknown value "fasthttp": want lean or standard`},
		{"service client unknown", baseYAML + "    client: Lean\n", "services.scratch.client", "unknown value"},
		{"service host_header unknown", baseYAML + "    host_header: Client\n", "services.scratch.host_header", "unknown value"},
		{"route rewrite host_header unknown", withRoutes("  - name: r\n    match: {path: /a}\n    rewrite: {host_header: backend}\n"),
			"routes[0].rewrite.host_header", `unknown value "backend"`},
		{"listen not host:port", baseYAML + "listen: \"8080\"\n", "listen", "not host:port"},
		{"admin listen without port", baseYAML + "admin: {listen: \"127.0.0.1:\"}\n", "admin.listen", "not host:port"},
		{"admin token_env invalid", baseYAML + "admin: {token_env: \"MY-TOKEN\"}\n", "admin.token_env", "not a valid environment variable name"},
		{"max_idle_conns negative", "legacy:\n  url: http://l:1\n  max_idle_conns: -1\n", "legacy.max_idle_conns", "at least 1"},
		{"listen port over 65535", baseYAML + "listen: \":99999\"\n", "listen", `port "99999" in ":99999" must be a number from 1 to 65535`},
		{"admin listen port over 65535", baseYAML + "admin: {listen: \"127.0.0.1:70000\"}\n", "admin.listen", "from 1 to 65535"},
		{"listen port negative", baseYAML + "listen: \":-1\"\n", "listen", "from 1 to 65535"},
		{"listen port by name", baseYAML + "listen: \":http\"\n", "listen", "must be a number"},
		{"integer overflow", "legacy:\n  url: http://l:1\n  max_idle_conns: 99999999999999999999\n", "legacy.max_idle_conns",
			"1e+20 is out of range: want a whole number from -9223372036854775808 to 9223372036854775807"},
		{"integer overflow past int64 by one", "legacy:\n  url: http://l:1\n  max_idle_conns: 9223372036854775808\n", "legacy.max_idle_conns", "out of range"},
		{"fraction for a whole number", "legacy:\n  url: http://l:1\n  max_idle_conns: 256.9\n", "legacy.max_idle_conns", "256.9 is not a whole number"},
		{"fraction for a size", baseYAML + "reports: {max_bytes: 2048.5}\n", "reports.max_bytes", "2048.5 is not a whole number"},
		{"negative for an unsigned field", baseYAML + "    breaker: {consecutive_failures: -1}\n", "services[scratch].breaker.consecutive_failures",
			"-1 is out of range: want a whole number from 0 to 4294967295"},
		{"huge worker count", baseYAML + "shadowing: {workers: 1e30}\n", "shadowing.workers", "1e+30 is out of range"},
		{"bad trust_marker_from entry", baseYAML + "shadowing: {trust_marker_from: [10.0.0.0/8, nowhere]}\n", "shadowing.trust_marker_from[1]", "neither an IP address nor a CIDR"},
		{"bad shadowing.secret_env", baseYAML + "shadowing: {secret_env: \"MY-SECRET\"}\n", "shadowing.secret_env", "not a valid environment variable name"},
		{"max_in_flight negative", "legacy:\n  url: http://l:1\n  max_in_flight: -1\n", "legacy.max_in_flight", "at least 1"},
		{"service max_in_flight negative", baseYAML + "    max_in_flight: -5\n", "services.scratch.max_in_flight", "no unbounded setting"},
	}
	const file = "routes.yaml"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yaml), file, Source{})
			if err == nil {
				t.Fatalf("Parse accepted the file:\n%s\nconfig: %+v", tc.yaml, cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config together with an error")
			}
			fe := findProblem(err, tc.field)
			if fe == nil {
				t.Fatalf("no problem on field %q; got:\n%v", tc.field, err)
			}
			if !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("reason for %s = %q, want it to contain %q", tc.field, fe.Reason, tc.reason)
			}
			prefix := location(file, fe.Line) + ": " + tc.field + ": "
			if !strings.HasPrefix(fe.Error(), prefix) {
				t.Errorf("problem %q does not start with %q", fe.Error(), prefix)
			}
			if !strings.Contains(err.Error(), prefix+fe.Reason) {
				t.Errorf("joined error %q lacks %q", err.Error(), prefix+fe.Reason)
			}
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	const bad = `listen: nowhere
log:
  level: loud
legacy:
  url: ftp://legacy
services:
  orders:
    url: http://orders:8082
routes:
  - name: "bad name"
    match: {path: /a, prefix: /b}
    service: orders
    stage: canary
    percent: 150
    sticky: query:x
    shadow:
      methods: [POST]
  - name: ok
    match: {path: /c}
    service: ghosts
    stage: migrated
    diff: {ignore: [nope]}
`
	want := []string{
		"listen", "log.level", "legacy.url", "routes[0].name", "routes[0].match",
		"routes[0].percent", "routes[0].sticky", "routes[0].shadow.methods[0]",
		"routes[1].service", "routes[1].diff.ignore[0]",
	}
	const file = "many.yaml"
	path := writeTemp(t, file, bad)
	_, err := Load(path, Source{})
	problems := Problems(err)
	if len(problems) < 3 || len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(problems), len(want), err)
	}
	for _, p := range problems {
		if !namesFile(p, path) {
			t.Errorf("problem %q does not start with the file name %q", p.Error(), path)
		}
		var fe *FieldError
		if !errors.As(p, &fe) {
			t.Errorf("problem %T %v is not a *FieldError", p, p)
		}
	}
	for _, f := range want {
		if findProblem(err, f) == nil {
			t.Errorf("no problem reported on %s", f)
		}
	}
	// Decode-stage problems are all reported too.
	_, err = Parse([]byte("listn: x\nlegacy:\n  url: http://l:1\n  timeout: soon\n  dial_timeout: later\n"), file, Source{})
	if n := len(Problems(err)); n != 3 {
		t.Errorf("decode problems: got %d, want 3:\n%v", n, err)
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"minimal", "legacy:\n  url: https://legacy.example.com/base/\n"},
		{"shadow POST to sandbox service", withRoutes("  - name: r\n    match: {path: /a, methods: [POST]}\n    service: scratch\n    stage: shadow\n    shadow:\n      methods: [GET, POST, put, DELETE, PATCH]\n")},
		{"shadow GET HEAD OPTIONS to normal service", withRoutes("  - name: r\n    match: {path: /a}\n    service: orders\n    stage: shadow\n    shadow: {methods: [GET, HEAD, OPTIONS]}\n")},
		{"everything set", withRoutes(`  - name: order.v2_details-1
    match:
      prefix: /api/orders/{id:[0-9]+}/
      host: "{sub}.example.com"
      methods: [get, POST]
      headers: {X-Beta: "", X-Tenant: acme}
    service: orders
    stage: canary
    percent: 12.5
    sticky: cookie:session
    fallback: true
    rewrite: {strip_prefix: /api, add_prefix: /v2, host_header: client}
    shadow: {sample: 0.5, methods: [HEAD], max_body: 64KiB}
    diff: {ignore: ["/items/*/id", "/a~1b", "header:X-Request-ID", "line:3", "form#checkout input[name=csrf]@value", "time::text", footer], text: true, redact: ["#profile .ssn"]}
  - name: migrated
    match: {path: /done}
    service: orders
    stage: migrated
`) + "trusted_proxies: [10.0.0.0/8, 192.168.1.1, \"::1\", \"fd00::/8\"]\nlog: {level: debug, format: console, access: false}\n"},
		{"zero durations fall back to defaults", "legacy:\n  url: http://l:1\n  timeout: 0\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yaml), "ok.yaml", Source{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate after Parse: %v", err)
			}
		})
	}
}

func TestValidateInCode(t *testing.T) {
	c := &Config{
		Listen: ":8080",
		Server: Server{ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
			MaxHeaderBytes: DefaultMaxHeaderBytes, ShutdownTimeout: DefaultShutdownTimeout},
		Admin:  Admin{Listen: DefaultAdminListen, TokenEnv: DefaultTokenEnv},
		Log:    Log{Level: "info", Format: "json"},
		Legacy: Upstream{URL: "http://legacy:1"},
		Routes: []Route{{Name: "r", Match: Match{Path: "/a", Methods: []string{"get"}}}},
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Legacy.Timeout != DefaultUpstreamTimeout || c.Routes[0].Stage != stage.Legacy.String() || c.Routes[0].Match.Methods[0] != "GET" {
		t.Errorf("SetDefaults did not apply defaults / normalise: %+v", c)
	}
	c.Routes[0].Stage = "later"
	err := c.Validate()
	fe := findProblem(err, "routes[0].stage")
	if fe == nil || fe.File != "" || fe.Error() != `routes[0].stage: unknown stage "later": want legacy, shadow, canary or migrated` {
		t.Errorf("in-code problem = %v", err)
	}
}

func TestProblems(t *testing.T) {
	if Problems(nil) != nil {
		t.Error("Problems(nil) != nil")
	}
	single := errors.New("x")
	if p := Problems(single); len(p) != 1 || p[0] != single {
		t.Errorf("Problems(single) = %v", p)
	}
	if p := Problems(errors.Join(single, single)); len(p) != 2 {
		t.Errorf("Problems(join of 2) = %v", p)
	}
}

func TestProblemStrings(t *testing.T) {
	_, err := Parse([]byte("listen: \"\"\nlegacy: {url: \"\"}\n"), "bad.yaml", Source{})
	got := ProblemStrings(err)
	if len(got) < 2 || len(got) != len(Problems(err)) {
		t.Fatalf("ProblemStrings = %q, want one message per problem of %v", got, err)
	}
	for i, p := range Problems(err) {
		if got[i] != p.Error() {
			t.Errorf("message %d = %q, want %q", i, got[i], p.Error())
		}
	}
	if ProblemStrings(nil) != nil {
		t.Error("no error gave messages")
	}
}

// TestUnknownKeyDoesNotHideProblems: an unknown key, a value that does not
// decode and plain validation problems in one file are all reported in
// one pass, and the field that did not decode is reported once.
func TestUnknownKeyDoesNotHideProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every field with a problem, no more
	}{
		{"unknown key beside validation problems", `listn: ":1"
listen: ":99999"
log: {level: loud}
legacy: {url: ftp://legacy}
routes:
  - name: r
    match: {pathh: /a, path: /a}
    service: orders
    stage: canary
    percent: 150
`, []string{"listn", "listen", "log.level", "legacy.url", "routes[0].match.pathh", "routes[0].service", "routes[0].percent"}},
		{"undecodable value reported once", `legacy: {url: "http://l:1", max_idle_conns: 256.9}
shadowing: {workers: 1e30, queue: 0.5}
`, []string{"legacy.max_idle_conns", "shadowing.workers", "shadowing.queue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "one.yaml", Source{})
			var got []string
			for _, p := range Problems(err) {
				var fe *FieldError
				if !errors.As(p, &fe) {
					t.Fatalf("problem %v is not a *FieldError", p)
				}
				got = append(got, fe.Field)
			}
			if strings.Join(sorted(got), "\n") != strings.Join(sorted(tc.want), "\n") {
				t.Errorf("problems on %q; want %q:\n%v", got, tc.want, err)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

func TestClassifyEntries(t *testing.T) {
	got := ClassifyEntries([]string{"header:X-Trace", "/items/*/id", "/order/item[2]/@qty", "line:3",
		"footer", "form#checkout input[name=csrf]@value"})
	want := DiffEntries{Headers: []string{"X-Trace"}, Pointers: []string{"/items/*/id", "/order/item[2]/@qty"},
		Lines: []int{3}, Selectors: []string{"footer", "form#checkout input[name=csrf]@value"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ClassifyEntries = %+v, want %+v", got, want)
	}
}

func TestPlannerWeights(t *testing.T) {
	file := filepath.Join(t.TempDir(), "w.yaml")
	base := "legacy: {url: http://127.0.0.1:1}\n"
	cfg, err := Parse([]byte(base+"planner: {weights: {latency: 0.5, errors: 0}}\n"), file, Source{})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultPlannerWeights
	want.Latency, want.Errors = 0.5, 0
	if cfg.Planner.Weights != want {
		t.Errorf("weights %+v, want %+v (unset keys keep their defaults)", cfg.Planner.Weights, want)
	}
	_, err = Parse([]byte(base+"planner: {weights: {traffic: 1.5}}\n"), file, Source{})
	if fe := findProblem(err, "planner.weights.traffic"); fe == nil || !strings.Contains(fe.Reason, "between 0 and 1") {
		t.Errorf("traffic 1.5: %v; want planner.weights.traffic must be between 0 and 1", err)
	}
}
