package admin_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestMetrics: /metrics through the admin handler carries the data
// plane's request counts once traffic has flowed.
func TestMetrics(t *testing.T) {
	f := newFixture(t, fixtureOptions{Token: token})
	f.traffic()
	r := f.do("GET", "/metrics", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Status, r.Body)
	}
	body := string(r.Body)
	for _, want := range []string{
		`strangler_requests_total{code_class="2xx",route="order-list",served_by="legacy",stage="shadow"} 3`,
		`strangler_requests_total{code_class="2xx",route="customers",served_by="service",stage="migrated"} 2`,
		`strangler_requests_total{code_class="2xx",route="legacy-reports",served_by="legacy",stage="legacy"} 1`,
		`strangler_requests_total{code_class="2xx",route="_unmatched",served_by="legacy",stage="legacy"} 3`,
		`strangler_request_duration_seconds_count{route="customers",side="service"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestReadyz: /readyz answers what the Ready func says.
func TestReadyz(t *testing.T) {
	f := newFixture(t, fixtureOptions{Token: token})
	tests := []struct {
		desc   string
		err    error
		status int
		want   map[string]string
	}{
		{"ready", nil, 200, map[string]string{"status": "ready"}},
		{"draining", errors.New("draining"), 503, map[string]string{"status": "not ready", "reason": "draining"}},
		{"upstream unresolvable", errors.New(`upstream host "orders.internal" does not resolve`), 503,
			map[string]string{"status": "not ready", "reason": `upstream host "orders.internal" does not resolve`}},
		{"ready again", nil, 200, map[string]string{"status": "ready"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f.setReady(tc.err)
			r := f.do("GET", "/readyz", "", map[string]string{"Authorization": ""})
			if r.Status != tc.status {
				t.Errorf("status %d, want %d; body %s", r.Status, tc.status, r.Body)
			}
			got, ok := r.JSON(t).(map[string]any)
			if !ok || len(got) != len(tc.want) {
				t.Fatalf("body %s, want %v", r.Body, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %q", k, got[k], v)
				}
			}
		})
	}
}
