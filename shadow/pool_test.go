package shadow

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/stranglerfig/strangler/internal/testutil"
)

// task is a pool test's unit of work: it takes its time (fake, in a
// synctest bubble) or waits for release, or for the pool's context.
type task struct {
	id      int
	takes   time.Duration
	release chan struct{}
	panics  bool
}

// tally records what a test pool did with its tasks.
type tally struct {
	mu        sync.Mutex
	ran       map[int]time.Time // task id -> when it ended
	cancelled map[int]bool      // ran and saw the pool's context cancelled
	dropped   map[string]int    // reason -> tasks
	panicked  []any
}

// newTestPool returns a pool of tasks recorded in a tally; cfg sizes it
// (Run, Drop and Panicked are filled in).
func newTestPool(cfg poolConfig[*task]) (*pool[*task], *tally) {
	tl := &tally{ran: map[int]time.Time{}, cancelled: map[int]bool{}, dropped: map[string]int{}}
	cfg.Run = func(ctx context.Context, tk *task) {
		if tk.panics {
			panic("task exploded")
		}
		var after <-chan time.Time
		if tk.takes > 0 {
			after = time.After(tk.takes)
		}
		select {
		case <-after:
		case <-tk.release:
		case <-ctx.Done():
		}
		tl.mu.Lock()
		tl.ran[tk.id], tl.cancelled[tk.id] = time.Now(), ctx.Err() != nil
		tl.mu.Unlock()
	}
	cfg.Drop = func(_ *task, reason string) {
		tl.mu.Lock()
		tl.dropped[reason]++
		tl.mu.Unlock()
	}
	cfg.Panicked = func(_ *task, v any) {
		tl.mu.Lock()
		tl.panicked = append(tl.panicked, v)
		tl.mu.Unlock()
	}
	return newPool(cfg), tl
}

// give holds and offers tk, as the dispatcher does with a copy.
func give(p *pool[*task], tk *task, size int64) {
	p.hold()
	p.offer(tk, size)
}

// TestPoolStopWithQueuedWork stops a pool whose one worker runs a task
// that never ends by itself, with three more queued: stop returns at its
// deadline, the running task's context is cancelled, the queued ones
// are dropped (stopping) and never run, later offers are dropped too,
// nothing stays pending or held, and no goroutine is left behind.
func TestPoolStopWithQueuedWork(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	synctest.Test(t, func(t *testing.T) {
		const deadline = 200 * time.Millisecond
		p, tl := newTestPool(poolConfig[*task]{Workers: 1, Queue: 4, MaxBytes: 1 << 10})
		p.start()
		hang := make(chan struct{}) // never closed
		for id := range 4 {
			give(p, &task{id: id, release: hang}, 10)
		}
		synctest.Wait() // the worker holds task 0, three wait in the queue
		if p.running.Load() != 1 || p.queued() != 3 || p.pending.count() != 4 {
			t.Fatalf("before stop: running %d, queued %d, pending %d; want 1, 3, 4",
				p.running.Load(), p.queued(), p.pending.count())
		}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		p.stop(ctx)
		if took := time.Since(start); took != deadline {
			t.Errorf("stop took %v, want its deadline %v", took, deadline)
		}
		give(p, &task{id: 9}, 10)
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if len(tl.ran) != 1 || !tl.cancelled[0] {
			t.Errorf("ran %v (cancelled %v); want only task 0, cancelled", tl.ran, tl.cancelled)
		}
		if want := map[string]int{ReasonStopping: 4}; !maps.Equal(tl.dropped, want) {
			t.Errorf("dropped %v, want %v", tl.dropped, want)
		}
		if n, b := p.pending.count(), p.bytes.Load(); n != 0 || b != 0 {
			t.Errorf("after stop: pending %d, bytes held %d; want 0, 0", n, b)
		}
	})
}

// TestPoolWaitReturnsWhenLastJobEnds: in a bubble (fake time that only
// moves when every goroutine is blocked) Wait returns at the very
// instant the last of three tasks ends, 3 ms in. A Wait that polled
// every 2 ms would return at 4 ms.
func TestPoolWaitReturnsWhenLastJobEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, tl := newTestPool(poolConfig[*task]{Workers: 3, Queue: 3, MaxBytes: 1 << 10})
		p.start()
		defer p.stop(context.Background())
		start := time.Now()
		for id, takes := range []time.Duration{time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond} {
			give(p, &task{id: id, takes: takes}, 1)
		}
		if err := p.wait(context.Background()); err != nil {
			t.Fatalf("wait: %v", err)
		}
		if took := time.Since(start); took != 3*time.Millisecond {
			t.Errorf("wait returned after %v, want 3ms (when the last task ended)", took)
		}
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if len(tl.ran) != 3 {
			t.Errorf("%d tasks had ended when wait returned, want 3", len(tl.ran))
		}
	})
}

