package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// runDemoOnPTY runs strangler demo with a pseudo-terminal of 100x40 as
// its stdout and stderr for d, then interrupts it, and returns what the
// terminal received and the log file's content.
func runDemoOnPTY(t *testing.T, d time.Duration, args ...string) (screen, logFile string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "demo.log")
	cmd := exec.Command(binary, append([]string{"demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--status-every", "2s", "--log-file", logPath}, args...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var mu sync.Mutex
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGINT)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("demo did not stop within 15 s of SIGINT")
	}
	ptmx.Close()
	<-done
	data, _ := os.ReadFile(logPath)
	mu.Lock()
	defer mu.Unlock()
	return buf.String(), string(data)
}

// TestDemoConsoleOnTerminal reads the demo's terminal over ~15 s of
// background traffic: the banner stays, no access-log line appears, the
// status line is redrawn in place; the access log is in the file. With
// --verbose the access log is on the terminal.
func TestDemoConsoleOnTerminal(t *testing.T) {
	screen, logFile := runDemoOnPTY(t, 15*time.Second)
	t.Logf("terminal:\n%s", strings.ReplaceAll(screen, clearLine, "⟲"))
	for _, want := range []string{"strangler demo is running", "Access log and info lines:", "Stop with Ctrl-C."} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal lacks the banner's %q", want)
		}
	}
	if strings.Contains(screen, "/api/orders") && strings.Contains(screen, "status=") || strings.Contains(screen, `"status":`) {
		t.Errorf("access-log lines reached the terminal")
	}
	if n := strings.Count(screen, clearLine); n < 5 {
		t.Errorf("status line drawn %d times in place; want at least 5 in 15 s", n)
	}
	_, after, _ := strings.Cut(screen, "Stop with Ctrl-C.")
	if n := strings.Count(after, "\n"); n > 4 {
		t.Errorf("%d lines printed after the banner; want the status line redrawn in place, so the banner stays:\n%s", n, after)
	}
	for _, l := range strings.Split(after, clearLine) {
		if w := displayWidth(strings.TrimSpace(l)); w >= 100 {
			t.Errorf("status line of %d columns on a 100-column terminal: %q", w, l)
		}
	}
	if !regexp.MustCompile(`req/s  (\d+%|-) to services  legacy \d+ shadow \d+ canary \d+ migrated \d+  last: `).MatchString(screen) {
		t.Errorf("no status line with the figures on the terminal")
	}
	if !strings.Contains(logFile, "/api/") {
		t.Errorf("the log file lacks the access log:\n%.500s", logFile)
	}

	screen, _ = runDemoOnPTY(t, 5*time.Second, "--verbose")
	if !strings.Contains(screen, "/api/") || strings.Contains(screen, "req/s") {
		t.Errorf("with --verbose the access log is not on the terminal, or a status line is:\n%.2000s", screen)
	}
}

// TestConsolePlainWhenPiped checks the status lines are appended, not
// redrawn, when the output is not a terminal, and that a warning passes
// through above the status line on a terminal.
func TestConsolePlainWhenPiped(t *testing.T) {
	for _, tc := range []struct {
		desc string
		tty  bool
		want string
	}{
		{"pipe", false, "one\nWRN x\ntwo\n"},
		{"terminal", true, clearLine + "one" + clearLine + "WRN x\n" + "one" + clearLine + "two" + "\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var b bytes.Buffer
			c := &console{w: &b, tty: tc.tty, width: 80}
			c.Status("one")
			_, _ = io.WriteString(c, "WRN x\n")
			c.Status("two")
			c.End()
			if b.String() != tc.want {
				t.Errorf("got %q; want %q", b.String(), tc.want)
			}
		})
	}
}

// TestDemoStatusInProcess runs strangler demo in this process with a
// pseudo-terminal as its output for 5 s (so -race sees the status line,
// the log tee and the proxy together) and expects the status redrawn.
func TestDemoStatusInProcess(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: 90}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := newRootCmd()
	cmd.SetOut(tty)
	cmd.SetErr(tty)
	cmd.SetArgs([]string{"demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--status-every", "1s", "--log-file", filepath.Join(t.TempDir(), "demo.log")})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("demo: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // the reader drains the last bytes
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), clearLine); n < 3 {
		t.Errorf("status line drawn %d times in 5 s at 1 s; want at least 3:\n%s", n, buf.String())
	}
}
