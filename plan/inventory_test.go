package plan

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		seg  string
		want string
	}{
		{"orders", ""},
		{"12345", PlaceholderID},
		{"-3", PlaceholderID},
		{"12.50", PlaceholderID},
		{"v2", ""},
		{"oauth2", ""},
		{"550e8400-e29b-41d4-a716-446655440000", PlaceholderUUID},
		{"d41d8cd98f00b204e9800998ecf8427e", PlaceholderHash},
		{"deadbeef", ""},
		{"2024-03-17", PlaceholderDate},
		{"2024-03-17T10:00:00Z", PlaceholderDate},
		{"alice@example.com", PlaceholderEmail},
		{"a1b2c3d4e5", PlaceholderID},
		{"me", ""},
		{"index.html", ""},
		{string(make([]byte, 100)), PlaceholderID},
	}
	for _, tt := range tests {
		t.Run(tt.seg, func(t *testing.T) {
			if got := kindText[classify(tt.seg)]; got != tt.want {
				t.Errorf("classify(%q) = %q, want %q", tt.seg, got, tt.want)
			}
		})
	}
}

func TestShapeStatic(t *testing.T) {
	inv := New(Options{})
	tests := []struct{ path, want string }{
		{"/", "/"},
		{"/api/orders/17?x=1", "/api/orders/{id}"},
		{"/api/orders/17/items/3", "/api/orders/{id}/items/{id}"},
		{"/files/d41d8cd98f00b204e9800998ecf8427e", "/files/{hash}"},
		{"/reports/2024-01-02/summary", "/reports/{date}/summary"},
		{"/users/bob@example.org/prefs", "/users/{email}/prefs"},
		{"/a/550e8400-e29b-41d4-a716-446655440000", "/a/{uuid}"},
	}
	for _, tt := range tests {
		if got := inv.Shape(tt.path); got != tt.want {
			t.Errorf("Shape(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestFamilies: a position taking many values becomes {id}; a frequent
// value there and a position with few values stay literal.
func TestVariablePositions(t *testing.T) {
	inv := New(Options{})
	for i := range 20000 {
		inv.Observe(Sample{Method: "GET", Path: fmt.Sprintf("/api/users/user%c%d/orders", 'a'+i%26, i%3000)})
		if i%5 == 0 {
			inv.Observe(Sample{Method: "GET", Path: "/api/users/me"})
		}
		inv.Observe(Sample{Method: "GET", Path: fmt.Sprintf("/api/kind%d/list", i%40)})
	}
	got := map[string]uint64{}
	snap := inv.Snapshot()
	for _, ep := range snap.Endpoints {
		got[ep.Method+" "+ep.Shape] = ep.Requests
	}
	want := map[string]uint64{"GET /api/users/{id}/orders": 20000, "GET /api/users/me": 4000, "GET /api/kind7/list": 500}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d requests, want %d", k, got[k], n)
		}
	}
	if len(got) != 42 {
		t.Errorf("%d shapes, want 42: %v", len(got), got)
	}
	if snap.Requests != 44000 {
		t.Errorf("total %d, want 44000", snap.Requests)
	}
}

func TestEndpointStats(t *testing.T) {
	inv := New(Options{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		st := 200
		if i%10 == 0 {
			st = 503
		}
		inv.Observe(Sample{Method: "POST", Path: "/api/orders", Status: st, Latency: time.Duration(i+1) * time.Millisecond,
			Bytes: 1000, ContentType: "application/json; charset=utf-8", Time: t0.Add(time.Duration(i) * time.Second),
			Route: "orders", Stage: "shadow"})
	}
	ep := inv.Snapshot().Endpoints[0]
	checks := []struct {
		name string
		ok   bool
	}{
		{"requests", ep.Requests == 100},
		{"error rate", ep.ErrorRate == 0.1 && ep.MonolithErrorRate == 0.1},
		{"p50 ~50ms", ep.P50 > 38*time.Millisecond && ep.P50 < 62*time.Millisecond},
		{"p99 ~99ms", ep.P99 > 78*time.Millisecond && ep.P99 < 120*time.Millisecond},
		{"bytes", ep.MeanBytes == 1000},
		{"content type", ep.ContentType == "application/json"},
		{"write", ep.Write},
		{"seen", ep.FirstSeen.Equal(t0) && ep.LastSeen.Equal(t0.Add(99*time.Second))},
		{"route", ep.Route == "orders" && ep.Stage == "shadow"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s wrong: %+v", c.name, ep)
		}
	}
}

// TestBounded: a million distinct raw paths keep the inventory within its
// memory bound.
func TestBounded(t *testing.T) {
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	inv := New(Options{})
	for i := range n {
		inv.Observe(Sample{Method: "GET", Path: fmt.Sprintf("/x%d/y%d/z%d", i, i*7, i*13), Latency: -1, Bytes: -1})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d distinct paths: heap grew %d bytes, bound %d", n, grown, inv.MemoryBound())
	if grown > int64(inv.MemoryBound()) {
		t.Errorf("heap grew %d bytes, above the bound %d", grown, inv.MemoryBound())
	}
	if got := inv.Snapshot().Requests; got != uint64(n) {
		t.Errorf("counted %d, want %d", got, n)
	}
	runtime.KeepAlive(inv)
}

func BenchmarkObserve(b *testing.B) {
	inv := New(Options{})
	paths := make([]string, 256)
	for i := range paths {
		paths[i] = fmt.Sprintf("/api/v1/res%d/%d/items", i%64, i*977)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			inv.Observe(Sample{Method: "GET", Path: paths[i&255], Status: 200, Latency: 3 * time.Millisecond,
				Bytes: 512, ContentType: "application/json", Time: now})
			i++
		}
	})
}

func BenchmarkObserveSerial(b *testing.B) {
	inv := New(Options{})
	paths := make([]string, 256)
	for i := range paths {
		paths[i] = fmt.Sprintf("/api/v1/res%d/%d/items", i%64, i*977)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		inv.Observe(Sample{Method: "GET", Path: paths[i&255], Status: 200, Latency: 3 * time.Millisecond,
			Bytes: 512, ContentType: "application/json", Time: now})
	}
}

// TestConcurrentObserve: observers and readers at once lose no count.
func TestConcurrentObserve(t *testing.T) {
	inv := New(Options{})
	const workers, each = 4, 20000
	done := make(chan struct{})
	for w := range workers {
		go func() {
			for i := range each {
				inv.Observe(Sample{Method: "GET", Path: fmt.Sprintf("/w%d/items/%d", w%2, i), Latency: time.Millisecond, Bytes: 1})
			}
			done <- struct{}{}
		}()
	}
	for range 5 {
		_ = inv.Snapshot()
	}
	for range workers {
		<-done
	}
	snap := inv.Snapshot()
	if snap.Requests != workers*each || len(snap.Endpoints) != 2 {
		t.Errorf("%d requests in %d shapes, want %d in 2", snap.Requests, len(snap.Endpoints), workers*each)
	}
}
