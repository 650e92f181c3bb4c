//go:build unix

package lean

import (
	"errors"
	"syscall"
)

// idlePeek looks at an idle connection without blocking and without
// consuming. It is built once per connection, so a check allocates
// nothing.
type idlePeek struct {
	raw  syscall.RawConn
	buf  [1]byte
	err  error
	peek func(fd uintptr) bool
}

func newIdlePeek(c *pconn) *idlePeek {
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &idlePeek{raw: raw}
	p.peek = func(fd uintptr) bool {
		// n > 0: stray bytes; n == 0 without error: the peer closed.
		_, _, p.err = syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	}
	return p
}

// quiet reports whether nothing arrived on the idle connection c: no
// byte and no end of stream.
func (c *pconn) quiet() bool {
	if c.idle == nil {
		return true
	}
	if err := c.idle.raw.Read(c.idle.peek); err != nil {
		return false
	}
	return errors.Is(c.idle.err, syscall.EAGAIN) || errors.Is(c.idle.err, syscall.EWOULDBLOCK)
}
