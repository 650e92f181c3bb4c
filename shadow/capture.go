package shadow

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/stranglerfig/strangler/guard"
)

// buffers recycles capture buffers. Buffers that grew past maxPooled are
// dropped rather than kept, so one large body does not pin memory.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 256 << 10

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b == nil || b.Cap() > maxPooled {
		return
	}
	b.Reset()
	buffers.Put(b)
}

// teeBody passes the request body to the primary while keeping a copy of
// up to max bytes for the mirror. The primary always gets every byte; the
// copy is abandoned (over) once the body exceeds max.
type teeBody struct {
	rc   io.ReadCloser
	buf  *bytes.Buffer
	max  int64
	over bool
	eof  bool
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 && !t.over {
		if int64(t.buf.Len()+n) > t.max {
			t.over = true
		} else {
			t.buf.Write(p[:n])
		}
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }

// captureWriter passes the primary response to the client while keeping
// its status and up to max bytes of its body for the comparison.
type captureWriter struct {
	http.ResponseWriter
	status    int
	buf       *bytes.Buffer
	max       int64
	truncated bool
	hijacked  bool
	fellBack  bool // the monolith answered for the service
}

// NoteFallback marks the exchange as not comparable (the side that was
// meant to answer did not) and passes the note on.
func (c *captureWriter) NoteFallback(reason string) {
	c.fellBack = true
	if n, ok := c.ResponseWriter.(guard.Noter); ok {
		n.NoteFallback(reason)
	}
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if !c.truncated {
		if int64(c.buf.Len()+len(b)) > c.max {
			c.truncated = true
		} else {
			c.buf.Write(b)
		}
	}
	return c.ResponseWriter.Write(b)
}

// sendAnswer flushes an answer of known length to the client at once.
// net/http holds a small answer back until the handler returns, which
// is after the copy is snapshotted and offered. An answer of unknown
// length is left alone: a flush would turn the Content-Length net/http
// computes for it into chunked encoding.
func (c *captureWriter) sendAnswer() {
	if c.hijacked || c.status == 0 || c.Header().Get("Content-Length") == "" {
		return
	}
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

// Flush passes flushes through (streaming responses).
func (c *captureWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes upgrades through; a hijacked exchange is not compared.
func (c *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := c.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	c.hijacked = true
	return h.Hijack()
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
