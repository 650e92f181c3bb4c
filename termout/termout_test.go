package termout

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/creack/pty"
)

func TestDetect(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 123}); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		desc    string
		out     any
		noColor string
		want    Terminal
	}{
		{"terminal", tty, "", Terminal{TTY: true, Width: 123, Color: true}},
		{"terminal with NO_COLOR", tty, "1", Terminal{TTY: true, Width: 123}},
		{"pipe", w, "", Pipe},
		{"buffer", &bytes.Buffer{}, "", Pipe},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Setenv("NO_COLOR", tc.noColor)
			t.Setenv("TERM", "xterm")
			var got Terminal
			switch o := tc.out.(type) {
			case *os.File:
				got = Detect(o)
			case *bytes.Buffer:
				got = Detect(o)
			}
			if got != tc.want {
				t.Errorf("Detect = %+v; want %+v", got, tc.want)
			}
		})
	}
}

func TestForUsesTheContextsDetector(t *testing.T) {
	want := Terminal{TTY: true, Width: 80}
	ctx := WithDetector(context.Background(), Fixed(want))
	if got := For(ctx, &bytes.Buffer{}); got != want {
		t.Errorf("For = %+v; want the forced %+v", got, want)
	}
	if got := For(context.Background(), &bytes.Buffer{}); got != Pipe {
		t.Errorf("For without a detector = %+v; want Pipe", got)
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		natural []int
		total   int
		flex    []int
		want    []int
	}{
		{"fits", []int{5, 10, 3}, 30, nil, []int{5, 10, 3}},
		{"flex column gives way alone", []int{5, 40, 10}, 40, []int{1}, []int{5, 21, 10}},
		{"flex stops at minFlex, then the widest are capped", []int{20, 40, 20}, 30, []int{1}, []int{9, 8, 9}},
		{"no flex: a common cap", []int{4, 30, 30}, 40, nil, []int{4, 16, 16}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := fit(tc.natural, tc.total, tc.flex)
			if !equal(got, tc.want) {
				t.Errorf("fit(%v, %d, %v) = %v; want %v", tc.natural, tc.total, tc.flex, got, tc.want)
			}
			if s := sum(got) + gap*(len(got)-1); s > tc.total {
				t.Errorf("fit(%v, %d) is %d wide", tc.natural, tc.total, s)
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTable(t *testing.T) {
	header := []string{"NAME", "VALUE"}
	rows := [][]string{{"a", strings.Repeat("x", 50)}, {"bb", "short"}}
	for _, tc := range []struct {
		desc string
		term Terminal
		want string
	}{
		{"pipe keeps everything", Pipe, "NAME  VALUE\na     " + strings.Repeat("x", 50) + "\nbb    short\n"},
		{"terminal of 30 cuts the long value", Terminal{TTY: true, Width: 30},
			"NAME  VALUE\na     " + strings.Repeat("x", 23) + "…\nbb    short\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.term.Table(&b, header, rows, 1); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", b.String(), tc.want)
			}
		})
	}
}

func TestColour(t *testing.T) {
	on, off := Terminal{TTY: true, Width: 80, Color: true}, Terminal{TTY: true, Width: 80}
	for _, tc := range []struct {
		got, want string
	}{
		{on.Verdict("different"), "\x1b[31mdifferent\x1b[0m"},
		{on.Verdict("equal"), "\x1b[32mequal\x1b[0m"},
		{on.Stage("canary 25"), "\x1b[33mcanary 25\x1b[0m"},
		{on.Stage("legacy"), "legacy"},
		{off.Verdict("different"), "different"},
		{off.Stage("migrated"), "migrated"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}
