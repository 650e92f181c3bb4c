package etcdstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stranglerfig/strangler/progress"
)

// The migration progress history (issue 15) lives under
// <prefix>/progress/<YYYY-MM-DD>, one key per UTC day holding that day's
// samples as JSON: a sample every 5 minutes is 288 a day, about 115 KB,
// well under etcd's 1.5 MiB value limit, and each write rewrites only
// today's key. Days older than the history's Keep are deleted in the
// same transaction.
const (
	// maxDaySamples bounds one day's key whatever the sampling interval
	// (one a minute at most kept: about 570 KB).
	maxDaySamples = 24 * 60
	// progressRetries bounds the compare-and-swap retries of one append.
	progressRetries = 5
)

// errProgressContended is returned when other writers changed today's key
// progressRetries times in a row.
var errProgressContended = errors.New("today's progress key kept changing")

// ProgressStore is the progress history in etcd (progress.Store). Only
// the automation leader should append; every replica may load.
type ProgressStore struct {
	s    *Store
	keep time.Duration
}

// Progress returns the progress history store under the prefix, keeping
// keep of history (0: progress.DefaultKeep).
func (s *Store) Progress(keep time.Duration) *ProgressStore {
	if keep <= 0 {
		keep = progress.DefaultKeep
	}
	return &ProgressStore{s: s, keep: keep}
}

func (p *ProgressStore) dir() string { return p.s.prefix + "/progress/" }

func (p *ProgressStore) dayKey(t time.Time) string { return p.dir() + t.UTC().Format(time.DateOnly) }

// dayData is one day's value.
type dayData struct {
	Samples []progress.Sample `json:"samples"`
}

// Load reads every day's samples, oldest first, within the bounds.
func (p *ProgressStore) Load(ctx context.Context) ([]progress.Sample, error) {
	resp, err := p.s.cli.Get(ctx, p.dir(), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, p.s.failed("reading the progress history under "+p.dir(), err)
	}
	var h []progress.Sample
	for _, kv := range resp.Kvs {
		var d dayData
		if err := json.Unmarshal(kv.Value, &d); err != nil {
			return nil, fmt.Errorf("progress history key %s is corrupt: %w", kv.Key, err)
		}
		h = append(h, d.Samples...)
	}
	return progress.Trim(h, p.keep, progress.MaxSamples), nil
}

// Append adds s to its day's key with a compare-and-swap on the key's
// revision, and deletes the days that fell out of the history.
func (p *ProgressStore) Append(ctx context.Context, s progress.Sample) error {
	key := p.dayKey(s.Time)
	oldest := p.dayKey(s.Time.Add(-p.keep))
	for range progressRetries {
		resp, err := p.s.cli.Get(ctx, key)
		if err != nil {
			return p.s.failed("reading "+key, err)
		}
		var d dayData
		var rev int64
		if len(resp.Kvs) > 0 {
			rev = resp.Kvs[0].ModRevision
			if err := json.Unmarshal(resp.Kvs[0].Value, &d); err != nil {
				d = dayData{} // a corrupt day starts again rather than blocking every later sample
			}
		}
		d.Samples = progress.Trim(append(d.Samples, s), 24*time.Hour, maxDaySamples)
		data, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding the progress of %s: %w", key, err)
		}
		txn, err := p.s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, string(data)), clientv3.OpDelete(p.dir(), clientv3.WithRange(oldest))).Commit()
		if err != nil {
			return p.s.failed("writing "+key, err)
		}
		if txn.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("appending to %s: %w", key, errProgressContended)
}
