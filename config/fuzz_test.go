package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzConfigLoad feeds arbitrary bytes to Parse. Seeds live in
// testdata/fuzz/FuzzConfigLoad. Parse must never panic; it returns either
// an error naming the file or a config that stays valid, and unchanged,
// when validated again.
func FuzzConfigLoad(f *testing.F) {
	const name = "fuzz.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, name, Source{})
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned both a config and %v", err)
			}
			for _, p := range Problems(err) {
				if !namesFile(p, name) {
					t.Fatalf("problem %q does not name the file", p)
				}
			}
			return
		}
		if cfg == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		want, err := Parse(data, name, Source{}) // an identical config, never validated
		if err != nil {
			t.Fatalf("second Parse of the same bytes: %v", err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Validate of a parsed config: %v", err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("second Validate: %v", err)
		}
		if d := cmp.Diff(want, cfg, cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("Validate changed a parsed config (-before +after):\n%s", d)
		}
	})
}

// TestAliasBomb checks that a billion-laughs file (the committed fuzz seed)
// is refused quickly rather than expanded.
func TestAliasBomb(t *testing.T) {
	seed, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzConfigLoad", "alias_bomb"))
	if err != nil {
		t.Fatal(err)
	}
	// Decode the single []byte("...") line of the corpus file.
	lines := strings.SplitN(string(seed), "\n", 3)
	if len(lines) < 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("unexpected seed format: %q", seed)
	}
	data := parseSeedBytes(t, lines[1])
	start := time.Now()
	_, err = Parse(data, "bomb.yaml", Source{})
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Parse took %s", elapsed)
	}
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml: (file): not valid YAML") {
		t.Errorf("err = %v, want a YAML error", err)
	}
	if !strings.Contains(err.Error(), "alias") {
		t.Errorf("err = %v, want it to mention aliasing", err)
	}
}

func parseSeedBytes(t *testing.T, line string) []byte {
	t.Helper()
	s, ok := strings.CutPrefix(line, "[]byte(")
	if !ok {
		t.Fatalf("seed line %q is not []byte(...)", line)
	}
	s, ok = strings.CutSuffix(s, ")")
	if !ok {
		t.Fatalf("seed line %q is not []byte(...)", line)
	}
	u, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("seed line %q: %v", line, err)
	}
	return []byte(u)
}
