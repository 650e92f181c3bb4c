package shadow

import (
	"context"
	"sync"
	"sync/atomic"
)

// poolConfig sizes a pool and says what it does with its tasks.
type poolConfig[T any] struct {
	Workers int
	Queue   int
	// MaxBytes bounds the bytes held by queued and running tasks, as
	// offer sizes them; past it a task is dropped (ReasonMemory).
	MaxBytes int64
	// Run does one task, on a context that Stop cancels once its
	// deadline has passed (never the client's context).
	Run func(ctx context.Context, task T)
	// Drop releases a task that will not run, saying why (ReasonQueueFull,
	// ReasonMemory, ReasonStopping).
	Drop func(task T, reason string)
	// Panicked is told of a panic in Run; the worker carries on.
	Panicked func(task T, v any)
}

// queuedTask is a task and the bytes it holds until it is done.
type queuedTask[T any] struct {
	task T
	size int64
}

// pool runs tasks offered without blocking on a fixed number of workers
// from a bounded queue (Traefik's safe.Pool is the model). Every task is
// counted as pending from hold until it has run or been dropped; Wait
// waits for that count to reach zero, Stop refuses new tasks, lets the
// queue drain until its deadline, then cancels what runs, drops what is
// left and waits for every worker with a WaitGroup.
type pool[T any] struct {
	cfg   poolConfig[T]
	queue chan queuedTask[T]
	bytes atomic.Int64 // held by queued and running tasks
	// stopMu is held shared by offer from its stopping check to its send,
	// and exclusively by stop to set stopping, so no task is queued after
	// stop's last drain (it would stay pending, uncounted, forever).
	stopMu   sync.RWMutex
	stopping bool
	ctx      context.Context
	cancel   context.CancelFunc
	workers  sync.WaitGroup
	pending  pending
	running  atomic.Int64
}

// newPool returns a pool that has not started its workers.
func newPool[T any](cfg poolConfig[T]) *pool[T] {
	cfg.Workers, cfg.Queue = max(cfg.Workers, 1), max(cfg.Queue, 1)
	ctx, cancel := context.WithCancel(context.Background())
	p := &pool[T]{cfg: cfg, queue: make(chan queuedTask[T], cfg.Queue), ctx: ctx, cancel: cancel}
	p.pending.idle = closed
	return p
}

// start runs the workers.
func (p *pool[T]) start() {
	for range p.cfg.Workers {
		p.workers.Go(p.work)
	}
}

// hold counts a task as pending while it is prepared: whoever waits for
// the pool from now on (wait, stop) waits for it too. Every hold is
// followed by exactly one offer.
func (p *pool[T]) hold() { p.pending.add() }

// offer queues task, prepared under a hold, without blocking. When the
// pool is stopping, the queue is full or size would take the held bytes
// past MaxBytes, the task is dropped instead.
func (p *pool[T]) offer(task T, size int64) {
	p.stopMu.RLock()
	reason := p.enqueue(queuedTask[T]{task, size})
	p.stopMu.RUnlock()
	if reason != "" {
		p.cfg.Drop(task, reason)
		p.pending.done() // the hold ends with the drop, once it is counted
	}
}

// enqueue sends qt to the queue, or says why not; stopMu is held shared.
func (p *pool[T]) enqueue(qt queuedTask[T]) string {
	if p.stopping {
		return ReasonStopping
	}
	if p.bytes.Add(qt.size) > p.cfg.MaxBytes {
		p.bytes.Add(-qt.size)
		return ReasonMemory
	}
	select {
	case p.queue <- qt:
		return ""
	default:
		p.bytes.Add(-qt.size)
		return ReasonQueueFull
	}
}

// work runs queued tasks until the pool's context is cancelled.
func (p *pool[T]) work() {
	for {
		select {
		case <-p.ctx.Done():
			return
		case qt := <-p.queue:
			if p.ctx.Err() != nil {
				// stop's deadline passed and select picked a task over
				// Done: drop it as stop would, never run it cancelled.
				p.discard(qt, ReasonStopping)
				continue
			}
			p.runOne(qt)
		}
	}
}

// runOne runs one task under a panic guard; the task's bytes and its
// pending count are released however Run returns.
func (p *pool[T]) runOne(qt queuedTask[T]) {
	p.running.Add(1)
	defer func() {
		if v := recover(); v != nil && p.cfg.Panicked != nil {
			p.cfg.Panicked(qt.task, v)
		}
		p.running.Add(-1)
		p.bytes.Add(-qt.size)
		p.pending.done()
	}()
	p.cfg.Run(p.ctx, qt.task)
}

// discard drops a queued task that will not run.
func (p *pool[T]) discard(qt queuedTask[T], reason string) {
	p.bytes.Add(-qt.size)
	p.cfg.Drop(qt.task, reason)
	p.pending.done()
}

// wait returns when no task is held, queued or running, or with ctx's
// error.
func (p *pool[T]) wait(ctx context.Context) error { return p.pending.wait(ctx) }

// stop refuses new tasks, lets the workers finish the queue until ctx is
// done, then cancels the tasks running and drops what is left
// (ReasonStopping). It returns when every worker has returned. Calling it
// again does no harm.
func (p *pool[T]) stop(ctx context.Context) {
	p.stopMu.Lock()
	p.stopping = true
	p.stopMu.Unlock()
	_ = p.wait(ctx) // past ctx, what is left is cancelled and dropped below
	p.cancel()
	p.workers.Wait()
	for {
		select {
		case qt := <-p.queue:
			p.discard(qt, ReasonStopping)
		default:
			return
		}
	}
}

// queued returns how many tasks wait for a worker.
func (p *pool[T]) queued() int64 { return int64(len(p.queue)) }

// closed is an idle channel for a counter at zero.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// pending counts tasks not yet done. Waiters wait on idle, which is
// closed whenever the count is zero and replaced when it leaves zero:
// they wake when the last task ends, without polling.
type pending struct {
	mu   sync.Mutex
	n    int64
	idle chan struct{}
}

func (c *pending) add() {
	c.mu.Lock()
	if c.n == 0 {
		c.idle = make(chan struct{})
	}
	c.n++
	c.mu.Unlock()
}

func (c *pending) done() {
	c.mu.Lock()
	if c.n--; c.n == 0 {
		close(c.idle)
	}
	c.mu.Unlock()
}

// count returns how many tasks are pending.
func (c *pending) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// wait returns once the count is zero, or with ctx's error.
func (c *pending) wait(ctx context.Context) error {
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
