package etcdstate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stranglerfig/strangler/metrics"
)

// Cluster-wide figures (issue 13, Deliver 3): each replica keeps one key,
// <prefix>/figures/<name>, under its own lease, holding the cumulative
// counts of all its routes (see encodeFigures), rewritten every Interval
// when they changed. The gates read the sum over live replicas.
const (
	// DefaultFiguresInterval is how often a replica publishes its
	// figures and reads its peers'.
	DefaultFiguresInterval = 2 * time.Second
	// DefaultFiguresTTL is the lease of a replica's figures key: a
	// replica that stops publishing drops out of the sum this long after.
	DefaultFiguresTTL = 10 * time.Second
)

// LocalFigures are this replica's own cumulative counts (metrics.Registry).
type LocalFigures interface {
	Snapshots() map[string]metrics.Snapshot
	Snapshot(route string) metrics.Snapshot
}

// FiguresOptions configures ClusterFigures.
type FiguresOptions struct {
	// Name is this replica's name (replica.name).
	Name  string
	Local LocalFigures
	// Interval and TTL default to DefaultFiguresInterval and
	// DefaultFiguresTTL.
	Interval, TTL time.Duration
	Log           zerolog.Logger
}

// ClusterFigures publishes this replica's figures and sums the live
// replicas'. It implements rollout.Figures for the automation gates and
// the admin API's Figures.
type ClusterFigures struct {
	s *Store
	o FiguresOptions

	mu    sync.Mutex
	lease clientv3.LeaseID
	last  []byte                                 // the value last put
	peers map[string]map[string]metrics.Snapshot // live peers' published counts
	// retired holds, per route, the counts of peers that left or
	// restarted, so that the sum the gates difference never goes back.
	retired map[string]metrics.Snapshot
	failed  bool
	// skipped names the peers whose figures are in a layout this
	// replica does not read, warned about once each.
	skipped map[string]bool
}

// Figures returns the cluster figures of this replica; call Run to
// publish and refresh them, Close to leave at once.
func (s *Store) Figures(o FiguresOptions) *ClusterFigures {
	if o.Interval <= 0 {
		o.Interval = DefaultFiguresInterval
	}
	if o.TTL <= 0 {
		o.TTL = DefaultFiguresTTL
	}
	return &ClusterFigures{s: s, o: o, peers: map[string]map[string]metrics.Snapshot{}, retired: map[string]metrics.Snapshot{},
		skipped: map[string]bool{}}
}

func (s *Store) figuresPrefix() string { return s.prefix + "/figures/" }

