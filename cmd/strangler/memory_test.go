package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerMemory(t *testing.T) {
	for _, tc := range []struct {
		desc, file, content string
		want                int64
	}{
		{"cgroup v2 limit", "memory.max", "536870912\n", 512 << 20},
		{"cgroup v2 unlimited", "memory.max", "max\n", 0},
		{"cgroup v1 limit", "memory/memory.limit_in_bytes", "1073741824\n", 1 << 30},
		{"cgroup v1 unlimited", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0},
		{"no cgroup files", "", "", 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			if tc.file != "" {
				path := filepath.Join(root, tc.file)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := containerMemory(root); got != tc.want {
				t.Errorf("containerMemory = %d; want %d", got, tc.want)
			}
		})
	}
}
