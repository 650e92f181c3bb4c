package upstream

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// holdingBackend holds every request until release is closed and tells
// arrived of each one.
func holdingBackend(t *testing.T) (srv *httptest.Server, arrived chan struct{}, release func()) {
	t.Helper()
	arrived, hold := make(chan struct{}, 64), make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-hold
		_, _ = w.Write([]byte("done"))
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(srv.Close)
	t.Cleanup(release) // before srv.Close: cleanups run last first
	return srv, arrived, release
}

// An upstream takes at most MaxInFlight requests at once, over all its
// routes' proxies and on both paths; the next is answered 503 at once,
// by strangler, and counted. Requests that end free their slot.
func TestMaxInFlight(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lean   bool
		method string
	}{
		{"lean GET", true, http.MethodGet},
		{"standard GET", false, http.MethodGet},
		{"POST", true, http.MethodPost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend, arrived, release := holdingBackend(t)
			opts := testOptions(t, backend.URL)
			opts.Lean, opts.MaxInFlight = tc.lean, 2
			u := New(opts)
			var refused atomic.Int64
			rt := Route{Name: "orders", OnAtCapacity: func() { refused.Add(1) }}
			// Two routes' proxies share the upstream's bound.
			a := newFront(t, u, rt, nil, zerolog.Nop())
			b := newFront(t, u, rt, nil, zerolog.Nop())
			var wg sync.WaitGroup
			for _, front := range []*httptest.Server{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(tc.method, front.URL+"/held", strings.NewReader(""))
					if resp, err := front.Client().Do(req); err == nil {
						resp.Body.Close()
					}
				}()
				<-arrived
			}
			if n := u.InFlight(); n != 2 {
				t.Fatalf("in flight %d, want 2", n)
			}
			req, _ := http.NewRequest(tc.method, a.URL+"/more", strings.NewReader(""))
			req.Header.Set("X-Request-Id", "r-1")
			resp, err := a.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Error     string `json:"error"`
				Upstream  string `json:"upstream"`
				RequestID string `json:"request_id"`
			}
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
				doc.Error != "upstream at capacity" || doc.Upstream != "legacy" || doc.RequestID != "r-1" {
				t.Fatalf("past the bound: %d Retry-After %q %+v (%v), want 503 upstream at capacity",
					resp.StatusCode, resp.Header.Get("Retry-After"), doc, err)
			}
			if refused.Load() != 1 {
				t.Errorf("refusals counted %d, want 1", refused.Load())
			}
			release()
			wg.Wait()
			if n := u.InFlight(); n != 0 {
				t.Fatalf("in flight %d after every request ended, want 0", n)
			}
			if status, body := get(t, a.Client(), a.URL+"/after"); status != http.StatusOK {
				t.Fatalf("after release: %d %s", status, body)
			}
		})
	}
}
