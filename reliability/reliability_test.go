package reliability

import (
	"context"
	"os"
	"testing"
	"time"
)

// pending are rows that fail on main because the fix of their defect has
// not been merged yet: the quick suite skips them, naming the defect.
// Remove a row when its fix lands (the test logs rows that pass again).
var pending = map[string]string{
	"smuggling: attacker request line parsed by the backend":                                           "8",
	"smuggling: connection closed after a CL+TE request":                                               "8",
	"path split view: request-targets reaching a backend that reads them as another route":             "4",
	"path split view: case-insensitive route (match.case_insensitive) gets /PUBLIC/x, /Public/x":       "4",
	"forwarding fidelity: query string reaches the monolith byte for byte (GET and POST)":              "9",
	"forwarding fidelity: spoofable and internal headers reaching the upstream as sent":                "7, 8",
	"forwarding fidelity: Upgrade: h2c tunnelled to the upstream":                                      "8",
	"forwarding fidelity: hop-by-hop headers in a 103 answer":                                          "8",
	"slow clients: failed normal GETs beside 30 slow bodies (1 byte / 2 s)":                            "3",
	"slow clients: slow bodies (1 byte / 2 s) still open 2 s after they started":                       "3",
	"slow clients: 2 MiB request body over server.max_body_bytes 1MiB":                                 "3",
	"stored results memory: heap after GC after 150 comparisons of 1 MiB bodies":                       "1",
	"breaker abuse: normal GETs served by the service after 6 malformed chunked + 6 abandoned uploads": "2",
	"breaker abuse: malformed chunked request bodies answered 400":                                     "2",
	"reload storm: payment requests routed by a truncated file (to the service)":                       "5",
	"sigterm with streams: exit after SIGTERM with an SSE stream and a WebSocket open":                 "6",
	"sigterm with streams: WebSocket close code received":                                              "6",
	"admin auth: 429 answers in a burst of 60 wrong tokens":                                            "11",
	"admin auth: log lines about the 60 failed logins":                                                 "11",
	"admin auth: start with a 1-character token on a non-loopback admin bind":                          "11",
	"forwarding fidelity: client X-Strangler-Shadow reaching the upstream behind a trusted proxy":      "7",
	"slow clients: concurrent requests over legacy.max_in_flight 5 (monolith takes 1 s, 10 sent)":      "3",
}

// TestReliabilityQuick runs every scenario in quick mode against the
// built binary (STRANGLER_BIN, or built from ./cmd/strangler). Rows that
// compare latencies are logged, not asserted.
func TestReliabilityQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and loads them for about a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := os.Getenv("STRANGLER_BIN")
	if bin == "" {
		var err error
		if bin, err = Build(ctx, "..", t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	env := &Env{Bin: bin, Dir: t.TempDir(), Quick: true, Logf: t.Logf}
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			for _, r := range s.Run(ctx, env) {
				t.Run(r.Scenario, func(t *testing.T) { judge(t, r) })
			}
		})
	}
}

// judge fails a failing row unless it is timed or pending.
func judge(t *testing.T, r Row) {
	defect, isPending := pending[r.Scenario]
	switch {
	case r.Pass && isPending:
		t.Logf("passes now (%s): remove it from pending: %s", r.Figure, r.Scenario)
	case r.Pass:
	case r.Timed:
		t.Logf("timed row, not asserted here: %s (want %s)", r.Figure, r.Threshold)
	case isPending:
		t.Skipf("issue 12 defect %s not merged yet: %s (want %s)", defect, r.Figure, r.Threshold)
	default:
		t.Errorf("%s (want %s)", r.Figure, r.Threshold)
	}
}

func TestSplice(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"", "\n" + beginTable + "\nT\n" + endTable + "\n"},
		{"# R\n", "# R\n\n" + beginTable + "\nT\n" + endTable + "\n"},
		{"# R\n" + beginTable + "\nold\n" + endTable + "\ntail\n", "# R\n" + beginTable + "\nT\n" + endTable + "\ntail\n"},
	}
	for _, tt := range tests {
		if got := Splice(tt.doc, "T\n"); got != tt.want {
			t.Errorf("Splice(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestBackendViews(t *testing.T) {
	tests := []struct{ path, view, want string }{
		{"/public/..;/admin", "Tomcat ;params", "/admin"},
		{"/public/..%5cadmin", "IIS backslash", "/admin"},
		{"/%70ublic/x", "RFC 3986", "/public/x"},
		{"//public/x", "decoded", "/public/x"},
		{"/public/%252e%252e/admin", "double-decoded", "/admin"},
		{"/public/%c0%ae%c0%ae/admin", "overlong UTF-8", "/admin"},
		{"/public/x%00/../../admin", "NUL-terminated", "/public/x"},
		{"/public/x", "RFC 3986", "/public/x"},
	}
	for _, tt := range tests {
		for _, v := range backendViews {
			if v.name == tt.view {
				if got := v.read(tt.path); got != tt.want {
					t.Errorf("%s reads %q as %q, want %q", tt.view, tt.path, got, tt.want)
				}
			}
		}
	}
	if n := len(splitTargets()); n < 80 {
		t.Errorf("%d split-view targets, want at least 80", n)
	}
}
