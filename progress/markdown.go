package progress

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Header names the columns of Rows.
var Header = []string{"UNTIL", "REQUESTS", "NEW SERVICES", "ENDPOINTS", "ENDPOINT SHARE", "ROUTES L/S/C/M"}

// Rows renders samples as table rows, in the order given.
func Rows(h []Sample) [][]string {
	rows := make([][]string, 0, len(h))
	for _, s := range h {
		rows = append(rows, []string{s.Time.UTC().Format(time.DateTime),
			strconv.FormatUint(s.Requests, 10), Percent(s.RequestShare),
			strconv.Itoa(s.Endpoints), Percent(s.EndpointShare), s.Routes.String()})
	}
	return rows
}

// String writes the route stages as legacy/shadow/canary/migrated counts.
func (s Stages) String() string {
	return fmt.Sprintf("%d/%d/%d/%d", s.Legacy, s.Shadow, s.Canary, s.Migrated)
}

// Percent writes a share as a percentage with one decimal.
func Percent(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

// Summary is the report's headline lines: now and since start.
func Summary(r Report) []string {
	line := func(name string, s Sample) string {
		return fmt.Sprintf("%s (%s to %s): %s of %d requests served by new services; %s of %d endpoints; routes legacy/shadow/canary/migrated %s",
			name, s.From.UTC().Format(time.DateTime), s.Time.UTC().Format(time.DateTime), Percent(s.RequestShare),
			s.Requests, Percent(s.EndpointShare), s.Endpoints, s.Routes)
	}
	return []string{line("Now", r.Now), line("Since start", r.SinceStart)}
}

// WriteMarkdown writes r as Markdown: the summary, then the history as a
// table, oldest first.
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	b.WriteString("# Migration progress\n\n")
	for _, l := range Summary(r) {
		b.WriteString("- " + l + "\n")
	}
	fmt.Fprintf(&b, "\nOne sample every %s, kept %d days (at most %d samples). Shares are per interval.\n\n",
		time.Duration(r.EverySeconds)*time.Second, r.KeepDays, r.MaxSamples)
	if len(r.History) == 0 {
		b.WriteString("No sample recorded yet.\n")
	} else {
		b.WriteString("| " + strings.Join(Header, " | ") + " |\n")
		b.WriteString(strings.Repeat("|---", len(Header)) + "|\n")
		for _, row := range Rows(r.History) {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the progress report: %w", err)
	}
	return nil
}
