package etcdstate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Replica registration: each replica keeps <prefix>/replicas/<name> under
// its own lease; the value is its Member, rewritten every heartbeat.
const (
	// DefaultMemberTTL is the lease of a replica's key: a replica that
	// stops heartbeating drops out of the list this long after.
	DefaultMemberTTL = 10 * time.Second
	// DefaultHeartbeat is how often a replica refreshes its lease and
	// rewrites its key (one put and one keep-alive each).
	DefaultHeartbeat = 3 * time.Second
	// memberTimeout bounds one heartbeat's or one listing's calls.
	memberTimeout = 2 * time.Second
)

// Backends named in a ClusterView.
const (
	BackendEtcd = "etcd"
	BackendFile = "file"
)

// ErrNameTaken is returned by Register when a live replica already holds
// the name.
var ErrNameTaken = errors.New("replica name is taken")

// Member is what a replica publishes about itself.
type Member struct {
	Name            string    `json:"name"`
	Advertise       string    `json:"advertise"`
	Version         string    `json:"version"`
	RouteFileHash   string    `json:"route_file_hash"`
	AppliedRevision int64     `json:"applied_revision"`
	LastHeartbeat   time.Time `json:"last_heartbeat"`
}

// ClusterReplica is a Member as one replica sees it.
type ClusterReplica struct {
	Member
	// Leader: the replica leads automation.
	Leader bool `json:"leader"`
	// Self: the replica that answered.
	Self bool `json:"self"`
	// Drift: its route file differs from the majority's (on a tie, from
	// the answering replica's).
	Drift bool `json:"drift"`
}

// ClusterView lists the live replicas sharing one rollout.
type ClusterView struct {
	Backend  string           `json:"backend"`
	Replicas []ClusterReplica `json:"replicas"`
	// Leader names the automation leader, "" when there is none.
	Leader string `json:"leader"`
	// Drift: some replica's route file differs.
	Drift bool `json:"drift"`
}

// LocalView is the view of a replica on the file backend: itself alone.
func LocalView(self Member) ClusterView {
	return ClusterView{Backend: BackendFile, Replicas: []ClusterReplica{{Member: self, Self: true}}}
}

// MemberOptions configures a Registry.
type MemberOptions struct {
	// Self returns this replica's current facts; the registry stamps
	// LastHeartbeat. Name must not change.
	Self func() Member
	// TTL and Heartbeat default to DefaultMemberTTL and DefaultHeartbeat.
	TTL, Heartbeat time.Duration
	// OnDrift, if set, hears whether each heartbeat's listing saw drift.
	OnDrift func(bool)
	Log     zerolog.Logger
}

// Registry keeps this replica registered and lists the live ones.
type Registry struct {
	s    *Store
	o    MemberOptions
	name string

	mu     sync.Mutex
	lease  clientv3.LeaseID
	failed bool // the last heartbeat failed (logged once)
}

// Register puts this replica's key under a new lease, only if no live
// replica holds the name; ErrNameTaken otherwise.
func (s *Store) Register(ctx context.Context, o MemberOptions) (*Registry, error) {
	if o.TTL <= 0 {
		o.TTL = DefaultMemberTTL
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	r := &Registry{s: s, o: o, name: o.Self().Name}
	if err := r.register(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Store) membersPrefix() string { return s.prefix + "/replicas/" }

func (r *Registry) key() string { return r.s.membersPrefix() + r.name }

// value is this replica's Member as JSON, stamped now.
func (r *Registry) value() (string, error) {
	m := r.o.Self()
	m.Name, m.LastHeartbeat = r.name, time.Now().UTC().Truncate(time.Millisecond)
	data, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding replica %s: %w", r.name, err)
	}
	return string(data), nil
}

// register grants a lease and creates the key under it if absent.
func (r *Registry) register(ctx context.Context) error {
	val, err := r.value()
	if err != nil {
		return err
	}
	lease, err := r.s.cli.Grant(ctx, int64(r.o.TTL.Seconds()+0.5))
	if err != nil {
		return r.s.failed("granting the lease of replica "+r.name, err)
	}
	resp, err := r.s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(r.key()), "=", 0)).
		Then(clientv3.OpPut(r.key(), val, clientv3.WithLease(lease.ID))).
		Else(clientv3.OpGet(r.key())).Commit()
	if err != nil {
		r.revoke(lease.ID)
		return r.s.failed("registering replica "+r.name, err)
	}
	if !resp.Succeeded {
		r.revoke(lease.ID)
		return r.taken(resp)
	}
	r.mu.Lock()
	r.lease = lease.ID
	r.mu.Unlock()
	return nil
}

// taken describes the live replica holding the name.
func (r *Registry) taken(resp *clientv3.TxnResponse) error {
	var other Member
	if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
		_ = json.Unmarshal(kvs[0].Value, &other)
	}
	return fmt.Errorf("%w: a live replica is registered as %q under %s (advertise %q, last heartbeat %s); "+
		"give each replica its own replica.name, or wait %s for a stopped one's lease to expire",
		ErrNameTaken, r.name, r.key(), other.Advertise, other.LastHeartbeat.Format(time.RFC3339), r.o.TTL)
}

