package rollout_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// TestPromoteWalksPlan promotes a route step by step through its plan,
// checking the position, who serves, the version and the event after each
// step, and that promoting past the last step fails without a change.
func TestPromoteWalksPlan(t *testing.T) {
	tests := []struct {
		name string
		plan []string
		want []stage.Position
	}{
		{"default plan", nil, []stage.Position{shadow, canary(5), canary(25), canary(50), migrated}},
		{"custom plan", []string{"canary 10", "migrated"}, []stage.Position{canary(10), migrated}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackends(t)
			e := newEnv(t, b, fileConfig(t, b, defaultRoutes(withPlan(tc.plan...))...))
			e.checkServed("orders", "/orders", legacy)
			from := legacy
			for i, want := range tc.want {
				v, err := e.ctl.Promote(rollout.Change{Route: "orders", Reason: "step"})
				if err != nil {
					t.Fatalf("promote %d: %v", i+1, err)
				}
				if v.Position != want || v.Version != uint64(i+1) || v.File != legacy {
					t.Fatalf("promote %d: at %s version %d file %s, want %s version %d file legacy",
						i+1, v.Position, v.Version, v.File, want, i+1)
				}
				if v.Override == nil || v.Override.Position != want || v.Override.Base != legacy {
					t.Errorf("promote %d: override %+v, want %s over base legacy", i+1, v.Override, want)
				}
				e.checkServed("orders", "/orders", want)
				checkEvent(t, e.lastEvent("orders"), "promote", from, want, rollout.SourceAdmin, "step")
				from = want
			}
			if v := e.view("orders"); v.Next != nil {
				t.Errorf("at the last step Next = %s, want none", *v.Next)
			}
			before := e.stateFile()
			_, err := e.ctl.Promote(rollout.Change{Route: "orders"})
			if !errors.Is(err, rollout.ErrNoStep) {
				t.Fatalf("promote past the plan: %v, want ErrNoStep", err)
			}
			if v := e.view("orders"); v.Version != uint64(len(tc.want)) || v.Position != migrated {
				t.Errorf("after ErrNoStep: %s version %d", v.Position, v.Version)
			}
			if !bytes.Equal(before, e.stateFile()) {
				t.Error("ErrNoStep rewrote the state file")
			}
			if n := len(e.ctl.Audit().List("orders", 0)); n != len(tc.want) {
				t.Errorf("%d events, want %d", n, len(tc.want))
			}
			e.checkServed("orders", "/orders", migrated)
		})
	}
}

// TestRollback sends a route back from each stage: canary and migrated go
// to shadow, shadow to legacy, legacy has nowhere to go.
func TestRollback(t *testing.T) {
	tests := []struct {
		from    stage.Position
		want    stage.Position
		wantErr error
	}{
		{canary(5), shadow, nil},
		{canary(50), shadow, nil},
		{migrated, shadow, nil},
		{shadow, legacy, nil},
		{legacy, legacy, rollout.ErrNoStep},
	}
	for _, tc := range tests {
		t.Run(tc.from.String(), func(t *testing.T) {
			b := newBackends(t)
			e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
			var version uint64
			if tc.from != legacy {
				v, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, tc.from)
				if err != nil {
					t.Fatal(err)
				}
				version = v.Version
			}
			e.checkServed("orders", "/orders", tc.from)
			v, err := e.ctl.Rollback(rollout.Change{Route: "orders", Reason: "errors up", Source: rollout.SourceAutomation})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Rollback: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if got := e.view("orders"); got.Version != version || got.Position != tc.from {
					t.Errorf("failed rollback changed the route: %s version %d", got.Position, got.Version)
				}
				e.checkServed("orders", "/orders", tc.from)
				return
			}
			if v.Position != tc.want || v.Version != version+1 {
				t.Errorf("after rollback: %s version %d, want %s version %d", v.Position, v.Version, tc.want, version+1)
			}
			e.checkServed("orders", "/orders", tc.want)
			checkEvent(t, e.lastEvent("orders"), "rollback", tc.from, tc.want, rollout.SourceAutomation, "errors up")
		})
	}
}

