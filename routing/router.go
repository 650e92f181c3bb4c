package routing

import (
	"net/http"
	"sync/atomic"
)

// Recorder is implemented by response writers that want to know how a
// request was routed (the access log's writer does). The Router calls
// RecordDecision before it hands the request to the serving side.
type Recorder interface {
	RecordDecision(Decision)
}

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

// ServeHTTP routes r with one load of the current table.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d, h, m := rt.table.Load().Decide(r)
	if rec, ok := w.(Recorder); ok {
		rec.RecordDecision(d)
	}
	if m != nil {
		m.ServeMirrored(w, r, d, h)
		return
	}
	h.ServeHTTP(w, r)
}
