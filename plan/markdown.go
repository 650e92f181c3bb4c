package plan

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stranglerfig/strangler/stage"
)

// WriteMarkdown renders p for people: progress, the ranked suggestions
// with their route blocks, hygiene findings and the busiest endpoints.
func WriteMarkdown(w io.Writer, p Plan) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Migration plan\n\n")
	fmt.Fprintf(bw, "Source: %s. %d requests since %s; %d endpoints (method and shape) in an inventory of %d entries",
		orDash(p.Source), p.Requests, p.Since.UTC().Format(time.RFC3339), p.Progress.Endpoints, p.Capacity)
	if p.MemoryBound > 0 {
		fmt.Fprintf(bw, " (memory bound %.1f MiB)", float64(p.MemoryBound)/(1<<20))
	}
	fmt.Fprintf(bw, ".\n\n")
	if p.Log != nil {
		fmt.Fprintf(bw, "Access log: %s format, %d lines, %d read, %d skipped.\n\n", p.Log.Format, p.Log.Lines, p.Log.Parsed, p.Log.Skipped)
	}
	writeProgress(bw, p.Progress)
	writeSuggestions(bw, p.Suggestions)
	writeHygiene(bw, p.Hygiene)
	writeEndpoints(bw, p.Endpoints)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the plan as markdown: %w", err)
	}
	return nil
}

func writeProgress(w io.Writer, pr Progress) {
	fmt.Fprintf(w, "## Progress\n\n")
	fmt.Fprintf(w, "- Requests answered by new services: %.1f%% (%d of %d)\n", 100*pr.RequestShare, pr.ServiceRequests, pr.Requests)
	fmt.Fprintf(w, "- Endpoints answered by new services: %.1f%% (%d of %d)\n", 100*pr.EndpointShare, pr.ServiceEndpoints, pr.Endpoints)
	fmt.Fprintf(w, "- Endpoints claimed by a route: %d", pr.RoutedEndpoints)
	for _, st := range stage.Names() {
		if n := pr.ByStage[st]; n > 0 {
			fmt.Fprintf(w, ", %s %d", st, n)
		}
	}
	fmt.Fprintf(w, "\n\n")
}

func writeSuggestions(w io.Writer, ss []Suggestion) {
	fmt.Fprintf(w, "## What to carve next\n\n")
	if len(ss) == 0 {
		fmt.Fprintf(w, "Nothing: every endpoint seen is claimed by a route.\n\n")
		return
	}
	fmt.Fprintf(w, "| # | family | score | share | reads | top-%d share | monolith 5xx | p99 |\n", topShapes)
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	for _, s := range ss {
		f := &s.Family
		fmt.Fprintf(w, "| %d | `%s` | %.2f | %.1f%% | %.0f%% | %.0f%% | %.2f%% | %s |\n", s.Rank, f.Prefix, s.Score,
			100*f.Share, 100*f.ReadShare, 100*f.SelfContained, 100*f.MonolithErrorRate, f.P99.Round(10*time.Microsecond))
	}
	fmt.Fprintln(w)
	for _, s := range ss {
		fmt.Fprintf(w, "### %d. `%s`\n\n", s.Rank, s.Family.Prefix)
		for _, r := range s.Reasons {
			fmt.Fprintf(w, "- %s\n", r)
		}
		fmt.Fprintf(w, "- shapes: %s\n\n", strings.Join(firstN(s.Family.Shapes, 8), ", "))
		fmt.Fprintf(w, "Under `routes:` (after the routes you have):\n\n```yaml\n%s```\n\n", s.RouteYAML)
		fmt.Fprintf(w, "Under `services:`:\n\n```yaml\n%s```\n\n", s.ServiceYAML)
	}
}

func firstN(list []string, n int) []string {
	out := make([]string, 0, min(n+1, len(list)))
	for i, s := range list {
		if i == n {
			out = append(out, fmt.Sprintf("… %d more", len(list)-n))
			break
		}
		out = append(out, "`"+s+"`")
	}
	return out
}

func writeHygiene(w io.Writer, fs []Finding) {
	fmt.Fprintf(w, "## Route hygiene\n\n")
	if len(fs) == 0 {
		fmt.Fprintf(w, "No findings.\n\n")
		return
	}
	for _, f := range fs {
		fmt.Fprintf(w, "- **%s** `%s`: %s\n", f.Kind, f.Route, f.Detail)
	}
	fmt.Fprintln(w)
}

func writeEndpoints(w io.Writer, eps []Endpoint) {
	fmt.Fprintf(w, "## Endpoints\n\n")
	fmt.Fprintf(w, "| method | shape | requests | share | 5xx | p50 | p99 | mean bytes | content type | route |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, e := range eps {
		route := "-"
		if e.Route != "" {
			route = e.Route + " (" + e.Stage + ")"
		}
		fmt.Fprintf(w, "| %s | `%s` | %d | %.2f%% | %.2f%% | %s | %s | %.0f | %s | %s |\n", e.Method, e.Shape, e.Requests,
			100*e.Share, 100*e.ErrorRate, e.P50.Round(10*time.Microsecond), e.P99.Round(10*time.Microsecond),
			e.MeanBytes, orDash(e.ContentType), route)
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
