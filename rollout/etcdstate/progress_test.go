package etcdstate_test

import (
	"context"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/progress"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// TestProgressHistory appends samples over three days to a real etcd,
// keeping two, and reads them back through a second client (a restarted
// replica): bounded per day, old days deleted, concurrent appends kept.
func TestProgressHistory(t *testing.T) {
	etcdtest.Need(t)
	m := etcdtest.Start(t)
	const prefix = "/strangler-progress-test"
	a := openStore(t, "a", prefix, []string{m.ClientURL}).Progress(48 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	// Three days at 2 hours: 36 samples, the oldest 11 fall out.
	for i := range 36 {
		at := start.Add(time.Duration(i) * 2 * time.Hour)
		if err := a.Append(ctx, progress.Sample{Time: at, From: at.Add(-2 * time.Hour), Requests: uint64(i)}); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	b := openStore(t, "b", prefix, []string{m.ClientURL}).Progress(48 * time.Hour)
	h, err := b.Load(ctx)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(h) != 25 || h[0].Requests != 11 || h[24].Requests != 35 {
		t.Fatalf("loaded %d samples (%d..%d), want 25 (11..35) within 48 h", len(h), first(h), last(h))
	}
	// Two writers at once: the compare-and-swap keeps both samples.
	var wg sync.WaitGroup
	for i, st := range []*etcdstate.ProgressStore{a, b} {
		wg.Go(func() {
			at := start.Add(72*time.Hour + time.Duration(i+1)*time.Minute)
			if err := st.Append(ctx, progress.Sample{Time: at, Requests: 100 + uint64(i)}); err != nil {
				t.Errorf("concurrent Append: %v", err)
			}
		})
	}
	wg.Wait()
	h, err = a.Load(ctx)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if n := len(h); n < 2 || h[n-2].Requests != 100 || h[n-1].Requests != 101 {
		t.Errorf("after concurrent appends the history ends %d, %d; want 100, 101", h[len(h)-2].Requests, last(h))
	}
	// The newest sample is on 2026-12-04 00:02: 2026-12-01 fell out.
	keys := dayKeys(t, ctx, m.ClientURL, prefix)
	want := []string{prefix + "/progress/2026-12-02", prefix + "/progress/2026-12-03", prefix + "/progress/2026-12-04"}
	if len(keys) != 3 || keys[0] != want[0] || keys[2] != want[2] {
		t.Errorf("day keys %v, want %v", keys, want)
	}
}

func first(h []progress.Sample) uint64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].Requests
}

func last(h []progress.Sample) uint64 {
	if len(h) == 0 {
		return 0
	}
	return h[len(h)-1].Requests
}

// dayKeys lists the progress keys under prefix with a client of its own.
func dayKeys(t *testing.T, ctx context.Context, url, prefix string) []string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, prefix+"/progress/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatalf("listing progress keys: %v", err)
	}
	keys := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys
}
