// Package testutil holds what the tests of several packages share: a
// goroutine-safe log sink and the goroutine-leak check their TestMain
// runs. Only tests import it.
package testutil

import (
	"bytes"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// VerifyNoLeaks runs the package's tests and fails the package if any
// goroutine outlives them. Idle keep-alive connections of test clients
// wind down on their own once the test servers are closed, so their two
// loops are not counted.
func VerifyNoLeaks(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}
