package rollout_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// writeYAML writes a route file pointing at b and loads it with
// config.Load, the way the process reads it at start and on reload.
func writeYAML(t *testing.T, dir string, b backends, routes string) *config.Config {
	t.Helper()
	path := filepath.Join(dir, "strangler.yaml")
	yaml := "listen: 127.0.0.1:0\n" +
		"legacy:\n  url: " + b.monolith.URL + "\n" +
		"services:\n  orders:\n    url: " + b.orders.URL + "\n" +
		"routes:\n" + routes
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Source{})
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return cfg
}

const yamlRoutes = `
  - name: orders
    match: {prefix: /orders}
    service: orders
    sticky: header:X-User
    stage: legacy
    plan: ["canary 10", "migrated"]
  - name: payments
    match: {prefix: /payments}
    service: orders
    sticky: header:X-User
`

// TestOverrideSurvivesRestart makes a change, then starts a new
// controller and proxy on the same state file and route file: the
// override serves, with its version and events.
func TestOverrideSurvivesRestart(t *testing.T) {
	b := newBackends(t)
	dir := t.TempDir()
	file := writeYAML(t, dir, b, yamlRoutes)
	store := rollout.FileStore{Path: file.StateFile}
	if want := filepath.Join(dir, config.DefaultStateFile); store.Path != want {
		t.Fatalf("state file %s, want %s", store.Path, want)
	}
	e := startEnv(t, b, store, nil, file)
	if _, err := e.ctl.Promote(rollout.Change{Route: "orders", Reason: "go"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctl.Promote(rollout.Change{Route: "orders", Reason: "go on"}); err != nil {
		t.Fatal(err)
	}
	e.checkServed("orders", "/orders", migrated)

	restarted := startEnv(t, b, store, nil, writeYAML(t, dir, b, yamlRoutes))
	v := restarted.view("orders")
	if v.Position != migrated || v.File != legacy || v.Version != 2 || v.Override == nil || v.Override.Reason != "go on" {
		t.Fatalf("after restart: %+v", v)
	}
	restarted.checkServed("orders", "/orders", migrated)
	if n := len(restarted.ctl.Audit().List("orders", 0)); n != 2 {
		t.Errorf("%d events after restart, want 2", n)
	}
	// The override still steers: rolling back works from where it was.
	if v, err := restarted.ctl.Rollback(rollout.Change{Route: "orders"}); err != nil || v.Position != shadow || v.Version != 3 {
		t.Errorf("Rollback after restart: %+v, %v", v, err)
	}
}

// TestFilePrecedence changes the file under an override: a newer file
// decision about the overridden route wins, other edits keep it.
func TestFilePrecedence(t *testing.T) {
	tests := []struct {
		name     string
		file     stage.Position // orders in the first file
		override stage.Position
		next     []config.Route // the reloaded file's routes
		want     stage.Position
		kept     bool     // the override survives
		actions  []string // new events of orders, newest first
	}{
		{
			name: "file changes the stage", file: legacy, override: migrated,
			next: defaultRoutes(withStage(shadow)), want: shadow,
			actions: []string{"file", "override-superseded"},
		},
		{
			name: "file changes the stage to the override's", file: legacy, override: shadow,
			next: defaultRoutes(withStage(shadow)), want: shadow,
			actions: []string{"override-superseded"},
		},
		{
			name: "file changes the canary percent", file: canary(10), override: shadow,
			next: defaultRoutes(withStage(canary(20))), want: canary(20),
			actions: []string{"file", "override-superseded"},
		},
		{
			name: "file changes another route", file: legacy, override: migrated,
			next: []config.Route{
				fileRoute("orders", "/orders"),
				fileRoute("payments", "/payments", withStage(migrated)),
				{Name: "reports", Match: config.Match{Prefix: "/reports"}},
			},
			want: migrated, kept: true,
		},
		{
			name: "file changes the route but not its position", file: legacy, override: canary(25),
			next: []config.Route{
				fileRoute("orders", "/orders", withPlan("shadow", "migrated"), func(r *config.Route) { r.Percent = 40 }),
				fileRoute("payments", "/payments"),
				{Name: "reports", Match: config.Match{Prefix: "/reports"}},
			},
			want: canary(25), kept: true,
		},
		{
			name: "file unchanged", file: canary(10), override: migrated,
			next: defaultRoutes(withStage(canary(10))), want: migrated, kept: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackends(t)
			e := newEnv(t, b, fileConfig(t, b, defaultRoutes(withStage(tc.file))...))
			if _, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, tc.override); err != nil {
				t.Fatal(err)
			}
			if err := e.ctl.LoadFile(fileConfig(t, b, tc.next...)); err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			v := e.view("orders")
			if v.Position != tc.want || (v.Override != nil) != tc.kept {
				t.Fatalf("orders at %s override %v, want %s kept=%v", v.Position, v.Override, tc.want, tc.kept)
			}
			if v.Version != uint64(1+len(tc.actions)) {
				t.Errorf("version %d, want %d", v.Version, 1+len(tc.actions))
			}
			e.checkServed("orders", "/orders", tc.want)
			evs := e.ctl.Audit().List("orders", 0)
			if len(evs) != 1+len(tc.actions) {
				t.Fatalf("events %+v, want %d new", evs, len(tc.actions))
			}
			for i, action := range tc.actions {
				if evs[i].Action != action || evs[i].Source != rollout.SourceFile {
					t.Errorf("event %d: %s from %s, want %s from file", i, evs[i].Action, evs[i].Source, action)
				}
			}
			if len(tc.actions) > 0 {
				sup := evs[len(tc.actions)-1]
				if sup.From != tc.override || sup.To != tc.want {
					t.Errorf("override-superseded from %s to %s, want %s to %s", sup.From, sup.To, tc.override, tc.want)
				}
			}
			// Whatever happened is what a restart sees.
			restarted := startEnv(t, b, e.store, nil, fileConfig(t, b, tc.next...))
			if rv := restarted.view("orders"); rv.Position != tc.want || rv.Version != v.Version {
				t.Errorf("after restart: %s version %d, want %s version %d", rv.Position, rv.Version, tc.want, v.Version)
			}
		})
	}
}

