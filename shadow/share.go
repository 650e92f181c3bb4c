package shadow

import (
	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/report"
)

// Merge adds noisy paths another replica learned: each path counts at
// least as often as given (taking the larger count, so merging the same
// paths twice changes nothing). The bound on learned paths still holds.
func (l *Learner) Merge(paths []report.NoisePath) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range paths {
		if !learnable(diff.Difference{Path: p.Path}) || p.Count == 0 {
			continue
		}
		n, ok := l.counts[p.Path]
		if !ok && len(l.counts) >= maxNoisePaths {
			continue
		}
		l.counts[p.Path] = max(n, p.Count)
	}
}

// LearnedNoise returns every route's learned noisy paths (routes that
// learned none are left out), most often seen first.
func (d *Dispatcher) LearnedNoise() map[string][]report.NoisePath { return d.reg.learnedNoise() }

// MergeNoise adds noisy paths of route that another replica learned.
func (d *Dispatcher) MergeNoise(route string, paths []report.NoisePath) {
	d.reg.learner(route).Merge(paths)
}
