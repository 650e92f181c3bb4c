package rollout_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/rollout"
)

func sampleState() rollout.State {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return rollout.State{
		Overrides: map[string]rollout.Override{
			"orders": {Position: canary(25), Source: rollout.SourceAdmin, Reason: "ramp", At: at, Base: legacy},
		},
		Versions: map[string]uint64{"orders": 3, "payments": 1},
		Events: []rollout.Event{
			{ID: 1, Time: at, Route: "orders", Action: "promote", From: legacy, To: shadow, Source: rollout.SourceAdmin},
			{ID: 2, Time: at, Route: "payments", Action: "file", From: legacy, To: migrated, Source: rollout.SourceFile},
		},
	}
}

// TestFileStore checks loading and saving the state file.
func TestFileStore(t *testing.T) {
	tests := []struct {
		name    string
		content *string // nil: no file
		want    rollout.State
		wantErr string // substring; "" means success
	}{
		{name: "missing file is empty state", content: nil, want: rollout.State{}},
		{name: "corrupt file", content: ptr(`{"overrides": {`), wantErr: "corrupt"},
		{name: "wrong types", content: ptr(`{"versions": {"orders": "three"}}`), wantErr: "corrupt"},
		{name: "empty object", content: ptr(`{}`), want: rollout.State{}},
		{name: "override percent over 100", wantErr: `overrides["orders"].percent: must be between 0 and 100, got 150`,
			content: ptr(`{"overrides": {"orders": {"stage": "canary", "percent": 150, "base": {"stage": "legacy"}}}}`)},
		{name: "override percent negative", wantErr: `overrides["orders"].percent: must be between 0 and 100, got -5`,
			content: ptr(`{"overrides": {"orders": {"stage": "canary", "percent": -5, "base": {"stage": "legacy"}}}}`)},
		{name: "override unknown stage", wantErr: `overrides["orders"].stage: unknown stage "beta"`,
			content: ptr(`{"overrides": {"orders": {"stage": "beta", "base": {"stage": "legacy"}}}}`)},
		{name: "override without a stage", wantErr: `overrides["orders"].stage: unknown stage ""`,
			content: ptr(`{"overrides": {"orders": {"percent": 5, "base": {"stage": "legacy"}}}}`)},
		{name: "override base unknown stage", wantErr: `overrides["orders"].base.stage: unknown stage "later"`,
			content: ptr(`{"overrides": {"orders": {"stage": "shadow", "base": {"stage": "later"}}}}`)},
		{name: "every problem at once", wantErr: `overrides["a"].percent: must be between 0 and 100, got 101` + "\n" +
			`overrides["b"].stage: unknown stage "x"`,
			content: ptr(`{"overrides": {"b": {"stage": "x", "base": {"stage": "legacy"}}, "a": {"stage": "canary", "percent": 101, "base": {"stage": "legacy"}}}}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if tc.content != nil {
				if err := os.WriteFile(path, []byte(*tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := rollout.FileStore{Path: path}.Load()
			if tc.wantErr != "" {
				for _, want := range strings.Split(tc.wantErr, "\n") { // each line: one problem
					if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
						t.Fatalf("Load: %v, want an error naming %s and %q", err, path, want)
					}
				}
				// A controller refuses to start on it rather than
				// forgetting the overrides.
				if _, err := rollout.New(rollout.Options{Store: rollout.FileStore{Path: path}}); err == nil {
					t.Error("New started on a corrupt state file")
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Load = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestFileStoreRoundTrip saves, loads and replaces the state, leaving no
// temporary files behind.
func TestFileStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	store := rollout.FileStore{Path: filepath.Join(dir, "state.json")}
	first := sampleState()
	second := sampleState()
	second.Versions["orders"] = 4
	delete(second.Overrides, "orders")
	for i, st := range []rollout.State{first, second} {
		if err := store.Save(st); err != nil {
			t.Fatalf("Save %d: %v", i, err)
		}
		got, err := store.Load()
		if err != nil {
			t.Fatalf("Load %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, st) {
			t.Errorf("round trip %d:\n got %+v\nwant %+v", i, got, st)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "state.json" {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("directory holds %v, want only state.json", names)
		}
	}
}

// unwritable makes dir refuse new files: mode 0500, or, as root (where
// permissions are not enforced), a regular file in its place.
func unwritable(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFileStoreSaveFails saves into a directory that refuses writes.
func TestFileStoreSaveFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	unwritable(t, dir)
	if err := (rollout.FileStore{Path: filepath.Join(dir, "state.json")}).Save(sampleState()); err == nil {
		t.Fatal("Save into an unwritable directory succeeded")
	}
}

// TestChangeFailsWhenStateUnwritable: a change that cannot be persisted
// is refused, and neither the served side nor the controller's state
// moves. Changes work again once the directory does.
func TestChangeFailsWhenStateUnwritable(t *testing.T) {
	changes := []struct {
		name string
		do   func(*rollout.Controller) (rollout.RouteView, error)
	}{
		{"set stage", func(c *rollout.Controller) (rollout.RouteView, error) {
			return c.SetStage(rollout.Change{Route: "orders"}, migrated)
		}},
		{"promote", func(c *rollout.Controller) (rollout.RouteView, error) {
			return c.Promote(rollout.Change{Route: "orders"})
		}},
		{"rollback", func(c *rollout.Controller) (rollout.RouteView, error) {
			return c.Rollback(rollout.Change{Route: "orders"})
		}},
		{"reset", func(c *rollout.Controller) (rollout.RouteView, error) {
			return c.Reset(rollout.Change{Route: "orders"})
		}},
	}
	for _, tc := range changes {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackends(t)
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			e := startEnv(t, b, rollout.FileStore{Path: filepath.Join(dir, "state.json")}, nil,
				fileConfig(t, b, defaultRoutes()...))
			// canary 50: every change above moves it somewhere else.
			if _, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, canary(50)); err != nil {
				t.Fatal(err)
			}
			before := e.view("orders")
			events := e.ctl.Audit().List("", 0)
			eff := e.ctl.Effective()
			unwritable(t, dir)

			if _, err := tc.do(e.ctl); err == nil || !strings.Contains(err.Error(), "persisting rollout state") {
				t.Fatalf("change with an unwritable state dir: %v, want a persisting error", err)
			}
			after := e.view("orders")
			if after.Position != before.Position || after.Version != before.Version || after.Override == nil ||
				*after.Override != *before.Override {
				t.Errorf("in-memory state changed: %+v -> %+v", before, after)
			}
			if got := e.ctl.Audit().List("", 0); !slices.Equal(ids(got), ids(events)) {
				t.Errorf("events %v, want %v", ids(got), ids(events))
			}
			if e.ctl.Effective() != eff || e.proxy.Config() != eff {
				t.Error("the effective config was replaced")
			}
			e.checkServed("orders", "/orders", canary(50))

			// A reload that changes nothing still works: nothing to save.
			if err := e.ctl.LoadFile(fileConfig(t, b, defaultRoutes()...)); err != nil {
				t.Errorf("LoadFile without changes: %v", err)
			}
			// A reload that changes a position must be persisted too.
			if err := e.ctl.LoadFile(fileConfig(t, b, defaultRoutes(withStage(shadow))...)); err == nil {
				t.Error("LoadFile with changes succeeded without persisting them")
			}
			if v := e.view("orders"); v.Position != canary(50) || v.Version != before.Version {
				t.Errorf("after the failed reload: %s version %d", v.Position, v.Version)
			}
			e.checkServed("orders", "/orders", canary(50))
		})
	}
}

// TestLoadFileWithoutChangesDoesNotWrite: starting and reloading an
// unchanged file never creates the state file, so a read-only config
// directory does not stop a proxy nobody steers.
func TestLoadFileWithoutChangesDoesNotWrite(t *testing.T) {
	tests := []struct {
		name   string
		reload bool
	}{
		{"start", false},
		{"start and reload", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackends(t)
			dir := t.TempDir()
			e := startEnv(t, b, rollout.FileStore{Path: filepath.Join(dir, "state.json")}, nil,
				fileConfig(t, b, defaultRoutes(withStage(canary(10)))...))
			if tc.reload {
				if err := e.ctl.LoadFile(fileConfig(t, b, defaultRoutes(withStage(canary(10)))...)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(e.store.Path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state file after LoadFile without changes: %v", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("directory not empty: %v", entries)
			}
			if n := len(e.ctl.Audit().List("", 0)); n != 0 {
				t.Errorf("%d events", n)
			}
			e.checkServed("orders", "/orders", canary(10))
		})
	}
}

// TestApplyFailureRestoresState: when the proxy refuses a config after the
// state was saved, the state file is put back and nothing changes.
func TestApplyFailureRestoresState(t *testing.T) {
	b := newBackends(t)
	e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
	if _, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, migrated); err != nil {
		t.Fatal(err)
	}
	saved := e.stateFile()
	before := e.view("orders")
	eff := e.ctl.Effective()
	// A file the proxy cannot build (it skipped validation) that also
	// supersedes the override, so the controller has something to save.
	bad := fileConfig(t, b, defaultRoutes(withStage(shadow))...)
	bad.Routes[1].Stage = "bogus"
	err := e.ctl.LoadFile(bad)
	if err == nil || !strings.Contains(err.Error(), "applying routes") {
		t.Fatalf("LoadFile of a config the proxy refuses: %v", err)
	}
	if got := e.stateFile(); string(got) != string(saved) {
		t.Errorf("state file not restored:\n got %s\nwant %s", got, saved)
	}
	if after := e.view("orders"); after.Position != migrated || after.Version != before.Version || after.Override == nil {
		t.Errorf("route changed: %+v", after)
	}
	if e.ctl.Effective() != eff || e.proxy.Config() != eff {
		t.Error("the effective config was replaced")
	}
	if n := len(e.ctl.Audit().List("", 0)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
	e.checkServed("orders", "/orders", migrated)
}

// TestOverrideTheRouteCannotTake: a saved override that is valid in
// itself but that the route as the file has it cannot take (a stage that
// needs a service the route does not name) is dropped at load with an
// audit event, and the file's position serves; nothing else is lost.
func TestOverrideTheRouteCannotTake(t *testing.T) {
	b := newBackends(t)
	for _, tc := range []struct {
		name, override string
	}{
		{"migrated without a service", `{"stage": "migrated"}`},
		{"canary without a service", `{"stage": "canary", "percent": 20}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			state := `{"overrides": {
				"reports": ` + strings.TrimSuffix(tc.override, "}") + `, "source": "admin", "base": {"stage": "legacy"}},
				"orders": {"stage": "shadow", "source": "admin", "base": {"stage": "legacy"}}}}`
			if err := os.WriteFile(path, []byte(state), 0o600); err != nil {
				t.Fatal(err)
			}
			e := startEnv(t, b, rollout.FileStore{Path: path}, nil, fileConfig(t, b, defaultRoutes()...))
			if v := e.view("reports"); v.Position != legacy || v.Override != nil {
				t.Errorf("reports: %+v, want the file's legacy without override", v)
			}
			if ev := e.lastEvent("reports"); ev.Action != "override-invalid" || ev.To != legacy || !strings.Contains(ev.Reason, "service") {
				t.Errorf("last event of reports = %+v, want override-invalid naming the service", ev)
			}
			if v := e.view("orders"); v.Position != shadow || v.Override == nil {
				t.Errorf("orders lost its valid override: %+v", v)
			}
			e.checkServed("orders", "/orders", shadow)
			if saved := string(e.stateFile()); strings.Contains(saved, `"reports": {`) {
				t.Errorf("the dropped override is still saved:\n%s", saved)
			}
		})
	}
}