// TestRouteRemovedFromFile drops the override of a route the file no
// longer has, records it, and does not bring it back after a restart.
func TestRouteRemovedFromFile(t *testing.T) {
	b := newBackends(t)
	e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
	if _, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, migrated); err != nil {
		t.Fatal(err)
	}
	e.checkServed("orders", "/orders", migrated)
	rest := []config.Route{fileRoute("payments", "/payments")}
	if err := e.ctl.LoadFile(fileConfig(t, b, rest...)); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.ctl.Route("orders"); ok {
		t.Fatal("orders still listed")
	}
	// Unclaimed now: the monolith serves it.
	if got := e.serve("/orders/1", "anyone"); got != monolith {
		t.Errorf("/orders served by %s after removal", got)
	}
	var actions []string
	for _, ev := range e.ctl.Audit().List("orders", 0) {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, ","); got != "removed,override-superseded,stage" {
		t.Errorf("events of orders (newest first) = %s", got)
	}
	if ev := e.lastEvent("orders"); ev.From != migrated || ev.Source != rollout.SourceFile {
		t.Errorf("removed event = %+v", ev)
	}
	// Bringing the route back gives the file's position, not the old
	// override.
	if err := e.ctl.LoadFile(fileConfig(t, b, defaultRoutes()...)); err != nil {
		t.Fatal(err)
	}
	if v := e.view("orders"); v.Position != legacy || v.Override != nil {
		t.Errorf("re-added orders: %+v", v)
	}
	restarted := startEnv(t, b, e.store, nil, fileConfig(t, b, defaultRoutes()...))
	if v := restarted.view("orders"); v.Position != legacy || v.Override != nil {
		t.Errorf("after restart: %+v", v)
	}
	restarted.checkServed("orders", "/orders", legacy)
}

// TestOverrideDroppedWhileStopped: a file edited while the process was
// down supersedes the override on the next start.
func TestOverrideDroppedWhileStopped(t *testing.T) {
	b := newBackends(t)
	e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
	if _, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, migrated); err != nil {
		t.Fatal(err)
	}
	restarted := startEnv(t, b, e.store, nil, fileConfig(t, b, defaultRoutes(withStage(shadow))...))
	if v := restarted.view("orders"); v.Position != shadow || v.Override != nil {
		t.Errorf("after restart with an edited file: %+v", v)
	}
	restarted.checkServed("orders", "/orders", shadow)
	if ev := restarted.lastEvent("orders"); ev.Action != "override-superseded" || ev.From != migrated || ev.To != shadow {
		t.Errorf("last event %+v", ev)
	}
}
