// Package guard protects users from a failing service: a circuit breaker
// per service stops sending to it for a while, and a route's fallback
// answers from the monolith when the service fails before its answer has
// started — only for requests that are safe to send twice.
package guard

import (
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Breaker states as shown in the admin API and metrics.
const (
	StateClosed   = "closed"
	StateHalfOpen = "half-open"
	StateOpen     = "open"
)

// BreakerConfig configures a Breaker (see config.Breaker).
type BreakerConfig struct {
	ConsecutiveFailures uint32
	FailureRatio        float64
	MinRequests         uint32
	Window              time.Duration
	OpenFor             time.Duration
	HalfOpenRequests    uint32
}

// errFailed and errExcluded report an outcome to gobreaker.
var (
	errFailed   = errors.New("service failed")
	errExcluded = errors.New("not counted")
)

// Breaker is one service's circuit breaker (sony/gobreaker two-step).
type Breaker struct {
	service string
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// NewBreaker returns a closed breaker for service. onChange, if set, hears
// every state change.
func NewBreaker(service string, c BreakerConfig, onChange func(service, from, to string)) *Breaker {
	st := gobreaker.Settings{
		Name:        service,
		MaxRequests: c.HalfOpenRequests,
		Interval:    c.Window,
		Timeout:     c.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			// Excluded outcomes count neither towards MinRequests nor in
			// the ratio's denominator.
			counted := n.Requests - min(n.TotalExclusions, n.Requests)
			return n.ConsecutiveFailures >= c.ConsecutiveFailures ||
				(counted >= c.MinRequests && float64(n.TotalFailures) >= c.FailureRatio*float64(counted))
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errExcluded) },
	}
	if c.Window > 0 {
		st.BucketPeriod = c.Window / 10
	}
	if onChange != nil {
		st.OnStateChange = func(name string, from, to gobreaker.State) { onChange(name, stateName(from), stateName(to)) }
	}
	return &Breaker{service: service, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](st)}
}

// Outcome is what a guarded request tells its breaker.
type Outcome int

// Outcomes.
const (
	Success  Outcome = iota
	Failure          // counts towards opening the breaker
	Excluded         // neither (the client went away)
)

// Ticket is the pass for one allowed request; Done reports its outcome.
type Ticket func(error)

// Done reports the request's outcome to the breaker. Call it once.
func (t Ticket) Done(o Outcome) {
	switch o {
	case Failure:
		t(errFailed)
	case Excluded:
		t(errExcluded)
	default:
		t(nil)
	}
}

// Allow asks to send one request. It returns false while the breaker is
// open (or its half-open probes are taken); otherwise the ticket's Done
// must be called once with the outcome. The ticket is gobreaker's own
// callback: asking allocates nothing of ours.
func (b *Breaker) Allow() (Ticket, bool) {
	d, err := b.cb.Allow()
	if err != nil {
		return nil, false
	}
	return d, true
}

// State returns closed, half-open or open.
func (b *Breaker) State() string { return stateName(b.cb.State()) }

// Service returns the guarded service's name.
func (b *Breaker) Service() string { return b.service }

func stateName(s gobreaker.State) string {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}
