package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// ClusterFunc lists the replicas sharing this one's rollout: with the
// etcd backend every live replica, with the file backend this one alone.
// An unreachable etcd is an error wrapping rollout.ErrUnavailable.
type ClusterFunc func(ctx context.Context) (etcdstate.ClusterView, error)

// cluster serves GET /admin/cluster. With etcd unreachable it answers 503
// with the reason rather than a list that may be stale: leases expire
// while etcd is away, so the last list would name replicas that are gone.
func (s *server) cluster(w http.ResponseWriter, r *http.Request) error {
	if s.Cluster == nil {
		return &Error{Status: http.StatusNotFound, Msg: "this proxy does not list its cluster"}
	}
	v, err := s.Cluster(r.Context())
	if errors.Is(err, rollout.ErrUnavailable) {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "cannot list the replicas: " + s.unreachable(err)}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// unreachable is the degraded reason (e.g. "etcd is unreachable: context
// deadline exceeded"), or err's text when there is none.
func (s *server) unreachable(err error) string {
	if s.Degraded != nil {
		if reason, down := s.Degraded(); down && reason != "" {
			return reason
		}
	}
	return err.Error()
}
