package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stranglerfig/strangler/termout"
)

// writeTable prints header and rows: fitted to the terminal (cells cut
// with an ellipsis, colour kept) when t is a terminal, or as plain
// tab-aligned columns for a pipe, as before terminals were told apart.
// A nil header prints rows alone; the flex columns give way first.
func writeTable(w io.Writer, t termout.Terminal, header []string, rows [][]string, flex ...int) error {
	if t.TTY || t.Markdown {
		return t.Table(w, header, rows, flex...)
	}
	return plainTable(w, header, rows)
}

// writeWholeTable is writeTable that never cuts a cell (long ones wrap).
func writeWholeTable(w io.Writer, t termout.Terminal, header []string, rows [][]string) error {
	if t.TTY || t.Markdown {
		return t.WrapTable(w, header, rows)
	}
	return plainTable(w, header, rows)
}

// fitted tells whether output is shaped for a terminal: fewer, paired
// columns fitted to its width (not when Markdown was asked for).
func fitted(t termout.Terminal) bool { return t.TTY && !t.Markdown }

// plainTable aligns header and rows with two spaces between columns.
func plainTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != nil {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing a table of %d rows: %w", len(rows), err)
	}
	return nil
}
