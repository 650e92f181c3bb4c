package proxy

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// sendRaw writes head on a new connection to addr. With readAnswer it
// reads the status of the answer; otherwise it closes the connection
// right after writing (a client abandoning its upload).
func sendRaw(t *testing.T, addr, head string, readAnswer bool) int {
	t.Helper()
	if readAnswer {
		resp, _, _ := rawExchange(t, addr, head)
		return resp.StatusCode
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	return 0
}

// A client's broken request is not the service's failure: malformed
// chunked bodies and uploads abandoned half way, sent again and again to
// a migrated route with a breaker, answer 400 (or 499 in the log when the
// client left), never fall back, count as no upstream error and no
// service error for the rollout gates, and leave the breaker closed: a
// normal request is then served by the service.
func TestClientFaultsDoNotOpenBreaker(t *testing.T) {
	const malformed = "POST /orders/1 HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\nzz-not-hex\r\n"
	const abandoned = "POST /orders/1 HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 100000\r\n\r\n" +
		"only part of it"
	tests := []struct {
		name     string
		fallback bool
		head     string
		answered bool // the client waits for the answer
		want     int  // in the access log
	}{
		{"malformed chunked body", false, malformed, true, http.StatusBadRequest},
		{"malformed chunked body, fallback on", true, malformed, true, http.StatusBadRequest},
		{"malformed chunked idempotent body, fallback on", true,
			strings.Replace(malformed, "Host:", "Idempotency-Key: k1\r\nHost:", 1), true, http.StatusBadRequest},
		{"abandoned upload", false, abandoned, false, 499},
		{"abandoned idempotent upload, fallback on", true,
			strings.Replace(abandoned, "Host:", "Idempotency-Key: k2\r\nHost:", 1), false, 499},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			monolith := newGuardBackend(t, "monolith")
			svc := newGuardBackend(t, "orders")
			url, p, logs := startProxy(t, guardConfig(monolith.URL, svc.URL, tc.fallback, nil,
				config.Breaker{ConsecutiveFailures: 3, FailureRatio: 0.5, MinRequests: 3, OpenFor: time.Hour}))
			addr := strings.TrimPrefix(url, "http://")
			const tries = 6
			for i := range tries {
				if got := sendRaw(t, addr, tc.head, tc.answered); tc.answered && got != tc.want {
					t.Fatalf("try %d: status %d, want %d", i, got, tc.want)
				}
			}
			testutil.Eventually(t, "an access line per request", func() bool { return len(accessLines(t, logs)) == tries })
			for _, line := range accessLines(t, logs) {
				if int(line["status"].(float64)) != tc.want || line["fallback"] != nil {
					t.Errorf("access line %v, want status %d and no fallback", line, tc.want)
				}
			}
			if s := p.BreakerState("orders"); s != guard.StateClosed {
				t.Fatalf("breaker %s after %d client faults, want closed", s, tries)
			}
			if n := promValue(t, p.metrics, "strangler_upstream_errors_total", nil); n != 0 {
				t.Errorf("%v upstream errors counted, want 0", n)
			}
			if snap := p.metrics.Snapshot("orders"); snap.Service.Errors != 0 || snap.Fallbacks != 0 {
				t.Errorf("service errors %d, fallbacks %d, want none", snap.Service.Errors, snap.Fallbacks)
			}
			if monolith.hits.Load() != 0 {
				t.Errorf("the monolith got %d requests, want none (no fallback)", monolith.hits.Load())
			}
			client := &http.Client{}
			defer client.CloseIdleConnections()
			if status, side := get(t, client, url+"/orders/1"); status != http.StatusOK || side != "orders" {
				t.Fatalf("normal request: %d from %q, want 200 from the service", status, side)
			}
		})
	}
}
