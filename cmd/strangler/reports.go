package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/report"
)

func newReportCmd() *cobra.Command {
	var f verbFlags
	var format string
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
			data, err := f.client().raw(cmd.Context(), "GET", "/admin/report?format="+format, nil)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	f.registerAdmin(cmd) // its output is --format's, not --output's
	cmd.Flags().StringVar(&format, "format", "md", "md, json or html")
	return cmd
}

func newDiffsCmd() *cobra.Command {
	var f verbFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "diffs ROUTE",
		Short: "List a route's recent comparisons, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			q := url.Values{"route": {args[0]}, "limit": {strconv.Itoa(limit)}}
			var out struct {
				Diffs []report.Summary `json:"diffs"`
			}
			if err := f.client().do(cmd.Context(), "GET", "/admin/diffs?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printDiffs(cmd.OutOrStdout(), out.Diffs)
		},
	}
	f.register(cmd, false)
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many")
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

func printDiffs(w io.Writer, diffs []report.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tMETHOD\tPATH\tVERDICT\tDIFFERENCES\tLEGACY\tSERVICE")
	for _, d := range diffs {
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