// TestSetStageAndReset sets positions directly, then resets the override
// so that the file's position serves again.
func TestSetStageAndReset(t *testing.T) {
	tests := []struct {
		name string
		file stage.Position
		set  stage.Position
	}{
		{"legacy to migrated", legacy, migrated},
		{"legacy to canary 30", legacy, canary(30)},
		{"canary 25 to shadow", canary(25), shadow},
		{"migrated to legacy", migrated, legacy},
		{"canary 25 to canary 75", canary(25), canary(75)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackends(t)
			e := newEnv(t, b, fileConfig(t, b, defaultRoutes(withStage(tc.file))...))
			e.checkServed("orders", "/orders", tc.file)

			v, err := e.ctl.SetStage(rollout.Change{Route: "orders", Reason: "by hand"}, tc.set)
			if err != nil {
				t.Fatal(err)
			}
			if v.Position != tc.set || v.File != tc.file || v.Version != 1 || v.Override == nil {
				t.Fatalf("after SetStage: %+v", v)
			}
			if v.Override.Source != rollout.SourceAdmin || v.Override.Reason != "by hand" || v.Override.At.IsZero() {
				t.Errorf("override = %+v", *v.Override)
			}
			e.checkServed("orders", "/orders", tc.set)
			e.checkServed("payments", "/payments", legacy)
			checkEvent(t, e.lastEvent("orders"), "stage", tc.file, tc.set, rollout.SourceAdmin, "by hand")

			v, err = e.ctl.Reset(rollout.Change{Route: "orders", Reason: "undo"})
			if err != nil {
				t.Fatal(err)
			}
			if v.Position != tc.file || v.Version != 2 || v.Override != nil {
				t.Fatalf("after Reset: %+v", v)
			}
			e.checkServed("orders", "/orders", tc.file)
			checkEvent(t, e.lastEvent("orders"), "reset", tc.set, tc.file, rollout.SourceAdmin, "undo")

			before := e.stateFile()
			if _, err := e.ctl.Reset(rollout.Change{Route: "orders"}); !errors.Is(err, rollout.ErrNoOverride) {
				t.Errorf("second Reset: %v, want ErrNoOverride", err)
			}
			if !bytes.Equal(before, e.stateFile()) || e.view("orders").Version != 2 {
				t.Error("a failed Reset changed the state")
			}
		})
	}
}

