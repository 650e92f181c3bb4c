package routing

import (
	"math"
	"strconv"
	"testing"
)

func TestCanaryShare(t *testing.T) {
	const keys = 20000
	for _, pct := range []float64{0, 0.5, 1, 5, 10, 25, 33.33, 50, 75, 99, 100} {
		in := 0
		for i := range keys {
			if InCanary("order-details", "user-"+strconv.Itoa(i), pct) {
				in++
			}
		}
		share := 100 * float64(in) / keys
		if math.Abs(share-pct) > 1 {
			t.Errorf("percent %v: observed share %.2f%%; want within 1 point", pct, share)
		}
		if (pct == 0 && in != 0) || (pct == 100 && in != keys) {
			t.Errorf("percent %v: %d of %d keys in canary; want exact", pct, in, keys)
		}
	}
}

func TestCanaryRampIsMonotonic(t *testing.T) {
	ramp := []float64{1, 10, 25, 50, 99.99, 100}
	for i := range 20000 {
		key := "k" + strconv.Itoa(i)
		was := false
		for _, pct := range ramp {
			now := InCanary("r", key, pct)
			if was && !now {
				t.Fatalf("key %s moved back to the monolith when percent rose to %v", key, pct)
			}
			was = now
		}
	}
}

func TestBucketIsStableAndRouteScoped(t *testing.T) {
	// Golden values: a change here moves users between sides across an
	// upgrade, which the contract forbids.
	for _, tc := range []struct {
		route, key string
		want       uint32
	}{
		{"order-details", "alice", 8809},
		{"order-details", "bob", 4272},
		{"checkout", "10.0.0.1", 7411},
	} {
		if got := Bucket(tc.route, tc.key); got != tc.want {
			t.Errorf("Bucket(%q, %q) = %d; want %d", tc.route, tc.key, got, tc.want)
		}
	}
	// Different routes spread the same key independently.
	same := 0
	for i := range 1000 {
		k := strconv.Itoa(i)
		if (Bucket("a", k) < 5000) == (Bucket("b", k) < 5000) {
			same++
		}
	}
	if same < 400 || same > 600 {
		t.Errorf("routes a and b agree on %d/1000 keys at 50%%; want about 500 (independent)", same)
	}
	// The separator keeps ("ab","c") and ("a","bc") apart.
	if Bucket("ab", "c") == Bucket("a", "bc") && Bucket("ab", "d") == Bucket("a", "bd") {
		t.Error("route/key boundary is ambiguous")
	}
}

func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		pct  float64
		want uint32
	}{{-1, 0}, {0, 0}, {0.01, 1}, {12.5, 1250}, {33.333, 3333}, {100, Buckets}, {150, Buckets}, {math.NaN(), 0}} {
		if got := Threshold(tc.pct); got != tc.want {
			t.Errorf("Threshold(%v) = %d; want %d", tc.pct, got, tc.want)
		}
	}
}

func FuzzCanaryAssign(f *testing.F) {
	f.Add("order-details", "alice", 10.0, 25.0)
	f.Add("r", "", 0.0, 100.0)
	f.Fuzz(func(t *testing.T, route, key string, p1, p2 float64) {
		b := Bucket(route, key)
		if b >= Buckets {
			t.Fatalf("bucket %d out of range", b)
		}
		if b != Bucket(route, key) {
			t.Fatal("not deterministic")
		}
		if p1 > p2 {
			p1, p2 = p2, p1
		}
		if InCanary(route, key, p1) && !InCanary(route, key, p2) {
			t.Fatalf("in canary at %v but not at %v", p1, p2)
		}
	})
}
