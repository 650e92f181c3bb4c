package shadow

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/report"
)

const workerFunc = "shadow.(*pool[...]).work("

// offerGET mirrors one GET whose primary answers body.
func offerGET(t *testing.T, p *Policy, body string) {
	t.Helper()
	primary := &counting{body: body}
	rec := serve(p, httptest.NewRequest("GET", "/items", nil), shadowDecision, primary)
	if rec.Code != http.StatusOK || rec.Body.String() != body || primary.calls.Load() != 1 {
		t.Fatalf("client got %d %q after %d primary calls", rec.Code, rec.Body, primary.calls.Load())
	}
}

// TestDispatcherQueueFull fills the queue behind a copy that hangs: only
// the excess is dropped (queue_full) and Pending never exceeds
// Queue+Workers.
func TestDispatcherQueueFull(t *testing.T) {
	const queue, workers = 3, 1
	g := newGate()
	r := newRig(t, okHandler, g, Options{Workers: workers, Queue: queue})
	t.Cleanup(g.open)
	p := r.policy(nil)

	offerGET(t, p, "primary")
	g.waitArrival(t) // the worker holds the first copy
	for range queue + 4 {
		offerGET(t, p, "primary")
		if n := r.d.Pending(); n > queue+workers {
			t.Fatalf("Pending = %d, over Queue+Workers = %d", n, queue+workers)
		}
	}
	if n := r.d.Pending(); n != queue+workers {
		t.Errorf("Pending = %d, want %d", n, queue+workers)
	}
	wantCounts(t, r.d, 0, nil, map[string]uint64{ReasonQueueFull: 4})
	if got := shadowMetric(t, r.metrics, resultDropped, ReasonQueueFull); got != 4 {
		t.Errorf("metric dropped/queue_full = %v, want 4", got)
	}

	g.open()
	r.wait()
	wantCounts(t, r.d, queue+workers, nil, map[string]uint64{ReasonQueueFull: 4})
	if got := g.served.Load(); got != queue+workers {
		t.Errorf("service answered %d copies, want %d", got, queue+workers)
	}
	if got := r.store.Stats().Stored; got != queue+workers {
		t.Errorf("store holds %d records, want %d", got, queue+workers)
	}
	if q := r.d.pool.bytes.Load(); q != 0 {
		t.Errorf("queued bytes = %d after the queue drained", q)
	}
}

// TestDispatcherMemoryBudget drops copies whose bodies would take the
// queued bytes past MaxQueuedBytes, and takes copies again once the
// budget is freed.
func TestDispatcherMemoryBudget(t *testing.T) {
	g := newGate()
	r := newRig(t, okHandler, g, Options{Workers: 1, Queue: 16, MaxQueuedBytes: 100})
	t.Cleanup(g.open)
	p := r.policy(nil)
	body := strings.Repeat("m", 64) // 64 of the 100 bytes per copy

	offerGET(t, p, body)
	g.waitArrival(t) // in flight, still holding its 64 bytes
	for range 3 {
		offerGET(t, p, body)
	}
	wantCounts(t, r.d, 0, nil, map[string]uint64{ReasonMemory: 3})
	if q := r.d.pool.bytes.Load(); q != 64 {
		t.Errorf("queued bytes = %d, want 64", q)
	}
	if got := shadowMetric(t, r.metrics, resultDropped, ReasonMemory); got != 3 {
		t.Errorf("metric dropped/memory = %v, want 3", got)
	}

	g.open()
	r.wait()
	if q := r.d.pool.bytes.Load(); q != 0 {
		t.Fatalf("queued bytes = %d after the copy finished", q)
	}
	offerGET(t, p, body) // fits again
	// A copy that alone is over the budget never fits.
	primary := &counting{body: body}
	serve(p, httptest.NewRequest("POST", "/items", strings.NewReader(body)), shadowDecision, primary)
	r.wait()
	wantCounts(t, r.d, 2, nil, map[string]uint64{ReasonMemory: 4})
	if q := r.d.pool.bytes.Load(); q != 0 {
		t.Errorf("queued bytes = %d at rest", q)
	}
}

