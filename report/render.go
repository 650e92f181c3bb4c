package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// exampleLen bounds an example value in the Markdown and HTML renderings.
const exampleLen = 80

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes r as a Markdown document: per route, a table of
// the counts, errors and latency, the top differing paths with an example
// pair, the learned noise and the shadow counts. Every value taken from
// the report is escaped, so no route name or example can inject markup.
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Shadow comparison report\n\nGenerated %s.\n\n", r.GeneratedAt.UTC().Format(time.RFC3339))
	o := r.Overall
	fmt.Fprintf(&b, "Overall: %d compared, match rate %s (equal %d, noise-only %d, different %d).\n",
		o.Compared, percent(o.MatchRate, o.Compared), o.Equal, o.NoiseOnly, o.Different)
	for i := range r.Routes {
		markdownRoute(&b, &r.Routes[i])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownRoute writes the section of one route.
func markdownRoute(b *strings.Builder, rr *RouteReport) {
	fmt.Fprintf(b, "\n## Route %s\n\n", md(rr.Route))
	b.WriteString("| Metric | Value |\n|---|---|\n")
	for _, kv := range routeMetrics(rr) {
		fmt.Fprintf(b, "| %s | %s |\n", kv[0], md(kv[1]))
	}
	markdownPaths(b, rr.TopPaths)
	markdownNoise(b, rr.Noise)
	fmt.Fprintf(b, "\nShadow: %s.\n", md(shadowText(rr.Shadow)))
}

// markdownPaths writes the top differing paths table.
func markdownPaths(b *strings.Builder, paths []PathStat) {
	b.WriteString("\n### Top differing paths\n\n")
	if len(paths) == 0 {
		b.WriteString("None.\n")
		return
	}
	b.WriteString("| Path | Kind | Count | Noise | Legacy | Service | Result |\n|---|---|---:|---|---|---|---:|\n")
	for _, p := range paths {
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %d |\n", md(p.Path), md(string(p.Kind)), p.Count,
			yesNo(p.Noise), md(shorten(p.Example.Legacy)), md(shorten(p.Example.Service)), p.Example.ResultID)
	}
	markdownExcerpts(b, paths)
}

// markdownExcerpts writes, for each differing path that has one, the
// source around the difference on each side as fenced text (never
// rendered as markup).
func markdownExcerpts(b *strings.Builder, paths []PathStat) {
	for _, p := range paths {
		if p.Example.Excerpt == nil || p.Noise {
			continue
		}
		fmt.Fprintf(b, "\n#### In context: %s\n\n", md(p.Path))
		for _, side := range [2]struct{ name, text string }{
			{"Monolith", p.Example.Excerpt.Legacy}, {"Service", p.Example.Excerpt.Service}} {
			fmt.Fprintf(b, "%s:\n\n%s\n", side.name, fence(side.text))
		}
	}
}

// fence wraps s in a code fence longer than any run of backticks in it,
// so that no excerpt can close its fence early.
func fence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	if s == "" {
		s = "(absent)"
	}
	return f + "text\n" + strings.TrimRight(s, "\n") + "\n" + f + "\n"
}

// markdownNoise writes the learned noise table.
func markdownNoise(b *strings.Builder, noise []NoisePath) {
	b.WriteString("\n### Learned noise\n\n")
	if len(noise) == 0 {
		b.WriteString("None.\n")
		return
	}
	b.WriteString("| Path | Count |\n|---|---:|\n")
	for _, n := range noise {
		fmt.Fprintf(b, "| %s | %d |\n", md(n.Path), n.Count)
	}
}

// routeMetrics are the rows of a route's summary table, as label and
// plain-text value.
func routeMetrics(rr *RouteReport) [][2]string {
	rows := [][2]string{
		{"Stage", orDash(rr.Stage)},
		{"Records", fmt.Sprint(rr.Records)},
		{"Compared", fmt.Sprint(rr.Compared)},
		{"Match rate", percent(rr.MatchRate, rr.Compared)},
		{"Equal / noise-only / different", fmt.Sprintf("%d / %d / %d", rr.Equal, rr.NoiseOnly, rr.Different)},
		{"Diff errors", fmt.Sprint(rr.DiffErrors)},
		{"Legacy errors", errorText(rr.LegacyErrors)},
		{"Service errors", errorText(rr.ServiceErrors)},
		{"Legacy latency p50 / p99", latencyText(rr.LegacyLatency)},
		{"Service latency p50 / p99", latencyText(rr.ServiceLatency)},
		{"First seen", timeText(rr.FirstSeen)},
		{"Last seen", timeText(rr.LastSeen)},
	}
	return rows
}

// md escapes s for a Markdown table cell or heading: HTML is escaped,
// Markdown punctuation backslash-escaped and line breaks flattened.
func md(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\\', '`', '*', '_', '|', '[', ']', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return htmlEscaper.Replace(b.String())
}

// htmlEscaper keeps raw HTML out of Markdown (quotes are harmless there).
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// percent formats a match rate, or "n/a" when nothing was compared.
func percent(rate float64, compared uint64) string {
	if compared == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", rate*100)
}

// errorText formats error counts.
func errorText(e ErrorCounts) string {
	return fmt.Sprintf("%d (5xx %d, timeout %d, refused %d, other %d)", e.Total(), e.Status5xx, e.Timeout, e.Refused, e.Other)
}

// latencyText formats a latency summary.
func latencyText(l Latency) string {
	if l.Samples == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f ms / %.1f ms (%d samples)", l.P50ms, l.P99ms, l.Samples)
}

// shadowText formats the shadow counts.
func shadowText(s ShadowCounts) string {
	return fmt.Sprintf("sent %d; dropped: %s; skipped: %s", s.Sent, countsText(s.Dropped), countsText(s.Skipped))
}

// countsText formats counts by reason, sorted by reason.
func countsText(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// timeText formats a time, "-" when zero.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// shorten cuts an example value for display.
func shorten(s string) string {
	if cut, ok := excerpt(s, exampleLen); ok {
		return cut + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
