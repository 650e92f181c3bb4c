package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

func newReportCmd() *cobra.Command {
	var f verbFlags
	var format, scope string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Print the diff report of a running proxy: match rates, top differing fields, noise",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "md", "json", "html":
			default:
				return fmt.Errorf("--format %q: want md, json or html", format)
			}
			c := f.client()
			sc, err := resolveScope(cmd.Context(), c, scope, format != "html")
			if err != nil {
				return err
			}
			data, err := c.raw(cmd.Context(), "GET", "/admin/report?"+url.Values{"format": {format}, "scope": {sc}}.Encode(), nil)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	f.registerAdmin(cmd) // its output is --format's, not --output's
	cmd.Flags().StringVar(&format, "format", "md", "md, json or html")
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
			if err := printDiffs(cmd.OutOrStdout(), out.Diffs, sc == scopeCluster); err != nil {
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
			return printDiff(cmd.OutOrStdout(), rec)
		},
	}
	f.register(cmd, false)
	return cmd
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
func printDiffs(w io.Writer, diffs []admin.ClusterSummary, withReplica bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if withReplica {
		fmt.Fprint(tw, "REPLICA\t")
	}
	fmt.Fprintln(tw, "ID\tTIME\tMETHOD\tPATH\tVERDICT\tDIFFERENCES\tLEGACY\tSERVICE")
	for _, d := range diffs {
		if withReplica {
			fmt.Fprintf(tw, "%s\t", d.Replica)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", d.ID, d.Time.Local().Format(time.TimeOnly), d.Method, d.Path,
			d.Verdict, d.Differences, d.LegacyStatus, d.ServiceStatus)
	}
	return tw.Flush()
}

func printDiff(w io.Writer, rec report.Record) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "result\t%d (%s) %s %s, served by %s\n", rec.ID, rec.Route, rec.Method, rec.Path, rec.Primary)
	fmt.Fprintf(tw, "verdict\t%s\n", rec.Result.Verdict)
	if rec.Result.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", rec.Result.Error)
	}
	fmt.Fprintf(tw, "legacy\t%d in %s %s\n", rec.Legacy.Status, rec.Legacy.Duration.Round(time.Microsecond), rec.Legacy.Error)
	fmt.Fprintf(tw, "service\t%d in %s %s\n", rec.Service.Status, rec.Service.Duration.Round(time.Microsecond), rec.Service.Error)
	fmt.Fprintln(tw, "\nPATH\tKIND\tLEGACY\tSERVICE\tNOISE")
	for _, d := range rec.Result.Differences {
		noise := ""
		if d.Noise {
			noise = "noise"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Path, d.Kind, orDash(d.Legacy), orDash(d.Service), noise)
	}
	return tw.Flush()
}
