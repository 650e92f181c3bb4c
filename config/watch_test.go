package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/testutil"
)

const (
	testDebounce = 20 * time.Millisecond
	waitTimeout  = 5 * time.Second
)

// watcher runs a Watcher on path until the test ends. Each onChange sends
// the file content Watch's caller would then read.
type watcher struct {
	t       *testing.T
	path    string
	changes chan string
	errs    chan error
	cancel  context.CancelFunc
	done    chan error
	ready   <-chan struct{}
}

func startWatch(t *testing.T, path string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fw := NewWatcher(path, testDebounce)
	w := &watcher{t: t, path: path, changes: make(chan string, 100), errs: make(chan error, 100),
		cancel: cancel, done: make(chan error, 1), ready: fw.Ready()}
	go func() {
		w.done <- fw.Run(ctx, func([]byte) {
			data, err := os.ReadFile(path)
			if err != nil {
				data = []byte("<unreadable: " + err.Error() + ">")
			}
			w.changes <- string(data)
		}, func(err error) { w.errs <- err })
	}()
	t.Cleanup(w.stop)
	return w
}

// stop cancels the watch and waits for Watch to return.
func (w *watcher) stop() {
	w.t.Helper()
	w.cancel()
	select {
	case err := <-w.done:
		if err != nil {
			w.t.Errorf("Watch returned %v after cancel", err)
		}
		w.done <- nil // later calls return at once
	case <-time.After(waitTimeout):
		w.t.Fatalf("Watch did not return within %s of cancel", waitTimeout)
	}
}

// sync waits until the Watcher has registered its watches and read the
// starting content: a change made from then on is reported.
func (w *watcher) sync() {
	w.t.Helper()
	testutil.WaitClosed(w.t, "the watcher to register its directories", w.ready)
}

// waitFor waits until onChange has run with the file holding want.
func (w *watcher) waitFor(want string) {
	w.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case got := <-w.changes:
			if got == want {
				return
			}
		case err := <-w.errs:
			w.t.Errorf("onError: %v", err)
		case <-deadline:
			w.t.Fatalf("no onChange with content %q within %s", want, waitTimeout)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// renameOver writes content to a temp file in path's directory and renames
// it over path, as editors and config-management tools do.
func renameOver(t *testing.T, path, content string) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// configMap lays out a directory the way the kubelet projects a ConfigMap:
//
//	dir/..2024_v1/config.yaml
//	dir/..data -> ..2024_v1
//	dir/config.yaml -> ..data/config.yaml
type configMap struct {
	t   *testing.T
	dir string
	cur string // current ..<version> directory name
}

func newConfigMap(t *testing.T, content string) (*configMap, string) {
	t.Helper()
	cm := &configMap{t: t, dir: t.TempDir()}
	cm.publish("..2024_v1", content)
	link := filepath.Join(cm.dir, "config.yaml")
	if err := os.Symlink(filepath.Join("..data", "config.yaml"), link); err != nil {
		t.Fatal(err)
	}
	return cm, link
}

// publish writes a new version directory, swaps ..data to it atomically
// (symlink to a temp name, then rename over ..data) and removes the old
// version, like the kubelet's AtomicWriter.
func (cm *configMap) publish(version, content string) {
	t := cm.t
	t.Helper()
	vdir := filepath.Join(cm.dir, version)
	if err := os.Mkdir(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(vdir, "config.yaml"), content)
	tmpLink := filepath.Join(cm.dir, "..data_tmp")
	if err := os.Symlink(version, tmpLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmpLink, filepath.Join(cm.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if cm.cur != "" {
		if err := os.RemoveAll(filepath.Join(cm.dir, cm.cur)); err != nil {
			t.Fatal(err)
		}
	}
	cm.cur = version
}

func TestWatchFiresOnChange(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the path to watch and a function making a change
		// the way the case's tool would.
		setup func(t *testing.T) (path string, change func(content string))
	}{
		{"in-place rewrite", func(t *testing.T) (string, func(string)) {
			p := writeTemp(t, "config.yaml", "v0\n")
			return p, func(c string) { writeFile(t, p, c) }
		}},
		{"atomic rename over the path", func(t *testing.T) (string, func(string)) {
			p := writeTemp(t, "config.yaml", "v0\n")
			return p, func(c string) { renameOver(t, p, c) }
		}},
		{"kubernetes configmap symlink swap", func(t *testing.T) (string, func(string)) {
			cm, link := newConfigMap(t, "v0\n")
			n := 1
			return link, func(c string) {
				n++
				cm.publish(fmt.Sprintf("..2024_v%d", n), c)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, change := tc.setup(t)
			w := startWatch(t, path)
			w.sync()
			for _, content := range []string{"listen: \":1\"\n", "listen: \":2\"\n"} {
				change(content)
				w.waitFor(content)
			}
		})
	}
}

func TestWatchIgnoresIdenticalContent(t *testing.T) {
	path := writeTemp(t, "config.yaml", "v0\n")
	w := startWatch(t, path)
	w.sync()

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	touch := []func(){
		func() { writeFile(t, path, string(data)) },
		func() { renameOver(t, path, string(data)) },
		func() {
			now := time.Now().Add(time.Minute)
			if err := os.Chtimes(path, now, now); err != nil {
				t.Fatal(err)
			}
		},
		func() { writeFile(t, filepath.Join(filepath.Dir(path), "other.yaml"), "x\n") },
	}
	for _, f := range touch {
		f()
	}
	// A negative can only be observed over a window: many debounce periods.
	select {
	case got := <-w.changes:
		t.Fatalf("onChange ran for unchanged content %q", got)
	case <-time.After(15 * testDebounce):
	}
	// The watch is still alive afterwards.
	writeFile(t, path, "v-final\n")
	w.waitFor("v-final\n")
}

func TestWatchReturnsOnCancel(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{"plain file", func(t *testing.T) string { return writeTemp(t, "config.yaml", "v0\n") }},
		{"configmap symlink", func(t *testing.T) string { _, link := newConfigMap(t, "v0\n"); return link }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t)
			w := startWatch(t, path)
			w.sync()
			w.stop() // fails the test if Watch does not return; goleak checks the rest
		})
	}
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		path := writeTemp(t, "config.yaml", "v0\n")
		if err := Watch(ctx, path, testDebounce, func() { t.Error("onChange") }, func(error) {}); err != nil {
			t.Errorf("Watch = %v", err)
		}
	})
}

func TestWatchMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "config.yaml")
	err := Watch(context.Background(), path, testDebounce, func() {}, func(error) {})
	if err == nil {
		t.Fatal("Watch of a file in a missing directory returned nil")
	}
	fw := NewWatcher(path, testDebounce)
	if err := fw.Run(context.Background(), func([]byte) {}, func(error) {}); err == nil {
		t.Fatal("Watcher.Run of a file in a missing directory returned nil")
	}
	select {
	case <-fw.Ready():
		t.Error("Ready closed although no directory is watched")
	default:
	}
}

// TestWatchNeverReportsPausedPartialWrite writes a valid file in place in
// two parts with a pause longer than the debounce between them. The first
// part is itself a valid config (the cut leaves prefix: / or a short
// URL), so only Watch's stability rule keeps it from being applied.
func TestWatchNeverReportsPausedPartialWrite(t *testing.T) {
	const debounce = 100 * time.Millisecond
	const head = "legacy:\n  url: http://127.0.0.1:8081\nservices:\n  payments:\n    url: http://127.0.0.1:8"
	const full = head + "082\nroutes:\n  - name: payments\n    service: payments\n    stage: migrated\n    match:\n      prefix: /payments/\n"
	tests := []struct {
		name string
		cut  int // bytes written before the pause
	}{
		{"cut leaves prefix: /", len(full) - len("payments/\n")},
		{"cut leaves url: http://127.0.0.1:8", len(head)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(full[:tc.cut]), "partial", Source{}); err != nil {
				t.Fatalf("the partial file must validate for this test to mean anything: %v", err)
			}
			path := writeTemp(t, "config.yaml", minimalYAML)
			loaded := make(chan *Config, 16)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			fw := NewWatcher(path, debounce)
			go func() {
				done <- fw.Run(ctx, func(data []byte) {
					if cfg, err := LoadData(data, path, Source{}); err == nil {
						loaded <- cfg
					}
				}, func(error) {})
			}()
			defer func() { cancel(); <-done }()
			testutil.WaitClosed(t, "the watcher to register its directories", fw.Ready())

			writeInTwoParts(t, path, full, tc.cut, debounce*3/2)
			deadline := time.After(waitTimeout)
			for {
				select {
				case cfg := <-loaded:
					if got := routeSummary(cfg); got != "payments /payments/ http://127.0.0.1:8082" {
						t.Fatalf("applied a partial file: route table %q", got)
					}
					return
				case <-deadline:
					t.Fatal("the complete file was never reported")
				}
			}
		})
	}
}

// writeInTwoParts truncates path and writes content[:cut], pauses, then
// writes the rest, as a slow writer or an interrupted copy would.
func writeInTwoParts(t *testing.T, path, content string, cut int, pause time.Duration) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content[:cut]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause)
	if _, err := f.WriteString(content[cut:]); err != nil {
		t.Fatal(err)
	}
}

// routeSummary names the first route, its prefix and its service URL.
func routeSummary(cfg *Config) string {
	if len(cfg.Routes) == 0 {
		return "(no routes)"
	}
	r := cfg.Routes[0]
	return r.Name + " " + r.Match.Prefix + " " + cfg.Services[r.Service].URL
}
