// Package etcdstate keeps strangler's rollout state in etcd v3 so that
// several replicas share one rollout. Under the prefix:
//
//	<prefix>/route/<name>      a rollout.Record (override, version, pause)
//	<prefix>/audit/<replica>/<n>  one rollout.Event; its ID is the
//	                           revision that created it × 1000 + its place
//	<prefix>/meta/init         written once, by the replica that
//	                           initialised the prefix (and imported the
//	                           state file, if any)
//
// Every change is one transaction comparing the mod revision of each
// route it writes; the audit trail is trimmed in the same transaction.
// Run watches the prefix and hands each new revision to the controller,
// which reads the state at that revision and applies it once.
package etcdstate

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/rollout"
)

// Timing of the health probe and the watch's restarts.
const (
	probeEvery   = 500 * time.Millisecond
	probeTimeout = time.Second
	rewatchDelay = 200 * time.Millisecond
	// maxImportEvents is how many of a state file's newest events the
	// import keeps (etcd's --max-txn-ops is 128 by default).
	maxImportEvents = 64
)

// Store is the etcd state backend (rollout.Shared).
type Store struct {
	cli     *clientv3.Client
	login   *login // with a user: logs in again on a token-less connection
	prefix  string
	replica string
	max     int
	log     zerolog.Logger

	seq       atomic.Uint64
	up        atomic.Bool
	reason    atomic.Pointer[string]
	onHealth  func(bool)
	auditKeys []string // oldest first; used under the controller's lock

	// What the client was given, to name and diagnose failures.
	endpoints   []string
	user        string
	dialTimeout time.Duration
	tls         *tls.Config
	tlsFiles    config.EtcdTLS
}

// Options configures a Store.
type Options struct {
	Config  config.Etcd
	Replica string
	// AuditSize bounds the audit trail kept in etcd.
	AuditSize int
	Log       zerolog.Logger
	// OnHealth, if set, hears every change of reachability (a gauge).
	OnHealth func(up bool)
}

// Client is the etcd client, for what else the replicas share through
// etcd later (an election, live figures).
func (s *Store) Client() *clientv3.Client { return s.cli }

// Close closes the client (and its log-in connection).
func (s *Store) Close() error {
	err := s.cli.Close()
	if s.login != nil {
		err = errors.Join(err, s.login.Close())
	}
	return err
}

func (s *Store) routeKey(name string) string { return s.prefix + "/route/" + name }
func (s *Store) auditPrefix() string         { return s.prefix + "/audit/" }
func (s *Store) initKey() string             { return s.prefix + "/meta/init" }

// Up reports whether etcd answered the last probe or operation.
func (s *Store) Up() (bool, string) {
	if s.up.Load() {
		return true, ""
	}
	if r := s.reason.Load(); r != nil {
		return false, *r
	}
	return false, "etcd is unreachable"
}

// setUp records reachability; it returns true when etcd just came back.
func (s *Store) setUp(up bool, err error) bool {
	if !up {
		reason := "etcd is unreachable (" + s.where() + "): " + err.Error()
		s.reason.Store(&reason)
	}
	was := s.up.Swap(up)
	if was != up {
		if up {
			s.log.Info().Str("prefix", s.prefix).Msg("etcd is reachable again; resynchronising")
		} else {
			s.log.Warn().Str("prefix", s.prefix).Err(err).Msg("etcd is unreachable: serving the last applied state, refusing changes")
		}
		if s.onHealth != nil {
			s.onHealth(up)
		}
	}
	return up && !was
}

