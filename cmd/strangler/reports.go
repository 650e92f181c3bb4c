package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/termout"
)

func newReportCmd() *cobra.Command {
	var f verbFlags
	var format, scope string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Print the diff report of a running proxy: match rates, top differing fields, noise",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format = reportFormat(format, terminal(cmd))
			switch format {
			case "table", "md", "json", "html":
			default:
				return fmt.Errorf("--format %q: want table, md, json or html", format)
			}
			c := f.client()
			sc, err := resolveScope(cmd.Context(), c, scope, format != "html")
			if err != nil {
				return err
			}
			asked := format
			if format == "table" {
				asked = "json"
			}
			data, err := c.raw(cmd.Context(), "GET", "/admin/report?"+url.Values{"format": {asked}, "scope": {sc}}.Encode(), nil)
			if err != nil {
				return err
			}
			if format == "table" {
				return printReportJSON(cmd.OutOrStdout(), terminal(cmd), c.base, data)
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	f.registerAdmin(cmd) // its output is --format's, not --output's
	cmd.Flags().StringVar(&format, "format", "",
		"table, md, json or html (default: table on a terminal, md when piped)")
	registerScope(cmd, &scope)
	return cmd
}

func newDiffsCmd() *cobra.Command {
	var f verbFlags
	var limit int
	var scope string
	cmd := &cobra.Command{
		Use:   "diffs ROUTE",
		Short: "List a route's recent comparisons, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			c := f.client()
			sc, err := resolveScope(cmd.Context(), c, scope, true)
			if err != nil {
				return err
			}
			q := url.Values{"route": {args[0]}, "limit": {strconv.Itoa(limit)}, "scope": {sc}}
			var out admin.ClusterDiffs
			if err := c.do(cmd.Context(), "GET", "/admin/diffs?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if f.output == "json" && sc == scopeLocal {
				return printJSON(cmd.OutOrStdout(), map[string]any{"diffs": out.Diffs})
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if err := printDiffs(cmd.OutOrStdout(), f.terminal(cmd), out.Diffs, sc == scopeCluster); err != nil {
				return err
			}
			return printMissing(cmd.ErrOrStderr(), out.Missing)
		},
	}
	f.register(cmd, false)
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many")
	registerScope(cmd, &scope)
	return cmd
}

func newDiffCmd() *cobra.Command {
	var f verbFlags
	cmd := &cobra.Command{
		Use:   "diff ID",
		Short: "Show one comparison: every difference with the monolith's and the service's value",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			var rec report.Record
			if err := f.client().do(cmd.Context(), "GET", "/admin/diffs/"+url.PathEscape(args[0]), nil, &rec); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), rec)
			}
			return printDiff(cmd.OutOrStdout(), f.terminal(cmd), rec)
		},
	}
	f.register(cmd, false)
	return cmd
}

// reportFormat resolves an unset --format: tables on a terminal,
// Markdown when piped.
func reportFormat(format string, t termout.Terminal) string {
	if format != "" {
		return format
	}
	if t.TTY {
		return "table"
	}
	return "md"
}

// printReportJSON decodes the report the admin API at base answered and
// prints it as tables.
func printReportJSON(w io.Writer, t termout.Terminal, base string, data []byte) error {
	var r admin.ClusterReport
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("the admin API at %s answered a report that is not the expected JSON: %w", base, err)
	}
	return printReportTables(w, t, r)
}

// Scopes of report and diffs.
const (
	scopeAuto    = "auto"
	scopeLocal   = "local"
	scopeCluster = "cluster"
)

func registerScope(cmd *cobra.Command, scope *string) {
	cmd.Flags().StringVar(scope, "scope", scopeAuto,
		"local (the replica asked), cluster (every live replica), or auto: cluster when the replica's state backend is etcd")
}

// resolveScope turns auto into cluster when the replica asked shares its
// state on etcd (per /admin/cluster) and clusterOK, local otherwise (also
// when /admin/cluster does not answer: a proxy without it is alone).
func resolveScope(ctx context.Context, c *adminClient, scope string, clusterOK bool) (string, error) {
	switch scope {
	case scopeLocal, scopeCluster:
		return scope, nil
	case scopeAuto:
	default:
		return "", fmt.Errorf("--scope %q: want auto, local or cluster", scope)
	}
	var v etcdstate.ClusterView
	if !clusterOK || c.do(ctx, "GET", "/admin/cluster", nil, &v) != nil || v.Backend != etcdstate.BackendEtcd {
		return scopeLocal, nil
	}
	return scopeCluster, nil
}

