package progress

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/plan"
)

// hit sends n requests for path to inv, answered by a service when route
// is set at a stage that serves it.
func hit(inv *plan.Inventory, n int, method, path, route, stage string, service bool) {
	for range n {
		inv.Observe(plan.Sample{Method: method, Path: path, Status: 200, Latency: time.Millisecond, Bytes: 10,
			Route: route, Stage: stage, Service: service})
	}
}

func TestMeterCutsPerInterval(t *testing.T) {
	inv := plan.New(plan.Options{})
	m := NewMeter(inv)
	routes := Stages{Legacy: 1, Canary: 1}
	hit(inv, 90, "GET", "/legacy/page", "", "", false)
	hit(inv, 10, "GET", "/api/orders", "orders", "canary", true)
	first := m.Cut(routes)
	hit(inv, 10, "GET", "/legacy/page", "", "", false)
	hit(inv, 30, "GET", "/api/orders", "orders", "migrated", true)
	second := m.Cut(routes)
	third := m.Cut(routes)
	tests := []struct {
		name             string
		got              Sample
		requests, served uint64
		share            float64
		endpoints, svc   int
		stages           Stages
	}{
		{"first", first, 100, 10, 0.1, 2, 1, Stages{Unrouted: 1, Canary: 1}},
		{"second", second, 40, 30, 0.75, 2, 1, Stages{Unrouted: 1, Migrated: 1}},
		{"empty", third, 0, 0, 0, 0, 0, Stages{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.got
			if s.Requests != tt.requests || s.ServiceRequests != tt.served || s.RequestShare != tt.share {
				t.Errorf("requests %d served %d share %v, want %d %d %v", s.Requests, s.ServiceRequests, s.RequestShare,
					tt.requests, tt.served, tt.share)
			}
			if s.Endpoints != tt.endpoints || s.ServiceEndpoints != tt.svc || s.EndpointStages != tt.stages {
				t.Errorf("endpoints %d (service %d) %+v, want %d (%d) %+v", s.Endpoints, s.ServiceEndpoints,
					s.EndpointStages, tt.endpoints, tt.svc, tt.stages)
			}
			if s.Routes != routes {
				t.Errorf("routes %+v, want %+v", s.Routes, routes)
			}
		})
	}
	if !second.From.Equal(first.Time) || !third.From.Equal(second.Time) {
		t.Errorf("intervals do not chain: %v→%v, %v→%v", first.Time, second.From, second.Time, third.From)
	}
	hit(inv, 4, "GET", "/legacy/page", "", "", false)
	open, tot := m.Now(routes)
	if tot.Requests != 144 || tot.ServiceRequests != 40 || open.Requests != 4 || !open.From.Equal(third.Time) {
		t.Errorf("since start: %d requests, %d served; open interval %d from %v; want 144, 40, 4 from %v",
			tot.Requests, tot.ServiceRequests, open.Requests, open.From, third.Time)
	}
}

func TestStagesAdd(t *testing.T) {
	var s Stages
	for _, st := range []string{"", "legacy", "shadow", "canary", "migrated", "migrated", "bogus"} {
		s.Add(st)
	}
	if want := (Stages{Unrouted: 1, Legacy: 2, Shadow: 1, Canary: 1, Migrated: 2}); s != want || s.Total() != 7 {
		t.Errorf("got %+v (total %d), want %+v", s, s.Total(), want)
	}
}

// series returns n samples 5 minutes apart ending at end, each with
// requests i+1.
func series(n int, end time.Time) []Sample {
	h := make([]Sample, n)
	for i := range h {
		at := end.Add(-time.Duration(n-1-i) * DefaultEvery)
		h[i] = Sample{Time: at, From: at.Add(-DefaultEvery), Requests: uint64(i + 1), ServiceRequests: uint64(i+1) / 2}
		h[i].RequestShare = ratio(h[i].ServiceRequests, h[i].Requests)
	}
	return h
}

func TestTrim(t *testing.T) {
	end := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		n     int
		keep  time.Duration
		max   int
		want  int
		first uint64
	}{
		{"within bounds", 10, time.Hour, 100, 10, 1},
		{"max", 10, time.Hour, 4, 4, 7},
		{"keep", 30, time.Hour, 100, 13, 18},
		{"empty", 0, time.Hour, 10, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Trim(series(tt.n, end), tt.keep, tt.max)
			if len(got) != tt.want {
				t.Fatalf("%d samples, want %d", len(got), tt.want)
			}
			if len(got) > 0 && (got[0].Requests != tt.first || !got[len(got)-1].Time.Equal(end)) {
				t.Errorf("kept %d..%v, want the newest from %d", got[0].Requests, got[len(got)-1].Time, tt.first)
			}
		})
	}
}

func TestDownsample(t *testing.T) {
	end := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		n, to    int
		want     int
		requests uint64
	}{
		{"fewer than asked", 5, 10, 5, 15},
		{"all", 5, 0, 5, 15},
		{"halved", 10, 5, 5, 55},
		{"uneven", 10, 3, 3, 55},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Downsample(series(tt.n, end), tt.to)
			var total uint64
			for _, s := range got {
				total += s.Requests
				if s.RequestShare != ratio(s.ServiceRequests, s.Requests) {
					t.Errorf("share %v of %d/%d", s.RequestShare, s.ServiceRequests, s.Requests)
				}
			}
			if len(got) != tt.want || total != tt.requests {
				t.Errorf("%d samples with %d requests, want %d with %d", len(got), total, tt.want, tt.requests)
			}
			if !got[len(got)-1].Time.Equal(end) {
				t.Errorf("last sample ends %v, want %v", got[len(got)-1].Time, end)
			}
		})
	}
}

