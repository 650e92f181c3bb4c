package etcdstate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/stranglerfig/strangler/rollout"
)

// ElectionPrefix is where, under the state prefix, the replicas campaign
// to lead automation. Each candidate's key holds its replica name; the
// leader is the key with the lowest create revision.
const ElectionPrefix = "/election/automation"

// DefaultLeaderTTL is the lease of a candidate's session: a leader that
// dies (or loses etcd) is replaced at most this long after its last
// keep-alive. A leader that stops cleanly resigns at once.
const DefaultLeaderTTL = 5 * time.Second

// Timing of the elector's retries.
const (
	electRetry    = 500 * time.Millisecond
	resignTimeout = 2 * time.Second
)

// fenceCmps compares the fence's key with the revision that created it:
// the key is gone (the session's lease expired or was revoked) or another
// term's, and the transaction fails.
func fenceCmps(f *rollout.Fence) []clientv3.Cmp {
	if f == nil {
		return nil
	}
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(f.Key), "=", f.Rev)}
}

// fenceLost tells, for a failed transaction fenced by f (its Else reads
// the fence key), whether the fence is what failed: rollout.ErrNotLeader.
func fenceLost(f *rollout.Fence, resp *clientv3.TxnResponse) error {
	if f == nil || len(resp.Responses) == 0 {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 1 && kvs[0].CreateRevision == f.Rev {
		return nil
	}
	return fmt.Errorf("%w (election key %s of term %d is gone)", rollout.ErrNotLeader, f.Key, f.Rev)
}

// Elector campaigns, for this replica, to lead automation
// (rollout.Leadership). Every replica campaigns; the one elected holds
// the term until its session's lease ends.
type Elector struct {
	s        *Store
	ttl      time.Duration
	onChange func(leader string, self bool)

	mu     sync.Mutex
	leader string
	fence  *rollout.Fence // set while this replica leads
}

// ElectorOptions configures an Elector.
type ElectorOptions struct {
	// TTL is the session lease (whole seconds, at least 1); default
	// DefaultLeaderTTL.
	TTL time.Duration
	// OnChange, if set, hears every change of leader (a gauge, a log);
	// it is called from Run's goroutines and must not block.
	OnChange func(leader string, self bool)
}

// Elector returns an elector for this store's replica.
func (s *Store) Elector(o ElectorOptions) *Elector {
	if o.TTL < time.Second {
		o.TTL = DefaultLeaderTTL
	}
	return &Elector{s: s, ttl: o.TTL, onChange: o.OnChange}
}

// Fence returns the current term while this replica leads.
func (e *Elector) Fence() (rollout.Fence, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fence == nil {
		return rollout.Fence{}, false
	}
	return *e.fence, true
}

// Leader names the replica that leads ("" while none is known) and
// whether it is this one.
func (e *Elector) Leader() (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader, e.fence != nil
}

// set records who leads and tells OnChange when it changed.
func (e *Elector) set(leader string, fence *rollout.Fence) {
	e.mu.Lock()
	changed := e.leader != leader || (e.fence == nil) != (fence == nil)
	e.leader, e.fence = leader, fence
	e.mu.Unlock()
	if changed && e.onChange != nil {
		e.onChange(leader, fence != nil)
	}
}

// Run campaigns until ctx ends, one session after another: it waits to be
// elected, leads while its session lives, and campaigns again when the
// session ends (etcd unreachable for a TTL, the lease revoked). When ctx
// ends it resigns, so another replica takes over at once.
func (e *Elector) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := e.term(ctx); err != nil && ctx.Err() == nil {
			e.s.log.Warn().Err(err).Str("replica", e.s.replica).Msg("automation election: campaigning again")
		}
		select {
		case <-ctx.Done():
		case <-time.After(electRetry):
		}
	}
	e.set("", nil)
}