// printMissing names the replicas whose comparisons are not listed.
func printMissing(w io.Writer, missing []admin.Missing) error {
	for _, m := range missing {
		if _, err := fmt.Fprintf(w, "missing replica %s (its comparisons are not listed): %s\n", m.Replica, m.Error); err != nil {
			return err
		}
	}
	return nil
}

// printDiffs lists diffs, with the replica holding each when withReplica
// (its ID is that replica's: ask it with --admin for strangler diff).
func printDiffs(w io.Writer, t termout.Terminal, diffs []admin.ClusterSummary, withReplica bool) error {
	header := []string{"ID", "TIME", "METHOD", "PATH", "VERDICT", "DIFFERENCES", "LEGACY", "SERVICE"}
	if fitted(t) {
		header = []string{"ID", "TIME", "METHOD", "PATH", "VERDICT", "DIFFS", "STATUS L/S"}
	}
	if withReplica {
		header = append([]string{"REPLICA"}, header...)
	}
	rows := make([][]string, 0, len(diffs))
	for _, d := range diffs {
		row := []string{strconv.FormatUint(d.ID, 10), d.Time.Local().Format(time.TimeOnly), d.Method, d.Path,
			t.Verdict(string(d.Verdict)), strconv.Itoa(d.Differences)}
		if fitted(t) {
			row = append(row, fmt.Sprintf("%d/%d", d.LegacyStatus, d.ServiceStatus))
		} else {
			row = append(row, strconv.Itoa(d.LegacyStatus), strconv.Itoa(d.ServiceStatus))
		}
		if withReplica {
			row = append([]string{d.Replica}, row...)
		}
		rows = append(rows, row)
	}
	flex := []int{3}
	if withReplica {
		flex = []int{4}
	}
	return writeTable(w, t, header, rows, flex...)
}

// printDiff shows one comparison whole: no value is cut, long ones wrap
// on a terminal.
func printDiff(w io.Writer, t termout.Terminal, rec report.Record) error {
	head := [][]string{
		{"result", fmt.Sprintf("%d (%s) %s %s, served by %s", rec.ID, rec.Route, rec.Method, rec.Path, rec.Primary)},
		{"verdict", t.Verdict(string(rec.Result.Verdict))},
	}
	if rec.Result.Error != "" {
		head = append(head, []string{"error", rec.Result.Error})
	}
	if rec.TraceID != "" {
		head = append(head, []string{"trace", rec.TraceID})
	}
	head = append(head,
		[]string{"legacy", fmt.Sprintf("%d in %s %s", rec.Legacy.Status, rec.Legacy.Duration.Round(time.Microsecond), rec.Legacy.Error)},
		[]string{"service", fmt.Sprintf("%d in %s %s", rec.Service.Status, rec.Service.Duration.Round(time.Microsecond), rec.Service.Error)})
	if err := writeWholeTable(w, t, nil, head); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	if fitted(t) {
		return printDifferencesTerminal(w, t, rec.Result.Differences)
	}
	rows := make([][]string, 0, len(rec.Result.Differences))
	for _, d := range rec.Result.Differences {
		rows = append(rows, []string{d.Path, string(d.Kind), orDash(d.Legacy), orDash(d.Service), noiseMark(d.Noise)})
	}
	return writeWholeTable(w, t, []string{"PATH", "KIND", "LEGACY", "SERVICE", "NOISE"}, rows)
}

// printDifferencesTerminal shows each difference as a block, the two
// values on lines of their own and whole (the terminal wraps them).
func printDifferencesTerminal(w io.Writer, t termout.Terminal, diffs []diff.Difference) error {
	for _, d := range diffs {
		head := t.Bold(d.Path) + "  " + string(d.Kind)
		if d.Noise {
			head += "  " + t.Verdict("noise-only")
		}
		if _, err := fmt.Fprintf(w, "%s\n  legacy   %s\n  service  %s\n", head, orDash(d.Legacy), orDash(d.Service)); err != nil {
			return err
		}
	}
	return nil
}

func noiseMark(noise bool) string {
	if noise {
		return "noise"
	}
	return ""
}
