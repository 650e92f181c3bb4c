package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// TestStatusLine builds a real app (not serving) with two routes, makes
// an automatic decision, and checks the figures of the status line.
func TestStatusLine(t *testing.T) {
	path := writeFile(t, `listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
legacy: {url: http://127.0.0.1:1}
services:
  orders: {url: http://127.0.0.1:2}
routes:
  - name: a
    match: {prefix: /a}
    stage: legacy
  - name: b
    match: {prefix: /b}
    service: orders
    stage: shadow
`)
	cfg, err := config.Load(path, config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, zerolog.New(io.Discard), serveOptions{path: path, errOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.proxy.Close()
	if got := a.lastDecision(); got != "none yet" {
		t.Errorf("lastDecision before any = %q", got)
	}
	if _, err := a.control.SetStage(rollout.Change{Route: "b", Source: rollout.SourceAutomation, Reason: "gates held"},
		stage.Position{Stage: stage.Canary.String(), Percent: 25}); err != nil {
		t.Fatal(err)
	}
	if got := a.stageCounts(); got != "legacy 1 shadow 0 canary 1 migrated 0" {
		t.Errorf("stageCounts = %q", got)
	}
	if got := a.lastDecision(); !strings.HasPrefix(got, "b stage shadow → canary 25 (") {
		t.Errorf("lastDecision = %q; want b's move to canary 25", got)
	}
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.Local)
	for _, tc := range []struct {
		desc      string
		prev, cur sideTotals
		elapsed   time.Duration
		want      string
	}{
		{"quiet", sideTotals{5, 5}, sideTotals{5, 5}, 3 * time.Second, "10:00:00  0.0 req/s  - to services"},
		{"a quarter to services", sideTotals{0, 0}, sideTotals{9, 3}, 3 * time.Second, "10:00:00  4.0 req/s  25% to services"},
		{"all to services", sideTotals{1, 1}, sideTotals{1, 7}, 2 * time.Second, "10:00:00  3.0 req/s  100% to services"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := a.statusLine(tc.prev, tc.cur, tc.elapsed, at)
			if !strings.HasPrefix(got, tc.want) || !strings.Contains(got, "legacy 1 shadow 0 canary 1 migrated 0  last: b stage") {
				t.Errorf("statusLine = %q; want it to start %q and name the routes and the decision", got, tc.want)
			}
		})
	}
}