// term runs one session: campaign, lead until the session or ctx ends,
// then resign by revoking the lease.
func (e *Elector) term(ctx context.Context) error {
	sess, err := concurrency.NewSession(e.s.cli, concurrency.WithTTL(int(e.ttl/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("opening an election session on %s: %w", e.s.prefix, err)
	}
	defer e.resign(sess)
	el := concurrency.NewElection(sess, e.s.prefix+ElectionPrefix)
	// The campaign and the observer end with the session or ctx.
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(sess.Ctx(), cancel)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the observer has ended before the resign
	defer cancel()
	wg.Go(func() { e.observe(cctx, el) })
	f, err := e.campaign(cctx, sess)
	if err != nil {
		return fmt.Errorf("campaigning as %s under %s: %w", e.s.replica, e.s.prefix+ElectionPrefix, err)
	}
	if err := e.check(cctx, f); err != nil {
		return err
	}
	e.set(e.s.replica, &f)
	e.s.log.Info().Str("replica", e.s.replica).Int64("term", f.Rev).Dur("ttl", e.ttl).Msg("elected automation leader")
	<-cctx.Done()
	e.set("", nil)
	if ctx.Err() == nil {
		e.s.log.Warn().Str("replica", e.s.replica).Int64("term", f.Rev).
			Msg("automation leadership lost: the election session ended; deciding stops")
	}
	return nil
}

// campaign puts this replica's key (its name, on the session's lease)
// under the election prefix and waits until no older key is left: the
// keys and order of concurrency.Election.Campaign, whose Observe and
// Leader read them. Unlike Campaign it gives up at once when ctx ends:
// Campaign then resigns with the client's context, which never ends while
// etcd is unreachable and would hang shutdown. The key goes with the
// lease, which resign revokes (or which expires).
func (e *Elector) campaign(ctx context.Context, sess *concurrency.Session) (rollout.Fence, error) {
	pfx := e.s.prefix + ElectionPrefix + "/"
	key := fmt.Sprintf("%s%x", pfx, sess.Lease())
	resp, err := e.s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, e.s.replica, clientv3.WithLease(sess.Lease()))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return rollout.Fence{}, fmt.Errorf("putting the election key %s: %w", key, err)
	}
	rev := resp.Header.Revision
	if !resp.Succeeded {
		rev = resp.Responses[0].GetResponseRange().GetKvs()[0].CreateRevision
	}
	for {
		older, err := e.s.cli.Get(ctx, pfx, append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(rev-1))...)
		if err != nil {
			return rollout.Fence{}, fmt.Errorf("reading the candidates before %s: %w", key, err)
		}
		if len(older.Kvs) == 0 {
			return rollout.Fence{Key: key, Rev: rev}, nil
		}
		if err := waitDelete(ctx, e.s.cli, string(older.Kvs[0].Key), older.Header.Revision+1); err != nil {
			return rollout.Fence{}, err
		}
	}
}

// waitDelete waits until key is deleted at or after rev, or ctx ends.
func waitDelete(ctx context.Context, cli *clientv3.Client, key string, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range cli.Watch(wctx, key, clientv3.WithRev(rev)) {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watching the candidate %s: %w", key, err)
		}
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("the watch of the candidate " + key + " ended")
}

// check makes sure the campaign's key still exists at its revision: a
// session that expired while waiting has not won.
func (e *Elector) check(ctx context.Context, f rollout.Fence) error {
	resp, err := e.s.cli.Get(ctx, f.Key)
	if err != nil {
		return fmt.Errorf("reading the election key %s: %w", f.Key, err)
	}
	if len(resp.Kvs) != 1 || resp.Kvs[0].CreateRevision != f.Rev {
		return errors.New("the election session expired while campaigning (key " + f.Key + " is gone)")
	}
	return nil
}

// observe follows who leads while this replica waits or leads.
func (e *Elector) observe(ctx context.Context, el *concurrency.Election) {
	for ctx.Err() == nil {
		for resp := range el.Observe(ctx) {
			if len(resp.Kvs) == 0 {
				continue
			}
			e.mu.Lock()
			self := e.fence != nil
			e.mu.Unlock()
			if leader := string(resp.Kvs[0].Value); !self {
				e.set(leader, nil)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(electRetry):
		}
	}
}

// resign revokes the session's lease (its election key goes with it), so
// the next candidate is elected at once; if etcd cannot be reached the
// lease simply expires.
func (e *Elector) resign(sess *concurrency.Session) {
	sess.Orphan()
	ctx, cancel := context.WithTimeout(context.Background(), resignTimeout)
	defer cancel()
	if _, err := e.s.cli.Revoke(ctx, sess.Lease()); err != nil && !errors.Is(err, context.Canceled) {
		e.s.log.Debug().Err(err).Str("replica", e.s.replica).Msg("revoking the election session; it expires by itself")
	}
}
