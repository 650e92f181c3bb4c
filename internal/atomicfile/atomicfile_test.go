package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name   string
		before string // "" : no file yet
		data   string
	}{
		{"new file", "", "first\n"},
		{"replaces", "old content that is longer\n", "new\n"},
		{"empty", "old\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tc.before != "" {
				if err := os.WriteFile(path, []byte(tc.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(path, []byte(tc.data)); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != tc.data {
				t.Fatalf("content %q, %v; want %q", got, err, tc.data)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("folder holds %d entries, want only the file (no temporary left)", len(entries))
			}
		})
	}
}

// TestWriteFailureLeavesFile: a rename that cannot happen (the path is a
// folder) fails, names the path, and leaves no temporary file.
func TestWriteFailureLeavesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "taken")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := Write(path, []byte("data"))
	if err == nil {
		t.Fatal("replacing a non-empty folder succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d entries after the failure, want 1", len(entries))
	}
}
