package shadow

import (
	"bytes"
	"io"
	"net/http"
	"sync"

	// Imported as exch: the package's tests name a type exchange.
	exch "github.com/stranglerfig/strangler/exchange"
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

// sendAnswer flushes an answer of known length to the client at once.
// net/http holds a small answer back until the handler returns, which
// is after the copy is snapshotted and offered. An answer of unknown
// length is left alone: a flush would turn the Content-Length net/http
// computes for it into chunked encoding.
func sendAnswer(w http.ResponseWriter, c *exch.Capture) {
	if c.Hijacked || c.Status == 0 || w.Header().Get("Content-Length") == "" {
		return
	}
	_ = http.NewResponseController(w).Flush()
}
