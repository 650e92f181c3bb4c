package proxy

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

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

// logWriter records what the access log needs while passing everything
// through. It implements routing.Recorder and unwraps for
// http.ResponseController (Flush, Hijack for WebSocket upgrades).
type logWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	decision routing.Decision
	fallback string // why the monolith answered instead of the service
	// requestID is the X-Request-Id answer header, put back on the final
	// answer after a 1xx: proxies clear the header map after relaying an
	// informational answer (httputil does), which dropped it.
	requestID []string

	req       *http.Request
	body      *bodyGuard   // the request body's guard, if it has a body
	swallowed bool         // the body was cut off: the upstream side's answer is dropped
	closeConn bool         // answer with Connection: close
	conn      *trackedConn // set once the answer streams or the connection is hijacked
	streaming bool
}

var logWriters = sync.Pool{New: func() any { return new(logWriter) }}

func (lw *logWriter) WriteHeader(code int) {
	if lw.body != nil && code >= 200 && lw.status < 200 && lw.body.cutOff() != bodyOK {
		lw.swallowed = true // the client's body broke: answer 408 or 413 after
		return
	}
	if lw.closeConn && code >= 200 {
		lw.Header().Set("Connection", "close")
	}
	if code >= 200 && lw.status != 0 && lw.status < 200 && lw.requestID != nil {
		if h := lw.Header(); h[RequestIDHeader] == nil {
			h[RequestIDHeader] = lw.requestID
		}
	}
	if lw.status == 0 || lw.status < 200 && code >= 200 {
		lw.status = code
	}
	lw.ResponseWriter.WriteHeader(code)
}

func (lw *logWriter) Write(b []byte) (int, error) {
	if lw.status == 0 && lw.body != nil && lw.body.cutOff() != bodyOK {
		lw.swallowed = true
	}
	if lw.swallowed {
		return len(b), nil
	}
	if lw.status == 0 {
		lw.status = http.StatusOK
	}
	n, err := lw.ResponseWriter.Write(b)
	lw.bytes += int64(n)
	return n, err
}

// finalStatus is the answer's status; a handler that wrote nothing
// answered 200 (net/http's default).
func (lw *logWriter) finalStatus() int {
	if lw.status == 0 {
		return http.StatusOK
	}
	return lw.status
}

// Flush sends buffered data to the client (SSE, streaming). An answer
// that flushes is a stream: shutdown ends it.
func (lw *logWriter) Flush() {
	if lw.swallowed {
		return
	}
	if !lw.streaming && lw.req != nil {
		lw.streaming = true
		if lw.conn = connOf(lw.req); lw.conn != nil {
			lw.conn.startStream()
		}
	}
	if f, ok := lw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over (WebSocket and other upgrades).
func (lw *logWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := lw.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	if lw.status == 0 {
		lw.status = http.StatusSwitchingProtocols
	}
	c, rw, err := h.Hijack()
	if err == nil && lw.req != nil {
		if tc := connOf(lw.req); tc != nil {
			tc.hijack(isWebSocket(lw.req))
		}
	}
	return c, rw, err
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

// Unwrap exposes the underlying writer to http.ResponseController.
func (lw *logWriter) Unwrap() http.ResponseWriter { return lw.ResponseWriter }

// RecordDecision keeps the routing decision for the log line.
func (lw *logWriter) RecordDecision(d routing.Decision) { lw.decision = d }

// NoteFallback records that the monolith answered for the service.
func (lw *logWriter) NoteFallback(reason string) {
	lw.fallback = reason
	lw.decision.Side = routing.SideLegacy
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
		lw := logWriters.Get().(*logWriter)
		*lw = logWriter{ResponseWriter: w, requestID: w.Header()[RequestIDHeader], req: r}
		if r.TransferEncoding != nil {
			closeIfAlsoLength(lw, r)
		}
		defer func() {
			v := recover()
			aborted := v == http.ErrAbortHandler // the upstream broke off mid-answer
			if lw.body != nil {
				lw.finishBody(aborted)
			}
			if lw.conn != nil {
				aborted = lw.endStream(aborted)
				if !aborted && v == http.ErrAbortHandler {
					v = nil // shutdown ended the stream: finish the answer cleanly
				}
			}
			if v != nil && !aborted {
				log.Error().Str("request_id", r.Header.Get(RequestIDHeader)).Str("route", lw.decision.Route).
					Interface("panic", v).Msg("handler panicked")
				if lw.status == 0 {
					http.Error(lw, "internal error", http.StatusInternalServerError)
				} else {
					// Part of the answer is out: end the connection so the
					// client sees a broken answer, not a short complete one.
					aborted, v = true, http.ErrAbortHandler
				}
			}
			took := time.Since(start)
			if reg != nil {
				observe(reg, lw, took)
			}
			if inv != nil {
				inventory(inv, r, lw, start, took)
			}
			if access {
				logRequest(log, r, lw, took, aborted, span)
			}
			if span != nil {
				tracing.EndServer(span, served(lw, aborted), r.Method)
			}
			if aborted {
				panic(v) // net/http closes the connection: the client sees the break
			}
			*lw = logWriter{}
			logWriters.Put(lw)
		}()
		next.ServeHTTP(lw, r)
	})
}

