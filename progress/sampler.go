package progress

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/plan"
)

// storeTimeout bounds one read or write of the store.
const storeTimeout = 10 * time.Second

// Options configure a Sampler. Inventory is required; zero fields take
// the defaults.
type Options struct {
	Inventory *plan.Inventory
	// Routes counts the route table's routes by stage (nil: none).
	Routes func() Stages
	// Store keeps the history across restarts (nil: memory only).
	Store Store
	// Record, if set, says whether this replica writes the shared
	// history now (the automation leader on etcd); the others read it.
	// Nil: always.
	Record func() bool
	// Every is the sampling interval (default DefaultEvery); Keep and
	// Max bound the history in memory (defaults DefaultKeep, MaxSamples).
	Every time.Duration
	Keep  time.Duration
	Max   int
	Log   zerolog.Logger
}

// Sampler records a progress sample every Options.Every into a bounded
// history kept in the store. Run it with a context its owner cancels.
type Sampler struct {
	o     Options
	mu    sync.Mutex
	meter *Meter
	hist  []Sample
}

// NewSampler returns a Sampler; call Run to sample.
func NewSampler(o Options) *Sampler {
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	o.Keep, o.Max = keepOr(o.Keep), maxOr(o.Max)
	return &Sampler{o: o, meter: NewMeter(o.Inventory)}
}

// Report is the progress now and over time (GET /admin/progress).
type Report struct {
	// EverySeconds is the sampling interval; KeepDays and MaxSamples
	// bound the history.
	EverySeconds int `json:"every_seconds"`
	KeepDays     int `json:"keep_days"`
	MaxSamples   int `json:"max_samples"`
	// Recording is false on a replica that reads the shared history
	// another one writes.
	Recording bool `json:"recording"`
	// Now is the open interval, since the last sample; SinceStart is
	// everything since this proxy started.
	Now        Sample   `json:"now"`
	SinceStart Sample   `json:"since_start"`
	History    []Sample `json:"history"` // oldest first
}

// Report returns the progress now and the history, merged into at most
// points samples (points <= 0: all of them).
func (s *Sampler) Report(points int) Report {
	routes := s.routes()
	s.mu.Lock()
	defer s.mu.Unlock()
	h := Downsample(s.hist, points)
	if len(h) == len(s.hist) {
		h = append([]Sample(nil), h...)
	}
	now, total := s.meter.Now(routes)
	return Report{EverySeconds: int(s.o.Every / time.Second), KeepDays: int(s.o.Keep / (24 * time.Hour)),
		MaxSamples: s.o.Max, Recording: s.recording(), Now: now, SinceStart: total, History: h}
}

// Run loads the history, then samples every Options.Every until ctx
// ends.
func (s *Sampler) Run(ctx context.Context) {
	s.load(ctx)
	t := time.NewTicker(s.o.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Tick(ctx)
		}
	}
}

// Tick closes the current interval: the sample is appended to the store
// when this replica records, and the history is read back from the store
// when another replica records it.
func (s *Sampler) Tick(ctx context.Context) {
	routes := s.routes()
	s.mu.Lock()
	sample := s.meter.Cut(routes)
	s.mu.Unlock()
	if !s.recording() {
		s.load(ctx)
		return
	}
	if s.o.Store != nil {
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := s.o.Store.Append(sctx, sample)
		cancel()
		if err != nil {
			s.o.Log.Warn().Err(err).Msg("recording migration progress: the sample is kept in memory only")
		}
	}
	s.mu.Lock()
	s.hist = Trim(append(s.hist, sample), s.o.Keep, s.o.Max)
	s.mu.Unlock()
}

// load replaces the history with the store's.
func (s *Sampler) load(ctx context.Context) {
	if s.o.Store == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	h, err := s.o.Store.Load(sctx)
	cancel()
	if err != nil {
		s.o.Log.Warn().Err(err).Msg("reading the migration progress history")
		return
	}
	h = Trim(h, s.o.Keep, s.o.Max)
	s.mu.Lock()
	s.hist = h
	s.mu.Unlock()
}

func (s *Sampler) routes() Stages {
	if s.o.Routes == nil {
		return Stages{}
	}
	return s.o.Routes()
}

func (s *Sampler) recording() bool { return s.o.Record == nil || s.o.Record() }
