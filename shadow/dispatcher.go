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
	"net/http"
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

// Observer is told of each comparison and of each result the Sink could
// not take (metrics.Registry implements it). The mirroring counts are not
// sent to it: they are kept once, per route, and read at each scrape by
// an Observer that is also a watcher.
type Observer interface {
	Compared(route, verdict string)
	ReportDropped()
}

// watcher is an Observer that also shows the dispatcher's live state at
// each scrape (metrics.Registry): the copies in flight and queued as
// gauges, and every route's counts by result and reason.
type watcher interface {
	WatchShadow(inflight, queued func() int64, counts func(func(route, result, reason string, n uint64)))
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

// Dispatcher wires a pool of workers (pool.go), which sends and compares
// the copies, to a registry (registry.go) of what each route keeps across
// reloads: learners, counts and the copy targets' breakers. Start it
// once, Stop it once.
type Dispatcher struct {
	opts Options
	pool *pool[*job]
	reg  *registry
}

// New returns a Dispatcher; call Start to run its workers.
func New(opts Options) *Dispatcher {
	if opts.MaxQueuedBytes <= 0 {
		opts.MaxQueuedBytes = 64 << 20
	}
	d := &Dispatcher{opts: opts, reg: newRegistry()}
	d.pool = newPool(poolConfig[*job]{Workers: opts.Workers, Queue: opts.Queue, MaxBytes: opts.MaxQueuedBytes,
		Run: d.run, Drop: d.drop, Panicked: d.panicked})
	if w, ok := opts.Observer.(watcher); ok {
		w.WatchShadow(d.InFlight, d.Queued, d.reg.eachCount)
	}
	return d
}

// InFlight returns how many copies workers are sending and comparing.
func (d *Dispatcher) InFlight() int64 { return d.pool.running.Load() }

// Queued returns how many copies wait in the queue for a worker.
func (d *Dispatcher) Queued() int64 { return d.pool.queued() }

// Pending returns how many copies are being prepared, queued or in
// flight.
func (d *Dispatcher) Pending() int64 { return d.pool.pending.count() }

// Start runs the workers.
func (d *Dispatcher) Start() {
	if len(d.opts.Secret) == 0 {
		d.opts.Log.Warn().Str("header", mark.SignatureHeader).
			Msg("shadow copies are unsigned: no secret in shadowing.secret_env; services cannot tell a copy from a forged marker")
	}
	d.pool.start()
}

// Stop refuses new copies, lets the workers finish the queue until ctx is
// done, then cancels copies in flight and drops what is left (counted).
// It returns when every worker has returned.
func (d *Dispatcher) Stop(ctx context.Context) { d.pool.stop(ctx) }

// Wait returns when no copy is being prepared, queued or in flight, or
// with ctx's error. It wakes when the last copy ends, without polling.
func (d *Dispatcher) Wait(ctx context.Context) error { return d.pool.wait(ctx) }

// errTargetDown: the copy target's breaker is open; the copy was not sent.
var errTargetDown = errors.New("copy target is down (its shadow breaker is open)")

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

// release returns the job's buffers to the pool of buffers.
func (j *job) release() {
	putBuffer(j.reqBody)
	putBuffer(j.primaryBuf)
}

// hold counts a copy as pending while it is prepared, from before the
// client can see its answer: whoever waits for the copies after that
// (Wait, Stop) waits for this one too. offer ends the hold.
func (d *Dispatcher) hold() { d.pool.hold() }

// offer queues j, prepared under a hold, without blocking; a full queue
// or memory budget drops it.
func (d *Dispatcher) offer(j *job) { d.pool.offer(j, j.size()) }

// drop counts a copy the pool will not send and releases it.
func (d *Dispatcher) drop(j *job, reason string) {
	j.p.dropped(reason)
	j.release()
}

// run processes one job on a worker; ctx is the pool's, detached from
// the client's.
func (d *Dispatcher) run(ctx context.Context, j *job) {
	defer j.release()
	d.process(ctx, j)
}

// panicked logs a panic the pool recovered from while running j.
func (d *Dispatcher) panicked(j *job, v any) {
	d.opts.Log.Error().Str("route", j.p.cfg.Route).Interface("panic", v).Msg("shadow worker recovered")
}

// process sends the copy, compares the answers and stores the result,
// under the copy's own span when the request was traced.
func (d *Dispatcher) process(ctx context.Context, j *job) {
	if d.opts.Tracer == nil {
		d.compare(ctx, j)
		return
	}
	tctx, span, ok := d.opts.Tracer.StartShadow(j.link, j.p.cfg.Route, j.to.String())
	if !ok {
		d.compare(ctx, j)
		return
	}
	j.trace = tctx
	res, failure := d.compare(ctx, j)
	tracing.EndShadow(span, string(res.Verdict), len(res.Differences)+res.Omitted, failure)
}

// compare sends the copy, compares the answers and stores the result. It
// returns the comparison, or the kind of the copy's failure.
func (d *Dispatcher) compare(ctx context.Context, j *job) (diff.Result, string) {
	p, route := j.p, j.p.cfg.Route
	other, err := d.send(ctx, j, j.to)
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
		if again, err := d.send(ctx, j, routing.SideLegacy); err == nil {
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

// send sends the copy of j to side and reads the answer up to the cap.
func (d *Dispatcher) send(ctx context.Context, j *job, side routing.Side) (diff.Response, error) {
	p := j.p
	t := p.cfg.Service
	if side == routing.SideLegacy {
		t = p.cfg.Legacy
	}
	done, ok := p.down[side].Allow()
	if !ok {
		return diff.Response{}, errTargetDown
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
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
