package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/plan"
)

// planFlags are the options of strangler plan.
type planFlags struct {
	accessLog, logFormat, format, config string
	top, endpoints                       int
	admin                                verbFlags
}

func newPlanCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan [--access-log FILE]",
		Short: "Print the monolith's inventory and what to carve next, live or from an access log",
		Long: "Without --access-log, plan asks a running proxy (GET /admin/plan) for the\n" +
			"plan of the traffic it has served. With --access-log it reads an access log\n" +
			"(nginx/Apache combined or common, or JSON lines; detected from the first\n" +
			"line) in one streaming pass and bounded memory, before strangler is ever in\n" +
			"front of the monolith. Either way it prints the endpoints learned, the\n" +
			"ranked endpoint families to carve next with a route block for each, and the\n" +
			"route table's hygiene (offline: with --config). FILE may be - for standard\n" +
			"input. See docs/planning.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.accessLog, "access-log", "", "access log to read (- for standard input)")
	fl.StringVar(&f.logFormat, "log-format", plan.FormatAuto, "access log format: auto, combined, common or json")
	fl.StringVar(&f.format, "format", "md", "output: md or json")
	fl.StringVar(&f.config, "config", "", "route file: skip endpoints its routes claim, and check its hygiene")
	fl.IntVar(&f.top, "top", 10, "number of suggestions (-1: all)")
	fl.IntVar(&f.endpoints, "endpoints", 50, "number of endpoints listed (-1: all)")
	f.admin.registerAdmin(cmd)
	return cmd
}

func runPlan(cmd *cobra.Command, f planFlags) error {
	if f.format != "md" && f.format != "json" {
		return fmt.Errorf("--format %q: want md or json", f.format)
	}
	if f.accessLog == "" {
		return livePlan(cmd, f)
	}
	var cfg *config.Config
	if f.config != "" {
		c, err := config.Load(f.config, config.Source{})
		if err != nil {
			return fmt.Errorf("loading --config %s: %w", f.config, err)
		}
		cfg = c
	}
	in, size, closeLog, err := openLog(f.accessLog)
	if err != nil {
		return err
	}
	defer closeLog()
	progress, done := progressBar(cmd.ErrOrStderr(), size)
	inv, stats, err := plan.ReadLog(in, f.logFormat, progress)
	done()
	if err != nil {
		return fmt.Errorf("reading %s: %w", f.accessLog, err)
	}
	if stats.Parsed == 0 {
		return fmt.Errorf("%s: no line read as %s log (first: %q)", f.accessLog, stats.Format, stats.FirstBad)
	}
	snap := inv.Snapshot()
	if cfg != nil {
		if err := plan.MarkClaimed(&snap, cfg); err != nil {
			return fmt.Errorf("matching the log against %s: %w", f.config, err)
		}
	}
	opts := plan.BuildOptions{Source: "access log " + f.accessLog, Top: f.top, Endpoints: f.endpoints, Config: cfg}
	if cfg != nil {
		w := plan.WeightsOf(cfg.Planner.Weights)
		opts.Weights = &w
	}
	p := plan.BuildSnapshot(snap, opts)
	p.MemoryBound, p.Log = inv.MemoryBound(), &stats
	return writePlan(cmd.OutOrStdout(), p, f.format)
}

// openLog opens the access log ("-": standard input) and returns its size
// (-1 when unknown).
func openLog(name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return os.Stdin, -1, func() {}, nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("opening access log: %w", err)
	}
	size := int64(-1)
	if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return fh, size, func() { _ = fh.Close() }, nil
}

// progressBar returns a progress callback drawing a bar on w when w is a
// terminal (nil otherwise), and a function that ends the bar.
func progressBar(w io.Writer, size int64) (func(int64), func()) {
	fh, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(fh.Fd())) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(w), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription("reading access log"), progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish())
	return func(n int64) { _ = bar.Set64(n) }, func() { _ = bar.Finish() }
}

func writePlan(w io.Writer, p plan.Plan, format string) error {
	if format == "md" {
		return plan.WriteMarkdown(w, p)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}
	return nil
}

// livePlan prints the running proxy's plan (GET /admin/plan).
func livePlan(cmd *cobra.Command, f planFlags) error {
	if f.config != "" {
		return fmt.Errorf("--config applies to --access-log: a running proxy checks its own route table")
	}
	q := url.Values{"format": {f.format}, "top": {strconv.Itoa(f.top)}}
	data, err := f.admin.client().raw(cmd.Context(), "GET", "/admin/plan?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(data)
	return err
}
