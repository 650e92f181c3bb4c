package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// trackedConn is a client connection of the data plane. It notices a
// Content-Length header line in what the client sends (Go's server drops
// that header when Transfer-Encoding is present, so a handler cannot see
// that both were sent), and it can end its requests at shutdown: its
// context is the parent of its requests' contexts.
type trackedConn struct {
	net.Conn
	set    *connSet
	cancel context.CancelFunc // ends the requests of this connection

	sawCL   atomic.Bool // a Content-Length line went by (sticky)
	partial int         // bytes of clNeedle matched at the end of the last read; -1: none

	// Set while the connection streams an answer or after it was
	// hijacked; guarded by set.mu.
	streaming int
	websocket bool
	hijacked  bool
	ended     atomic.Bool // ended by shutdown
}

// clNeedle is matched case-insensitively at the start of each line.
const clNeedle = "content-length:"

// Read reads from the client, watching for a Content-Length header line.
func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.sawCL.Load() {
		c.scan(b[:n])
	}
	return n, err
}

// scan looks for "\ncontent-length:" in b, continuing a match begun at
// the end of the previous read.
func (c *trackedConn) scan(b []byte) {
	if k := c.partial; k >= 0 {
		c.partial = -1
		m := min(len(clNeedle)-k, len(b))
		if foldPrefix(b[:m], clNeedle[k:k+m]) {
			if k+m == len(clNeedle) {
				c.sawCL.Store(true)
				return
			}
			c.partial = k + m
			return
		}
	}
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return
		}
		rest := b[i+j+1:]
		if len(rest) >= len(clNeedle) {
			if foldPrefix(rest[:len(clNeedle)], clNeedle) {
				c.sawCL.Store(true)
				return
			}
		} else if foldPrefix(rest, clNeedle[:len(rest)]) {
			c.partial = len(rest)
		}
		i += j + 1
	}
}

// foldPrefix reports whether b equals the lower-case ASCII s, ignoring
// case.
func foldPrefix(b []byte, s string) bool {
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// connSet tracks the data plane's connections that stream or were
// hijacked, so that shutdown can end them.
type connSet struct {
	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	closing bool
}

func newConnSet() *connSet { return &connSet{conns: map[*trackedConn]struct{}{}} }

// trackingListener wraps a listener so that its connections are tracked
// connections of set.
type trackingListener struct {
	net.Listener
	set *connSet
}

// Accept wraps the accepted connection.
func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c, set: l.set, partial: -1}, nil
}

type connKey struct{}

// connContext gives each tracked connection a context of its own that
// shutdown can cancel, and makes the connection findable from its
// requests.
func connContext(ctx context.Context, c net.Conn) context.Context {
	tc, ok := c.(*trackedConn)
	if !ok {
		return ctx
	}
	ctx, tc.cancel = context.WithCancel(context.WithValue(ctx, connKey{}, tc))
	return ctx
}

// connOf returns the tracked connection r arrived on, or nil.
func connOf(r *http.Request) *trackedConn {
	tc, _ := r.Context().Value(connKey{}).(*trackedConn)
	return tc
}

// startStream notes that c streams an answer; at shutdown (or now, if it
// has begun) its request is ended. It reports false when it was ended.
func (c *trackedConn) startStream() bool {
	s := c.set
	s.mu.Lock()
	defer s.mu.Unlock()
	c.streaming++
	s.conns[c] = struct{}{}
	if s.closing {
		c.endLocked()
		return false
	}
	return true
}

// endStream notes that c's streamed answer is over.
func (c *trackedConn) endStream() {
	s := c.set
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.streaming > 0 {
		c.streaming--
	}
	if c.streaming == 0 && !c.hijacked {
		delete(s.conns, c)
	}
}

// hijack notes that c was handed over to an upgraded protocol; shutdown
// closes it (with a WebSocket close frame when ws).
func (c *trackedConn) hijack(ws bool) {
	s := c.set
	s.mu.Lock()
	defer s.mu.Unlock()
	c.hijacked, c.websocket = true, ws
	s.conns[c] = struct{}{}
	if s.closing {
		c.endLocked()
	}
}

// CloseWrite half-closes a TCP connection, which net/http does before
// closing one whose request body it did not read (RST avoidance).
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close closes the connection and forgets it.
func (c *trackedConn) Close() error {
	if c.set != nil {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
	}
	if c.cancel != nil {
		c.cancel()
	}
	return c.Conn.Close()
}

// closeAll ends every streaming answer and upgraded connection: from now
// on, one that starts is ended at once. Called when shutdown begins.
func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for c := range s.conns {
		c.endLocked()
	}
}

// wsGoingAway is a WebSocket close frame, server to client (unmasked),
// with status 1001 "going away".
var wsGoingAway = func() []byte {
	const reason = "server shutting down"
	f := []byte{0x88, byte(2 + len(reason)), 0, 0}
	binary.BigEndian.PutUint16(f[2:], 1001)
	return append(f, reason...)
}()

// endLocked ends c's requests: a streamed answer's request context is
// cancelled (the upstream relay stops, the answer ends); an upgraded
// connection gets a close frame if it is a WebSocket, then is closed.
func (c *trackedConn) endLocked() {
	c.ended.Store(true)
	if c.hijacked {
		if c.websocket {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Conn.Write(wsGoingAway)
		}
		_ = c.Conn.Close()
		return
	}
	if c.cancel != nil {
		c.cancel()
	}
}
