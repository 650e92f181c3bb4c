package proxy

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/stranglerfig/strangler/exchange"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/tracing"
)

// RequestIDHeader carries the request id to the upstream and back to the
// client.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an inbound request id we keep.
const maxRequestIDLen = 128

// withRequestID keeps a well-formed inbound X-Request-Id or assigns a new
// one, sets it on the request (so upstreams see it) and on the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One one-element slice serves the request and the response
		// header (capacity 1: an append elsewhere copies it).
		// Of several lines, the first counts.
		vals := r.Header[RequestIDHeader]
		if len(vals) == 0 || !ValidRequestID(vals[0]) {
			vals = []string{NewRequestID()}
		}
		vals = vals[:1:1]
		r.Header[RequestIDHeader] = vals
		w.Header()[RequestIDHeader] = vals
		next.ServeHTTP(w, r)
	})
}

// ValidRequestID reports whether an inbound request id is kept: 1 to 128
// visible ASCII characters without quotes or backslashes.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// NewRequestID returns a new request id: 16 random lowercase hex digits.
func NewRequestID() string {
	var raw [8]byte
	binary.BigEndian.PutUint64(raw[:], rand.Uint64())
	var out [16]byte
	hex.Encode(out[:], raw[:])
	return string(out[:])
}

// edge is the access log's part of one request: the exchange every
// stage shares, and what only the edge of the data plane needs besides
// (the request, its body guard, its client connection). Pooled: a
// request allocates none.
type edge struct {
	exchange.Exchange
	req       *http.Request
	body      *bodyGuard   // the request body's guard, if it has a body
	conn      *trackedConn // set once the answer streams
	streaming bool
}

var edges = sync.Pool{New: func() any { return new(edge) }}

// reset readies e for r answered through w (nil, nil: drops the
// references before e goes back to the pool).
func (e *edge) reset(w http.ResponseWriter, r *http.Request) {
	e.req, e.body, e.conn, e.streaming = r, nil, nil, false
	if w == nil {
		e.Reset(nil, nil)
		return
	}
	e.Reset(w, e)
}

// BodyCutOff reports whether the body guard cut the request body off:
// the upstream side's answer is then swallowed, 408 or 413 go out after.
func (e *edge) BodyCutOff() bool { return e.body != nil && e.body.cutOff() != bodyOK }

// Streaming notes that the answer streams (it flushed): shutdown ends it.
func (e *edge) Streaming() {
	e.streaming = true
	if e.conn = connOf(e.req); e.conn != nil {
		e.conn.startStream()
	}
}

// Hijacked notes that the connection was handed over (an upgrade):
// shutdown closes it.
func (e *edge) Hijacked() {
	if tc := connOf(e.req); tc != nil {
		tc.hijack(isWebSocket(e.req))
	}
}

// isWebSocket reports whether r asks to upgrade to WebSocket.
func isWebSocket(r *http.Request) bool {
	for _, v := range r.Header["Upgrade"] {
		if strings.Contains(strings.ToLower(v), "websocket") {
			return true
		}
	}
	return false
}

// routed serves through the router, which stores its decision in the
// request's exchange.
type routed struct{ rt *routing.Router }

func (h routed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if x := exchange.From(w); x != nil {
		h.rt.Serve(w, r, &x.Decision)
		return
	}
	h.rt.ServeHTTP(w, r)
}

// withAccessLog logs one line per request (when access is true) and turns
// a panic below into a 500 for the client instead of a dropped connection.
// With a tracer it also runs the request's server span: the upstream
// attempts and the shadow copy find it in the request's context.
func withAccessLog(next http.Handler, log zerolog.Logger, access bool, reg *metrics.Registry, inv *plan.Inventory,
	tr *tracing.Tracer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var span trace.Span // nil when tracing is off
		if tr != nil {
			r, span = tr.StartServer(r)
		}
		e := edges.Get().(*edge)
		e.reset(w, r)
		e.KeepHeader(RequestIDHeader)
		if r.TransferEncoding != nil {
			closeIfAlsoLength(e, r)
		}
		defer func() {
			v := recover()
			e.Unwind()
			aborted := v == http.ErrAbortHandler // the upstream broke off mid-answer
			if e.body != nil {
				e.finishBody(aborted)
			}
			if e.conn != nil {
				aborted = e.endStream(aborted)
				if !aborted && v == http.ErrAbortHandler {
					v = nil // shutdown ended the stream: finish the answer cleanly
				}
			}
			if v != nil && !aborted {
				log.Error().Str("request_id", r.Header.Get(RequestIDHeader)).Str("route", e.Decision.Route).
					Interface("panic", v).Msg("handler panicked")
				if !e.Answered() {
					http.Error(e.Writer(), "internal error", http.StatusInternalServerError)
				} else {
					// Part of the answer is out: end the connection so the
					// client sees a broken answer, not a short complete one.
					aborted, v = true, http.ErrAbortHandler
				}
			}
			took := time.Since(start)
			if reg != nil {
				observe(reg, &e.Exchange, took)
			}
			if inv != nil {
				inventory(inv, r, &e.Exchange, start, took)
			}
			if access {
				logRequest(log, r, &e.Exchange, took, aborted, span)
			}
			if span != nil {
				tracing.EndServer(span, served(&e.Exchange, aborted), r.Method)
			}
			if aborted {
				panic(v) // net/http closes the connection: the client sees the break
			}
			e.reset(nil, nil)
			edges.Put(e)
		}()
		next.ServeHTTP(e.Writer(), r)
	})
}