// TestPoolWaitWakesOnTheLastEnd: a waiter blocked in Wait has returned
// as soon as the last task ends on a signal, before any time passes: it
// is woken, not polling a timer.
func TestPoolWaitWakesOnTheLastEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := newTestPool(poolConfig[*task]{Workers: 2, Queue: 2, MaxBytes: 1 << 10})
		p.start()
		defer p.stop(context.Background())
		first, last := make(chan struct{}), make(chan struct{})
		give(p, &task{id: 0, release: first}, 1)
		give(p, &task{id: 1, release: last}, 1)
		var returned atomic.Bool
		waiter := make(chan error, 1)
		go func() {
			err := p.wait(context.Background())
			returned.Store(true)
			waiter <- err
		}()
		close(first)
		synctest.Wait()
		if returned.Load() {
			t.Error("wait returned with a task still running")
		}
		ended := time.Now()
		close(last)
		synctest.Wait() // every goroutine is blocked again: no time has passed
		if !returned.Load() {
			t.Error("wait had not returned once the last task ended")
		}
		if err := <-waiter; err != nil || time.Since(ended) != 0 {
			t.Errorf("wait = %v, %v after the last task ended; want nil, at once", err, time.Since(ended))
		}
	})
}

// TestPoolDrops offers tasks a pool cannot take and checks the reason
// each is dropped with, that a dropped task ends its hold, and that held
// bytes come back once the tasks are done.
func TestPoolDrops(t *testing.T) {
	tests := []struct {
		name     string
		queue    int
		maxBytes int64
		sizes    []int64 // offered while the worker holds a first task of size 10
		want     map[string]int
	}{
		{"queue full", 2, 1 << 10, []int64{10, 10, 10, 10}, map[string]int{ReasonQueueFull: 2}},
		{"memory", 8, 35, []int64{10, 10, 10, 10}, map[string]int{ReasonMemory: 2}},
		{"over the budget alone", 8, 35, []int64{36}, map[string]int{ReasonMemory: 1}},
		{"room for all", 8, 1 << 10, []int64{10, 10}, map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, tl := newTestPool(poolConfig[*task]{Workers: 1, Queue: tc.queue, MaxBytes: tc.maxBytes})
				p.start()
				defer p.stop(context.Background())
				release := make(chan struct{})
				give(p, &task{id: 0, release: release}, 10)
				synctest.Wait()
				for i, size := range tc.sizes {
					give(p, &task{id: i + 1, release: release}, size)
				}
				tl.mu.Lock()
				dropped := maps.Clone(tl.dropped)
				tl.mu.Unlock()
				if !maps.Equal(dropped, tc.want) {
					t.Errorf("dropped %v, want %v", dropped, tc.want)
				}
				close(release)
				if err := p.wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				if b := p.bytes.Load(); b != 0 {
					t.Errorf("bytes held at rest = %d", b)
				}
			})
		})
	}
}

// TestPoolSurvivesPanic: a task that panics is reported to Panicked, its
// hold and bytes are released, and the worker goes on with the next.
func TestPoolSurvivesPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, tl := newTestPool(poolConfig[*task]{Workers: 1, Queue: 4, MaxBytes: 1 << 10})
		p.start()
		defer p.stop(context.Background())
		give(p, &task{id: 0, panics: true}, 10)
		give(p, &task{id: 1, takes: time.Millisecond}, 10)
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if len(tl.panicked) != 1 || tl.panicked[0] != "task exploded" || len(tl.ran) != 1 {
			t.Errorf("panicked %v, ran %v; want one panic, then task 1 run", tl.panicked, tl.ran)
		}
		if b := p.bytes.Load(); b != 0 {
			t.Errorf("bytes held = %d", b)
		}
	})
}

// TestPoolStopWhileOffering stops while eight goroutines keep offering
// (real time, for -race): every task is run or dropped exactly once, and
// nothing is left pending.
func TestPoolStopWhileOffering(t *testing.T) {
	p, tl := newTestPool(poolConfig[*task]{Workers: 2, Queue: 64, MaxBytes: 1 << 20})
	p.start()
	var offered atomic.Int64
	stop := make(chan struct{})
	started := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			started <- struct{}{}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				give(p, &task{id: g<<20 | i}, 1)
				offered.Add(1)
			}
		})
	}
	for range 8 {
		<-started
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	p.stop(ctx)
	cancel()
	atStop := offered.Load()
	testutil.Eventually(t, "offers to the stopped pool", func() bool { return offered.Load() >= atStop+100 })
	close(stop)
	wg.Wait()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	total := int64(len(tl.ran))
	for _, n := range tl.dropped {
		total += int64(n)
	}
	if total != offered.Load() || p.pending.count() != 0 {
		t.Errorf("%d offered, %d run or dropped (ran %d, dropped %v), %d pending",
			offered.Load(), total, len(tl.ran), tl.dropped, p.pending.count())
	}
}
