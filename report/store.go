package report

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/stranglerfig/strangler/config/reportlimits"
)

// Option defaults.
const (
	DefaultMaxResults = reportlimits.MaxResults
	DefaultMaxBytes   = reportlimits.MaxBytes
	DefaultQueueSize  = reportlimits.QueueSize
	DefaultMaxExcerpt = reportlimits.MaxExcerpt
	DefaultMaxPaths   = 200
)

// OtherPath is the path under which differences are counted once a route
// already tracks Options.MaxPaths distinct paths.
const OtherPath = "(other)"

// maxBatch bounds how many queued records one write transaction stores.
const maxBatch = 128

// ErrStopped is returned by Flush when the writer (Run) has returned.
var ErrStopped = errors.New("report: store writer is not running")

// Options bound a Store. Zero fields take the defaults.
type Options struct {
	// MaxResults bounds the stored results (default 10000).
	MaxResults int
	// MaxBytes bounds the memory the stored results hold (default
	// 64 MiB): every byte a result keeps counts (excerpts, headers,
	// differences, texts) plus a fixed overhead per result, and results
	// keep copies, never slices of the bodies they were given.
	MaxBytes int64
	// QueueSize is how many offered records may wait for the writer
	// (default 1024).
	QueueSize int
	// MaxExcerpt bounds each stored body excerpt, in bytes (default 4096).
	MaxExcerpt int
	// MaxPaths bounds the distinct differing paths tracked per route
	// (default 200); differences at further paths count under OtherPath.
	MaxPaths int
}

// withDefaults fills zero fields and rejects negative ones.
func (o Options) withDefaults() (Options, error) {
	if o.MaxResults < 0 || o.MaxBytes < 0 || o.QueueSize < 0 || o.MaxExcerpt < 0 || o.MaxPaths < 0 {
		return o, fmt.Errorf("report: negative option in %+v", o)
	}
	o.MaxResults = orDefault(o.MaxResults, DefaultMaxResults)
	o.MaxBytes = orDefault(o.MaxBytes, DefaultMaxBytes)
	o.QueueSize = orDefault(o.QueueSize, DefaultQueueSize)
	o.MaxExcerpt = orDefault(o.MaxExcerpt, DefaultMaxExcerpt)
	o.MaxPaths = orDefault(o.MaxPaths, DefaultMaxPaths)
	return o, nil
}

func orDefault[T int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Stats describes the store's contents and losses.
type Stats struct {
	// Stored is the number of results held now.
	Stored int `json:"stored"`
	// Bytes is the memory they hold, as counted against MaxBytes.
	Bytes int64 `json:"bytes"`
	// Evicted counts results removed to stay within the bounds.
	Evicted uint64 `json:"evicted"`
	// Dropped counts records never stored: offered to a full queue (or
	// to a stopped store), or lost to a failed write.
	Dropped uint64 `json:"dropped"`
}

// item is one queue entry: a record to store with the redactor to store
// it with, or a flush marker whose channel is closed once everything
// before it is stored.
type item struct {
	rec   Record
	red   *Redactor
	flush chan struct{}
}

// Store is the bounded store of comparison results and per-route
// aggregates. Everything it holds, totals included, is in its memdb
// database (see txnWriter); only the count of dropped records, which were
// never stored, is kept beside it. All its methods are safe for
// concurrent use; Run must run (once) for offered records to be stored.
type Store struct {
	opts    Options
	db      *memdb.MemDB
	queue   chan item
	started atomic.Bool
	stopped atomic.Bool
	done    chan struct{} // closed when Run returns
	dropped atomic.Uint64

	batch []item // the Run goroutine's reused queue buffer
}

// New returns an empty Store bounded by opts. It starts nothing: the
// caller runs the writer with go s.Run(ctx).
func New(opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("report: schema: %w", err)
	}
	return &Store{opts: opts, db: db, queue: make(chan item, opts.QueueSize), done: make(chan struct{})}, nil
}

// Offer queues rec for storing without blocking. It returns false, and
// counts the record in Stats().Dropped, when the queue is full or the
// writer has stopped (a record offered while Run is returning may be
// lost uncounted). The store takes ownership of nothing: rec's maps and
// slices are copied before anything is kept, and never modified.
//
// The writer redacts rec with red before it keeps anything of it: red is
// the route's Redactor (its diff.redact entries), nil the default
// redaction (credential headers, secret-like fields and the patterns of
// docs/shadowing.md#redaction), which every Redactor applies too. The
// store keeps no reference to red once rec is stored.
//
// A queued record keeps at most queuedExcerpts × MaxExcerpt bytes of each
// body (a copy, marked Truncated when cut), so that a full queue holds
// excerpts rather than whole captured bodies.
func (s *Store) Offer(rec Record, red *Redactor) bool {
	if s.stopped.Load() {
		s.dropped.Add(1)
		return false
	}
	select {
	case s.queue <- item{rec: s.queueable(rec), red: red}:
		return true
	default:
		s.dropped.Add(1)
		return false
	}
}

// queuedExcerpts is how many excerpts' worth of each body a queued record
// keeps: enough for the JSON redactor to fill an excerpt after replacing
// values and dropping white space.
const queuedExcerpts = 4

// queueable returns rec with each body cut to what the writer may use.
func (s *Store) queueable(rec Record) Record {
	limit := queuedExcerpts * s.opts.MaxExcerpt
	rec.Legacy = cutBody(rec.Legacy, limit)
	rec.Service = cutBody(rec.Service, limit)
	return rec
}

// cutBody cuts the body of side to a copy of at most limit bytes.
func cutBody(side Side, limit int) Side {
	var cut bool
	side.Body, cut = excerpt(side.Body, limit)
	side.Truncated = side.Truncated || cut
	return side
}

// Run is the single writer: it stores queued records until ctx is done,
// then stores what is still queued and returns. Call it once, in its own
// goroutine; further calls return at once.
func (s *Store) Run(ctx context.Context) {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	defer close(s.done)
	for {
		select {
		case it := <-s.queue:
			s.writeBatch(it)
		case <-ctx.Done():
			s.stopped.Store(true)
			s.drain()
			return
		}
	}
}

// drain stores whatever is queued, without waiting for more.
func (s *Store) drain() {
	for {
		select {
		case it := <-s.queue:
			s.writeBatch(it)
		default:
			return
		}
	}
}

// Flush waits until every record offered before the call is stored. It
// returns ctx's error when ctx ends first, and ErrStopped when Run has
// returned.
func (s *Store) Flush(ctx context.Context) error {
	marker := item{flush: make(chan struct{})}
	select {
	case s.queue <- marker:
	case <-s.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-marker.flush:
		return nil
	case <-s.done:
		return s.flushedOrStopped(marker)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushedOrStopped decides a Flush that saw the writer stop: its marker
// may still have been reached while draining.
func (s *Store) flushedOrStopped(marker item) error {
	select {
	case <-marker.flush:
		return nil
	default:
		return ErrStopped
	}
}

// Stats returns the current counts: the committed totals and the drops.
func (s *Store) Stats() Stats {
	tot := readTotals(s.db.Txn(false))
	return Stats{
		Stored:  tot.count(),
		Bytes:   tot.Bytes,
		Evicted: tot.Evicted,
		Dropped: s.dropped.Load(),
	}
}