func (r *Registry) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), memberTimeout)
	defer cancel()
	_, _ = r.s.cli.Revoke(ctx, id)
}

// Run heartbeats every Heartbeat until ctx ends: it keeps the lease
// alive, rewrites the key (only while this lease holds it) and lists the
// replicas for the drift gauge. A lease that expired (etcd was away longer
// than the TTL) is registered again.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.o.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, memberTimeout)
		err := r.beat(bctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		r.logBeat(err)
	}
}

// logBeat logs the first failure and the recovery, not every beat.
func (r *Registry) logBeat(err error) {
	r.mu.Lock()
	was := r.failed
	r.failed = err != nil
	r.mu.Unlock()
	switch {
	case err != nil && !was:
		r.o.Log.Warn().Err(err).Str("replica", r.name).Msg("replica heartbeat failed; retrying")
	case err == nil && was:
		r.o.Log.Info().Str("replica", r.name).Msg("replica heartbeat works again")
	}
}

// beat is one heartbeat.
func (r *Registry) beat(ctx context.Context) error {
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	if _, err := r.s.cli.KeepAliveOnce(ctx, lease); err != nil {
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return r.s.failed("keeping the lease of replica "+r.name+" alive", err)
		}
		if err := r.register(ctx); err != nil {
			return fmt.Errorf("registering replica %s again after its lease expired: %w", r.name, err)
		}
	} else if err := r.rewrite(ctx, lease); err != nil {
		return err
	}
	if r.o.OnDrift != nil {
		v, err := r.View(ctx)
		if err != nil {
			return err
		}
		r.o.OnDrift(v.Drift)
	}
	return nil
}

// rewrite puts the current Member while lease still holds the key.
func (r *Registry) rewrite(ctx context.Context, lease clientv3.LeaseID) error {
	val, err := r.value()
	if err != nil {
		return err
	}
	resp, err := r.s.cli.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(r.key()), "=", lease)).
		Then(clientv3.OpPut(r.key(), val, clientv3.WithLease(lease))).Commit()
	if err != nil {
		return r.s.failed("heartbeat of replica "+r.name, err)
	}
	if !resp.Succeeded { // the key went with an old lease: take it again
		return r.register(ctx)
	}
	return nil
}

// Close revokes the lease: the replica leaves the list at once.
func (r *Registry) Close() {
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	r.revoke(lease)
}

// View lists the live replicas, the automation leader and config drift,
// read in one transaction (one revision). An unreachable etcd gives an
// error wrapping rollout.ErrUnavailable (through Store.failed).
func (r *Registry) View(ctx context.Context) (ClusterView, error) {
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	resp, err := r.s.cli.Txn(ctx).Then(
		clientv3.OpGet(r.s.membersPrefix(), clientv3.WithPrefix()),
		clientv3.OpGet(r.s.prefix+ElectionPrefix+"/", clientv3.WithPrefix(),
			clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1)),
	).Commit()
	if err != nil {
		return ClusterView{}, r.s.failed("listing the replicas under "+r.s.membersPrefix(), err)
	}
	v := ClusterView{Backend: BackendEtcd, Replicas: []ClusterReplica{}}
	if kvs := resp.Responses[1].GetResponseRange().GetKvs(); len(kvs) > 0 {
		v.Leader = string(kvs[0].Value)
	}
	for _, kv := range resp.Responses[0].GetResponseRange().GetKvs() {
		var m Member
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return ClusterView{}, fmt.Errorf("replica record %s is corrupt: %w", kv.Key, err)
		}
		v.Replicas = append(v.Replicas, ClusterReplica{Member: m, Self: m.Name == r.name, Leader: m.Name == v.Leader})
	}
	slices.SortFunc(v.Replicas, func(a, b ClusterReplica) int { return cmp.Compare(a.Name, b.Name) })
	v.Drift = markDrift(v.Replicas, r.o.Self().RouteFileHash)
	return v, nil
}

// markDrift flags the replicas whose route-file hash differs from the
// most common one; on a tie for most common, from self's. It reports
// whether any replica is flagged.
func markDrift(rs []ClusterReplica, self string) bool {
	count := map[string]int{}
	for _, r := range rs {
		count[r.RouteFileHash]++
	}
	ref, best, tie := self, 0, false
	for h, n := range count {
		switch {
		case n > best:
			ref, best, tie = h, n, false
		case n == best:
			tie = true
		}
	}
	if tie {
		ref = self
	}
	drift := false
	for i := range rs {
		rs[i].Drift = rs[i].RouteFileHash != ref
		drift = drift || rs[i].Drift
	}
	return drift
}

// ShortHash is the first 12 hex digits of a route-file hash, for tables.
func ShortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// stateChanged reports whether events touch the rollout state (routes,
// audit, meta) rather than only the replicas' heartbeats, the election or
// the published figures, which need not be read again by every replica.
func (s *Store) stateChanged(events []*clientv3.Event) bool {
	for _, e := range events {
		k := string(e.Kv.Key)
		if !strings.HasPrefix(k, s.membersPrefix()) && !strings.HasPrefix(k, s.prefix+ElectionPrefix+"/") &&
			!strings.HasPrefix(k, s.figuresPrefix()) && !strings.HasPrefix(k, s.noisePrefix()) {
			return true
		}
	}
	return false
}
