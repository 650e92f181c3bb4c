package proxy

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/guard"
)

// A request past an upstream's max_in_flight is answered 503 by
// strangler, never falls back to the monolith, and is strangler's own
// refusal: counted in strangler_upstream_at_capacity_total, not as an
// upstream error, not by the breaker, not in the error figures the
// rollout gates read.
func TestMaxInFlightRefusal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stage   string // which upstream the route's requests go to
		holding string // the upstream that holds its requests
	}{
		{"service", "migrated", "orders"},
		{"monolith", "legacy", "legacy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrived, hold := make(chan struct{}, 8), make(chan struct{})
			var once sync.Once
			release := func() { once.Do(func() { close(hold) }) }
			holding := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/orders/held" {
					arrived <- struct{}{}
					<-hold
				}
				w.Header().Set("X-Side", tc.holding)
				_, _ = w.Write([]byte("ok"))
			}))
			t.Cleanup(holding.Close)
			t.Cleanup(release)
			other := newGuardBackend(t, "other")
			legacyURL, serviceURL := holding.URL, other.URL
			if tc.holding == "orders" {
				legacyURL, serviceURL = other.URL, holding.URL
			}
			cfg := guardConfig(legacyURL, serviceURL, true, nil,
				config.Breaker{ConsecutiveFailures: 2, FailureRatio: 0.5, MinRequests: 2, OpenFor: time.Hour})
			cfg.Routes[0].Stage = tc.stage
			cfg.Legacy.MaxInFlight = 1
			svc := cfg.Services["orders"]
			svc.MaxInFlight = 1
			cfg.Services["orders"] = svc
			url, p, _ := startProxy(t, cfg)
			client := &http.Client{}
			defer client.CloseIdleConnections()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp, err := client.Get(url + "/orders/held"); err == nil {
					resp.Body.Close()
				}
			}()
			<-arrived
			const refusals = 4
			for i := range refusals {
				resp, err := client.Get(url + "/orders/1")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
					resp.Header.Get("X-Side") != "" {
					t.Fatalf("refusal %d: %d Retry-After %q from %q, want strangler's 503",
						i, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("X-Side"))
				}
			}
			release()
			wg.Wait()
			if n := promValue(t, p.metrics, "strangler_upstream_at_capacity_total",
				map[string]string{"route": "orders", "upstream": tc.holding}); n != refusals {
				t.Errorf("at capacity counted %v, want %d", n, refusals)
			}
			if n := promValue(t, p.metrics, "strangler_upstream_errors_total", nil); n != 0 {
				t.Errorf("%v upstream errors counted, want 0", n)
			}
			snap := p.metrics.Snapshot("orders")
			if snap.Service.Errors != 0 || snap.Legacy.Errors != 0 || snap.Fallbacks != 0 {
				t.Errorf("errors service %d legacy %d, fallbacks %d; want none", snap.Service.Errors,
					snap.Legacy.Errors, snap.Fallbacks)
			}
			if other.hits.Load() != 0 {
				t.Errorf("the other upstream got %d requests: a refusal fell back", other.hits.Load())
			}
			if s := p.BreakerState("orders"); s != guard.StateClosed {
				t.Errorf("breaker %s after %d refusals, want closed", s, refusals)
			}
			if status, side := get(t, client, url+"/orders/1"); status != http.StatusOK || side != tc.holding {
				t.Fatalf("after release: %d from %q", status, side)
			}
		})
	}
}
