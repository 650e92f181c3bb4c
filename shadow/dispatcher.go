// Package shadow mirrors requests to the other side of a route and
// compares the answers, entirely off the request path.
//
// The primary request is served first and never waits: its body is teed
// up to a cap while the primary reads it, its response captured up to a
// cap while it streams to the client, and only after the client has its
// answer is a copy offered to a bounded queue without blocking (full:
// dropped and counted). A fixed pool of workers sends each copy with its
// own deadline on a context detached from the client's, compares the two
// answers with package diff, and hands the result to the report store.
package shadow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/shadow/mark"
	"github.com/stranglerfig/strangler/tracing"
	"github.com/stranglerfig/strangler/upstream"
)

// Observer counts what mirroring does (metrics.Registry implements it).
type Observer interface {
	Shadow(route, result, reason string)
	Compared(route, verdict string)
	ReportDropped()
}

// Sink stores comparison results without blocking (report.Store),
// redacted with the route's redactor.
type Sink interface {
	Offer(report.Record, *report.Redactor) bool
}

// Options sizes a Dispatcher.
type Options struct {
	Workers int
	Queue   int
	// MaxQueuedBytes bounds the bodies held by queued copies; past it new
	// copies are dropped (reason memory).
	MaxQueuedBytes int64
	Observer       Observer
	Sink           Sink
	Log            zerolog.Logger
	// Secret signs the marker on every copy (package shadow/mark). Empty:
	// copies carry the plain marker, and Start logs once that they are
	// unsigned.
	Secret []byte
	// Tracer, if set, gives every copy its own span in its request's
	// trace, linked to the request's span, and sends the copy with it as
	// traceparent.
	Tracer *tracing.Tracer
}

// Dispatcher owns the queue and the workers. Start it once, Stop it once.
type Dispatcher struct {
	opts     Options
	jobs     chan *job
	queued   atomic.Int64 // bytes held by queued jobs
	stopping atomic.Bool
	// stopMu is held shared by offer from its stopping check to its send,
	// and exclusively by Stop to set stopping, so no copy is queued after
	// Stop's last drain (it would stay pending, uncounted, forever).
	stopMu  sync.RWMutex
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pending atomic.Int64 // being prepared (hold), queued or being processed
	// inflight counts copies a worker is sending and comparing.
	inflight atomic.Int64

	mu       sync.Mutex
	learners map[string]*Learner
	stats    map[string]*routeStats
	breakers map[string]*guard.Breaker // per copy target: stop copying to a dead one
}