// TestRejectedChanges checks that invalid changes fail like the file
// would, naming the request field, and leave the state file, the version,
// the audit trail and the served side as they were.
func TestRejectedChanges(t *testing.T) {
	tests := []struct {
		name      string
		do        func(*rollout.Controller) error
		wantField string // "" for a sentinel error
		wantErr   error
		route     string // route whose state must not change
		prefix    string
	}{
		{name: "unknown stage", wantField: "stage", route: "orders", prefix: "/orders",
			do: func(c *rollout.Controller) error {
				_, err := c.SetStage(rollout.Change{Route: "orders"}, stage.Position{Stage: "bogus"})
				return err
			}},
		{name: "percent above 100", wantField: "percent", route: "orders", prefix: "/orders",
			do: func(c *rollout.Controller) error {
				_, err := c.SetStage(rollout.Change{Route: "orders"}, canary(101))
				return err
			}},
		{name: "negative percent", wantField: "percent", route: "orders", prefix: "/orders",
			do: func(c *rollout.Controller) error {
				_, err := c.SetStage(rollout.Change{Route: "orders"}, canary(-1))
				return err
			}},
		{name: "canary without a service", wantField: "stage", route: "reports", prefix: "/reports",
			do: func(c *rollout.Controller) error {
				_, err := c.SetStage(rollout.Change{Route: "reports"}, canary(10))
				return err
			}},
		{name: "promote without a service", wantField: "stage", route: "reports", prefix: "/reports",
			do: func(c *rollout.Controller) error {
				_, err := c.Promote(rollout.Change{Route: "reports"})
				return err
			}},
		{name: "unknown route", wantErr: rollout.ErrUnknownRoute, route: "orders", prefix: "/orders",
			do: func(c *rollout.Controller) error {
				_, err := c.SetStage(rollout.Change{Route: "nope"}, shadow)
				return err
			}},
		{name: "promote unknown route", wantErr: rollout.ErrUnknownRoute, route: "orders", prefix: "/orders",
			do: func(c *rollout.Controller) error {
				_, err := c.Promote(rollout.Change{Route: "nope"})
				return err
			}},
		{name: "reset unknown route", wantErr: rollout.ErrUnknownRoute, route: "orders", prefix: "/orders",
			do: func(c *rollout.Controller) error {
				_, err := c.Reset(rollout.Change{Route: "nope"})
				return err
			}},
		{name: "stale version", wantErr: rollout.ErrConflict, route: "orders", prefix: "/orders",
			do: func(c *rollout.Controller) error {
				_, err := c.SetStage(rollout.Change{Route: "orders", IfVersion: ptr[uint64](0)}, legacy)
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackends(t)
			e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
			// One accepted change first, so that there is a state file
			// and a version to keep.
			if _, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, migrated); err != nil {
				t.Fatal(err)
			}
			before := e.stateFile()
			if before == nil {
				t.Fatal("no state file after a change")
			}
			view := e.view(tc.route)
			events := len(e.ctl.Audit().List("", 0))
			eff := e.ctl.Effective()

			err := tc.do(e.ctl)
			if tc.wantField != "" {
				var fe *rollout.FieldError
				if !errors.As(err, &fe) || fe.Field != tc.wantField {
					t.Fatalf("error %v (%T), want *FieldError on %q", err, err, tc.wantField)
				}
				if fe.Reason == "" {
					t.Error("FieldError without a reason")
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}

			if !bytes.Equal(before, e.stateFile()) {
				t.Error("a rejected change rewrote the state file")
			}
			after := e.view(tc.route)
			if after.Position != view.Position || after.Version != view.Version || (after.Override == nil) != (view.Override == nil) {
				t.Errorf("route changed: %+v -> %+v", view, after)
			}
			if n := len(e.ctl.Audit().List("", 0)); n != events {
				t.Errorf("%d events after a rejected change, want %d", n, events)
			}
			if e.ctl.Effective() != eff {
				t.Error("the effective config was replaced")
			}
			e.checkServed(tc.route, tc.prefix, view.Position)
		})
	}
}

// TestIfVersion refuses a change based on a stale view and accepts one
// based on the current version.
func TestIfVersion(t *testing.T) {
	b := newBackends(t)
	e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
	if _, err := e.ctl.Promote(rollout.Change{Route: "orders"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		version   uint64
		wantErr   error
		wantAfter uint64
	}{
		{"stale version", 0, rollout.ErrConflict, 1},
		{"future version", 7, rollout.ErrConflict, 1},
		{"current version", 1, nil, 2},
		{"version just used is stale", 1, rollout.ErrConflict, 2},
		{"new current version", 2, nil, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ctl.Promote(rollout.Change{Route: "orders", IfVersion: ptr(tc.version)})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Promote(if_version %d): %v, want %v", tc.version, err, tc.wantErr)
			}
			if v := e.view("orders"); v.Version != tc.wantAfter {
				t.Errorf("version %d, want %d", v.Version, tc.wantAfter)
			}
		})
	}
	// Versions are per route: payments is still at 0.
	if _, err := e.ctl.SetStage(rollout.Change{Route: "payments", IfVersion: ptr[uint64](0)}, shadow); err != nil {
		t.Errorf("payments at version 0: %v", err)
	}
}

// TestNotLoaded refuses changes before the first file is loaded.
func TestNotLoaded(t *testing.T) {
	ctl, err := rollout.New(rollout.Options{Store: rollout.FileStore{Path: t.TempDir() + "/state.json"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Promote(rollout.Change{Route: "orders"}); !errors.Is(err, rollout.ErrNotLoaded) {
		t.Errorf("Promote before LoadFile: %v, want ErrNotLoaded", err)
	}
	if got := ctl.Routes(); len(got) != 0 {
		t.Errorf("Routes before LoadFile = %v", got)
	}
}