// TestDispatcherStop stops while a copy hangs: Stop returns at about its
// deadline, cancels the copy in flight, counts the queued copies as
// dropped (stopping), refuses later offers the same way, and every
// worker has returned.
func TestDispatcherStop(t *testing.T) {
	const deadline = 200 * time.Millisecond
	base := goroutinesIn(workerFunc)
	g := newGate()
	r := newRig(t, okHandler, g, Options{Workers: 1, Queue: 8})
	t.Cleanup(g.open)
	p := r.policy(nil)
	testutil.Eventually(t, "the worker to run", func() bool { return goroutinesIn(workerFunc)-base == 1 })

	offerGET(t, p, "primary")
	g.waitArrival(t)
	for range 5 {
		offerGET(t, p, "primary")
	}
	if n := r.d.Pending(); n != 6 {
		t.Fatalf("Pending = %d, want 6", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	r.d.Stop(ctx)
	took := time.Since(start)
	if took < deadline-10*time.Millisecond || took > deadline+time.Second {
		t.Errorf("Stop took %v, want about %v", took, deadline)
	}
	if n := r.d.Pending(); n != 0 {
		t.Errorf("Pending = %d after Stop", n)
	}
	if n := goroutinesIn(workerFunc) - base; n != 0 {
		t.Errorf("%d workers still running after Stop", n)
	}
	// The copy in flight was sent and then cancelled; the queued ones
	// were never sent.
	wantCounts(t, r.d, 1, nil, map[string]uint64{ReasonStopping: 5})
	if got := g.served.Load(); got != 0 {
		t.Errorf("service answered %d copies, want 0 (the one in flight was cancelled)", got)
	}

	for range 2 {
		offerGET(t, p, "primary")
	}
	wantCounts(t, r.d, 1, nil, map[string]uint64{ReasonStopping: 7})
	if got := shadowMetric(t, r.metrics, resultDropped, ReasonStopping); got != 7 {
		t.Errorf("metric dropped/stopping = %v, want 7", got)
	}
	if n := r.d.Pending(); n != 0 {
		t.Errorf("Pending = %d after offers to a stopped dispatcher", n)
	}
	if q := r.d.pool.bytes.Load(); q != 0 {
		t.Errorf("queued bytes = %d after Stop", q)
	}
}

// TestDispatcherStopDrains lets Stop finish the queue when the deadline
// allows it.
func TestDispatcherStopDrains(t *testing.T) {
	r := newRig(t, okHandler, okHandler, Options{Workers: 2, Queue: 16})
	p := r.policy(nil)
	for range 10 {
		offerGET(t, p, "primary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.d.Stop(ctx)
	if err := ctx.Err(); err != nil {
		t.Errorf("Stop waited for its deadline: %v", err)
	}
	wantCounts(t, r.d, 10, nil, nil)
}

// TestDispatcherWait returns only once every copy is done.
func TestDispatcherWait(t *testing.T) {
	g := newGate()
	r := newRig(t, okHandler, g, Options{Workers: 2, Queue: 8})
	t.Cleanup(g.open)
	p := r.policy(nil)
	for range 3 {
		offerGET(t, p, "primary")
	}
	g.waitArrival(t)
	g.waitArrival(t)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.d.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with copies hanging = %v, want DeadlineExceeded", err)
	}
	if n := r.d.Pending(); n != 3 {
		t.Errorf("Pending = %d, want 3", n)
	}

	g.open()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := r.d.Wait(ctx2); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if n := r.d.Pending(); n != 0 {
		t.Errorf("Pending = %d after Wait", n)
	}
	if got := g.served.Load(); got != 3 {
		t.Errorf("service answered %d copies when Wait returned, want 3", got)
	}
	wantCounts(t, r.d, 3, nil, nil)
	if err := r.d.Wait(context.Background()); err != nil { // nothing pending: at once
		t.Errorf("idle Wait: %v", err)
	}
}

// TestDispatcherUpstreamFailure counts a copy whose upstream refuses as
// sent (failed) and stores the failure.
func TestDispatcherUpstreamFailure(t *testing.T) {
	r := newRig(t, okHandler, okHandler, Options{Workers: 1, Queue: 8})
	p := r.policy(nil)
	r.service.Close() // nobody listens there any more
	offerGET(t, p, "primary")
	r.wait()
	wantCounts(t, r.d, 1, nil, nil)
	if got := shadowMetric(t, r.metrics, resultFailed, report.ErrorRefused); got != 1 {
		t.Errorf("metric failed/refused = %v, want 1", got)
	}
	recs := r.store.Recent(testRoute, 10)
	if len(recs) != 1 {
		t.Fatalf("store holds %d records, want 1", len(recs))
	}
	rec, _ := r.store.Get(recs[0].ID)
	if rec.Service.Error != report.ErrorRefused || rec.Legacy.Status != http.StatusOK {
		t.Errorf("record: service error %q, legacy status %d", rec.Service.Error, rec.Legacy.Status)
	}
}

// panickySink panics on its first offers, then hands records on.
type panickySink struct {
	next   Sink
	panics atomic.Int64
}

func (s *panickySink) Offer(rec report.Record, red *report.Redactor) bool {
	if s.panics.Add(-1) >= 0 {
		panic("sink exploded")
	}
	return s.next.Offer(rec, red)
}

// TestDispatcherSurvivesPanic keeps the worker alive when the Sink
// panics: the job is released and the next one is still processed.
func TestDispatcherSurvivesPanic(t *testing.T) {
	sink := &panickySink{}
	sink.panics.Store(2)
	base := goroutinesIn(workerFunc)
	r := newRig(t, okHandler, okHandler, Options{Workers: 1, Queue: 8},
		func(s Sink) Sink { sink.next = s; return sink })
	p := r.policy(nil)

	for range 2 {
		offerGET(t, p, "primary")
	}
	r.wait()
	if got := r.store.Stats().Stored; got != 0 {
		t.Fatalf("store holds %d records after two panics", got)
	}
	if logs := r.logs.String(); strings.Count(logs, "shadow worker recovered") != 2 ||
		!strings.Contains(logs, "sink exploded") {
		t.Errorf("logs do not show two recovered panics:\n%s", logs)
	}
	if n := goroutinesIn(workerFunc) - base; n != 1 {
		t.Fatalf("%d workers running after the panics, want 1", n)
	}

	offerGET(t, p, "primary")
	r.wait()
	if got := r.store.Stats().Stored; got != 1 {
		t.Errorf("store holds %d records, want the one after the panics", got)
	}
	wantCounts(t, r.d, 3, nil, nil)
	if n := r.d.Pending(); n != 0 {
		t.Errorf("Pending = %d", n)
	}
	if q := r.d.pool.bytes.Load(); q != 0 {
		t.Errorf("queued bytes = %d: a panicking job was not released", q)
	}
}

// TestDispatcherStopWhileOffering stops while requests keep arriving:
// every copy is accounted for exactly once (sent or dropped) and none is
// left behind in the queue.
func TestDispatcherStopWhileOffering(t *testing.T) {
	for round := range 5 {
		r := newRig(t, okHandler, okHandler, Options{Workers: 2, Queue: 1024})
		p := r.policy(nil)
		primary := &counting{body: "primary"}
		stop := make(chan struct{})
		started := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				started <- struct{}{}
				for {
					select {
					case <-stop:
						return
					default:
					}
					serve(p, httptest.NewRequest("GET", "/items", nil), shadowDecision, primary)
				}
			})
		}
		for range 8 {
			<-started
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		r.d.Stop(ctx)
		cancel()
		atStop := primary.calls.Load()
		testutil.Eventually(t, "offers to the stopped dispatcher", func() bool { return primary.calls.Load() > atStop+8 })
		close(stop)
		wg.Wait()
		c := r.d.Counts(testRoute)
		total := c.Sent
		for _, n := range c.Dropped {
			total += n
		}
		if n := r.d.Pending(); n != 0 || total != uint64(primary.calls.Load()) {
			t.Fatalf("round %d: %d offered, %d accounted for (%+v), %d pending", round,
				primary.calls.Load(), total, c, n)
		}
	}
}

// TestCountsAndMetricsAgree: strangler_shadow_requests_total shows, series
// by series, the counts the report reads, because it reads them.
func TestCountsAndMetricsAgree(t *testing.T) {
	r := newRig(t, okHandler, okHandler, Options{Workers: 1, Queue: 8})
	p := r.policy(func(c *PolicyConfig) { c.Methods = []string{"GET"} })
	for range 3 {
		offerGET(t, p, "primary")
	}
	serve(p, httptest.NewRequest("POST", "/items", nil), shadowDecision, &counting{body: "primary"})
	r.wait()
	wantCounts(t, r.d, 3, map[string]uint64{ReasonMethod: 1}, nil)
	series := 0
	r.d.reg.eachCount(func(route, result, reason string, n uint64) {
		series++
		got := metricValue(t, r.metrics, "strangler_shadow_requests_total",
			map[string]string{"route": route, "result": result, "reason": reason})
		if got != float64(n) {
			t.Errorf("%s/%s/%s: metric %v, counts %d", route, result, reason, got, n)
		}
	})
	if series != 2 {
		t.Errorf("%d series counted, want 2 (sent, skipped/method)", series)
	}
}
