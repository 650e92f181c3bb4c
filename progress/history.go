package progress

import (
	"slices"
	"time"
)

// Trim returns the samples of h (oldest first) within keep of the newest
// one, at most max of them (the newest). It sorts h by time first.
func Trim(h []Sample, keep time.Duration, max int) []Sample {
	slices.SortStableFunc(h, func(a, b Sample) int { return a.Time.Compare(b.Time) })
	if len(h) > max {
		h = h[len(h)-max:]
	}
	if len(h) == 0 {
		return h
	}
	cutoff := h[len(h)-1].Time.Add(-keep)
	i, _ := slices.BinarySearchFunc(h, cutoff, func(s Sample, t time.Time) int { return s.Time.Compare(t) })
	return h[i:]
}

// Downsample merges adjacent samples of h so that at most n remain, for a
// chart or a table: requests add up and their share is recomputed; the
// endpoint and route figures are those of the last sample merged (an
// endpoint seen in two intervals is one endpoint, not two). n <= 0 or
// n >= len(h) returns h.
func Downsample(h []Sample, n int) []Sample {
	if n <= 0 || n >= len(h) {
		return h
	}
	out := make([]Sample, 0, n)
	per := (len(h) + n - 1) / n
	// The first group takes the remainder so that the newest samples are
	// merged in full groups and the last point ends now.
	first := len(h) - per*(n-1)
	if first <= 0 {
		first = per
	}
	for lo, hi := 0, first; lo < len(h); lo, hi = hi, min(hi+per, len(h)) {
		out = append(out, merge(h[lo:hi]))
	}
	return out
}

// merge folds g (oldest first, not empty) into one sample.
func merge(g []Sample) Sample {
	m := g[len(g)-1]
	m.From = g[0].From
	m.Requests, m.ServiceRequests = 0, 0
	for _, s := range g {
		m.Requests += s.Requests
		m.ServiceRequests += s.ServiceRequests
	}
	m.RequestShare = ratio(m.ServiceRequests, m.Requests)
	return m
}