// New returns a Dispatcher; call Start to run its workers.
func New(opts Options) *Dispatcher {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.Queue < 1 {
		opts.Queue = 1
	}
	if opts.MaxQueuedBytes <= 0 {
		opts.MaxQueuedBytes = 64 << 20
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{opts: opts, jobs: make(chan *job, opts.Queue), ctx: ctx, cancel: cancel,
		learners: map[string]*Learner{}, stats: map[string]*routeStats{}, breakers: map[string]*guard.Breaker{}}
	if w, ok := opts.Observer.(gaugeWatcher); ok {
		w.WatchShadow(d.InFlight, d.Queued)
	}
	return d
}

// gaugeWatcher is an Observer that also shows the in-flight and queued
// copies as gauges (metrics.Registry).
type gaugeWatcher interface {
	WatchShadow(inflight, queued func() int64)
}

// InFlight returns how many copies workers are sending and comparing.
func (d *Dispatcher) InFlight() int64 { return d.inflight.Load() }

// Queued returns how many copies wait in the queue for a worker.
func (d *Dispatcher) Queued() int64 { return int64(len(d.jobs)) }

// Start runs the workers.
func (d *Dispatcher) Start() {
	if len(d.opts.Secret) == 0 {
		d.opts.Log.Warn().Str("header", mark.SignatureHeader).
			Msg("shadow copies are unsigned: no secret in shadowing.secret_env; services cannot tell a copy from a forged marker")
	}
	for range d.opts.Workers {
		d.wg.Go(d.work)
	}
}

// Stop refuses new copies, lets the workers finish the queue until ctx is
// done, then cancels copies in flight and drops what is left (counted).
// It returns when every worker has returned.
func (d *Dispatcher) Stop(ctx context.Context) {
	d.stopMu.Lock()
	d.stopping.Store(true)
	d.stopMu.Unlock()
	_ = d.Wait(ctx) // past ctx, what is left is canceled and dropped below
	d.cancel()
	d.wg.Wait()
	for {
		select {
		case j := <-d.jobs:
			d.pending.Add(-1)
			j.p.dropped(ReasonStopping)
			d.release(j)
		default:
			return
		}
	}
}

// errTargetDown: the copy target's breaker is open; the copy was not sent.
var errTargetDown = errors.New("copy target is down (its shadow breaker is open)")

// targetBreaker settings: after 5 transport failures in a row (or half of
// 20 in 10 s), stop copying to that target for 5 s, then probe.
var targetBreaker = guard.BreakerConfig{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20,
	Window: 10 * time.Second, OpenFor: 5 * time.Second, HalfOpenRequests: 1}

// breaker returns the copy target's breaker. A target that keeps failing
// (refused, timing out) is skipped early instead of costing a capture, a
// queue slot and a failed dial per request.
func (d *Dispatcher) breaker(u *upstream.Upstream) *guard.Breaker {
	key := u.Name() + "|" + u.URL().String()
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.breakers[key]
	if !ok {
		b = guard.NewBreaker(key, targetBreaker, nil)
		d.breakers[key] = b
	}
	return b
}

// Wait returns when no copy is being prepared, queued or in flight, or
// with ctx's error.
func (d *Dispatcher) Wait(ctx context.Context) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for d.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// Pending returns how many copies are being prepared, queued or in
// flight.
func (d *Dispatcher) Pending() int64 { return d.pending.Load() }

// job is one copy to send and compare. The worker owns it.
type job struct {
	p           *Policy
	req         *http.Request // snapshot, no body
	reqBody     *bytes.Buffer
	to          routing.Side
	primarySide routing.Side
	primary     diff.Response
	primaryBuf  *bytes.Buffer
	at          time.Time
	link        tracing.Link    // the request's span (zero when tracing is off)
	trace       context.Context // the copy's span, while it is processed
}

func (j *job) size() int64 { return int64(j.reqBody.Len() + j.primaryBuf.Len()) }

// hold counts a copy as pending while it is prepared, from before the
// client can see its answer: whoever waits for the copies after that
// (Wait, Stop) waits for this one too. offer ends the hold.
func (d *Dispatcher) hold() { d.pending.Add(1) }

// offer queues j, prepared under a hold, without blocking; a full queue
// or memory budget drops it.
func (d *Dispatcher) offer(j *job) {
	size := j.size()
	reason := ""
	d.stopMu.RLock()
	switch {
	case d.stopping.Load():
		reason = ReasonStopping
	case d.queued.Add(size) > d.opts.MaxQueuedBytes:
		d.queued.Add(-size)
		reason = ReasonMemory
	default:
		select {
		case d.jobs <- j:
			d.stopMu.RUnlock()
			return
		default:
			d.queued.Add(-size)
			reason = ReasonQueueFull
		}
	}
	d.stopMu.RUnlock()
	d.pending.Add(-1) // the hold ends with the drop
	j.p.dropped(reason)
	putBuffer(j.reqBody)
	putBuffer(j.primaryBuf)
}

func (d *Dispatcher) release(j *job) {
	d.queued.Add(-j.size())
	putBuffer(j.reqBody)
	putBuffer(j.primaryBuf)
}

func (d *Dispatcher) work() {
	for {
		select {
		case <-d.ctx.Done():
			return
		case j := <-d.jobs:
			if d.ctx.Err() != nil {
				// Stop's deadline passed and select picked a job over
				// Done: drop it as Stop would, never send it cancelled.
				j.p.dropped(ReasonStopping)
				d.release(j)
			} else {
				d.inflight.Add(1)
				d.run(j)
				d.inflight.Add(-1)
			}
			d.pending.Add(-1)
		}
	}
}

// run processes one job under a panic guard.
func (d *Dispatcher) run(j *job) {
	defer d.release(j)
	defer func() {
		if v := recover(); v != nil {
			d.opts.Log.Error().Str("route", j.p.cfg.Route).Interface("panic", v).Msg("shadow worker recovered")
		}
	}()
	d.process(j)
}

// process sends the copy, compares the answers and stores the result,
// under the copy's own span when the request was traced.
func (d *Dispatcher) process(j *job) {
	if d.opts.Tracer == nil {
		d.compare(j)
		return
	}
	ctx, span, ok := d.opts.Tracer.StartShadow(j.link, j.p.cfg.Route, j.to.String())
	if !ok {
		d.compare(j)
		return
	}
	j.trace = ctx
	res, failure := d.compare(j)
	tracing.EndShadow(span, string(res.Verdict), len(res.Differences)+res.Omitted, failure)
}

// compare sends the copy, compares the answers and stores the result. It
// returns the comparison, or the kind of the copy's failure.
func (d *Dispatcher) compare(j *job) (diff.Result, string) {
	p, route := j.p, j.p.cfg.Route
	other, err := d.send(j, j.to)
	if errors.Is(err, errTargetDown) {
		p.dropped(ReasonTargetDown)
		return diff.Result{}, ReasonTargetDown
	}
	if err != nil {
		kind := upstream.ErrorKind(err)
		p.count(resultFailed, kind)
		d.store(j, other, diff.Result{}, kind)
		return diff.Result{}, kind
	}
	p.count(resultSent, "")
	legacy, service := j.primary, other
	if j.to == routing.SideLegacy {
		legacy, service = other, j.primary
	}
	if p.learner != nil && j.req.Method == http.MethodGet && p.noiseDue() {
		if again, err := d.send(j, routing.SideLegacy); err == nil {
			p.learner.Learn(diff.Compare(legacy, again, p.bareRules).Differences)
		}
	}
	res := diff.Compare(legacy, service, p.rules)
	if d.opts.Observer != nil {
		d.opts.Observer.Compared(route, string(res.Verdict))
	}
	d.store(j, other, res, "")
	return res, ""
}

// noiseDue says whether this mirrored GET also asks the monolith again.
func (p *Policy) noiseDue() bool {
	if p.learner.asked.Add(1) <= int64(p.cfg.NoiseWarmup) {
		return true
	}
	return rand.Uint32N(routing.Buckets) < p.noiseSample
}

// send sends the copy of j to side and reads the answer up to the cap.
func (d *Dispatcher) send(j *job, side routing.Side) (diff.Response, error) {
	p := j.p
	t := p.cfg.Service
	if side == routing.SideLegacy {
		t = p.cfg.Legacy
	}
	done, ok := p.down[side].Allow()
	if !ok {
		return diff.Response{}, errTargetDown
	}
	ctx, cancel := context.WithTimeout(d.ctx, p.cfg.Timeout)
	defer cancel()
	start := time.Now()
	req := t.Upstream.ShadowRequest(ctx, j.req, j.reqBody.Bytes(), t.Route, t.Trusted)
	if !t.Sandbox {
		dropMethodOverrides(req.Header)
	}
	if d.opts.Tracer != nil {
		d.traceCopy(j, req.Header)
	}
	mark.SignRequest(req, d.opts.Secret, start)
	resp, err := t.Upstream.Transport().RoundTrip(req)
	if err != nil {
		done.Done(guard.Failure)
		return diff.Response{Duration: time.Since(start)}, err
	}
	done.Done(guard.Success)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.cfg.MaxResponse+1))
	out := diff.Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Duration: time.Since(start)}
	if err != nil {
		return out, fmt.Errorf("reading mirrored response: %w", err)
	}
	if int64(len(body)) > p.cfg.MaxResponse {
		out.Body, out.Truncated = body[:p.cfg.MaxResponse], true
	}
	return out, nil
}

