package etcdstate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stranglerfig/strangler/report"
)

// Learned noise is shared under <prefix>/noise/<route> (the route name
// path-escaped): a JSON list of report.NoisePath, so a replica that starts
// knows what the others learned instead of learning it again.
const (
	// DefaultNoiseEvery is how often a replica reads the shared noise and
	// publishes what it learned that is not shared yet.
	DefaultNoiseEvery = 5 * time.Second
	// MaxSharedNoise bounds the paths shared per route (the most often
	// seen); paths longer than maxNoisePathLen are not shared.
	MaxSharedNoise  = 100
	maxNoisePathLen = 256
)

// NoiseSource is the noise learner of a replica (shadow.Dispatcher).
type NoiseSource interface {
	LearnedNoise() map[string][]report.NoisePath
	MergeNoise(route string, paths []report.NoisePath)
}

func (s *Store) noisePrefix() string { return s.prefix + "/noise/" }

// ShareNoise syncs the learned noise at once and then every interval
// until ctx ends. A failed round is logged and retried at the next tick.
func (s *Store) ShareNoise(ctx context.Context, src NoiseSource, every time.Duration) {
	if every <= 0 {
		every = DefaultNoiseEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.SyncNoise(ctx, src); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("sharing learned noise through etcd failed; retrying")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncNoise runs one round: merge every route's shared noise into src,
// then publish each route whose learned paths include one not shared yet.
func (s *Store) SyncNoise(ctx context.Context, src NoiseSource) error {
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.noisePrefix(), clientv3.WithPrefix())
	if err != nil {
		return s.failed("reading the shared noise under "+s.noisePrefix(), err)
	}
	shared := map[string]map[string]bool{}
	for _, kv := range resp.Kvs {
		route, err := url.PathUnescape(strings.TrimPrefix(string(kv.Key), s.noisePrefix()))
		var ps []report.NoisePath
		if err == nil {
			err = json.Unmarshal(kv.Value, &ps)
		}
		if err != nil {
			s.log.Warn().Str("key", string(kv.Key)).Err(err).Msg("shared noise record is corrupt; skipped")
			continue
		}
		src.MergeNoise(route, ps)
		shared[route] = pathSet(ps)
	}
	for route, ps := range src.LearnedNoise() {
		ps = shareable(ps)
		if covered(ps, shared[route]) {
			continue
		}
		if err := s.publishNoise(ctx, route, ps); err != nil {
			return err
		}
	}
	return nil
}

// publishNoise writes route's shared noise.
func (s *Store) publishNoise(ctx context.Context, route string, ps []report.NoisePath) error {
	data, err := json.Marshal(ps)
	if err != nil {
		return fmt.Errorf("encoding the noise of route %q: %w", route, err)
	}
	key := s.noisePrefix() + url.PathEscape(route)
	if _, err := s.cli.Put(ctx, key, string(data)); err != nil {
		return s.failed("publishing the noise of route "+route+" at "+key, err)
	}
	return nil
}

// shareable keeps the MaxSharedNoise most seen paths (ps is sorted most
// seen first) of at most maxNoisePathLen bytes.
func shareable(ps []report.NoisePath) []report.NoisePath {
	out := make([]report.NoisePath, 0, min(len(ps), MaxSharedNoise))
	for _, p := range ps {
		if len(out) == MaxSharedNoise {
			break
		}
		if len(p.Path) <= maxNoisePathLen {
			out = append(out, p)
		}
	}
	return out
}

func pathSet(ps []report.NoisePath) map[string]bool {
	set := make(map[string]bool, len(ps))
	for _, p := range ps {
		set[p.Path] = true
	}
	return set
}

// covered reports whether every path of ps is in set.
func covered(ps []report.NoisePath, set map[string]bool) bool {
	for _, p := range ps {
		if !set[p.Path] {
			return false
		}
	}
	return true
}
