package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
	"github.com/stranglerfig/strangler/termout"
)

// console is the demo's terminal: one status line, redrawn in place on
// a terminal (appended as plain lines otherwise), with warnings and
// errors printed above it as they come.
type console struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	width  int    // the terminal's columns: a status line is cut to fit, or redrawing it would scroll
	status string // last status line drawn (on a terminal)
}

// clearLine returns the cursor to the start of the line and clears it.
const clearLine = "\r\x1b[2K"

// Write prints a log line (a warning or an error) above the status line.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty && c.status != "" {
		io.WriteString(c.w, clearLine)
	}
	n, err := c.w.Write(p)
	if c.tty && c.status != "" {
		io.WriteString(c.w, c.status)
	}
	return n, err
}

// Status draws line as the current status.
func (c *console) Status(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty {
		fmt.Fprintln(c.w, line)
		return
	}
	if c.width > 1 && twwidth.Width(line) >= c.width {
		line = twwidth.Truncate(line, c.width-2, "…")
	}
	c.status = line
	io.WriteString(c.w, clearLine+line)
}

// End leaves the status line in place and moves to a new line.
func (c *console) End() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty && c.status != "" {
		io.WriteString(c.w, "\n")
		c.status = ""
	}
}

// demoLogger returns the demo's logger: every line into the file at
// path, and warnings and errors on the console too.
func demoLogger(path string, con *console) func(config.Log) (zerolog.Logger, func() error, error) {
	return func(cfg config.Log) (zerolog.Logger, func() error, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return zerolog.Logger{}, nil, fmt.Errorf("opening the demo's log file %s: %w", path, err)
		}
		var file io.Writer = f
		if cfg.Format == "console" {
			file = zerolog.ConsoleWriter{Out: f, NoColor: true, TimeFormat: time.RFC3339}
		}
		term := zerolog.ConsoleWriter{Out: con, NoColor: !termout.ColorAllowed() || !con.tty, TimeFormat: time.TimeOnly}
		w := zerolog.MultiLevelWriter(file, &zerolog.FilteredLevelWriter{
			Writer: zerolog.LevelWriterAdapter{Writer: term}, Level: zerolog.WarnLevel})
		level, err := zerolog.ParseLevel(cfg.Level)
		if err != nil || cfg.Level == "" {
			level = zerolog.InfoLevel
		}
		return zerolog.New(w).Level(level).With().Timestamp().Logger(), f.Close, nil
	}
}

// statusEvery is how often the demo's status line is drawn.
const statusEvery = 3 * time.Second

// runStatus draws the status line of a every interval until ctx ends.
func runStatus(ctx context.Context, a *app, con *console, interval time.Duration) {
	defer con.End()
	prev, prevAt := a.totals(), time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			cur := a.totals()
			con.Status(a.statusLine(prev, cur, now.Sub(prevAt), now))
			prev, prevAt = cur, now
		}
	}
}

// sideTotals counts requests served by the monolith and by the services.
type sideTotals struct{ legacy, service uint64 }

// totals sums the requests of every route seen, by side.
func (a *app) totals() sideTotals {
	var s sideTotals
	for _, snap := range a.metrics.Snapshots() {
		s.legacy += snap.Legacy.Requests
		s.service += snap.Service.Requests
	}
	return s
}

// statusLine is one compact line: requests per second and the share the
// services served since the last line, routes by stage, and the latest
// automatic decision.
func (a *app) statusLine(prev, cur sideTotals, elapsed time.Duration, now time.Time) string {
	dl, ds := cur.legacy-prev.legacy, cur.service-prev.service
	rps := float64(dl+ds) / max(elapsed.Seconds(), 0.001)
	share := "-"
	if dl+ds > 0 {
		share = fmt.Sprintf("%.0f%%", 100*float64(ds)/float64(dl+ds))
	}
	return fmt.Sprintf("%s  %.1f req/s  %s to services  %s  last: %s",
		now.Format(time.TimeOnly), rps, share, a.stageCounts(), a.lastDecision())
}

// stageCounts counts the routes at each stage, in rollout order.
func (a *app) stageCounts() string {
	n := map[string]int{}
	for _, v := range a.control.Routes() {
		n[v.Stage]++
	}
	var parts []string
	for _, st := range stage.Names() {
		parts = append(parts, fmt.Sprintf("%s %d", st, n[st]))
	}
	return strings.Join(parts, " ")
}

// lastDecision is the newest automatic stage change, or "none yet".
func (a *app) lastDecision() string {
	for _, e := range a.control.Audit().List("", 50) {
		if e.Source == rollout.SourceAutomation && e.Action != rollout.ActionLeader {
			return fmt.Sprintf("%s %s %s → %s (%s)", e.Route, e.Action, positionString(e.From), positionString(e.To),
				e.Time.Local().Format(time.TimeOnly))
		}
	}
	return "none yet"
}
