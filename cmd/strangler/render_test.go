package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/termout"
)

var update = flag.Bool("update", false, "rewrite the golden files of the CLI output tests")

// fixture decodes testdata/cli/name into v.
func fixture(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cli", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
}

// terminals are the destinations the golden tests render for.
var terminals = map[string]termout.Terminal{
	"80":       {TTY: true, Width: 80},
	"160":      {TTY: true, Width: 160},
	"pipe":     termout.Pipe,
	"80-color": {TTY: true, Width: 80, Color: true},
	"md":       {Markdown: true},
}

// TestCLIOutputGolden renders every verb's fixture for an 80- and a
// 160-column terminal, a pipe and a colour terminal, and compares with
// testdata/cli/golden (go test -run TestCLIOutputGolden -update rewrites
// them).
func TestCLIOutputGolden(t *testing.T) {
	var routes struct {
		Routes []admin.RouteJSON `json:"routes"`
	}
	fixture(t, "routes.json", &routes)
	var events struct {
		Events []rollout.Event `json:"events"`
	}
	fixture(t, "events.json", &events)
	var diffs admin.ClusterDiffs
	fixture(t, "diffs.json", &diffs)
	var rec report.Record
	fixture(t, "diff.json", &rec)
	var rep admin.ClusterReport
	fixture(t, "report.json", &rep)
	// The tables print local times: keep the fixtures' wall clock in any
	// zone (not by changing time.Local, which other goroutines read).
	for i := range events.Events {
		events.Events[i].Time = wallLocal(events.Events[i].Time)
	}
	for i := range diffs.Diffs {
		diffs.Diffs[i].Time = wallLocal(diffs.Diffs[i].Time)
	}
	rep.GeneratedAt = wallLocal(rep.GeneratedAt)
	if ex := routes.Routes[1].Automation; ex != nil {
		ex.EvaluatedAt = wallLocal(ex.EvaluatedAt)
	}
	verbs := map[string]func(io.Writer, termout.Terminal) error{
		"routes": func(w io.Writer, tm termout.Terminal) error { return printRoutes(w, tm, routes.Routes) },
		"route": func(w io.Writer, tm termout.Terminal) error {
			return printRoute(w, tm, "table", routes.Routes[1])
		},
		"events": func(w io.Writer, tm termout.Terminal) error { return printEvents(w, tm, events.Events) },
		"diffs":  func(w io.Writer, tm termout.Terminal) error { return printDiffs(w, tm, diffs.Diffs, true) },
		"diff":   func(w io.Writer, tm termout.Terminal) error { return printDiff(w, tm, rec) },
		"report": func(w io.Writer, tm termout.Terminal) error { return printReportTables(w, tm, rep) },
	}
	for verb, print := range verbs {
		for name, tm := range terminals {
			if tm.Markdown && verb == "report" {
				continue // report's Markdown is the admin API's
			}
			t.Run(verb+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := print(&buf, tm); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, filepath.Join("testdata", "cli", "golden", verb+"-"+name+".txt"), buf.Bytes())
				checkShape(t, tm, verb, buf.String())
			})
		}
	}
}

// wallLocal is the time with t's wall clock in the local zone.
func wallLocal(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.Local)
}

// checkShape checks what must hold whatever the golden files say: no
// line wider than the terminal, colour only when allowed, values whole
// in diff.
func checkShape(t *testing.T, tm termout.Terminal, verb, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if w := displayWidth(l); tm.Width > 0 && w > tm.Width && verb != "diff" { // diff shows values whole
			t.Errorf("line %d columns wide on a %d-column terminal: %q", w, tm.Width, l)
		}
	}
	if hasEsc := strings.Contains(out, "\x1b["); hasEsc != tm.Color {
		t.Errorf("ANSI colour present %v; want %v", hasEsc, tm.Color)
	}
	if verb == "diff" && !strings.Contains(strings.ReplaceAll(out, "\n", ""), "second edition with") {
		t.Errorf("diff cut a value; it must show values whole:\n%s", out)
	}
	if tm.Markdown && !strings.Contains(out, "|---") && !strings.Contains(out, "| --") && !strings.Contains(out, "|:-") {
		t.Errorf("no Markdown table:\n%s", out)
	}
	if verb == "report" && strings.Contains(out, `\*`) {
		t.Errorf("report shows Markdown escapes:\n%s", out)
	}
}

// displayWidth counts the runes of l outside ANSI escapes (the fixtures
// hold no wide characters).
func displayWidth(l string) int {
	n, esc := 0, false
	for _, r := range l {
		switch {
		case r == '\x1b':
			esc = true
		case esc && r == 'm':
			esc = false
		case !esc:
			n++
		}
	}
	return n
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update after checking):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
