package etcdstate

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/stage"
)

// TestFiguresRoundTrip: what encodeFigures writes, decodeFigures reads
// back count for count, whatever the buckets touched.
func TestFiguresRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		durs []time.Duration
	}{
		{"no requests", nil},
		{"one bucket", []time.Duration{3 * time.Millisecond, 3 * time.Millisecond}},
		{"adjacent buckets", []time.Duration{2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond}},
		{"first and last bucket", []time.Duration{0, time.Hour}},
		{"far apart", []time.Duration{800 * time.Microsecond, 2 * time.Second, 5 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := metrics.New()
			for i, d := range tt.durs {
				reg.Route("r").Observe(stage.Canary.String(), metrics.SideService, 200+300*(i%2), d)
				reg.Route("r").Observe(stage.Canary.String(), metrics.SideLegacy, 200, 2*d)
			}
			reg.Compared("r", "equal")
			reg.Route("r").Fallback("status_503")
			want := reg.Snapshot("r")
			want.At = time.Time{}
			b, err := encodeFigures(map[string]metrics.Snapshot{"r": want})
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeFigures(b)
			if err != nil {
				t.Fatalf("decoding %s: %v", b, err)
			}
			if got["r"] != want {
				t.Errorf("decoded %s as %+v, want %+v", b, got["r"], want)
			}
		})
	}
}

// TestFiguresLayout1: a replica not yet upgraded publishes 39 counts a
// route over the old Prometheus buckets; they are read, requests, errors
// and comparisons exactly and each latency bucket at its upper bound.
func TestFiguresLayout1(t *testing.T) {
	// legacy: 10 requests, 1 error, 10 in (2.5, 5] ms; service: 4
	// requests, 4 over 30 s; then 7 compared, 6 matched, 2 fallbacks.
	old := `{"orders":[10,1,0,0,0,10,0,0,0,0,0,0,0,0,0,0,0,0,` +
		`4,4,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,4,7,6,2],"v":[` + strings.Repeat("0,", 38) + `0]}`
	got, err := decodeFigures([]byte(old))
	if err != nil {
		t.Fatalf("decoding layout 1: %v", err)
	}
	s := got["orders"]
	if s.Legacy.Requests != 10 || s.Legacy.Errors != 1 || s.Service.Requests != 4 || s.Service.Errors != 4 ||
		s.Compared != 7 || s.Matched != 6 || s.Fallbacks != 2 {
		t.Errorf("layout 1 read as %+v", s)
	}
	if p99 := s.Legacy.Quantile(0.99); p99 != latency.Quantile(0.99, counts(latency.Bucket(5*time.Millisecond), 10)) {
		t.Errorf("legacy p99 %v, want the latency bucket of 5 ms (the old bucket's upper bound)", p99)
	}
	if p99 := s.Service.Quantile(0.99); p99 != latency.Quantile(0.99, counts(latency.Buckets-1, 4)) {
		t.Errorf("service p99 %v, want the last latency bucket (old +Inf)", p99)
	}
	if _, ok := got["v"]; !ok {
		t.Error(`a layout 1 route named "v" was not read`)
	}
}

// counts are fine bucket counts with n in bucket i.
func counts(i int, n uint64) []uint64 {
	c := make([]uint64, latency.Buckets)
	c[i] = n
	return c
}

// TestFiguresUndecodable: broken values are errors; a newer layout is
// errOtherLayout, which the refresh skips without an error.
func TestFiguresUndecodable(t *testing.T) {
	tests := []struct {
		name, value string
		other       bool
	}{
		{"not JSON", `{"orders":`, false},
		{"layout 1, short", `{"orders":[1,2,3]}`, false},
		{"run past the buckets", `{"v":2,"routes":{"r":{"l":{"n":1,"e":0,"b":[[107,1,1]]},"s":{"n":0,"e":0},"c":[0,0,0]}}}`, false},
		{"empty run", `{"v":2,"routes":{"r":{"l":{"n":1,"e":0,"b":[[3]]},"s":{"n":0,"e":0},"c":[0,0,0]}}}`, false},
		{"newer layout", `{"v":3,"routes":{"r":{"x":[1]}}}`, true},
	}
	for _, tt := range tests {
		_, err := decodeFigures([]byte(tt.value))
		if err == nil || errors.Is(err, errOtherLayout) != tt.other {
			t.Errorf("%s: decodeFigures(%s) = %v; want an error, errOtherLayout %v", tt.name, tt.value, err, tt.other)
		}
	}
}
