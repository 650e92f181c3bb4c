package metrics

import "github.com/prometheus/client_golang/prometheus"

// SetConfigDrift sets strangler_config_drift: 1 while this replica sees a
// live replica serving a route file whose hash differs from the majority
// (or, on a tie, from this replica's), 0 otherwise. The gauge is
// registered on first use, so the file backend does not show it.
func (r *Registry) SetConfigDrift(drift bool) {
	r.driftOnce.Do(func() {
		r.drift = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "config_drift",
			Help: "1 while this replica sees a live replica serving a different route file (see /admin/cluster)."})
		r.reg.MustRegister(r.drift)
	})
	v := 0.0
	if drift {
		v = 1
	}
	r.drift.Set(v)
}
