package upstream

import (
	"io"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/guard"
)

// bounded admits at most max requests at once to its upstream, counted
// over every route's proxy of that upstream (one atomic add each way);
// the rest are refused at once with a 503 of strangler's own.
type bounded struct {
	up   *Upstream
	next http.Handler
	rt   Route
	max  int64
	log  zerolog.Logger // sampled: a refusal storm logs a line a second
}

func (b *bounded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.up.inFlight.Add(1) > b.max {
		b.up.inFlight.Add(-1)
		b.refuse(w, r)
		return
	}
	defer b.up.inFlight.Add(-1)
	b.next.ServeHTTP(w, r)
}

// atCapacityBody starts the JSON of a refusal; refuse completes it.
const atCapacityBody = `{"error":"upstream at capacity","upstream":"`

// refuse answers 503 with Retry-After. The refusal is strangler's, not
// the upstream's: the guard neither counts it for the breaker nor falls
// back (the monolith would get the overload), and it is counted apart
// from upstream errors.
func (b *bounded) refuse(w http.ResponseWriter, r *http.Request) {
	guard.Exempt(w, "at_capacity")
	if b.rt.OnAtCapacity != nil {
		b.rt.OnAtCapacity()
	}
	name, reqID := b.up.opts.Name, r.Header.Get("X-Request-Id")
	b.log.Warn().Str("route", b.rt.Name).Str("upstream", name).Str("request_id", reqID).
		Int64("max_in_flight", b.max).Msg("upstream at capacity: request refused")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, atCapacityBody+name+`","request_id":"`+jsonSafe(reqID)+`"}`+"\n")
}

// InFlight returns the number of requests being forwarded to u now.
func (u *Upstream) InFlight() int64 { return u.inFlight.Load() }
