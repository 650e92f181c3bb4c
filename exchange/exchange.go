// Package exchange is one request's record on its way through the data
// plane, in the manner of Skipper's proxy context: how the router routed
// it, why the monolith answered for the service, what status and how many
// bytes the client got, and what the shadow kept of the answer.
//
// Its Writer is the data plane's one ResponseWriter wrapper. It tracks
// status and bytes and implements Flush, Hijack, Unwrap and ReadFrom once;
// the stages do not wrap the writer again but switch modes on the one
// writer: the guard holds the service's answer (Hold) or watches it
// (Watch), the shadow captures the primary answer (StartCapture), the
// tracer reads an upstream attempt's status (BeginAttempt). Every stage
// reaches the record with From(w), which allocates nothing.
package exchange

import (
	"bytes"
	"net/http"

	"github.com/stranglerfig/strangler/routing"
)

// Exchange is one request's record. The outer middleware owns it (Reset
// readies a pooled one for a request); the stages below read and note on
// it through From.
type Exchange struct {
	// Decision is how the router routed the request; zero until routed.
	Decision routing.Decision
	// Fallback is why the monolith answered for the service ("" when it
	// did not): the guard's reason, for the access log and the metrics.
	Fallback string

	w Writer
}

// Edge is the outer middleware's part in an answer. The Writer asks it
// whether the request body was cut off (the answer is then swallowed:
// the middleware answers 408 or 413 itself) and tells it when the answer
// starts to stream (once, on the first flush) and when the connection is
// handed over (hijacked).
type Edge interface {
	BodyCutOff() bool
	Streaming()
	Hijacked()
}

// Watcher hears when a watched answer starts to stream (a flush) or
// upgrades (a hijack), with the service's status. The guard's breaker
// call is one: a probe that streams must not hold its half-open slot.
type Watcher interface {
	Streaming(status int)
}

// Capture is what the shadow keeps of the primary answer.
type Capture struct {
	Status    int           // the first final status; 0: none was written
	Body      *bytes.Buffer // up to Max bytes of the body
	Max       int64
	Truncated bool // the body was longer than Max: Body is incomplete
	Hijacked  bool // the connection was handed over (an upgrade)
	FellBack  bool // the monolith answered for the service
}

// New returns an exchange answering through rw, for a stage used on its
// own (without the middleware that owns a pooled one). It allocates.
func New(rw http.ResponseWriter) *Exchange {
	x := new(Exchange)
	x.Reset(rw, nil)
	return x
}

// Reset readies x for a request answered through rw; edge, if not nil,
// is the outer middleware's part. Reset(nil, nil) drops the references of
// a request that ended, before x goes back to a pool. The hold's header
// map is kept (emptied) for the next request.
func (x *Exchange) Reset(rw http.ResponseWriter, edge Edge) {
	held := x.w.hold.header
	clear(held)
	*x = Exchange{}
	x.w.rw, x.w.x, x.w.edge, x.w.hold.header = rw, x, edge, held
}