// closeIfAlsoLength marks the answer to a request with Transfer-Encoding
// for Connection: close when the request also had a Content-Length (RFC
// 9112 §6.1): the two disagree on where the next request starts.
func closeIfAlsoLength(lw *logWriter, r *http.Request) {
	if tc := connOf(r); tc != nil && tc.sawCL.Load() {
		lw.closeConn = true
		lw.Header().Set("Connection", "close")
	}
}

// finishBody ends the body guard and, when it cut the body off before
// the answer started, answers 413 or 408 in place of whatever the
// upstream side made of the broken body.
func (lw *logWriter) finishBody(aborted bool) {
	cut := int(lw.body.cutOff())
	lw.body.finish()
	if cut == bodyOK || aborted || !lw.swallowed && lw.status != 0 {
		return
	}
	h := lw.Header()
	id := h[RequestIDHeader]
	clear(h)
	h[RequestIDHeader] = id
	lw.swallowed, lw.body = false, nil
	refuseBody(lw, cut)
}

// endStream forgets the streamed answer or hijacked connection. A stream
// that shutdown ended is not an abort: it returns aborted as false then.
func (lw *logWriter) endStream(aborted bool) bool {
	ended := lw.conn.ended.Load()
	if lw.streaming {
		lw.conn.endStream()
	}
	return aborted && !ended
}

// observe counts the request in the route's metrics.
func observe(reg *metrics.Registry, lw *logWriter, took time.Duration) {
	d := lw.decision
	route, stage, side := d.Route, d.Stage.String(), metrics.SideLegacy
	if route == "" {
		route, stage = metrics.Unmatched, "legacy"
	}
	if d.Side == routing.SideService {
		side = metrics.SideService
	}
	m := reg.Route(route)
	m.Observe(stage, side, lw.finalStatus(), took)
	if lw.fallback != "" {
		m.Fallback(lw.fallback)
	}
}

// inventory counts the request in the planner's endpoint inventory.
func inventory(inv *plan.Inventory, r *http.Request, lw *logWriter, start time.Time, took time.Duration) {
	d := lw.decision
	s := plan.Sample{Method: r.Method, Path: r.URL.EscapedPath(), Status: lw.finalStatus(), Latency: took,
		Bytes: lw.bytes, ContentType: lw.Header().Get("Content-Type"), Time: start,
		Service: d.Side == routing.SideService}
	if d.Route != "" {
		s.Route, s.Stage = d.Route, d.Stage.String()
	}
	inv.Observe(s)
}

// served is what the server span records of how the request went.
func served(lw *logWriter, aborted bool) tracing.Served {
	d := lw.decision
	s := tracing.Served{Route: d.Route, Side: "legacy", Fallback: lw.fallback, Status: lw.finalStatus(), Aborted: aborted}
	if d.Route != "" {
		s.Stage = d.Stage.String()
	}
	if d.Side == routing.SideService {
		s.Side, s.Service = "service", d.Service
	}
	return s
}

// logRequest writes the access-log line; span, when tracing is on, adds
// the trace and span ids.
func logRequest(log zerolog.Logger, r *http.Request, lw *logWriter, took time.Duration, aborted bool, span trace.Span) {
	d := lw.decision
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
	if lw.fallback != "" {
		ev = ev.Str("fallback", lw.fallback)
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
		Int("status", lw.finalStatus()).
		Float64("duration_ms", float64(took.Microseconds())/1000).
		Int64("bytes", lw.bytes).
		Str("remote", r.RemoteAddr).
		Msg("request")
}
