package testutil

import (
	"testing"
	"time"
)

// DefaultWait is how long Eventually waits before it fails the test: long
// enough for a loaded 2-core CI machine, short enough that a real hang
// shows as a failure rather than the package timeout.
const DefaultWait = 10 * time.Second

// pollEvery is how often Eventually checks its condition.
const pollEvery = 10 * time.Millisecond

// Eventually polls cond until it holds, failing the test after DefaultWait
// with what it was waiting for. Use it only where no signal exists to wait
// on; a channel or a Ready signal is better.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, DefaultWait, what, cond)
}

// EventuallyWithin is Eventually with its own limit.
func EventuallyWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(limit, cond) {
		t.Fatalf("timed out after %s waiting for %s", limit, what)
	}
}

// poll reports whether cond held within limit.
func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
	return true
}

// WaitClosed waits for ch to be closed (or to deliver), failing the test
// after DefaultWait with what it was waiting for.
func WaitClosed[T any](t testing.TB, what string, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(DefaultWait):
		t.Fatalf("timed out after %s waiting for %s", DefaultWait, what)
	}
}
