package etcdstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
	"github.com/stranglerfig/strangler/metrics"
)

// The figures key's value, layout 2:
//
//	{"v":2,"routes":{"orders":{"l":{"n":10,"e":0,"b":[[46,7,3]]},"s":{…},"c":[4,4,0]}}}
//
// per route and side (l legacy, s service) the requests n, errors e and
// the runs of non-zero latency buckets b, each run its first
// latency.Bucket index then its counts; c holds compared, matched and
// fallbacks. A route's requests touch a few adjacent buckets, so a run
// or two: about 100 bytes a route. Layout 1 (before the gates read the
// latency buckets) was {"route":[39 counts]}: decodeFigures converts it,
// so a replica still on it keeps counting during a rolling upgrade.
const figuresLayout = 2

// errOtherLayout marks a peer's figures in a layout this replica cannot
// read (a newer one): the peer is left out of the sums, not an error.
var errOtherLayout = errors.New("figures in a layout this replica does not read")

// figuresRecord is the value of a replica's figures key.
type figuresRecord struct {
	V      int                    `json:"v"`
	Routes map[string]routeRecord `json:"routes"`
}

// routeRecord is one route's cumulative counts.
type routeRecord struct {
	Legacy  sideRecord `json:"l"`
	Service sideRecord `json:"s"`
	// Counts are compared, matched and fallbacks.
	Counts [3]uint64 `json:"c"`
}

// sideRecord is one side's counts, the latency buckets as runs.
type sideRecord struct {
	Requests uint64     `json:"n"`
	Errors   uint64     `json:"e"`
	Runs     [][]uint64 `json:"b,omitempty"`
}

// encodeFigures writes the cumulative counts of every route in layout 2:
// compact and readable with etcdctl.
func encodeFigures(snaps map[string]metrics.Snapshot) ([]byte, error) {
	rec := figuresRecord{V: figuresLayout, Routes: make(map[string]routeRecord, len(snaps))}
	for route, s := range snaps {
		rec.Routes[route] = routeRecord{Legacy: sideOf(s.Legacy), Service: sideOf(s.Service),
			Counts: [3]uint64{s.Compared, s.Matched, s.Fallbacks}}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encoding the figures of %d routes: %w", len(snaps), err)
	}
	return b, nil
}

// sideOf writes one side's counts, its buckets as runs of non-zero counts.
func sideOf(c metrics.SideCounts) sideRecord {
	out := sideRecord{Requests: c.Requests, Errors: c.Errors}
	for i := 0; i < len(c.Buckets); i++ {
		if c.Buckets[i] == 0 {
			continue
		}
		run := []uint64{uint64(i)}
		for ; i < len(c.Buckets) && c.Buckets[i] != 0; i++ {
			run = append(run, c.Buckets[i])
		}
		out.Runs = append(out.Runs, run)
	}
	return out
}

// decodeFigures reads a peer's figures key: layout 2, or layout 1
// converted (see fromLayout1); errOtherLayout for any other version.
func decodeFigures(b []byte) (map[string]metrics.Snapshot, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("decoding figures: %w", err)
	}
	if v, ok := probe["v"]; !ok || bytes.HasPrefix(v, []byte("[")) {
		return fromLayout1(b) // a route named "v" of layout 1 holds an array
	}
	var rec figuresRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("decoding figures: %w", err)
	}
	if rec.V != figuresLayout {
		return nil, fmt.Errorf("layout %d, this replica reads %d and 1: %w", rec.V, figuresLayout, errOtherLayout)
	}
	out := make(map[string]metrics.Snapshot, len(rec.Routes))
	for route, r := range rec.Routes {
		s := metrics.Snapshot{Compared: r.Counts[0], Matched: r.Counts[1], Fallbacks: r.Counts[2]}
		var err error
		if s.Legacy, err = countsOf(r.Legacy); err == nil {
			s.Service, err = countsOf(r.Service)
		}
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", route, err)
		}
		out[route] = s
	}
	return out, nil
}

// countsOf reads one side's counts back from its runs.
func countsOf(r sideRecord) (metrics.SideCounts, error) {
	c := metrics.SideCounts{Requests: r.Requests, Errors: r.Errors}
	for _, run := range r.Runs {
		if len(run) < 2 || run[0] > uint64(len(c.Buckets)-(len(run)-1)) {
			return c, fmt.Errorf("latency run %v does not fit %d buckets", run, len(c.Buckets))
		}
		copy(c.Buckets[run[0]:], run[1:])
	}
	return c, nil
}

// layout1Bounds are the upper bounds of layout 1's 15 finite latency
// buckets (then +Inf): the exported Prometheus histogram's when layout 1
// was current, frozen here because old replicas publish them.
var layout1Bounds = [...]time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// layout1Counts is the length of a route's array in layout 1: per side
// requests, errors and 16 buckets, then compared, matched and fallbacks.
const layout1Counts = 2*(2+len(layout1Bounds)+1) + 3

// fromLayout1 reads {"route":[39 counts]} of a replica not yet upgraded.
// Requests, errors and comparisons are kept exactly; each latency bucket's
// count goes to the latency.Bucket of its upper bound (the +Inf bucket's
// to the last one), so a p99 read from converted counts is about the old
// bucket's upper bound: never below the true value by more than a fine
// bucket.
func fromLayout1(b []byte) (map[string]metrics.Snapshot, error) {
	var in map[string][]uint64
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("decoding figures of layout 1: %w", err)
	}
	out := make(map[string]metrics.Snapshot, len(in))
	for route, a := range in {
		if len(a) != layout1Counts {
			return nil, fmt.Errorf("route %q has %d counts, want %d (layout 1)", route, len(a), layout1Counts)
		}
		var s metrics.Snapshot
		for i, c := range []*metrics.SideCounts{&s.Legacy, &s.Service} {
			side := a[i*(layout1Counts-3)/2:]
			c.Requests, c.Errors = side[0], side[1]
			for j, n := range side[2 : 2+len(layout1Bounds)+1] {
				c.Buckets[layout1Bucket(j)] += n
			}
		}
		s.Compared, s.Matched, s.Fallbacks = a[layout1Counts-3], a[layout1Counts-2], a[layout1Counts-1]
		out[route] = s
	}
	return out, nil
}

// layout1Bucket is the latency.Bucket that layout 1's bucket j goes to.
func layout1Bucket(j int) int {
	if j < len(layout1Bounds) {
		return latency.Bucket(layout1Bounds[j])
	}
	return latency.Buckets - 1
}
