package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeStartupErrors runs serve with each start-up problem a
// newcomer meets and expects one line on stderr naming the file or the
// address and what to do, no wrapped chain, and exit status 1.
func TestServeStartupErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	portCfg := writeFile(t, "listen: "+busy.Addr().String()+"\nadmin: {listen: 127.0.0.1:0}\nlegacy: {url: http://127.0.0.1:1}\n")
	adminCfg := writeFile(t, "listen: 127.0.0.1:0\nadmin: {listen: "+busy.Addr().String()+"}\nlegacy: {url: http://127.0.0.1:1}\n")
	for _, tc := range []struct {
		desc, config string
		want         []string
	}{
		{"missing route file", missing, []string{"strangler: route file " + missing + " not found", "strangler init --legacy-url URL"}},
		{"route file is a directory", dir, []string{"strangler: route file " + dir + " is a directory", "--config FILE"}},
		{"port in use", portCfg, []string{"strangler: " + busy.Addr().String() + " (listen) is already in use", "--listen"}},
		{"admin port in use", adminCfg, []string{"strangler: " + busy.Addr().String() + " (admin.listen) is already in use", "--admin-listen"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "serve", "--config", tc.config)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit: %v; want status 1", err)
			}
			got := strings.TrimSpace(stderr.String())
			if strings.Count(got, "\n") != 0 {
				t.Errorf("stderr has %d lines; want one:\n%s", strings.Count(got, "\n")+1, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("stderr lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, "listen tcp") || strings.Contains(got, "reading config") || strings.Contains(got, "goroutine") {
				t.Errorf("stderr shows a wrapped chain or a trace:\n%s", got)
			}
		})
	}
}

// TestServeWarnsOfUnreachableMonolith starts serve with a monolith that
// refuses connections: one warning line on stderr names its URL, and the
// proxy serves anyway (502 for the monolith's requests).
func TestServeWarnsOfUnreachableMonolith(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + dead.Addr().String()
	dead.Close() // nothing listens there now
	cfg := writeFile(t, "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\nlegacy: {url: "+url+"}\n")
	cmd := exec.Command(binary, "serve", "--config", cfg)
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr // a file: the process writes it directly, the test reads it after the first answer
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := waitForLine(t, stdout, regexp.MustCompile(`"listen":"([^"]+)"`))
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	resp, err := http.Get("http://" + addr + "/anything")
	if err != nil {
		t.Fatalf("the proxy does not serve: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d; want 502 while the monolith is down", resp.StatusCode)
	}
	want := fmt.Sprintf("strangler: warning: the monolith at %s (legacy.url) is unreachable (connection refused): serving anyway", url)
	out, err := os.ReadFile(stderr.Name())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.Contains(got, want) || strings.Count(strings.TrimSpace(got), "\n") != 0 {
		t.Errorf("stderr:\n%s\nwant one line with %q", got, want)
	}
}

func TestRouteFileErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("reading config: %w", fs.ErrNotExist), "route file r.yaml not found"},
		{fmt.Errorf("reading config: %w", fs.ErrPermission), "route file r.yaml cannot be read (permission denied): make it readable"},
		{errors.New("legacy.url: invalid URL"), ""},
	} {
		got := routeFileError("r.yaml", tc.err)
		if (got == nil) != (tc.want == "") || (got != nil && !strings.HasPrefix(got.Error(), tc.want)) {
			t.Errorf("routeFileError(%v) = %v; want %q", tc.err, got, tc.want)
		}
		if got != nil && !errors.Is(got, tc.err) {
			t.Errorf("routeFileError(%v) lost its cause", tc.err)
		}
	}
}