func TestFileStoreBoundedAndPersisted(t *testing.T) {
	path := FileFor(filepath.Join(t.TempDir(), "state.json"))
	st := FileStore{Path: path, Keep: time.Hour, Max: 8}
	ctx := context.Background()
	if h, err := st.Load(ctx); err != nil || len(h) != 0 {
		t.Fatalf("missing file: %d samples, %v; want an empty history", len(h), err)
	}
	for _, s := range series(20, time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)) {
		if err := st.Append(ctx, s); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	h, err := (FileStore{Path: path, Keep: time.Hour, Max: 8}).Load(ctx)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(h) != 8 || h[0].Requests != 13 || h[7].Requests != 20 {
		t.Fatalf("reloaded %d samples (%+v), want the newest 8", len(h), h)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx); err == nil {
		t.Error("a corrupt file loaded without an error")
	}
}

// TestSamplerSurvivesRestart runs a sampler on a file store, stops it,
// and checks that a new sampler (a restarted proxy) serves the history.
func TestSamplerSurvivesRestart(t *testing.T) {
	path := FileFor(filepath.Join(t.TempDir(), "state.json"))
	inv := plan.New(plan.Options{})
	o := Options{Inventory: inv, Store: FileStore{Path: path}, Every: 20 * time.Millisecond, Log: zerolog.Nop(),
		Routes: func() Stages { return Stages{Shadow: 1, Migrated: 2} }}
	s := NewSampler(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	hit(inv, 50, "GET", "/a", "a", "migrated", true)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Report(0).History) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sampler did not stop with its context")
	}
	before := s.Report(0).History
	if len(before) < 3 {
		t.Fatalf("%d samples after 5 s at 20 ms", len(before))
	}
	var served uint64
	for _, x := range before {
		served += x.ServiceRequests
	}
	if served != 50 {
		t.Errorf("history counts %d service requests, want 50", served)
	}
	o.Inventory = plan.New(plan.Options{})
	again := NewSampler(o)
	again.load(context.Background())
	after := again.Report(0)
	if len(after.History) != len(before) || after.History[0].Routes != (Stages{Shadow: 1, Migrated: 2}) {
		t.Errorf("after a restart: %d samples (%+v), want %d", len(after.History), after.History, len(before))
	}
}

func TestSamplerFollowerReadsStore(t *testing.T) {
	path := FileFor(filepath.Join(t.TempDir(), "state.json"))
	st := FileStore{Path: path}
	ctx := context.Background()
	for _, s := range series(4, time.Now()) {
		if err := st.Append(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	follower := NewSampler(Options{Inventory: plan.New(plan.Options{}), Store: st, Record: func() bool { return false }})
	follower.Tick(ctx)
	r := follower.Report(0)
	if r.Recording || len(r.History) != 4 {
		t.Errorf("follower: recording %v, %d samples; want false, the store's 4", r.Recording, len(r.History))
	}
	if h, _ := st.Load(ctx); len(h) != 4 {
		t.Errorf("a follower wrote the store: %d samples", len(h))
	}
}

// TestSampleSize reports the bytes a full history takes as JSON.
func TestSampleSize(t *testing.T) {
	h := series(MaxSamples, time.Now())
	for i := range h {
		h[i].Requests, h[i].ServiceRequests, h[i].RequestShare = 123456, 23456, 0.19000145801
		h[i].Endpoints, h[i].ServiceEndpoints, h[i].EndpointShare = 240, 31, 0.12916666666666668
		h[i].EndpointStages = Stages{Unrouted: 180, Shadow: 20, Canary: 9, Migrated: 31}
		h[i].Routes = Stages{Legacy: 3, Shadow: 4, Canary: 2, Migrated: 6}
	}
	data, err := json.Marshal(fileData{Samples: h})
	if err != nil {
		t.Fatal(err)
	}
	per := len(data) / MaxSamples
	t.Logf("full history: %d samples, %d bytes as JSON (%d per sample)", MaxSamples, len(data), per)
	if per > 600 {
		t.Errorf("%d bytes per sample: the bound in the docs is wrong", per)
	}
}

func TestWriteMarkdown(t *testing.T) {
	end := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	r := Report{EverySeconds: 300, KeepDays: 30, MaxSamples: MaxSamples, History: series(2, end)}
	var b strings.Builder
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Migration progress", "| UNTIL | REQUESTS |", "| 2026-12-02 12:00:00 | 2 | 50.0% |", "One sample every 5m0s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

// BenchmarkCut measures one sample of a full inventory (8,192 shapes):
// the sampler's cost every 5 minutes and that of each /admin/progress.
func BenchmarkCut(b *testing.B) {
	inv := plan.New(plan.Options{})
	for i := range plan.DefaultShapes {
		hit(inv, 1, "GET", "/a"+strconv.Itoa(i/64)+"/b"+strconv.Itoa(i%64), "", "", false)
	}
	m := NewMeter(inv)
	b.ReportAllocs()
	for b.Loop() {
		m.Cut(Stages{})
	}
	b.ReportMetric(float64(len(inv.Snapshot().Endpoints)), "endpoints")
}
