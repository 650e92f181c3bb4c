package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
)

func TestStagesEndToEnd(t *testing.T) {
	mono, svc := testutil.NewBackend(t, "monolith"), testutil.NewBackend(t, "orders")
	cfg := baseConfig(mono.URL, svc.URL,
		config.Route{Name: "order-get", Match: config.Match{Path: "/api/orders/{id:[0-9]+}", Methods: []string{"get"}}, Service: "orders", Stage: "migrated"},
		config.Route{Name: "order-list", Match: config.Match{Path: "/api/orders"}, Service: "orders", Stage: "shadow"},
		config.Route{Name: "carts", Match: config.Match{Prefix: "/api/carts/"}, Service: "orders", Stage: "canary", Percent: 100},
		config.Route{Name: "carts-none", Match: config.Match{Prefix: "/api/carts-none/"}, Service: "orders", Stage: "canary", Percent: 0},
		config.Route{Name: "reports", Match: config.Match{Prefix: "/reports"}, Stage: "legacy"},
		config.Route{Name: "v2", Match: config.Match{Prefix: "/v2/", Headers: map[string]string{"X-Beta": "yes"}}, Service: "orders", Stage: "migrated"},
	)
	url, _, logs := startProxy(t, cfg)
	client := &http.Client{}
	tests := []struct {
		desc, method, path string
		header             []string
		want               string
	}{
		{"migrated template", "GET", "/api/orders/42", nil, "orders"},
		{"template regex rejects", "GET", "/api/orders/abc", nil, "monolith"},
		{"method not listed", "DELETE", "/api/orders/42", nil, "monolith"},
		{"shadow: monolith serves", "GET", "/api/orders", nil, "monolith"},
		{"canary 100", "GET", "/api/carts/7", nil, "orders"},
		{"canary 0", "GET", "/api/carts-none/7", nil, "monolith"},
		{"legacy stage", "GET", "/reports/2024", nil, "monolith"},
		{"unmatched", "GET", "/api/users/1", nil, "monolith"},
		{"root", "GET", "/", nil, "monolith"},
		{"header route matches", "GET", "/v2/x", []string{"X-Beta", "yes"}, "orders"},
		{"header route without header", "GET", "/v2/x", nil, "monolith"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			status, side := do(t, client, tc.method, url+tc.path, tc.header...)
			if status != http.StatusOK || side != tc.want {
				t.Errorf("%s %s: status %d served by %q; want 200 by %q", tc.method, tc.path, status, side, tc.want)
			}
		})
	}
	// The access log names route, stage and side for each request.
	var sawMigrated bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if entry["message"] != "request" {
			continue
		}
		for _, k := range []string{"request_id", "route", "served_by", "status", "duration_ms", "bytes", "method", "path"} {
			if _, ok := entry[k]; !ok {
				t.Errorf("access log line lacks %q: %s", k, line)
			}
		}
		if entry["route"] == "order-get" && entry["stage"] == "migrated" && entry["served_by"] == "orders" {
			sawMigrated = true
		}
	}
	if !sawMigrated {
		t.Error("no access log line for order-get served by orders at stage migrated")
	}
}

func TestRequestID(t *testing.T) {
	var seen string
	mono := testutil.NewBackend(t, "monolith")
	url, _, _ := startProxy(t, baseConfig(mono.URL, mono.URL))
	for _, tc := range []struct {
		desc, inbound string
		keep          bool
	}{
		{"kept when well-formed", "abc-123", true},
		{"replaced when too long", strings.Repeat("x", 200), false},
		{"replaced when it has spaces", "a b", false},
		{"assigned when missing", "", false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req, _ := http.NewRequest("GET", url+"/x", nil)
			if tc.inbound != "" {
				req.Header.Set(RequestIDHeader, tc.inbound)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			seen = resp.Header.Get(RequestIDHeader)
			if tc.keep && seen != tc.inbound {
				t.Errorf("request id %q; want the inbound %q", seen, tc.inbound)
			}
			if !tc.keep && (seen == "" || seen == tc.inbound || len(seen) != 16) {
				t.Errorf("request id %q; want a fresh 16-char id", seen)
			}
		})
	}
}

// After an informational answer (103 Early Hints) is relayed, the final
// answer still carries the request id, on both upstream clients.
func TestRequestIDAfterEarlyHints(t *testing.T) {
	hinting := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "ok")
	})
	for _, client := range []string{config.ClientLean, config.ClientStandard} {
		t.Run(client, func(t *testing.T) {
			cfg := baseConfig(hinting, hinting)
			cfg.Legacy.Client = client
			url, _, _ := startProxy(t, cfg)
			req, _ := http.NewRequest("GET", url+"/x", nil)
			req.Header.Set(RequestIDHeader, "hinted-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get(RequestIDHeader); resp.StatusCode != 200 || got != "hinted-1" {
				t.Errorf("final answer %d with request id %q, want 200 with hinted-1", resp.StatusCode, got)
			}
		})
	}
}

