//go:build unix

package upstream

import (
	"errors"
	"net"
	"syscall"
)

// quiet reports whether nothing arrived on an idle connection: no byte
// and no end of stream. It peeks without blocking and without consuming.
func quiet(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var buf [1]byte
	var perr error
	err = raw.Read(func(fd uintptr) bool {
		// n > 0: stray bytes; n == 0 without error: the peer closed.
		_, _, perr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	})
	return err == nil && (errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK))
}
