package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/progress"
	"github.com/stranglerfig/strangler/termout"
)

// progressFlags are the options of strangler progress.
type progressFlags struct {
	admin  verbFlags
	format string
	points int
}

func newProgressCmd() *cobra.Command {
	var f progressFlags
	cmd := &cobra.Command{
		Use:   "progress",
		Short: "Show how far the migration is: share of requests and endpoints served by new services over time",
		Long: "progress asks a running proxy (GET /admin/progress) for the migration's\n" +
			"progress: the share of requests and of endpoints served by new services\n" +
			"now, since the proxy started and per 5-minute interval over the last 30\n" +
			"days, with the routes per stage (legacy/shadow/canary/migrated). The\n" +
			"history is merged into at most --points rows. On a terminal it prints a\n" +
			"table; piped, Markdown. See docs/planning.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProgress(cmd, f) },
	}
	f.admin.registerAdmin(cmd)
	cmd.Flags().StringVar(&f.format, "format", "", "table, md or json (default: table on a terminal, md when piped)")
	cmd.Flags().IntVar(&f.points, "points", 24, "merge the history into at most this many rows")
	return cmd
}

func runProgress(cmd *cobra.Command, f progressFlags) error {
	switch f.format {
	case "", "table", "md", "json":
	default:
		return fmt.Errorf("--format %q: want table, md or json", f.format)
	}
	if f.points < 1 || f.points > progress.MaxSamples {
		return fmt.Errorf("--points %d: want 1 to %d", f.points, progress.MaxSamples)
	}
	var r progress.Report
	q := url.Values{"points": {strconv.Itoa(f.points)}}
	if err := f.admin.client().do(cmd.Context(), "GET", "/admin/progress?"+q.Encode(), nil, &r); err != nil {
		return err
	}
	w, t := cmd.OutOrStdout(), terminal(cmd)
	switch {
	case f.format == "json":
		return printJSON(w, r)
	case f.format == "md" || (f.format == "" && !t.TTY):
		return progress.WriteMarkdown(w, r)
	}
	return printProgress(w, t, r)
}

// printProgress writes the report for a terminal: the summary lines, then
// the history as a table fitted to its width, oldest first.
func printProgress(w io.Writer, t termout.Terminal, r progress.Report) error {
	for _, l := range progress.Summary(r) {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return fmt.Errorf("writing the progress summary: %w", err)
		}
	}
	if len(r.History) == 0 {
		_, err := fmt.Fprintln(w, "No sample recorded yet: one is taken every", r.EverySeconds, "seconds.")
		return err
	}
	fmt.Fprintln(w)
	return writeTable(w, t, progress.Header, progress.Rows(r.History))
}
