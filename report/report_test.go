package report

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/diff"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// failing returns rec with one side failed.
func failing(rec Record, legacy bool, kind string, status int) Record {
	side := &rec.Service
	if legacy {
		side = &rec.Legacy
	}
	side.Error, side.Status = kind, status
	if kind != "" {
		rec.Result = diff.Result{}
	}
	return rec
}

func TestAggregates(t *testing.T) {
	eq := record("r", diff.VerdictEqual)
	different := record("r", diff.VerdictDifferent)
	noise := record("r", diff.VerdictNoiseOnly)
	diffErr := record("r", diff.VerdictError)
	notCompared := record("r", "")
	tests := []struct {
		name string
		recs []Record
		want RouteReport
	}{
		{"all equal", []Record{eq, eq}, RouteReport{Records: 2, Compared: 2, Equal: 2, MatchRate: 1}},
		{"mixed", []Record{eq, noise, different, diffErr},
			RouteReport{Records: 4, Compared: 4, Equal: 1, NoiseOnly: 1, Different: 1, DiffErrors: 1, MatchRate: 0.5}},
		{"not compared", []Record{notCompared}, RouteReport{Records: 1}},
		{"upstream errors", []Record{
			eq,
			failing(eq, false, ErrorTimeout, 0),
			failing(eq, false, ErrorTimeout, 0),
			failing(eq, true, ErrorRefused, 0),
			failing(eq, true, ErrorReset, 0),
			failing(eq, false, ErrorOther, 0),
		}, RouteReport{Records: 6, Compared: 1, Equal: 1, MatchRate: 1,
			LegacyErrors:  ErrorCounts{Refused: 1, Other: 1},
			ServiceErrors: ErrorCounts{Timeout: 2, Other: 1}}},
		{"5xx answers are compared", []Record{failing(different, false, "", 503), failing(eq, true, "", 500)},
			RouteReport{Records: 2, Compared: 2, Equal: 1, Different: 1, MatchRate: 0.5,
				LegacyErrors: ErrorCounts{Status5xx: 1}, ServiceErrors: ErrorCounts{Status5xx: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStore(t, Options{})
			offerAll(t, s, tt.recs...)
			rep := s.Report(nil)
			if len(rep.Routes) != 1 {
				t.Fatalf("routes = %d, want 1", len(rep.Routes))
			}
			got := counts(rep.Routes[0])
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			o := rep.Overall
			if o.Compared != got.Compared || o.Equal != got.Equal || o.MatchRate != got.MatchRate {
				t.Errorf("Overall = %+v, want the route's counts", o)
			}
		})
	}
}

// counts keeps only the counters of rr.
func counts(rr RouteReport) RouteReport {
	return RouteReport{Records: rr.Records, Compared: rr.Compared, Equal: rr.Equal, Different: rr.Different,
		NoiseOnly: rr.NoiseOnly, DiffErrors: rr.DiffErrors, MatchRate: rr.MatchRate,
		LegacyErrors: rr.LegacyErrors, ServiceErrors: rr.ServiceErrors}
}

func TestOverallAndOrder(t *testing.T) {
	s := startStore(t, Options{})
	offerAll(t, s, record("m", diff.VerdictEqual), record("a", diff.VerdictDifferent),
		record("a", diff.VerdictEqual), record("b", diff.VerdictNoiseOnly))
	rep := s.Report([]string{"z", "a", "z"})
	var order []string
	for _, rr := range rep.Routes {
		order = append(order, rr.Route)
	}
	if want := []string{"z", "a", "b", "m"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
	z := rep.Routes[0]
	if z.Records != 0 || z.TopPaths == nil || !z.FirstSeen.IsZero() {
		t.Errorf("empty route = %+v", z)
	}
	want := Overall{Compared: 4, Equal: 2, Different: 1, NoiseOnly: 1, MatchRate: 0.75}
	if rep.Overall != want {
		t.Errorf("Overall = %+v, want %+v", rep.Overall, want)
	}
	if time.Since(rep.GeneratedAt) > time.Minute {
		t.Errorf("GeneratedAt = %v", rep.GeneratedAt)
	}
}

func TestSeen(t *testing.T) {
	s := startStore(t, Options{})
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var recs []Record
	for _, d := range []time.Duration{time.Hour, 0, 2 * time.Hour} {
		rec := record("a", diff.VerdictEqual)
		rec.Time = t0.Add(d)
		recs = append(recs, rec)
	}
	offerAll(t, s, recs...)
	rr := s.Report(nil).Routes[0]
	if !rr.FirstSeen.Equal(t0) || !rr.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("seen %v .. %v", rr.FirstSeen, rr.LastSeen)
	}
}

func TestTopPaths(t *testing.T) {
	s := startStore(t, Options{MaxPaths: 4})
	d := func(path string, kind diff.Kind, legacy string) diff.Difference {
		return diff.Difference{Path: path, Kind: kind, Legacy: legacy, Service: "s"}
	}
	offerAll(t, s,
		record("a", diff.VerdictDifferent, d("/items/0/price", diff.KindChanged, "1"), d("status", diff.KindStatus, "200")),
		record("a", diff.VerdictDifferent, d("/items/1/price", diff.KindChanged, "2")),
		record("a", diff.VerdictNoiseOnly, diff.Difference{Path: "/ts", Kind: diff.KindChanged, Noise: true}),
		record("a", diff.VerdictDifferent, d("/items/2/price", diff.KindType, "3"), d("/x", diff.KindExtra, "")),
		// MaxPaths (4) reached: these two go to "(other)".
		record("a", diff.VerdictDifferent, d("/y", diff.KindExtra, ""), d("/z/9", diff.KindMissing, "z")),
		record("b", diff.VerdictDifferent, d("/items/0/price", diff.KindChanged, "1")),
	)
	got := s.Report([]string{"a"}).Routes[0].TopPaths
	want := []PathStat{
		{Path: "/items/*/price", Kind: diff.KindType, Count: 3, Example: Example{Legacy: "3", Service: "s", ResultID: 4}},
		{Path: OtherPath, Kind: diff.KindMissing, Count: 2, Example: Example{Legacy: "z", Service: "s", ResultID: 5}},
		{Path: "/ts", Kind: diff.KindChanged, Count: 1, Noise: true, Example: Example{ResultID: 3}},
		{Path: "/x", Kind: diff.KindExtra, Count: 1, Example: Example{Service: "s", ResultID: 4}},
		{Path: "status", Kind: diff.KindStatus, Count: 1, Example: Example{Legacy: "200", Service: "s", ResultID: 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TopPaths =\n%+v\nwant\n%+v", got, want)
	}
}

func TestTopPathsCapped(t *testing.T) {
	s := startStore(t, Options{})
	var recs []Record
	for i := range 30 {
		var ds []diff.Difference
		for j := 0; j <= i; j++ { // path /pj differs in 30-j records
			ds = append(ds, diff.Difference{Path: fmt.Sprintf("/p%d", j), Kind: diff.KindChanged})
		}
		recs = append(recs, record("a", diff.VerdictDifferent, ds...))
	}
	offerAll(t, s, recs...)
	got := s.Report(nil).Routes[0].TopPaths
	if len(got) != topPaths {
		t.Fatalf("len = %d, want %d", len(got), topPaths)
	}
	for i, p := range got {
		if want := fmt.Sprintf("/p%d", i); p.Path != want || p.Count != uint64(30-i) {
			t.Errorf("TopPaths[%d] = %s ×%d, want %s ×%d", i, p.Path, p.Count, want, 30-i)
		}
	}
}

func TestLatencyPercentiles(t *testing.T) {
	s := startStore(t, Options{})
	var recs []Record
	for i := 1; i <= 1000; i++ {
		rec := record("a", diff.VerdictEqual)
		rec.Legacy.Duration = time.Duration(i) * time.Millisecond
		rec.Service.Duration = 5 * time.Millisecond
		if i%10 == 0 {
			rec.Service.Duration = 0 // not measured
		}
		recs = append(recs, rec)
	}
	offerAll(t, s, recs...)
	rr := s.Report(nil).Routes[0]
	tests := []struct {
		name    string
		got     float64
		want    float64
		samples uint64
		gotN    uint64
	}{
		{"legacy p50", rr.LegacyLatency.P50ms, 500, 1000, rr.LegacyLatency.Samples},
		{"legacy p99", rr.LegacyLatency.P99ms, 990, 1000, rr.LegacyLatency.Samples},
		{"service p50", rr.ServiceLatency.P50ms, 5, 900, rr.ServiceLatency.Samples},
		{"service p99", rr.ServiceLatency.P99ms, 5, 900, rr.ServiceLatency.Samples},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want)/tt.want > 0.10 {
			t.Errorf("%s = %.3f ms, want %.0f ms ±10%%", tt.name, tt.got, tt.want)
		}
		if tt.gotN != tt.samples {
			t.Errorf("%s samples = %d, want %d", tt.name, tt.gotN, tt.samples)
		}
	}
}

// TestHistogram: the bucket layout is tested in internal/latency
// (TestBucket); here, what report adds to it.
func TestHistogram(t *testing.T) {
	var h histogram
	if l := h.latency(); l != (Latency{}) {
		t.Errorf("empty latency = %+v", l)
	}
	h.add(-time.Second)
	h.add(0)
	if h.N != 0 {
		t.Errorf("non-positive durations counted: %d", h.N)
	}
	h.add(3 * time.Millisecond)
	if l := h.latency(); l != (Latency{Samples: 1, P50ms: 3.158, P99ms: 3.158}) {
		t.Errorf("latency of one 3 ms = %+v, want 1 sample at 3.158 ms (the middle of its bucket)", l)
	}
}
