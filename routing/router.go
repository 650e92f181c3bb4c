package routing

import (
	"net/http"
	"sync/atomic"
)

// Router is an http.Handler that serves from the current Table.
type Router struct {
	table atomic.Pointer[Table]
}

// NewRouter returns a Router serving t.
func NewRouter(t *Table) *Router {
	rt := &Router{}
	rt.table.Store(t)
	return rt
}

// Swap installs t for new requests and returns the previous table.
// Requests already running finish on the table they started with.
func (rt *Router) Swap(t *Table) *Table { return rt.table.Swap(t) }

// Table returns the table new requests are served from.
func (rt *Router) Table() *Table { return rt.table.Load() }

// ServeHTTP routes r as Serve does, for callers that do not keep the
// decision.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d Decision
	rt.Serve(w, r, &d)
}

// Serve routes r with one load of the current table and stores how it
// was routed in *d before the request is refused or served (the access
// log's record of it). It first puts the path in canonical form (see
// CanonicalPath), matches on that form and leaves it in r.URL, so the
// upstream receives exactly what was matched. A path with a dot-segment
// is refused (400); one holding an ambiguous property (see Allow) is
// refused unless its route allows it.
func (rt *Router) Serve(w http.ResponseWriter, r *http.Request, d *Decision) {
	t := rt.table.Load()
	held, ok := canonicalize(r)
	if !ok {
		refuse(w, http.StatusBadRequest, "request path with . or .. segments refused")
		return
	}
	if r.Header["Upgrade"] != nil && hasH2C(r) {
		held |= AllowH2C
	}
	route := t.Match(r)
	var h http.Handler
	var m Mirror
	*d, h, m = t.decide(r, route)
	if held != 0 && (route == nil || !route.Allows(held)) {
		refuseHeld(w, held, route)
		return
	}
	if t.admit != nil && !t.admit(w, r, route) {
		return
	}
	if m != nil {
		m.ServeMirrored(w, r, *d, h)
		return
	}
	h.ServeHTTP(w, r)
}

// refuseHeld answers 400 naming what the request holds that its route
// (or the monolith, when route is nil) does not allow.
func refuseHeld(w http.ResponseWriter, held Allow, route *Route) {
	if route != nil {
		held &^= route.allow
	}
	refuse(w, http.StatusBadRequest, "ambiguous request refused: "+held.String()+" not allowed on this route (match.allow)")
}

// refuse answers status with a JSON error.
func refuse(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + msg + `"}` + "\n"))
}
