package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stranglerfig/strangler/config"
)

// etcdKeys are the top-level keys that make strangler serve need a running
// etcd: runs of the binary here leave them out (the listeners do not
// depend on the state backend).
var etcdKeys = []string{"state", "replica"}

// routeFile is the route file the Deployment mounts, loaded by the real
// config loader.
type routeFile struct {
	path string         // as shipped, in a temp dir
	raw  map[string]any // as written
	cfg  *config.Config // loaded by config.Load
	// stripped is the file without etcdKeys, for runs of the binary that
	// need no etcd.
	stripped               string
	listenHost, listenPort string
	adminHost, adminPort   string
}

// strangler's Deployment and its one container.
func stranglerPod(t *testing.T) (*manifests, deploymentSpec, container) {
	t.Helper()
	m := loadManifests(t)
	d := spec[deploymentSpec](t, m.get(t, "Deployment", "strangler"))
	if len(d.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment strangler: want one container, got %d", len(d.Template.Spec.Containers))
	}
	return m, d, d.Template.Spec.Containers[0]
}

// routeFileSource finds the ConfigMap mounted into the strangler container
// and where: the file is mountPath/key.
func routeFileSource(t *testing.T) (cm object, key, mountPath string) {
	t.Helper()
	m, d, c := stranglerPod(t)
	for _, v := range d.Template.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name != v.Name {
				continue
			}
			if vm.SubPath != "" {
				t.Errorf("the route file is mounted with subPath %q: Kubernetes never updates a subPath mount, so ConfigMap edits would not reach strangler", vm.SubPath)
			}
			cm = m.get(t, "ConfigMap", v.ConfigMap.Name)
			if len(cm.Data) != 1 {
				t.Fatalf("ConfigMap %s: want exactly one key (the route file), got %d", cm.Metadata.Name, len(cm.Data))
			}
			for k := range cm.Data {
				key = k
			}
			return cm, key, vm.MountPath
		}
	}
	t.Fatal("Deployment strangler mounts no ConfigMap")
	return object{}, "", ""
}

// routeFileMountPath is where the strangler container sees the route file.
func routeFileMountPath(t *testing.T) string {
	_, key, dir := routeFileSource(t)
	return dir + "/" + key
}

