package guard

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// statusWriter passes everything through and remembers the status. A
// response that streams (flushes) or upgrades tells its call at once, so
// it does not hold its breaker's half-open slot for its whole life; any
// other is reported when it ends (a death mid-body then counts).
type statusWriter struct {
	http.ResponseWriter
	status int
	call   *call // nil: nobody to tell
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Exempt marks the answer as not the service's doing: the breaker does
// not count it.
func (s *statusWriter) Exempt(string) {
	if s.call != nil {
		s.call.exempt = true
	}
}

// streaming tells the call that a long-lived answer has started.
func (s *statusWriter) streaming(status int) {
	if s.call != nil && status != 0 {
		s.call.streaming(status)
	}
}

// Flush passes flushes through.
func (s *statusWriter) Flush() {
	s.streaming(s.status)
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes upgrades through.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	s.streaming(s.status)
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// holdWriter holds the service's response header back until it knows the
// status: a failing status is swallowed (with its body) so the monolith
// can answer instead; any other status is passed on, and from then on
// everything streams through. Once a byte has gone to the client there is
// no falling back.
type holdWriter struct {
	w         http.ResponseWriter
	h         http.Header // the service's headers until committed
	failing   map[int]bool
	status    int
	committed bool
	failed    bool
	// exempt: the answer is not the service's doing; it is passed on
	// whatever its status.
	exempt bool
	call   *call // told when a committed answer streams; nil: nobody
}

// Exempt marks the answer as not the service's doing: it is passed on,
// never swallowed for a fallback, and the breaker does not count it.
func (hw *holdWriter) Exempt(string) {
	hw.exempt = true
	if hw.call != nil {
		hw.call.exempt = true
	}
}

func (hw *holdWriter) Header() http.Header {
	if hw.committed {
		return hw.w.Header()
	}
	return hw.h
}

func (hw *holdWriter) WriteHeader(code int) {
	switch {
	case hw.committed || hw.failed:
		return
	case code < 200:
		return // informational responses are optional; not forwarded here
	case hw.failing[code] && !hw.exempt:
		hw.status, hw.failed = code, true
		return
	}
	hw.status, hw.committed = code, true
	dst := hw.w.Header()
	for k, v := range hw.h {
		dst[k] = append(dst[k], v...)
	}
	hw.w.WriteHeader(code)
}

func (hw *holdWriter) Write(b []byte) (int, error) {
	if hw.failed {
		return len(b), nil // the failed answer is discarded
	}
	if !hw.committed {
		hw.WriteHeader(http.StatusOK)
	}
	return hw.w.Write(b)
}

// commitIfPending sends the header of a response that had no body.
func (hw *holdWriter) commitIfPending() {
	if !hw.committed && !hw.failed && hw.status == 0 {
		hw.WriteHeader(http.StatusOK)
	}
}

// Flush passes flushes through once the response is committed.
func (hw *holdWriter) Flush() {
	if !hw.committed {
		return
	}
	if hw.call != nil {
		hw.call.streaming(hw.status)
	}
	if f, ok := hw.w.(http.Flusher); ok {
		f.Flush()
	}
}
