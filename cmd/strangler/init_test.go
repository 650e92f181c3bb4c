package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/stage"
)

// TestInit writes a starter file, validates it as strangler validate
// does, and checks that a second run refuses to overwrite it unless
// --force.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "routes.yaml")
	run := func(args ...string) (string, int) {
		t.Helper()
		b, err := exec.Command(binary, append([]string{"init"}, args...)...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(b), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(b), 0
	}
	if got, code := run("--legacy-url", "http://127.0.0.1:8081", "--out", out); code != 0 || !strings.Contains(got, "wrote "+out) {
		t.Fatalf("first init: exit %d\n%s", code, got)
	}
	cfg, err := config.Load(out, config.Source{})
	if err != nil {
		t.Fatalf("the starter file does not validate: %v", config.Problems(err))
	}
	if cfg.Legacy.URL != "http://127.0.0.1:8081" || len(cfg.Routes) != 1 || cfg.Routes[0].Stage != stage.Legacy.String() {
		t.Errorf("starter file: legacy %q, routes %+v; want the monolith set and one route in stage legacy", cfg.Legacy.URL, cfg.Routes)
	}
	for _, tc := range []struct {
		desc string
		args []string
		code int
		want string
	}{
		{"refuses to overwrite", []string{"--legacy-url", "http://127.0.0.1:9000", "--out", out}, 1, out + " already exists; pass --force"},
		{"overwrites with --force", []string{"--legacy-url", "http://127.0.0.1:9000", "--out", out, "--force"}, 0, "wrote " + out},
		{"bad URL", []string{"--legacy-url", "localhost:8081", "--out", filepath.Join(dir, "x.yaml")}, 1, "want the monolith's base URL"},
		{"URL required", []string{"--out", filepath.Join(dir, "y.yaml")}, 1, `"legacy-url" not set`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, code := run(tc.args...)
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, got, tc.code, tc.want)
			}
		})
	}
	if v, code := exec.Command(binary, "validate", out).CombinedOutput(); code != nil || !strings.Contains(string(v), "valid (1 routes") {
		t.Errorf("strangler validate on the --force file: %v\n%s", code, v)
	}
}
