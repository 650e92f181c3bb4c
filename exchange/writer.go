package exchange

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

// Writer is the data plane's one ResponseWriter wrapper: every stage
// answers through it. Its modes are applied in the order the stages are
// nested, innermost first: the attempt's and the service's status, the
// guard's hold, the shadow's capture, then the edge's (the body cut-off's
// swallowing, Connection: close, the kept header, the status and bytes
// the client got, streams and hijacks).
type Writer struct {
	rw   http.ResponseWriter
	x    *Exchange
	edge Edge

	status    int   // as the client got it: a 1xx until the final one
	bytes     int64 // body bytes written to the client
	swallowed bool  // the body was cut off: the answer is dropped
	closeConn bool
	keepName  string
	keepVals  []string
	streamed  bool // the edge was told of a stream

	attempt int     // the status of the upstream attempt (BeginAttempt)
	served  int     // the service's status, for the guard (Watch)
	watcher Watcher // nil: nobody to tell
	exempt  string  // why the watched answer is not the service's doing
	hold    hold

	capturing bool
	capture   Capture
}

// hold is the guard's hold on the service's answer (Exchange.Hold).
type hold struct {
	on        bool
	header    http.Header // the service's header until committed
	failing   map[int]bool
	committed bool
	failed    bool
}

// Header returns the answer's header map: while the answer is held, the
// hold's own.
func (w *Writer) Header() http.Header {
	if w.hold.on && !w.hold.committed {
		return w.hold.header
	}
	return w.rw.Header()
}

// WriteHeader writes the status through the modes that are on.
func (w *Writer) WriteHeader(code int) {
	if w.attempt == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
		w.attempt = code
	}
	if w.served == 0 && code >= 200 {
		w.served = code
	}
	if w.hold.on {
		w.holdHeader(code)
		return
	}
	w.writeHeader(code)
}

// holdHeader decides on a held answer: a failing status is swallowed,
// any other is passed on with the held header. Once one is decided,
// later ones are ignored; informational ones are dropped.
func (w *Writer) holdHeader(code int) {
	h := &w.hold
	switch {
	case h.committed || h.failed, code < 200:
		return
	case h.failing[code] && w.exempt == "":
		h.failed = true
		return
	}
	h.committed = true
	dst := w.rw.Header()
	for k, v := range h.header {
		if dst[k] == nil {
			dst[k] = v // the held map is emptied, never its values: no copy needed
			continue
		}
		dst[k] = append(dst[k], v...)
	}
	w.writeHeader(code)
}

// writeHeader is WriteHeader past the hold: the capture, then the edge.
func (w *Writer) writeHeader(code int) {
	if w.capturing && w.capture.Status == 0 && code >= 200 {
		w.capture.Status = code
	}
	if code >= 200 && w.status < 200 && w.cutOff() {
		w.swallowed = true // the client's body broke: the edge answers 408 or 413
		return
	}
	if w.closeConn && code >= 200 {
		w.rw.Header().Set("Connection", "close")
	}
	if code >= 200 && w.status != 0 && w.status < 200 && w.keepVals != nil {
		if h := w.rw.Header(); h[w.keepName] == nil {
			h[w.keepName] = w.keepVals
		}
	}
	if w.status == 0 || w.status < 200 && code >= 200 {
		w.status = code
	}
	w.rw.WriteHeader(code)
}

// cutOff reports whether the edge cut the request body off.
func (w *Writer) cutOff() bool { return w.edge != nil && w.edge.BodyCutOff() }

// Write writes b through the modes that are on.
func (w *Writer) Write(b []byte) (int, error) {
	if !w.pass() {
		return len(b), nil
	}
	if w.capturing {
		w.tee(b)
	}
	if !w.open() {
		return len(b), nil
	}
	n, err := w.rw.Write(b)
	w.bytes += int64(n)
	return n, err
}

// pass is what a write does before the capture: it sets the implicit
// 200 and commits a held answer. It reports false when the bytes belong
// to a failed held answer and are dropped.
func (w *Writer) pass() bool {
	if w.attempt == 0 {
		w.attempt = http.StatusOK
	}
	if w.served == 0 {
		w.served = http.StatusOK
	}
	if w.hold.on {
		if w.hold.failed {
			return false
		}
		if !w.hold.committed {
			w.holdHeader(http.StatusOK)
		}
	}
	return true
}

// tee keeps b in the capture while it fits.
func (w *Writer) tee(b []byte) {
	c := &w.capture
	if c.Status == 0 {
		c.Status = http.StatusOK
	}
	if c.Truncated {
		return
	}
	if int64(c.Body.Len()+len(b)) > c.Max {
		c.Truncated = true
		return
	}
	c.Body.Write(b)
}

// open is what a write does at the edge: it reports false when the
// answer is swallowed (the request body was cut off before it started).
func (w *Writer) open() bool {
	if w.status == 0 && w.cutOff() {
		w.swallowed = true
	}
	if w.swallowed {
		return false
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return true
}

// copyBuffers serve ReadFrom when the bytes go through Write.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides ReadFrom from io.CopyBuffer (one pointer: no
// allocation as an io.Writer).
type writerOnly struct{ w *Writer }

func (o writerOnly) Write(b []byte) (int, error) { return o.w.Write(b) }

// ReadFrom copies src to the answer. With no capture on, it hands src to
// the underlying writer's ReadFrom when it has one (net/http's uses
// sendfile), counting the bytes; otherwise the bytes go through Write.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.rw.(io.ReaderFrom)
	if !ok || w.capturing {
		bp := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(bp)
		return io.CopyBuffer(writerOnly{w}, src, *bp)
	}
	if !w.pass() || !w.open() {
		return io.Copy(io.Discard, src)
	}
	n, err := rf.ReadFrom(src)
	w.bytes += n
	return n, err
}

// Flush sends what is buffered to the client (streams, server-sent
// events). A held answer is not flushed until it is committed. The edge
// hears of the first flush: the answer is a stream.
func (w *Writer) Flush() {
	if w.hold.on && !w.hold.committed {
		return
	}
	if w.watcher != nil && w.served != 0 {
		w.watcher.Streaming(w.served)
	}
	if w.swallowed {
		return
	}
	if !w.streamed && w.edge != nil {
		w.streamed = true
		w.edge.Streaming()
	}
	_ = http.NewResponseController(w.rw).Flush()
}

// Hijack hands the connection over (WebSocket and other upgrades). A
// held answer cannot be: the guard never holds an upgrade. The watcher
// hears of the upgrade before the hand-over; the status, the capture and
// the edge only once it succeeded.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hold.on {
		return nil, nil, fmt.Errorf("hijack while the guard holds the answer: %w", http.ErrNotSupported)
	}
	if w.served == 0 {
		w.served = http.StatusSwitchingProtocols
	}
	if w.watcher != nil {
		w.watcher.Streaming(w.served)
	}
	c, brw, err := http.NewResponseController(w.rw).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if w.attempt == 0 {
		w.attempt = http.StatusSwitchingProtocols
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	if w.capturing {
		w.capture.Hijacked = true
	}
	if w.edge != nil {
		w.edge.Hijacked()
	}
	return c, brw, nil
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }
