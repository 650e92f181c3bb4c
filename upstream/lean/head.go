package lean

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// ErrInvalidRequest is wrapped by the error of a request the lean
// writer refuses to send: a method that is not a token, a control
// character in the request target, a header name that is not a token or
// a header value with CR, LF or another control character. Nothing of
// such a request is written; http.Transport refuses the same requests.
var ErrInvalidRequest = errors.New("invalid request")

// maxKeptHead is the largest head buffer a connection keeps between
// requests; a larger one, grown for an unusually large head, is dropped.
const maxKeptHead = 16 << 10

// headWriter builds a request head, checking each part as it is added;
// the head goes to a connection only when all of it is valid. It is the
// lean client's outbound.Sink. Writers are pooled (heads), so building a
// head allocates nothing once the buffers have grown.
type headWriter struct {
	buf []byte
	err error
}

// heads recycles head writers between requests.
var heads = sync.Pool{New: func() any { return &headWriter{buf: make([]byte, 0, 1024)} }}

// requestLine starts the head: request line and Host. A Host that is
// not a valid header value is sent empty, as http.Transport does.
func (w *headWriter) requestLine(method, path, query, host string) {
	w.buf, w.err = w.buf[:0], nil
	if method == "" || !httpguts.ValidHeaderFieldName(method) { // a method is a token
		w.fail(fmt.Errorf("%w: method %q", ErrInvalidRequest, method))
	}
	if hasCTL(path) || hasCTL(query) {
		w.fail(fmt.Errorf("%w: control character in the request target", ErrInvalidRequest))
	}
	if path == "" {
		path = "/"
	}
	if !httpguts.ValidHostHeader(host) {
		host = ""
	}
	w.buf = append(w.buf, method...)
	w.buf = append(w.buf, ' ')
	w.buf = append(w.buf, path...)
	if query != "" {
		w.buf = append(w.buf, '?')
		w.buf = append(w.buf, query...)
	}
	w.buf = append(w.buf, " HTTP/1.1\r\nHost: "...)
	w.buf = append(w.buf, host...)
	w.buf = append(w.buf, "\r\n"...)
}

// fail keeps the first error.
func (w *headWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// line adds the header line "k: v" after checking both.
func (w *headWriter) line(k, v string) {
	if !httpguts.ValidHeaderFieldName(k) {
		// The name is quoted: it is not a secret, and %q shows the bytes.
		w.fail(fmt.Errorf("%w: header field name %q", ErrInvalidRequest, k))
		return
	}
	if !httpguts.ValidHeaderFieldValue(v) {
		// The value may be a credential: only its name is told.
		w.fail(fmt.Errorf("%w: header field value for %q", ErrInvalidRequest, k))
		return
	}
	w.buf = append(w.buf, k...)
	w.buf = append(w.buf, ": "...)
	w.buf = append(w.buf, v...)
	w.buf = append(w.buf, "\r\n"...)
}

// Keep adds each of the client's values of k.
func (w *headWriter) Keep(k string, vv []string) {
	for _, v := range vv {
		w.line(k, v)
	}
}

// Drop skips a header the plan does not forward.
func (w *headWriter) Drop(string) {}

// Set adds a header the plan writes itself.
func (w *headWriter) Set(k, v string) { w.line(k, v) }

// ForwardedFor adds X-Forwarded-For: the trusted chain, then ip.
func (w *headWriter) ForwardedFor(prior []string, ip string) {
	for _, v := range prior {
		if !httpguts.ValidHeaderFieldValue(v) {
			w.fail(fmt.Errorf("%w: header field value for %q", ErrInvalidRequest, "X-Forwarded-For"))
			return
		}
	}
	w.buf = append(w.buf, "X-Forwarded-For: "...)
	for _, v := range prior {
		w.buf = append(w.buf, v...)
		w.buf = append(w.buf, ", "...)
	}
	w.buf = append(w.buf, ip...)
	w.buf = append(w.buf, "\r\n"...)
}

// end closes the head and returns the first problem found, if any.
func (w *headWriter) end() error {
	w.buf = append(w.buf, "\r\n"...)
	return w.err
}

// release empties w and returns it to the pool.
func (w *headWriter) release() {
	w.reset()
	heads.Put(w)
}

// reset empties the buffer, dropping it when it grew unusually large.
func (w *headWriter) reset() {
	if cap(w.buf) > maxKeptHead {
		w.buf = nil
	}
	w.buf, w.err = w.buf[:0], nil
}

// hasCTL reports whether s holds an ASCII control character or DEL.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}
