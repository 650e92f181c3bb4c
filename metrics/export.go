package metrics

// Exporting window figures to other replicas (issue 13, Deliver 3): a
// replica publishes its Snapshots, its peers add them up with Add and
// read percentiles from the summed histogram buckets with Figures, never
// by averaging each replica's own p99.

// Snapshots returns the cumulative counts of every route seen so far.
func (r *Registry) Snapshots() map[string]Snapshot {
	r.mu.RLock()
	routes := make([]*Route, 0, len(r.routes))
	for _, m := range r.routes {
		routes = append(routes, m)
	}
	r.mu.RUnlock()
	out := make(map[string]Snapshot, len(routes))
	for _, m := range routes {
		out[m.name] = m.Snapshot()
	}
	return out
}

// Add returns the sum of two snapshots' counts, bucket by bucket; At is
// the later of the two.
func (s Snapshot) Add(o Snapshot) Snapshot {
	at := s.At
	if o.At.After(at) {
		at = o.At
	}
	return Snapshot{
		At: at, Legacy: s.Legacy.add(o.Legacy), Service: s.Service.add(o.Service),
		Compared: s.Compared + o.Compared, Matched: s.Matched + o.Matched, Fallbacks: s.Fallbacks + o.Fallbacks,
	}
}

func (c SideCounts) add(o SideCounts) SideCounts {
	out := SideCounts{Requests: c.Requests + o.Requests, Errors: c.Errors + o.Errors}
	for i := range c.Buckets {
		out.Buckets[i] = c.Buckets[i] + o.Buckets[i]
	}
	return out
}

// Figures returns the snapshot's counts and latency quantiles, the
// quantiles read from the (possibly summed) histogram buckets with the
// live figures' estimator (SideCounts.Quantile).
func (s Snapshot) Figures() Figures {
	return Figures{Legacy: s.Legacy.figures(), Service: s.Service.figures()}
}
