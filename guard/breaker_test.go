package guard

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/testutil"
)

// transitions records a breaker's state changes.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) hear(service, from, to string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, service+":"+from+">"+to)
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

// outcome letters in a scenario: S success, F failure, X excluded.
func outcomeOf(c byte) Outcome {
	switch c {
	case 'F':
		return Failure
	case 'X':
		return Excluded
	}
	return Success
}

// run reports each outcome of seq to b, failing if b refuses one.
func run(t *testing.T, b *Breaker, seq string) {
	t.Helper()
	for i := 0; i < len(seq); i++ {
		done, ok := b.Allow()
		if !ok {
			t.Fatalf("request %d of %q refused (state %s)", i, seq, b.State())
		}
		done.Done(outcomeOf(seq[i]))
	}
}

// waitState waits until b is in state want.
func waitState(t *testing.T, b *Breaker, want string) {
	t.Helper()
	testutil.Eventually(t, "breaker "+want, func() bool { return b.State() == want })
}

// long is an OpenFor no test waits out.
const long = time.Hour

func TestBreakerOpensOnRule(t *testing.T) {
	tests := []struct {
		name string
		cfg  BreakerConfig
		seq  string // reported one by one
		want string // state after seq
	}{
		{"consecutive: one short stays closed",
			BreakerConfig{ConsecutiveFailures: 3, FailureRatio: 1, MinRequests: 1000}, "FF", StateClosed},
		{"consecutive: N in a row opens",
			BreakerConfig{ConsecutiveFailures: 3, FailureRatio: 1, MinRequests: 1000}, "FFF", StateOpen},
		{"consecutive: a success restarts the count",
			BreakerConfig{ConsecutiveFailures: 3, FailureRatio: 1, MinRequests: 1000}, "FFSFF", StateClosed},
		{"consecutive: after a success, N in a row opens",
			BreakerConfig{ConsecutiveFailures: 3, FailureRatio: 1, MinRequests: 1000}, "FFSFFF", StateOpen},
		{"consecutive: an excluded outcome is not a success",
			BreakerConfig{ConsecutiveFailures: 3, FailureRatio: 1, MinRequests: 1000}, "FFXF", StateOpen},
		{"consecutive: excluded outcomes alone never open",
			BreakerConfig{ConsecutiveFailures: 1, FailureRatio: 0.01, MinRequests: 1}, "XXXXXXXXXX", StateClosed},
		{"ratio: below MinRequests stays closed even at 100%",
			BreakerConfig{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 6}, "FSFSF", StateClosed},
		{"ratio: at MinRequests and the ratio opens",
			BreakerConfig{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 6}, "SFSFSF", StateOpen},
		{"ratio: under the ratio stays closed",
			BreakerConfig{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 6}, "SSFSSFSSF", StateClosed},
		{"ratio: excluded outcomes do not make up MinRequests",
			BreakerConfig{ConsecutiveFailures: 100, FailureRatio: 0.25, MinRequests: 4}, "XXXF", StateClosed},
		{"ratio: excluded outcomes do not dilute the ratio",
			BreakerConfig{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 4}, "XXXXSSFF", StateOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Window, tc.cfg.OpenFor, tc.cfg.HalfOpenRequests = time.Hour, long, 1
			b := NewBreaker("orders", tc.cfg, nil)
			run(t, b, tc.seq)
			if got := b.State(); got != tc.want {
				t.Fatalf("after %q: state %s, want %s", tc.seq, got, tc.want)
			}
			if _, ok := b.Allow(); ok != (tc.want != StateOpen) {
				t.Fatalf("Allow = %v in state %s", ok, tc.want)
			}
		})
	}
}

