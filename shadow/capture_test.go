package shadow

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	// Imported as exch: the package's tests name a type exchange.
	exch "github.com/stranglerfig/strangler/exchange"
	"github.com/stranglerfig/strangler/guard"
)

// TestCaptureAfterGuard: the primary is the service behind a real guard
// with fallback. An answer the monolith gave in the service's place is
// not compared (ReasonFallback), and the request's exchange records the
// fallback for the access log; a healthy service's answer is mirrored.
func TestCaptureAfterGuard(t *testing.T) {
	for _, tt := range []struct {
		name         string
		service      int // the service's status
		wantFallback string
		wantSkipped  map[string]uint64
		wantSent     uint64
	}{
		{"service answers", http.StatusOK, "", nil, 1},
		{"monolith answers for the failed service", http.StatusServiceUnavailable, "status_503",
			map[string]uint64{ReasonFallback: 1}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, okHandler, okHandler, Options{Workers: 1, Queue: 8})
			service := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Side", "service")
				w.WriteHeader(tt.service)
				_, _ = io.WriteString(w, `{"side":"service"}`)
			})
			monolith := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Side", "monolith")
				_, _ = io.WriteString(w, `{"side":"monolith"}`)
			})
			primary := guard.Handler(guard.Options{Route: testRoute, Service: service, Legacy: monolith, Fallback: true})
			rec := httptest.NewRecorder()
			x := exch.New(rec) // the request's exchange, as the access log makes it
			r.policy(nil).ServeMirrored(x.Writer(), httptest.NewRequest(http.MethodGet, "/items", nil), migratedDecision, primary)
			r.wait()
			if rec.Code != http.StatusOK {
				t.Errorf("client got %d; want 200", rec.Code)
			}
			if x.Fallback != tt.wantFallback {
				t.Errorf("exchange noted fallback %q; want %q", x.Fallback, tt.wantFallback)
			}
			wantCounts(t, r.d, tt.wantSent, tt.wantSkipped, nil)
		})
	}
}
