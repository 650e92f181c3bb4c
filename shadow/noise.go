package shadow

import (
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/routing"
)

// maxNoisePaths bounds what one route learns.
const maxNoisePaths = 500

// Learner learns a route's noisy JSON paths: paths whose values differ
// between two answers of the monolith to the same request (timestamps,
// random ids). Differences there are then shown as noise and do not count
// as mismatches. It is safe for concurrent use and keeps what it learned
// across config reloads.
type Learner struct {
	mu     sync.RWMutex
	counts map[string]uint64 // generalized path -> times seen differing
	asked  atomic.Int64      // second asks so far (for the warm-up)
}

// NewLearner returns an empty Learner.
func NewLearner() *Learner { return &Learner{counts: map[string]uint64{}} }

// Learn records the differences between two monolith answers.
func (l *Learner) Learn(diffs []diff.Difference) {
	if len(diffs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range diffs {
		if !learnable(d) {
			continue
		}
		p := diff.Generalize(d.Path)
		if _, ok := l.counts[p]; !ok && len(l.counts) >= maxNoisePaths {
			continue
		}
		l.counts[p]++
	}
}

// learnable reports whether a difference may be learned as noise. An
// unstable status is a failure, not noise; and a whole body (non-JSON, or
// the JSON root) is never noise: learning it would hide every difference
// in that body.
func learnable(d diff.Difference) bool {
	return d.Kind != diff.KindStatus && d.Kind != diff.KindBody && d.Path != "" && d.Path != "/"
}

// IsNoise reports whether a difference at path is learned noise.
func (l *Learner) IsNoise(path string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.counts) == 0 {
		return false
	}
	return l.counts[diff.Generalize(path)] > 0
}

// Paths returns the learned paths, most often seen first.
func (l *Learner) Paths() []report.NoisePath {
	l.mu.RLock()
	out := make([]report.NoisePath, 0, len(l.counts))
	for p, n := range l.counts {
		out = append(out, report.NoisePath{Path: p, Count: n})
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// noiseDue says whether this mirrored GET also asks the monolith again.
func (p *Policy) noiseDue() bool {
	if p.learner.asked.Add(1) <= int64(p.cfg.NoiseWarmup) {
		return true
	}
	return rand.Uint32N(routing.Buckets) < p.noiseSample
}