// Snapshot reads every route record at rev (0: the newest) and the audit
// events created after since.
func (s *Store) Snapshot(ctx context.Context, since, rev int64) (rollout.Snapshot, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	routes, err := s.cli.Get(ctx, s.prefix+"/route/", opts...)
	if err != nil {
		return rollout.Snapshot{}, s.failed("reading the routes under "+s.prefix, err)
	}
	// A read at a past revision answers with etcd's current revision in
	// its header: the snapshot is of rev, and says so, or the changes in
	// between would count as applied and their watch events be skipped.
	if rev == 0 {
		rev = routes.Header.Revision
	}
	snap := rollout.Snapshot{Rev: rev, Routes: map[string]rollout.Record{}, RouteRevs: map[string]int64{}}
	for _, kv := range routes.Kvs {
		var r rollout.Record
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return rollout.Snapshot{}, fmt.Errorf("route record %s is corrupt: %w", kv.Key, err)
		}
		name := strings.TrimPrefix(string(kv.Key), s.prefix+"/route/")
		snap.Routes[name], snap.RouteRevs[name] = r, kv.ModRevision
	}
	audit, err := s.cli.Get(ctx, s.auditPrefix(), clientv3.WithPrefix(), clientv3.WithRev(snap.Rev),
		clientv3.WithMinCreateRev(since+1), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return rollout.Snapshot{}, s.failed("reading the audit trail under "+s.prefix, err)
	}
	kvs := audit.Kvs
	slices.SortStableFunc(kvs, func(a, b *mvccpb.KeyValue) int {
		if c := cmp.Compare(a.CreateRevision, b.CreateRevision); c != 0 {
			return c
		}
		return bytes.Compare(a.Key, b.Key)
	})
	for i, kv := range kvs {
		var e rollout.Event
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return rollout.Snapshot{}, fmt.Errorf("audit event %s is corrupt: %w", kv.Key, err)
		}
		e.ID = eventID(kv.CreateRevision, i, kvs)
		snap.Events = append(snap.Events, e)
		s.auditKeys = append(s.auditKeys, string(kv.Key))
	}
	s.setUp(true, nil)
	return snap, nil
}

// eventID numbers the i-th event: its creating revision times 1000 plus
// its place among the events that revision wrote, so IDs grow with time
// and one transaction's events keep their order.
func eventID(rev int64, i int, kvs []*mvccpb.KeyValue) uint64 {
	n := 0
	for j := i - 1; j >= 0 && kvs[j].CreateRevision == rev; j-- {
		n++
	}
	return uint64(rev)*1000 + uint64(n)
}

// failed marks etcd down when err says it is unreachable and wraps err.
func (s *Store) failed(what string, err error) error {
	what += " on " + s.where()
	if isUnavailable(err) {
		s.setUp(false, err)
		return fmt.Errorf("%w: %s: %w", rollout.ErrUnavailable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isUnavailable tells a network or deadline failure from a refused request.
func isUnavailable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || clientv3.IsConnCanceled(err) ||
		strings.Contains(err.Error(), "Unavailable") || strings.Contains(err.Error(), "no leader")
}

// Commit writes t in one transaction that holds only if every route's
// record is at the revision t expects.
func (s *Store) Commit(ctx context.Context, t rollout.Txn) (int64, error) {
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for name, rec := range t.Put {
		key := s.routeKey(name)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", t.Expect[name]))
		data, err := json.Marshal(rec)
		if err != nil {
			return 0, fmt.Errorf("encoding the record of route %s: %w", name, err)
		}
		ops = append(ops, clientv3.OpPut(key, string(data)))
	}
	evOps, err := s.eventOps(t.Events)
	if err != nil {
		return 0, err
	}
	ops = append(ops, evOps...)
	txn := s.cli.Txn(ctx).If(append(cmps, fenceCmps(t.Fence)...)...).Then(ops...)
	if t.Fence != nil {
		txn = txn.Else(clientv3.OpGet(t.Fence.Key))
	}
	resp, err := txn.Commit()
	if err != nil {
		return 0, s.failed("committing a change of "+routeNames(t), err)
	}
	if !resp.Succeeded {
		if err := fenceLost(t.Fence, resp); err != nil {
			return 0, fmt.Errorf("committing a change of %s: %w", routeNames(t), err)
		}
		return 0, fmt.Errorf("%w: %s changed on another replica; read it again and retry", rollout.ErrConflict, routeNames(t))
	}
	s.dropTrimmed(len(evOps) - len(t.Events))
	return resp.Header.Revision, nil
}

// eventOps puts events and deletes the oldest ones beyond the bound.
func (s *Store) eventOps(events []rollout.Event) ([]clientv3.Op, error) {
	var ops []clientv3.Op
	for _, e := range events {
		e.ID = 0 // the creating revision is the ID
		data, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encoding an audit event of route %s: %w", e.Route, err)
		}
		key := s.auditPrefix() + s.replica + "/" + strconv.FormatUint(s.seq.Add(1), 16)
		ops = append(ops, clientv3.OpPut(key, string(data)))
	}
	over := len(s.auditKeys) + len(events) - s.max
	for i := 0; i < over && i < len(s.auditKeys); i++ {
		ops = append(ops, clientv3.OpDelete(s.auditKeys[i]))
	}
	return ops, nil
}

// dropTrimmed forgets the n oldest audit keys, deleted by a commit.
func (s *Store) dropTrimmed(n int) {
	if n > 0 {
		s.auditKeys = append(s.auditKeys[:0:0], s.auditKeys[n:]...)
	}
}

func routeNames(t rollout.Txn) string {
	names := make([]string, 0, len(t.Put))
	for n := range t.Put {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "the audit trail"
	}
	return "route " + strings.Join(names, ", ")
}

// Init marks the prefix initialised. When it was empty, the state in
// file (the state file) is imported in the same transaction, with an
// "import" event naming this replica: two replicas starting together
// import it once. It reports whether this call imported. As the first
// exchange with etcd it is bounded by state.etcd.dial_timeout, and a
// failure to reach etcd says why (a refused connection, a TLS problem).
func (s *Store) Init(ctx context.Context, file rollout.State, fromPath string) (bool, error) {
	var ops []clientv3.Op
	names := map[string]bool{}
	for n := range file.Versions {
		names[n] = true
	}
	for n := range file.Overrides {
		names[n] = true
	}
	for n := range file.Paused {
		names[n] = true
	}
	for n := range names {
		rec := rollout.Record{Version: file.Versions[n]}
		if o, ok := file.Overrides[n]; ok {
			rec.Override = &o
		}
		if p, ok := file.Paused[n]; ok {
			rec.Paused = &p
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return false, fmt.Errorf("encoding the imported record of route %s: %w", n, err)
		}
		ops = append(ops, clientv3.OpPut(s.routeKey(n), string(data)))
	}
	events := file.Events
	if len(names) > 0 || len(events) > 0 {
		events = append(append([]rollout.Event(nil), events...), rollout.Event{Time: time.Now().UTC(),
			Action: "import", Source: rollout.SourceFile, Replica: s.replica,
			Reason: fmt.Sprintf("imported %d routes and %d events from the state file %s", len(names), len(file.Events), fromPath)})
	}
	if over := len(events) - min(s.max, maxImportEvents); over > 0 {
		events = events[over:] // one transaction holds at most 128 operations by default
	}
	evOps, err := s.eventOps(events)
	if err != nil {
		return false, err
	}
	ops = append(ops, evOps...)
	meta, _ := json.Marshal(map[string]any{"replica": s.replica, "imported_from": fromPath, "at": time.Now().UTC()})
	ops = append(ops, clientv3.OpPut(s.initKey(), string(meta)))
	ctx, cancel := s.firstContact(ctx)
	defer cancel()
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(s.initKey()), "=", 0)).Then(ops...).Commit()
	if err != nil {
		return false, s.failed("initialising "+s.prefix, s.explain(err))
	}
	s.auditKeys = nil // Snapshot reads them
	return resp.Succeeded && len(events) > 0, nil
}

