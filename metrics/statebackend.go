package metrics

import "github.com/prometheus/client_golang/prometheus"

// SetStateBackendUp sets strangler_state_backend_up: 1 while the shared
// state backend (etcd) answers, 0 while it does not. The gauge is
// registered on first use, so the file backend does not show it.
func (r *Registry) SetStateBackendUp(up bool) {
	r.stateUpOnce.Do(func() {
		r.stateUp = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "state_backend_up",
			Help: "1 while the shared state backend (etcd) answers; 0 while the replica serves its last applied state."})
		r.reg.MustRegister(r.stateUp)
	})
	v := 0.0
	if up {
		v = 1
	}
	r.stateUp.Set(v)
}
