package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/stage"
)

// configDir lays out a config file the way a Kubernetes ConfigMap mount
// does: path -> ..data/config.yaml, ..data -> a versioned directory.
type configDir struct {
	t       *testing.T
	dir     string
	version int
}

func newConfigDir(t *testing.T, content string) *configDir {
	d := &configDir{t: t, dir: t.TempDir()}
	d.writeVersionDir(content)
	if err := os.Symlink("..v0", filepath.Join(d.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "config.yaml"), d.path()); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *configDir) path() string { return filepath.Join(d.dir, "config.yaml") }

func (d *configDir) current() string {
	return filepath.Join(d.dir, fmt.Sprintf("..v%d", d.version), "config.yaml")
}

func (d *configDir) writeVersionDir(content string) string {
	name := fmt.Sprintf("..v%d", d.version)
	if err := os.MkdirAll(filepath.Join(d.dir, name), 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, name, "config.yaml"), []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
	return name
}

// writeInPlace truncates and rewrites the file the path resolves to.
func (d *configDir) writeInPlace(content string) {
	if err := os.WriteFile(d.current(), []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// rename writes a temp file next to the real one and renames it over.
func (d *configDir) rename(content string) {
	tmp := d.current() + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, d.current()); err != nil {
		d.t.Fatal(err)
	}
}

// swapSymlink creates a new version directory and atomically repoints
// ..data at it, as the kubelet does.
func (d *configDir) swapSymlink(content string) {
	d.version++
	name := d.writeVersionDir(content)
	tmp := filepath.Join(d.dir, "..data_tmp")
	if err := os.Symlink(name, tmp); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "..data")); err != nil {
		d.t.Fatal(err)
	}
}

func routeFile(legacyURL, svcURL, stage string, percent int, version int) string {
	return fmt.Sprintf(`# version %d
listen: "127.0.0.1:0"
legacy:
  url: %s
services:
  orders:
    url: %s
routes:
  - name: r
    match: {prefix: /api/}
    service: orders
    stage: %s
    percent: %d
`, version, legacyURL, svcURL, stage, percent)
}

// TestHotReloadUnderLoad rewrites the route file many times (in place, by
// rename and by symlink swap; valid and invalid) while clients hammer the
// proxy. No request may fail; invalid versions are rejected and the last
// good table keeps serving.
func TestHotReloadUnderLoad(t *testing.T) {
	mono, svc := testutil.NewBackend(t, "monolith"), testutil.NewBackend(t, "orders")
	dir := newConfigDir(t, routeFile(mono.URL, svc.URL, "legacy", 0, 0))
	cfg, err := config.Load(dir.path(), config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	url, p, _ := startProxy(t, cfg)
	results := make(chan error, 100)
	rl := &Reloader{Proxy: p, Path: dir.path(), Done: func(_ string, err error) { results <- err }}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { rl.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	testutil.WaitClosed(t, "the reloader's file watcher", rl.Watching())

	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var load sync.WaitGroup
	for range 4 {
		load.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Get(url + "/api/items")
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}

	stages := []string{"migrated", "canary", "legacy", "shadow"}
	writers := []func(string){dir.writeInPlace, dir.rename, dir.swapSymlink}
	lastGood, rejected := "legacy", 0
	for i := 1; i <= 24; i++ {
		stage, invalid := stages[i%len(stages)], i%4 == 0
		content := routeFile(mono.URL, svc.URL, stage, 50, i)
		if invalid {
			content = routeFile(mono.URL, svc.URL, stage, 150, i) // percent out of range
		}
		writers[i%len(writers)](content)
		select {
		case err := <-results:
			if invalid != (err != nil) {
				t.Fatalf("version %d (invalid=%v): reload error %v", i, invalid, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("version %d: no reload within 5s", i)
		}
		if invalid {
			rejected++
		} else {
			lastGood = stage
		}
		if got := p.Router().Table().Route("r").Stage().String(); got != lastGood {
			t.Fatalf("version %d: serving stage %s; want the last good %s", i, got, lastGood)
		}
	}
	close(stop)
	load.Wait()
	t.Logf("%d requests during 24 rewrites (%d rejected): %d failed", sent.Load(), rejected, failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during reloads", failed.Load(), sent.Load())
	}
	if sent.Load() < 1000 {
		t.Errorf("only %d requests sent; the test did not load the proxy", sent.Load())
	}
}

// TestInFlightFinishesOnOldTable swaps the table while a request waits in
// the backend; it must complete, served by the side it was routed to.
func TestInFlightFinishesOnOldTable(t *testing.T) {
	release := make(chan struct{})
	slowMono := newSlowBackend(t, "monolith", release)
	svc := testutil.NewBackend(t, "orders")
	route := func(stage string) config.Route {
		return config.Route{Name: "r", Match: config.Match{Prefix: "/"}, Service: "orders", Stage: stage}
	}
	url, p, _ := startProxy(t, baseConfig(slowMono.URL, svc.URL, route("legacy")))
	done := make(chan string, 1)
	go func() {
		_, side := get(t, http.DefaultClient, url+"/x")
		done <- side
	}()
	testutil.WaitClosed(t, "the request to reach the monolith", slowMono.arrived)
	if err := p.Apply(mustValid(t, baseConfig(slowMono.URL, svc.URL, route("migrated")))); err != nil {
		t.Fatal(err)
	}
	if _, side := get(t, http.DefaultClient, url+"/x"); side != "orders" {
		t.Errorf("new request served by %q after swap; want orders", side)
	}
	close(release)
	if side := <-done; side != "monolith" {
		t.Errorf("in-flight request served by %q; want monolith (its table)", side)
	}
	if got := p.Router().Table().Route("r").Stage(); got != stage.Migrated {
		t.Errorf("stage %s; want migrated", got)
	}
}

// slowBackend holds every request until release is closed; arrived
// delivers one value per request that reached it (up to 16 unread).
type slowBackend struct {
	URL     string
	arrived chan struct{}
}

func newSlowBackend(t *testing.T, name string, release chan struct{}) *slowBackend {
	b := &slowBackend{arrived: make(chan struct{}, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case b.arrived <- struct{}{}:
		default:
		}
		<-release
		w.Header().Set("X-Side", name)
	}))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}
