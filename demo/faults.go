package demo

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Faults switches the orders service's behaviour at runtime, for tests and
// the demo. The zero value is ready to use and means: no added latency,
// healthy, and the currency bug on order 1003 switched ON. All methods are
// safe for concurrent use.
type Faults struct {
	mu      sync.Mutex
	latency time.Duration
	failing int
	bugOff  bool
}

// faultState is a consistent snapshot of a Faults.
type faultState struct {
	latency time.Duration
	failing int
	bug     bool
}

// SetLatency delays every request by d before it is handled (d <= 0: no delay).
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetFailing makes every request (including /healthz) answer status with a
// JSON error body. 0 restores healthy behaviour; a status outside 400–599 is
// replaced by 500.
func (f *Faults) SetFailing(status int) {
	if status != 0 && (status < 400 || status > 599) {
		status = http.StatusInternalServerError
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = status
}

// SetBug switches the deliberate bug on or off: while on, GET
// /api/orders/1003 reports currency "USD" instead of "EUR". It is on by
// default.
func (f *Faults) SetBug(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bugOff = !on
}

// state returns a snapshot of the current settings.
func (f *Faults) state() faultState {
	if f == nil {
		return faultState{bug: true}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return faultState{f.latency, f.failing, !f.bugOff}
}

// inject wraps h, applying the configured latency and failure mode.
func (f *Faults) inject(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := f.state()
		if !sleep(r, st.latency) {
			return
		}
		if st.failing != 0 {
			writeError(w, st.failing, fmt.Sprintf("injected failure: %d %s",
				st.failing, http.StatusText(st.failing)))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// sleep waits for d or until the request is cancelled; it reports whether
// the full delay elapsed.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
