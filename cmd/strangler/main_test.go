package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the strangler binary built once for the process tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "strangler-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "strangler")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building strangler: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateCommand(t *testing.T) {
	good := writeFile(t, "legacy:\n  url: http://127.0.0.1:1\n")
	bad := writeFile(t, "legacy:\n  url: ftp://x\nroutes:\n  - name: a\n    match: {path: /x}\n    stage: canary\n    percent: 101\n")
	for _, tc := range []struct {
		desc, file string
		code       int
		want       []string
	}{
		{"valid file", good, 0, []string{"valid (0 routes"}},
		{"every problem listed", bad, 1, []string{
			"legacy.url: invalid URL", "routes[0].percent: must be between 0 and 100",
			"routes[0].service: required for stage \"canary\"", "invalid (3 problem(s))"}},
		{"missing file", filepath.Join(t.TempDir(), "nope.yaml"), 1, []string{"no such file"}},
		{"repo example", "../../config.yaml", 0, []string{"valid"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			out, err := exec.Command(binary, "validate", tc.file).CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit code %d; want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestServeDrainsOnSIGTERM runs the real binary, starts a slow request,
// sends SIGTERM and expects the request to finish and the process to exit 0.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	started := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(500 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	}))
	defer slow.Close()
	cfg := writeFile(t, "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\nlegacy:\n  url: "+slow.URL+"\n")
	cmd, addr := startServe(t, binary, cfg)
	defer func() { _ = cmd.Process.Kill() }()

	body := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	<-started
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := <-body; got != "finished" {
		t.Errorf("in-flight request got %q; want it to finish", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit: %v; want status 0", err)
		}
	case <-ctx.Done():
		t.Fatal("process did not exit within 10s of SIGTERM")
	}
}

// TestDemoServes starts `strangler demo` and checks the routes answer as
// the banner says.
func TestDemoServes(t *testing.T) {
	cmd := exec.Command(binary, "demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	base := waitForLine(t, stderr, regexp.MustCompile(`proxy\s+(http://\S+)`))
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	for _, tc := range []struct{ path, user, want string }{
		{"/api/products/1", "", "monolith"},
		{"/api/orders", "", "monolith"},
		{"/api/users/1", "", "monolith"},
		{"/api/orders/1001", "alice", "monolith"},
		{"/api/orders/1001", "bob", "orders"},
	} {
		req, _ := http.NewRequest("GET", base+tc.path, nil)
		if tc.user != "" {
			req.Header.Set("X-User-ID", tc.user)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Served-By"); resp.StatusCode != 200 || got != tc.want {
			t.Errorf("GET %s (user %q): %d served by %q; want 200 by %q", tc.path, tc.user, resp.StatusCode, got, tc.want)
		}
	}
}

// waitForLine reads r until re matches a line and returns its first group.
func waitForLine(t *testing.T, r io.Reader, re *regexp.Regexp) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				return
			}
		}
		close(found)
	}()
	select {
	case s, ok := <-found:
		if !ok {
			t.Fatal("process output ended before the expected line")
		}
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for the process to start")
	}
	return ""
}

// startServe runs the built binary's serve verb on the route file cfg and
// returns the process and the data-plane address it logged; its stdout is
// drained from then on. The caller kills or signals it.
func startServe(t *testing.T, binary, cfg string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--config", cfg)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // also when the wait below fails
	addr := waitForLine(t, stdout, regexp.MustCompile(`"listen":"([^"]+)"`))
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return cmd, addr
}