func TestBreakerRefusesWhileOpen(t *testing.T) {
	b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 2, FailureRatio: 1, MinRequests: 100,
		Window: time.Hour, OpenFor: long}, nil)
	if b.Service() != "orders" || b.State() != StateClosed {
		t.Fatalf("new breaker: service %q state %s", b.Service(), b.State())
	}
	run(t, b, "FF")
	for i := 0; i < 100; i++ {
		if done, ok := b.Allow(); ok || done != nil {
			t.Fatalf("request %d allowed while open", i)
		}
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	const openFor = 40 * time.Millisecond
	tests := []struct {
		name   string
		probes uint32
		seq    string // the probes' outcomes
		want   string
		heard  []string
	}{
		{"one probe succeeds: closed", 1, "S", StateClosed,
			[]string{"closed>open", "open>half-open", "half-open>closed"}},
		{"one probe fails: open again", 1, "F", StateOpen,
			[]string{"closed>open", "open>half-open", "half-open>open"}},
		{"two probes must both succeed", 2, "SS", StateClosed,
			[]string{"closed>open", "open>half-open", "half-open>closed"}},
		{"the second of two probes fails", 2, "SF", StateOpen,
			[]string{"closed>open", "open>half-open", "half-open>open"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &transitions{}
			b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 1, FailureRatio: 1, MinRequests: 100,
				Window: time.Hour, OpenFor: openFor, HalfOpenRequests: tc.probes}, tr.hear)
			opened := time.Now()
			run(t, b, "F")
			if s := b.State(); s != StateOpen {
				t.Fatalf("after a failure: %s", s)
			}
			waitState(t, b, StateHalfOpen)
			if waited := time.Since(opened); waited < openFor {
				t.Fatalf("half-open after %s, before OpenFor %s", waited, openFor)
			}
			// Take every probe slot; one more is refused.
			dones := make([]Ticket, 0, tc.probes)
			for i := uint32(0); i < tc.probes; i++ {
				done, ok := b.Allow()
				if !ok {
					t.Fatalf("probe %d refused", i)
				}
				dones = append(dones, done)
			}
			if _, ok := b.Allow(); ok {
				t.Fatal("a request beyond the half-open probes was allowed")
			}
			for i := range tc.seq {
				dones[i].Done(outcomeOf(tc.seq[i]))
			}
			if s := b.State(); s != tc.want {
				t.Fatalf("after probes %q: %s, want %s", tc.seq, s, tc.want)
			}
			var want []string
			for _, h := range tc.heard {
				want = append(want, "orders:"+h)
			}
			if got := tr.list(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("state changes %v, want %v", got, want)
			}
		})
	}
}

// An excluded probe (its client went away) says nothing about the
// service: it frees its slot for another probe and does not close or
// reopen the breaker.
func TestBreakerExcludedProbe(t *testing.T) {
	b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 1, FailureRatio: 1, MinRequests: 100,
		Window: time.Hour, OpenFor: 20 * time.Millisecond, HalfOpenRequests: 1}, nil)
	run(t, b, "F")
	waitState(t, b, StateHalfOpen)
	run(t, b, "X")
	if s := b.State(); s != StateHalfOpen {
		t.Fatalf("after an excluded probe: %s, want half-open", s)
	}
	run(t, b, "S")
	if s := b.State(); s != StateClosed {
		t.Fatalf("after a successful probe: %s, want closed", s)
	}
}

// Failures spread over more than the window do not add up.
func TestBreakerWindowForgets(t *testing.T) {
	const window = 500 * time.Millisecond
	b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 1000, FailureRatio: 0.5, MinRequests: 4,
		Window: window, OpenFor: long, HalfOpenRequests: 1}, nil)
	run(t, b, "FFF")
	time.Sleep(window + window/2) // let every bucket of the window roll over
	run(t, b, "S")
	run(t, b, "F")
	if s := b.State(); s != StateClosed {
		t.Fatalf("failures older than the window still counted: %s", s)
	}
	run(t, b, "FF")
	if s := b.State(); s != StateOpen {
		t.Fatalf("3 of 4 failed within the window: %s, want open", s)
	}
}