func TestApplyKeepsCanaryAssignment(t *testing.T) {
	mono, svc := testutil.NewBackend(t, "monolith"), testutil.NewBackend(t, "orders")
	route := func(pct float64) config.Route {
		return config.Route{Name: "details", Match: config.Match{Prefix: "/api/"}, Service: "orders",
			Stage: "canary", Percent: pct, Sticky: "header:X-User-ID"}
	}
	url, p, _ := startProxy(t, baseConfig(mono.URL, svc.URL, route(10)))
	client := &http.Client{}
	const users = 400
	sides := func() []string {
		out := make([]string, users)
		for i := range out {
			_, out[i] = get(t, client, url+"/api/x", "X-User-ID", "user-"+strconv.Itoa(i))
		}
		return out
	}
	before := sides()
	// An unrelated change (a new route) must not move anyone.
	cfg := baseConfig(mono.URL, svc.URL, route(10),
		config.Route{Name: "other", Match: config.Match{Prefix: "/other"}, Stage: "legacy"})
	if err := p.Apply(mustValid(t, cfg)); err != nil {
		t.Fatal(err)
	}
	after := sides()
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("user-%d moved from %s to %s on an unrelated reload", i, before[i], after[i])
		}
	}
	// Ramping up never moves a user back to the monolith.
	prev := after
	for _, pct := range []float64{25, 50} {
		if err := p.Apply(mustValid(t, baseConfig(mono.URL, svc.URL, route(pct)))); err != nil {
			t.Fatal(err)
		}
		now := sides()
		moved := 0
		for i := range now {
			if prev[i] == "orders" && now[i] != "orders" {
				t.Fatalf("ramp to %v%%: user-%d moved back to the monolith", pct, i)
			}
			if prev[i] != now[i] {
				moved++
			}
		}
		if moved == 0 {
			t.Errorf("ramp to %v%% moved nobody", pct)
		}
		prev = now
	}
}

func TestApplyRejectsBrokenConfig(t *testing.T) {
	mono, svc := testutil.NewBackend(t, "monolith"), testutil.NewBackend(t, "orders")
	good := baseConfig(mono.URL, svc.URL,
		config.Route{Name: "r", Match: config.Match{Prefix: "/api/"}, Service: "orders", Stage: "migrated"})
	url, p, _ := startProxy(t, good)
	bad := baseConfig(mono.URL, svc.URL,
		config.Route{Name: "r", Match: config.Match{Prefix: "/api/"}, Service: "orders", Stage: "migrated"})
	bad.TrustedProxies = []string{"not-a-cidr"}
	if err := p.Apply(bad); err == nil {
		t.Fatal("Apply accepted a config with a bad trusted proxy")
	}
	if _, side := get(t, http.DefaultClient, url+"/api/x"); side != "orders" {
		t.Errorf("after a rejected Apply, served by %q; want the last good table (orders)", side)
	}
	if p.Config() != good {
		t.Error("Config() changed after a rejected Apply")
	}
}

// TestAbortedAnswerIsLogged: an upstream that breaks off mid-body leaves
// the client with an error and still gets an access-log line.
func TestAbortedAnswerIsLogged(t *testing.T) {
	dies := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(strings.Repeat("x", 100)))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	url, _, logs := startProxy(t, baseConfig(dies, dies))
	resp, err := http.Get(url + "/x")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("the client read a whole answer from an upstream that broke off")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"aborted":true`) {
		if time.Now().After(deadline) {
			t.Fatalf("no access-log line for the aborted request:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// httptestServer serves h until the test ends and returns its URL.
func httptestServer(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPanicAfterPartialAnswerBreaksConnection: a panic once part of the
// answer was sent must not end it as if complete.
func TestPanicAfterPartialAnswerBreaksConnection(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	h := withAccessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("bug after the first bytes")
	}), zerolog.New(logs), true, nil, nil, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("the client read a complete answer from a handler that panicked mid-answer")
	}
	if !strings.Contains(logs.String(), "handler panicked") || !strings.Contains(logs.String(), `"aborted":true`) {
		t.Errorf("panic not logged with the aborted request:\n%s", logs.String())
	}
}

// TestDotSegmentsRefused: a path with . or .. segments (plain or encoded)
// is refused before routing, so it cannot slip past a prefix route.
func TestDotSegmentsRefused(t *testing.T) {
	mono, svc := testutil.NewBackend(t, "monolith"), testutil.NewBackend(t, "orders")
	url, _, _ := startProxy(t, baseConfig(mono.URL, svc.URL,
		config.Route{Name: "public", Match: config.Match{Prefix: "/public/"}, Service: "orders", Stage: "migrated"}))
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/public/../../admin/users", http.StatusBadRequest},
		{"/public/%2e%2e/admin", http.StatusBadRequest},
		{"/public/./x", http.StatusBadRequest},
		{"/public/..", http.StatusBadRequest},
		{"/public/a..b/c", http.StatusOK},
		{"/public/.well-known", http.StatusOK},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tc.path)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d; want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	if n := svc.Hits(); n != 2 {
		t.Errorf("service got %d requests; want only the 2 clean ones", n)
	}
}