// loadRouteFile writes the ConfigMap's route file to a temp dir and loads
// it with config.Load, as `strangler validate` does.
func loadRouteFile(t *testing.T) routeFile {
	t.Helper()
	cm, key, _ := routeFileSource(t)
	dir := t.TempDir()
	rf := routeFile{path: filepath.Join(dir, key)}
	data := []byte(cm.Data[key])
	if err := os.WriteFile(rf.path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &rf.raw); err != nil {
		t.Fatalf("ConfigMap %s: %s: %v", cm.Metadata.Name, key, err)
	}
	rf.stripped = filepath.Join(dir, "stripped-"+key)
	if err := os.WriteFile(rf.stripped, withoutKeys(t, data, etcdKeys), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if rf.cfg, err = config.Load(rf.path, config.Source{}); err != nil {
		t.Fatalf("the route file in ConfigMap %s is invalid:\n%v", cm.Metadata.Name, err)
	}
	if rf.listenHost, rf.listenPort, err = net.SplitHostPort(rf.cfg.Listen); err != nil {
		t.Fatalf("listen %q: %v", rf.cfg.Listen, err)
	}
	if rf.adminHost, rf.adminPort, err = net.SplitHostPort(rf.cfg.Admin.Listen); err != nil {
		t.Fatalf("admin.listen %q: %v", rf.cfg.Admin.Listen, err)
	}
	return rf
}

// withoutKeys re-encodes a YAML mapping without the given top-level keys.
func withoutKeys(t *testing.T, data []byte, keys []string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	var kept []*yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if !contains(keys, root.Content[i].Value) {
			kept = append(kept, root.Content[i], root.Content[i+1])
		}
	}
	root.Content = kept
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str reads a string at a dotted path of the raw route file.
func (rf routeFile) str(path string) string {
	var cur any = rf.raw
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

// list reads a list of strings at a dotted path of the raw route file.
func (rf routeFile) list(path string) []string {
	var cur any = rf.raw
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	items, _ := cur.([]any)
	var out []string
	for _, it := range items {
		s, _ := it.(string)
		out = append(out, s)
	}
	return out
}

// TestRouteFileValidates runs `strangler validate` on the ConfigMap's
// route file, as shipped.
func TestRouteFileValidates(t *testing.T) {
	rf := loadRouteFile(t)
	cmd := exec.Command(strangler(t), "validate", rf.path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("strangler validate %s: %v\n%s", rf.path, err, out.String())
	}
}

// TestProbesReachRealEndpoints runs the binary on the route file (without
// the etcd keys: no etcd runs here, and the listeners do not depend on the
// backend) with the token the Deployment sets, then asks every probe of
// the Deployment on the listener the route file binds to the probe's port.
// It also sends SIGHUP, as the systemd unit's ExecReload does, and wants a
// reload.
func TestProbesReachRealEndpoints(t *testing.T) {
	rf := loadRouteFile(t)
	_, _, c := stranglerPod(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, strangler(t), "serve", "--config", rf.stripped,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Env = append(withoutStranglerEnv(os.Environ()),
		rf.cfg.Admin.TokenEnv+"=a-token-of-more-than-sixteen-characters",
		"STRANGLER_STATE_FILE="+filepath.Join(t.TempDir(), "state.json"),
		"STRANGLER_SERVER_DRAIN_DELAY=0s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 64)
	done := make(chan struct{})
	go func() { // ends when the process closes its stdout
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l map[string]any
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				select {
				case lines <- l:
				default: // nobody waits for this line
				}
			}
		}
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		if err := cmd.Wait(); err != nil {
			t.Errorf("strangler serve after SIGTERM: %v", err)
		}
	}()
	serving := waitLine(t, lines, "strangler is serving")
	addr := map[string]string{rf.listenPort: serving["listen"].(string), rf.adminPort: serving["admin"].(string)}

	for _, tc := range []struct {
		name   string
		probe  *probe
		path   string
		status []int
		body   []string // accepted values of the answer's "status"
	}{
		{"readiness", c.ReadinessProbe, "/readyz", []int{200, 503}, []string{"ready", "not ready"}},
		{"liveness", c.LivenessProbe, "/healthz", []int{200}, []string{"ok"}},
		{"startup", c.StartupProbe, "/healthz", []int{200}, []string{"ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.probe == nil || tc.probe.HTTPGet == nil {
				t.Fatalf("the strangler container has no %s httpGet probe", tc.name)
			}
			g := tc.probe.HTTPGet
			if g.Path != tc.path {
				t.Errorf("%s probe path %q: want %q", tc.name, g.Path, tc.path)
			}
			port := c.port(g.Port)
			if port == 0 {
				t.Fatalf("%s probe port %q is no port of the container", tc.name, g.Port)
			}
			if p := itoa(port); p != rf.adminPort {
				t.Fatalf("%s probe port %s (%q): the route file serves /healthz and /readyz on admin.listen %s, not there",
					tc.name, p, g.Port, rf.cfg.Admin.Listen)
			}
			resp, err := http.Get("http://" + addr[rf.adminPort] + g.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Status string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("GET %s: %d, body not JSON: %v", g.Path, resp.StatusCode, err)
			}
			if !containsInt(tc.status, resp.StatusCode) || !contains(tc.body, body.Status) {
				t.Errorf("GET %s with the token set: %d %q, want one of %v with status in %v (a probe sends no token)",
					g.Path, resp.StatusCode, body.Status, tc.status, tc.body)
			}
		})
	}

	t.Run("SIGHUP reloads", func(t *testing.T) {
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		l := waitLine(t, lines, "config reloaded")
		if l["source"] != "signal" {
			t.Errorf("reload source %v, want signal", l["source"])
		}
	})
}

// waitLine returns the first log line with msg, waiting at most 20 s.
func waitLine(t *testing.T, lines <-chan map[string]any, msg string) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l := <-lines:
			if l["message"] == msg {
				return l
			}
		case <-deadline:
			t.Fatalf("no log line %q within 20 s", msg)
		}
	}
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// withoutStranglerEnv drops STRANGLER_* overrides of the caller's
// environment: the run must see the route file and the test's own.
func withoutStranglerEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, config.EnvPrefix+"_") {
			out = append(out, kv)
		}
	}
	return out
}