// Syncer is the controller as Run sees it.
type Syncer interface {
	SyncTo(ctx context.Context, rev int64) error
	Revision() int64
}

// Run watches the prefix and probes etcd until ctx ends. Each watched
// revision, and the current one whenever etcd comes back, is handed to
// c.SyncTo, which applies it once.
func (s *Store) Run(ctx context.Context, c Syncer) {
	var wg sync.WaitGroup
	wg.Go(func() { s.probe(ctx, c) })
	s.watch(ctx, c)
	wg.Wait()
}

// watch follows the prefix from the revision applied, restarting after
// errors (a compacted revision, a lost leader) from the revision applied
// then.
func (s *Store) watch(ctx context.Context, c Syncer) {
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for resp := range s.cli.Watch(wctx, s.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(c.Revision()+1)) {
			if err := resp.Err(); err != nil {
				s.log.Warn().Err(err).Str("prefix", s.prefix).Msg("etcd watch ended; resynchronising")
				break
			}
			if s.stateChanged(resp.Events) {
				s.sync(ctx, c, resp.Header.Revision)
			}
		}
		cancel()
		s.sync(ctx, c, 0)
		select {
		case <-ctx.Done():
		case <-time.After(rewatchDelay):
		}
	}
}

// probe checks etcd every probeEvery; when it comes back, the replica
// reads what it missed.
func (s *Store) probe(ctx context.Context, c Syncer) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := s.cli.Get(pctx, s.initKey(), clientv3.WithCountOnly())
		cancel()
		if ctx.Err() != nil {
			return
		}
		if s.setUp(err == nil, err) {
			s.sync(ctx, c, 0)
		}
	}
}

func (s *Store) sync(ctx context.Context, c Syncer, rev int64) {
	sctx, cancel := context.WithTimeout(ctx, probeTimeout*3)
	defer cancel()
	if err := c.SyncTo(sctx, rev); err != nil && ctx.Err() == nil {
		s.log.Warn().Err(err).Int64("revision", rev).Str("prefix", s.prefix).Msg("applying the shared state")
	}
}