// closeIfAlsoLength marks the answer to a request with Transfer-Encoding
// for Connection: close when the request also had a Content-Length (RFC
// 9112 §6.1): the two disagree on where the next request starts.
func closeIfAlsoLength(e *edge, r *http.Request) {
	if tc := connOf(r); tc != nil && tc.sawCL.Load() {
		e.CloseConnection()
	}
}

// finishBody ends the body guard and, when it cut the body off before
// the answer started, answers 413 or 408 in place of whatever the
// upstream side made of the broken body.
func (e *edge) finishBody(aborted bool) {
	cut := int(e.body.cutOff())
	e.body.finish()
	if cut == bodyOK || aborted || !e.Swallowed() && e.Answered() {
		return
	}
	w := e.Writer()
	h := w.Header()
	id := h[RequestIDHeader]
	clear(h)
	h[RequestIDHeader] = id
	e.body = nil
	e.Unswallow()
	refuseBody(w, cut)
}

// endStream forgets the streamed answer. A stream that shutdown ended is
// not an abort: it returns aborted as false then.
func (e *edge) endStream(aborted bool) bool {
	ended := e.conn.ended.Load()
	if e.streaming {
		e.conn.endStream()
	}
	return aborted && !ended
}

// observe counts the request in the route's metrics.
func observe(reg *metrics.Registry, x *exchange.Exchange, took time.Duration) {
	d := x.Decision // unmatched: the zero Decision, stage legacy, side legacy
	route := d.Route
	if route == "" {
		route = metrics.Unmatched
	}
	m := reg.Route(route)
	m.Observe(d.Stage.String(), d.Side.String(), x.Status(), took)
	if x.Fallback != "" {
		m.Fallback(x.Fallback)
	}
}

// inventory counts the request in the planner's endpoint inventory.
func inventory(inv *plan.Inventory, r *http.Request, x *exchange.Exchange, start time.Time, took time.Duration) {
	d := x.Decision
	s := plan.Sample{Method: r.Method, Path: r.URL.EscapedPath(), Status: x.Status(), Latency: took,
		Bytes: x.Bytes(), ContentType: x.Writer().Header().Get("Content-Type"), Time: start,
		Service: d.Side == routing.SideService}
	if d.Route != "" {
		s.Route, s.Stage = d.Route, d.Stage.String()
	}
	inv.Observe(s)
}

// served is what the server span records of how the request went.
func served(x *exchange.Exchange, aborted bool) tracing.Served {
	d := x.Decision
	s := tracing.Served{Route: d.Route, Side: d.Side.String(), Fallback: x.Fallback, Status: x.Status(), Aborted: aborted}
	if d.Route != "" {
		s.Stage = d.Stage.String()
	}
	if d.Side == routing.SideService {
		s.Service = d.Service
	}
	return s
}

// logRequest writes the access-log line; span, when tracing is on, adds
// the trace and span ids.
func logRequest(log zerolog.Logger, r *http.Request, x *exchange.Exchange, took time.Duration, aborted bool, span trace.Span) {
	d := x.Decision
	servedBy := "legacy"
	if d.Side == routing.SideService {
		servedBy = d.Service
	}
	ev := log.Info().
		Str("request_id", r.Header.Get(RequestIDHeader)).
		Str("route", d.Route)
	if d.Route != "" {
		ev = ev.Str("stage", d.Stage.String())
	}
	if x.Fallback != "" {
		ev = ev.Str("fallback", x.Fallback)
	}
	if aborted {
		ev = ev.Bool("aborted", true)
	}
	if span != nil {
		if sc := span.SpanContext(); sc.IsValid() {
			ev = ev.Str("trace_id", sc.TraceID().String()).Str("span_id", sc.SpanID().String())
		}
	}
	ev.Str("served_by", servedBy).
		Str("method", r.Method).
		Str("path", r.URL.EscapedPath()).
		Int("status", x.Status()).
		Float64("duration_ms", float64(took.Microseconds())/1000).
		Int64("bytes", x.Bytes()).
		Str("remote", r.RemoteAddr).
		Msg("request")
}
