package metrics

import "github.com/prometheus/client_golang/prometheus"

// SetAutomationLeader sets strangler_automation_leader: 1 on the replica
// that leads automation, 0 on the others. The gauge is registered on
// first use, so the file backend (no election) does not show it.
func (r *Registry) SetAutomationLeader(self bool) {
	r.leaderOnce.Do(func() {
		r.leader = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "automation_leader",
			Help: "1 on the replica elected to run automatic promotion and rollback (etcd backend); 0 elsewhere."})
		r.reg.MustRegister(r.leader)
	})
	v := 0.0
	if self {
		v = 1
	}
	r.leader.Set(v)
}
