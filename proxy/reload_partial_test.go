package proxy

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// TestReloadNeverAppliesPausedPartialWrite: a writer rewrites the route
// file in place and pauses mid-write for longer than the debounce, at a
// cut that validates (prefix: / would send every path to the payments
// service). The reloader, watching for real, never installs that table.
func TestReloadNeverAppliesPausedPartialWrite(t *testing.T) {
	mono, svc := testutil.NewBackend(t, "monolith"), testutil.NewBackend(t, "payments")
	head := "listen: \"127.0.0.1:0\"\nadmin: {listen: \"127.0.0.1:0\"}\nlegacy: {url: \"" + mono.URL +
		"\"}\nservices:\n  payments: {url: \"" + svc.URL + "\"}\nroutes:\n  - name: payments\n    service: payments\n"
	tests := []struct {
		name, body string
		cut        string // the file is written up to and including this, then pauses
	}{
		{"cut leaves prefix: /", "    stage: migrated\n    match:\n      prefix: /payments/\n", "prefix: /"},
		{"cut leaves stage: migrated on a wider route", "    stage: migrated\n    match:\n      prefix: /payments/refunds/\n", "prefix: /payments/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "strangler.yaml")
			full := head + tc.body
			start := head + "    stage: legacy\n    match:\n      prefix: /payments/\n"
			writeRoutes(t, path, start)
			cfg, err := config.Load(path, config.Source{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(cfg, Options{Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			var mu sync.Mutex
			var applied []string
			ch := make(chan string, 16)
			r := &Reloader{Proxy: p, Path: path, Done: func(_ string, err error) {
				if err == nil {
					s := tableSummary(p.Config())
					mu.Lock()
					applied = append(applied, s)
					mu.Unlock()
					ch <- s
				}
			}}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { r.Run(ctx) })
			defer func() { cancel(); wg.Wait() }()
			n := 0
			waitApplied(t, ch, func() { n++; writeRoutes(t, path, start+"# warm-up "+strconv.Itoa(n)+"\n") }, "legacy /payments/")

			cut := strings.Index(full, tc.cut) + len(tc.cut)
			if _, err := config.Parse([]byte(full[:cut]), "partial", config.Source{}); err != nil {
				t.Fatalf("the partial file must validate for this test to mean anything: %v", err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.WriteString(full[:cut])
			time.Sleep(config.DefaultDebounce * 3 / 2)
			_, _ = f.WriteString(full[cut:])
			f.Close()
			want := tableSummary(mustParse(t, full))
			waitApplied(t, ch, nil, want)
			mu.Lock()
			defer mu.Unlock()
			for _, s := range applied {
				if s != want && s != "legacy /payments/" {
					t.Errorf("a partial file was applied: route table %q (applied in order: %q)", s, applied)
				}
			}
		})
	}
}

func writeRoutes(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t *testing.T, content string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(content), "full", config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tableSummary names the first route's stage and prefix.
func tableSummary(cfg *config.Config) string {
	if len(cfg.Routes) == 0 {
		return "(no routes)"
	}
	return cfg.Routes[0].Stage + " " + cfg.Routes[0].Match.Prefix
}

// waitApplied calls poke (if any) until a reload applies want, for up to
// 10 s: the watcher starts on another goroutine and misses changes made
// before it is set up.
func waitApplied(t *testing.T, ch <-chan string, poke func(), want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		if poke != nil && i%10 == 0 {
			poke()
		}
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no reload applied %q within 10 s", want)
		}
	}
}
