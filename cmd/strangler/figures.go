package main

import (
	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// newFigures builds the cluster figures on the etcd backend (nil on the
// file backend): this replica publishes its counts under its own lease
// and reads the live peers'.
func (a *app) newFigures() *etcdstate.ClusterFigures {
	if a.etcd == nil {
		return nil
	}
	return a.etcd.Figures(etcdstate.FiguresOptions{Name: a.cfg.Replica.ReplicaName(), Local: a.metrics, Log: a.log})
}

// gateFigures are what the automation gates read: the cluster's sum on
// etcd, this replica's own counts on the file backend.
func (a *app) gateFigures() rollout.Figures {
	if a.figures == nil {
		return a.metrics
	}
	return a.figures
}

// adminFigures are the figures /admin/routes shows: on etcd the sum over
// the live replicas plus each replica's own, on the file backend this
// replica's alone.
func (a *app) adminFigures() (admin.Figures, func(string) map[string]metrics.Figures) {
	if a.figures == nil {
		return a.metrics, nil
	}
	return a.figures, a.figures.ReplicaFigures
}