// traceCopy sets the copy's traceparent, in place of what the primary's
// attempt left on the snapshot: the copy's span, or the request's own
// span when that was not sampled (the flag tells the service so).
func (d *Dispatcher) traceCopy(j *job, h http.Header) {
	switch {
	case j.trace != nil:
		d.opts.Tracer.Inject(j.trace, h)
	case j.link.Span.IsValid():
		d.opts.Tracer.Inject(trace.ContextWithSpanContext(context.Background(), j.link.Span), h)
	}
}

// store hands the comparison to the sink.
func (d *Dispatcher) store(j *job, other diff.Response, res diff.Result, failure string) {
	if d.opts.Sink == nil {
		return
	}
	prim, oth := side(j.primary, ""), side(other, failure)
	rec := report.Record{
		Time: j.at, Route: j.p.cfg.Route, Method: j.req.Method, Path: j.req.URL.Path,
		RequestID: j.req.Header.Get("X-Request-Id"), Primary: j.primarySide.String(),
		Legacy: prim, Service: oth, Result: res,
	}
	if j.link.Span.IsSampled() {
		rec.TraceID = j.link.Span.TraceID().String()
	}
	if j.to == routing.SideLegacy {
		rec.Legacy, rec.Service = oth, prim
	}
	if !d.opts.Sink.Offer(rec, j.p.redactor) && d.opts.Observer != nil {
		d.opts.Observer.ReportDropped()
	}
}

// side copies a response for the record (the store cuts and redacts it;
// the job's buffers are released after store returns).
func side(r diff.Response, failure string) report.Side {
	return report.Side{Status: r.Status, Header: r.Header, Body: string(r.Body), Truncated: r.Truncated,
		Duration: r.Duration, Error: failure}
}

// methodOverrides are the headers some frameworks read as the real method
// (Rails, Laravel, Spring's HiddenHttpMethodFilter variants, ASP.NET).
var methodOverrides = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// dropMethodOverrides removes them from a copy to a service that is not a
// sandbox, where a GET copy carrying one would act as a write.
func dropMethodOverrides(h http.Header) {
	for _, k := range methodOverrides {
		delete(h, k)
	}
}
