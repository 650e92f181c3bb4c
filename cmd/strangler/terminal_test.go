package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// onPTY runs the binary with args on a pseudo-terminal cols wide and
// returns what it printed there. env is added to the environment.
func onPTY(t *testing.T, cols uint16, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, ptmx); close(copied) }() // ends with EIO once the command exits
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("strangler %s: %v", strings.Join(args, " "), err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("strangler %s did not end within 20 s", strings.Join(args, " "))
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

// TestVerbsOnATerminal runs report, diffs and routes of the real binary
// on an 80-column pseudo-terminal against an in-process proxy: tables
// that fit, no Markdown escapes, colour unless NO_COLOR; piped, report
// stays Markdown.
func TestVerbsOnATerminal(t *testing.T) {
	mono, svc := differingSides(t)
	data, adminURL := startInProcess(t, writeFile(t, shadowConfig(mono.URL, svc.URL)))
	const sent = 3
	for i := range sent {
		resp, err := http.Get(data + "/api/orders/" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitCompared(t, adminURL, "", "orders", sent)
	for _, tc := range []struct {
		args  []string
		env   []string
		color bool
		want  []string
	}{
		{[]string{"report"}, []string{"NO_COLOR=1"}, false, []string{"Shadow comparison report", "ROUTE", "/customer_name", "DIFFERING PATH"}},
		{[]string{"report"}, []string{"NO_COLOR=", "TERM=xterm"}, true, []string{"Shadow comparison report"}},
		{[]string{"diffs", "orders"}, []string{"NO_COLOR=", "TERM=xterm"}, true, []string{"STATUS L/S", "different"}},
		{[]string{"routes"}, []string{"NO_COLOR=1"}, false, []string{"REQUESTS L/S", "shadow"}},
	} {
		t.Run(strings.Join(tc.args, " ")+" "+strings.Join(tc.env, " "), func(t *testing.T) {
			out := onPTY(t, 80, tc.env, append(tc.args, "--admin", adminURL)...)
			t.Logf("on an 80-column terminal:\n%s", out)
			for _, l := range strings.Split(out, "\n") {
				if w := displayWidth(l); w > 80 {
					t.Errorf("line of %d columns: %q", w, l)
				}
			}
			if strings.Contains(out, `\_`) || strings.Contains(out, "| ") {
				t.Errorf("Markdown on a terminal:\n%s", out)
			}
			if got := strings.Contains(out, "\x1b["); got != tc.color {
				t.Errorf("colour %v; want %v", got, tc.color)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q", w)
				}
			}
		})
	}
	if md := string(cliStdout(t, adminURL, "report")); !strings.Contains(md, "# Shadow comparison report") || !strings.Contains(md, `/customer\_name`) {
		t.Errorf("piped report is not Markdown:\n%s", md)
	}
	if md := string(cliStdout(t, adminURL, "routes", "--format", "md")); !strings.HasPrefix(md, "| ROUTE") {
		t.Errorf("routes --format md is not a Markdown table:\n%s", md)
	}
	if out := cliFails(t, adminURL, "events", "--format", "yaml"); !strings.Contains(out, `--format "yaml": want table, md or json`) {
		t.Errorf("events --format yaml: %s", out)
	}
}
