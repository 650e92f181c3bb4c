package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/progress"
)

// progressServer serves an admin API whose progress comes from a real
// inventory and sampler with three recorded intervals.
func progressServer(t *testing.T) *httptest.Server {
	t.Helper()
	inv := plan.New(plan.Options{})
	s := progress.NewSampler(progress.Options{Inventory: inv, Log: zerolog.Nop(),
		Routes: func() progress.Stages { return progress.Stages{Legacy: 1, Shadow: 1, Migrated: 1} }})
	for i := range 3 {
		for range 10 {
			inv.Observe(plan.Sample{Method: "GET", Path: "/legacy/page", Status: 200})
		}
		for range 10 * (i + 1) {
			inv.Observe(plan.Sample{Method: "GET", Path: "/api/customers/7", Status: 200, Route: "customers",
				Stage: "migrated", Service: true})
		}
		s.Tick(context.Background())
	}
	inv.Observe(plan.Sample{Method: "GET", Path: "/legacy/page", Status: 200, Time: time.Now()})
	srv := httptest.NewServer(admin.New(admin.Deps{Progress: s, Log: zerolog.Nop()}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp, body
}

func TestProgressJSON(t *testing.T) {
	srv := progressServer(t)
	tests := []struct {
		query   string
		samples int
		first   float64 // request share of the first sample
	}{
		{"", 3, 0.5},
		{"?points=2", 2, 0.5},
		{"?format=json&points=1", 1, 60.0 / 90},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := get(t, srv.URL+"/admin/progress"+tt.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var r progress.Report
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if len(r.History) != tt.samples || r.History[0].RequestShare != tt.first {
				t.Fatalf("%d samples, first share %v; want %d, %v", len(r.History), r.History[0].RequestShare, tt.samples, tt.first)
			}
			if r.Now.Requests != 1 || r.SinceStart.Requests != 91 || r.SinceStart.ServiceRequests != 60 || !r.Recording {
				t.Errorf("now %d requests, since start %d (%d served), recording %v; want 1, 91 (60), true",
					r.Now.Requests, r.SinceStart.Requests, r.SinceStart.ServiceRequests, r.Recording)
			}
			if r.EverySeconds != 300 || r.MaxSamples != progress.MaxSamples || r.History[0].Routes.Migrated != 1 {
				t.Errorf("every %d s, max %d, routes %+v", r.EverySeconds, r.MaxSamples, r.History[0].Routes)
			}
		})
	}
}

func TestProgressMarkdownAndErrors(t *testing.T) {
	srv := progressServer(t)
	resp, body := get(t, srv.URL+"/admin/progress?format=md")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/markdown") {
		t.Fatalf("markdown: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"# Migration progress", "| UNTIL |", "| 20 | 50.0% | 2 | 50.0% | 1/1/0/1 |", "| 40 | 75.0% |"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("markdown lacks %q:\n%s", want, body)
		}
	}
	for _, bad := range []struct{ query, field string }{{"points=0", "points"}, {"points=x", "points"},
		{"points=100000", "points"}, {"format=csv", "format"}} {
		resp, body := get(t, srv.URL+"/admin/progress?"+bad.query)
		var e struct{ Field string }
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusBadRequest || e.Field != bad.field {
			t.Errorf("?%s: status %d, %s; want 400 naming %s", bad.query, resp.StatusCode, body, bad.field)
		}
	}
	off := httptest.NewServer(admin.New(admin.Deps{Log: zerolog.Nop()}))
	defer off.Close()
	if resp, _ := get(t, off.URL+"/admin/progress"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("without a sampler: status %d, want 404", resp.StatusCode)
	}
}

func TestProgressNeedsToken(t *testing.T) {
	inv := plan.New(plan.Options{})
	srv := httptest.NewServer(admin.New(admin.Deps{Token: "progress-secret-token-0123456789",
		Progress: progress.NewSampler(progress.Options{Inventory: inv}), Log: zerolog.Nop()}))
	defer srv.Close()
	if resp, _ := get(t, srv.URL+"/admin/progress"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: status %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/admin/progress", nil)
	req.Header.Set("Authorization", "Bearer progress-secret-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with the token: status %d, want 200", resp.StatusCode)
	}
}