// Run publishes and refreshes every Interval until ctx ends.
func (f *ClusterFigures) Run(ctx context.Context) {
	t := time.NewTicker(f.o.Interval)
	defer t.Stop()
	for {
		f.logBeat(f.Sync(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logBeat logs the first failure and the recovery, not every beat.
func (f *ClusterFigures) logBeat(err error) {
	f.mu.Lock()
	was := f.failed
	f.failed = err != nil
	f.mu.Unlock()
	switch {
	case err != nil && !was:
		f.o.Log.Warn().Err(err).Str("replica", f.o.Name).Msg("publishing the cluster figures failed; the gates use the last known")
	case err == nil && was:
		f.o.Log.Info().Str("replica", f.o.Name).Msg("publishing the cluster figures again")
	}
}

// Sync publishes this replica's figures once and reads the peers'.
func (f *ClusterFigures) Sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	return errors.Join(f.publish(ctx), f.refresh(ctx))
}

// publish keeps the lease alive and puts the counts when they changed.
func (f *ClusterFigures) publish(ctx context.Context) error {
	val, err := encodeFigures(f.o.Local.Snapshots())
	if err != nil {
		return err
	}
	f.mu.Lock()
	lease, last := f.lease, f.last
	f.mu.Unlock()
	if lease != 0 {
		if _, err := f.s.cli.KeepAliveOnce(ctx, lease); err != nil {
			if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
				return f.s.failed("keeping the figures lease of replica "+f.o.Name+" alive", err)
			}
			lease, last = 0, nil
		}
	}
	if lease == 0 {
		g, err := f.s.cli.Grant(ctx, int64(f.o.TTL.Seconds()+0.5))
		if err != nil {
			return f.s.failed("granting the figures lease of replica "+f.o.Name, err)
		}
		lease = g.ID
	}
	if string(last) != string(val) {
		if _, err := f.s.cli.Put(ctx, f.s.figuresPrefix()+f.o.Name, string(val), clientv3.WithLease(lease)); err != nil {
			return f.s.failed("publishing the figures of replica "+f.o.Name, err)
		}
	}
	f.mu.Lock()
	f.lease, f.last = lease, val
	f.mu.Unlock()
	return nil
}

// refresh reads the live peers' figures; a peer gone (lease expired) or
// restarted (counts went back) has its last counts retired.
func (f *ClusterFigures) refresh(ctx context.Context) error {
	resp, err := f.s.cli.Get(ctx, f.s.figuresPrefix(), clientv3.WithPrefix())
	if err != nil {
		return f.s.failed("reading the figures under "+f.s.figuresPrefix(), err)
	}
	live, err := f.decodePeers(resp.Kvs)
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, old := range f.peers {
		if now, ok := live[name]; !ok || wentBack(old, now) {
			for route, s := range old {
				f.retired[route] = f.retired[route].Add(s)
			}
		}
	}
	f.peers = live
	return err
}

// decodePeers reads the peers' figures keys. A peer whose figures do not
// decode is left out with an error; one in a layout this replica does not
// read is left out with a warning, once (skipOnce).
func (f *ClusterFigures) decodePeers(kvs []*mvccpb.KeyValue) (map[string]map[string]metrics.Snapshot, error) {
	live := map[string]map[string]metrics.Snapshot{}
	var errs []error
	for _, kv := range kvs {
		name := strings.TrimPrefix(string(kv.Key), f.s.figuresPrefix())
		if name == f.o.Name {
			continue
		}
		routes, err := decodeFigures(kv.Value)
		switch {
		case errors.Is(err, errOtherLayout):
			f.skipOnce(name, err)
		case err != nil:
			errs = append(errs, fmt.Errorf("figures of replica %s (%s): %w", name, kv.Key, err))
		default:
			live[name] = routes
		}
	}
	return live, errors.Join(errs...)
}

// skipOnce warns, once per peer, that its figures are left out of the
// sums because this replica cannot read their layout.
func (f *ClusterFigures) skipOnce(peer string, err error) {
	f.mu.Lock()
	first := !f.skipped[peer]
	f.skipped[peer] = true
	f.mu.Unlock()
	if first {
		f.o.Log.Warn().Err(err).Str("replica", f.o.Name).Str("peer", peer).
			Msg("leaving a peer's figures out of the cluster sums until it publishes a layout this replica reads")
	}
}

// wentBack reports whether a peer's counts are lower than before (it
// restarted) or lost a route.
func wentBack(old, now map[string]metrics.Snapshot) bool {
	for route, o := range old {
		n, ok := now[route]
		if !ok || n.Legacy.Requests < o.Legacy.Requests || n.Service.Requests < o.Service.Requests ||
			n.Compared < o.Compared {
			return true
		}
	}
	return false
}

// Snapshot is the cluster's cumulative counts of route: this replica's
// live ones, the live peers' last published, and those of peers that
// left. It never goes back, so the gates' window differences hold.
func (f *ClusterFigures) Snapshot(route string) metrics.Snapshot {
	s := f.o.Local.Snapshot(route)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.peers {
		s = s.Add(p[route])
	}
	s = s.Add(f.retired[route])
	s.At = time.Now()
	return s
}

// Figures is the sum over the live replicas only (this one and the peers
// whose lease holds), percentiles from the summed histogram buckets.
func (f *ClusterFigures) Figures(route string) metrics.Figures {
	s := f.o.Local.Snapshot(route)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.peers {
		s = s.Add(p[route])
	}
	return s.Figures()
}

// ReplicaFigures gives each live replica's figures of route, this one's
// live, the peers' as last published.
func (f *ClusterFigures) ReplicaFigures(route string) map[string]metrics.Figures {
	out := map[string]metrics.Figures{f.o.Name: f.o.Local.Snapshot(route).Figures()}
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, p := range f.peers {
		out[name] = p[route].Figures()
	}
	return out
}

// Published is the size in bytes of the value last put.
func (f *ClusterFigures) Published() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.last)
}

// Peers names the live peers seen at the last refresh.
func (f *ClusterFigures) Peers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.peers))
}

// Close revokes the lease: the replica's figures leave the sum at once.
func (f *ClusterFigures) Close() {
	f.mu.Lock()
	lease := f.lease
	f.lease = 0
	f.mu.Unlock()
	if lease == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), memberTimeout)
	defer cancel()
	_, _ = f.s.cli.Revoke(ctx, lease)
}