// From returns the exchange of the Writer found in w's chain of wrapping
// writers (through Unwrap), or nil when there is none.
func From(w http.ResponseWriter) *Exchange {
	for w != nil {
		if xw, ok := w.(*Writer); ok {
			return xw.x
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// Ensure returns w's exchange and w itself when w has one; otherwise a
// new exchange (New) and its Writer, to answer through in place of w.
func Ensure(w http.ResponseWriter) (*Exchange, http.ResponseWriter) {
	if x := From(w); x != nil {
		return x, w
	}
	x := New(w)
	return x, &x.w
}

// Writer returns the exchange's writer.
func (x *Exchange) Writer() *Writer { return &x.w }

// Edge returns the outer middleware's part given to Reset, or nil.
func (x *Exchange) Edge() Edge { return x.w.edge }

// Status is the answer's status as the client got it: 200 when nothing
// was written (net/http's default).
func (x *Exchange) Status() int {
	if x.w.status == 0 {
		return http.StatusOK
	}
	return x.w.status
}

// Answered reports whether a status or a byte of the answer went out.
func (x *Exchange) Answered() bool { return x.w.status != 0 }

// Bytes is the number of body bytes written to the client.
func (x *Exchange) Bytes() int64 { return x.w.bytes }

// NoteFallback records that the monolith answered for the service, and
// why: the request counts as served by the monolith, and a captured
// answer is not comparable (the side meant to answer did not).
func (x *Exchange) NoteFallback(reason string) {
	x.Fallback = reason
	x.Decision.Side = routing.SideLegacy
	if x.w.capturing {
		x.w.capture.FellBack = true
	}
}

// Exempt marks the answer about to be written as not the service's doing
// (the client's request or connection broke, or strangler refused the
// request itself), for reason: while the guard holds the answer it
// passes it on whatever its status, and the breaker does not count it.
// The mark holds until the guard watches the next answer (Watch, Hold).
func (x *Exchange) Exempt(reason string) {
	if reason == "" {
		reason = "unspecified"
	}
	x.w.exempt = reason
}

// Exemption is the reason the watched answer was marked with Exempt, or
// "" when it was not.
func (x *Exchange) Exemption() string { return x.w.exempt }

// Watch starts watching the service's answer for the guard: w hears when
// it streams or upgrades; Release ends the watch and returns the status.
func (x *Exchange) Watch(w Watcher) {
	x.w.watcher, x.w.served, x.w.exempt = w, 0, ""
}

// Hold watches the service's answer as Watch does and holds it back
// until its status is known: the header goes to a map of its own, a
// status in failing (unless the answer is exempt) is swallowed with its
// body so that someone else can answer; any other status is passed on
// and from then on everything streams through. Informational (1xx)
// answers are not passed on. A held answer cannot be hijacked.
func (x *Exchange) Hold(failing map[int]bool, w Watcher) {
	x.Watch(w)
	h := &x.w.hold
	if h.header == nil {
		h.header = http.Header{}
	}
	h.on, h.failing, h.committed, h.failed = true, failing, false, false
}

// Release ends the watch or the hold. A held answer that has neither
// status nor body is passed on as 200 with the header it set, unless it
// failed. It returns the service's status (0 when it wrote nothing and
// was not held) and whether it failed (was swallowed).
func (x *Exchange) Release() (status int, failed bool) {
	w := &x.w
	if h := &w.hold; h.on {
		if !h.committed && !h.failed && w.served == 0 {
			w.served = http.StatusOK
			w.holdHeader(http.StatusOK)
		}
		failed = h.failed
		h.on, h.failing = false, nil
		clear(h.header)
	}
	w.watcher = nil
	return w.served, failed
}

// StartCapture starts keeping the answer's status and up to max bytes of
// its body in buf, for the shadow's comparison.
func (x *Exchange) StartCapture(buf *bytes.Buffer, max int64) {
	x.w.capturing = true
	x.w.capture = Capture{Body: buf, Max: max}
}

// EndCapture stops capturing and returns what was captured.
func (x *Exchange) EndCapture() Capture {
	c := x.w.capture
	x.w.capturing, x.w.capture = false, Capture{}
	return c
}

// BeginAttempt starts an upstream attempt: AttemptStatus returns the
// first final status written from now on (or 101 for an upgrade), as the
// upstream answered it, before the guard's hold.
func (x *Exchange) BeginAttempt() { x.w.attempt = 0 }

// AttemptStatus is the status of the attempt begun last; 0 when the
// attempt wrote nothing (it was aborted).
func (x *Exchange) AttemptStatus() int { return x.w.attempt }

// KeepHeader keeps the answer header name's current value and puts it
// back on the final answer when a 1xx answer cleared it: proxies clear
// the header map after relaying an informational answer (httputil does).
func (x *Exchange) KeepHeader(name string) {
	x.w.keepName, x.w.keepVals = name, x.w.rw.Header()[name]
}

// CloseConnection answers with Connection: close.
func (x *Exchange) CloseConnection() {
	x.w.closeConn = true
	x.w.rw.Header().Set("Connection", "close")
}

// Swallowed reports whether the answer was swallowed because the request
// body was cut off (Edge.BodyCutOff).
func (x *Exchange) Swallowed() bool { return x.w.swallowed }

// Unswallow lets writes through again after an answer was swallowed, so
// that the edge can answer 408 or 413 in its place. The edge's
// BodyCutOff must report false from now on.
func (x *Exchange) Unswallow() { x.w.swallowed = false }

// Unwind ends every mode a stage left on because it did not return (it
// panicked): a held answer is dropped, the watch and the capture end.
// The outer middleware calls it before it answers for the panic.
func (x *Exchange) Unwind() {
	w := &x.w
	w.hold.on, w.hold.failing, w.watcher = false, nil, nil
	w.capturing, w.capture = false, Capture{}
}
