package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/termout"
)

// printReportTables prints a diff report for a terminal: the overall
// line, one summary row per route, then each route's top differing paths
// and learned noise. Values are shown raw (no Markdown escapes); long
// ones are cut, and strangler diff RESULT shows them whole.
func printReportTables(w io.Writer, t termout.Terminal, r admin.ClusterReport) error {
	o := r.Overall
	fmt.Fprintf(w, "%s  generated %s\n", t.Bold("Shadow comparison report"), r.GeneratedAt.Local().Format(time.DateTime))
	fmt.Fprintf(w, "Overall: %d compared, %s match (%d equal, %d noise-only, %d different)\n\n",
		o.Compared, rate(t, o.MatchRate, o.Compared), o.Equal, o.NoiseOnly, o.Different)
	if err := t.Table(w, []string{"ROUTE", "STAGE", "COMPARED", "MATCH", "DIFFERENT", "ERRORS L/S", "P99 L/S"},
		reportRows(t, r.Routes), 0); err != nil {
		return err
	}
	for i := range r.Routes {
		if err := printRouteDetail(w, t, &r.Routes[i]); err != nil {
			return err
		}
	}
	if len(r.Replicas) > 0 {
		fmt.Fprintf(w, "\nReplicas summed: %s.\n", strings.Join(r.Replicas, ", "))
	}
	for _, m := range r.Missing {
		fmt.Fprintf(w, "%s %s (its comparisons are not in this report): %s\n", t.Warn("Missing replica"), m.Replica, m.Error)
	}
	return nil
}

// reportRows are the summary rows of the routes.
func reportRows(t termout.Terminal, routes []report.RouteReport) [][]string {
	rows := make([][]string, 0, len(routes))
	for _, rr := range routes {
		rows = append(rows, []string{rr.Route, t.Stage(orDash(rr.Stage)), strconv.FormatUint(rr.Compared, 10),
			rate(t, rr.MatchRate, rr.Compared), strconv.FormatUint(rr.Different, 10),
			fmt.Sprintf("%d/%d", rr.LegacyErrors.Total(), rr.ServiceErrors.Total()),
			p99Pair(rr.LegacyLatency, rr.ServiceLatency)})
	}
	return rows
}

// printRouteDetail prints a route's top differing paths, its learned
// noise and its shadow counts; nothing for a route never compared.
func printRouteDetail(w io.Writer, t termout.Terminal, rr *report.RouteReport) error {
	if rr.Records == 0 && len(rr.Noise) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n%s\n", t.Bold("Route "+rr.Route))
	if len(rr.TopPaths) > 0 {
		rows := make([][]string, 0, len(rr.TopPaths))
		for _, p := range rr.TopPaths {
			rows = append(rows, []string{p.Path, string(p.Kind), strconv.FormatUint(p.Count, 10), yesNo(p.Noise),
				orDash(p.Example.Legacy), orDash(p.Example.Service), strconv.FormatUint(p.Example.ResultID, 10)})
		}
		header := []string{"DIFFERING PATH", "KIND", "COUNT", "NOISE", "LEGACY", "SERVICE", "RESULT"}
		if err := t.Table(w, header, rows, 4, 5, 0); err != nil {
			return err
		}
	}
	noise := make([]string, 0, len(rr.Noise))
	for _, n := range rr.Noise {
		noise = append(noise, fmt.Sprintf("%s (%d)", n.Path, n.Count))
	}
	if len(noise) > 0 {
		fmt.Fprintf(w, "learned noise: %s\n", strings.Join(noise, ", "))
	}
	fmt.Fprintf(w, "shadow: sent %d, dropped %s, skipped %s\n", rr.Shadow.Sent, counts(rr.Shadow.Dropped), counts(rr.Shadow.Skipped))
	return nil
}

// rate formats a match rate, coloured green at 100%, red below 90%;
// "n/a" when nothing was compared.
func rate(t termout.Terminal, r float64, compared uint64) string {
	if compared == 0 {
		return "n/a"
	}
	s := strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
	switch {
	case r >= 1:
		return t.Good(s, true)
	case r < 0.9:
		return t.Good(s, false)
	}
	return s
}

// p99Pair formats the p99 latency of both sides in milliseconds.
func p99Pair(l, s report.Latency) string {
	one := func(x report.Latency) string {
		if x.Samples == 0 {
			return "-"
		}
		return strconv.FormatFloat(x.P99ms, 'f', 1, 64)
	}
	return one(l) + "/" + one(s) + " ms"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// counts formats counts by reason, sorted by reason.
func counts(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
