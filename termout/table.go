package termout

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// gap is the space between two columns.
const gap = 2

// Table writes header and rows as an aligned table without borders
// (kubectl style). On a terminal it fits t.Width: the widest columns are
// narrowed first and their long cells cut with an ellipsis; with no
// width nothing is cut. The flex columns (by index) give way first,
// down to minFlex columns each. A nil header writes the rows alone.
func (t Terminal) Table(w io.Writer, header []string, rows [][]string, flex ...int) error {
	if t.Markdown {
		return markdown(w, header, rows)
	}
	if t.Width > 0 {
		widths := fit(naturalWidths(header, rows), t.Width, flex)
		header = cutRow(header, widths)
		cut := make([][]string, len(rows))
		for i, r := range rows {
			cut[i] = cutRow(r, widths)
		}
		rows = cut
	}
	return render(w, header, rows, nil)
}

// WrapTable is Table that shows every cell whole: on a terminal the
// last column wraps at word boundaries to fit t.Width (for key-value
// blocks and values a user asked to see whole).
func (t Terminal) WrapTable(w io.Writer, header []string, rows [][]string) error {
	if t.Markdown {
		return markdown(w, header, rows)
	}
	if t.Width <= 0 {
		return render(w, header, rows, nil)
	}
	nat := naturalWidths(header, rows)
	if len(nat) == 0 {
		return render(w, header, rows, nil)
	}
	last := len(nat) - 1
	room := t.Width - gap*last
	for _, n := range nat[:last] {
		room -= n
	}
	if room >= nat[last] || room < 10 {
		return render(w, header, rows, nil)
	}
	return render(w, header, rows, tw.NewMapperFromPairs[int, int](last, room))
}

// render lays the table out with tablewriter; wrap, when set, gives the
// columns to wrap at word boundaries and their widths.
func render(w io.Writer, header []string, rows [][]string, wrap tw.Mapper[int, int]) error {
	var buf bytes.Buffer
	opts := []tablewriter.Option{
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Symbols:  tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Lines: tw.LinesNone, Separators: tw.SeparatorsNone},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: strings.Repeat(" ", gap), Overwrite: true}),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	if wrap != nil {
		opts = append(opts, tablewriter.WithRowAutoWrap(tw.WrapNormal), tablewriter.WithConfig(tablewriter.Config{
			Row: tw.CellConfig{ColMaxWidths: tw.CellWidth{PerColumn: wrap}}}))
	}
	tbl := tablewriter.NewTable(&buf, opts...)
	if header != nil {
		tbl.Header(header)
	}
	if err := tbl.Bulk(rows); err != nil {
		return fmt.Errorf("laying out a table of %d rows: %w", len(rows), err)
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("rendering a table of %d rows: %w", len(rows), err)
	}
	_, err := io.WriteString(w, trimLines(buf.String()))
	return err
}

// markdown writes a Markdown table; rows alone get an empty header
// (Markdown tables need one). Pipes are escaped and line breaks
// flattened, so no cell can break the table.
func markdown(w io.Writer, header []string, rows [][]string) error {
	esc := strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ")
	if header == nil && len(rows) > 0 {
		header = make([]string, len(rows[0]))
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = make([]string, len(r))
		for j, c := range r {
			cells[i][j] = esc.Replace(c)
		}
	}
	var buf bytes.Buffer
	tbl := tablewriter.NewTable(&buf, tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft), tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone), tablewriter.WithTrimSpace(tw.Off))
	tbl.Header(header)
	if err := tbl.Bulk(cells); err != nil {
		return fmt.Errorf("laying out a Markdown table of %d rows: %w", len(rows), err)
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("rendering a Markdown table of %d rows: %w", len(rows), err)
	}
	_, err := io.WriteString(w, trimLines(buf.String()))
	return err
}

// naturalWidths is each column's widest cell, colour escapes aside.
func naturalWidths(header []string, rows [][]string) []int {
	var widths []int
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], twwidth.Width(c))
		}
	}
	return widths
}

// minFlex is the narrowest a flexible column is made before the others
// give way too.
const minFlex = 8

// fit narrows columns until the table, with its gaps, fits total
// columns: first the flex columns, widest first, down to minFlex; then
// every column wider than a common cap is cut to it, the cap being the
// largest that fits; columns narrower keep their width.
func fit(natural []int, total int, flex []int) []int {
	room := total - gap*(len(natural)-1)
	if sum(natural) <= room {
		return natural
	}
	natural = shrinkFlex(natural, room, flex)
	if sum(natural) <= room {
		return natural
	}
	widths := slices.Clone(natural)
	for limit := slices.Max(natural); limit > 1; limit-- {
		for i, n := range natural {
			widths[i] = min(n, limit)
		}
		if sum(widths) <= room {
			break
		}
	}
	// Give the columns at the cap what room is left, one column each.
	for i, n := range natural {
		if s := sum(widths); s < room && widths[i] < n {
			widths[i] += min(room-s, n-widths[i])
		}
	}
	return widths
}

// shrinkFlex narrows the flex columns of natural toward minFlex, the
// widest first, until the widths fit room or they reach minFlex.
func shrinkFlex(natural []int, room int, flex []int) []int {
	widths := slices.Clone(natural)
	for sum(widths) > room {
		widest := -1
		for _, i := range flex {
			if i < len(widths) && widths[i] > minFlex && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
	}
	return widths
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// cutRow cuts each cell of r to its column's width, ending a cut cell
// with an ellipsis.
func cutRow(r []string, widths []int) []string {
	if r == nil {
		return nil
	}
	out := make([]string, len(r))
	for i, c := range r {
		out[i] = c
		if i < len(widths) && twwidth.Width(c) > widths[i] {
			out[i] = twwidth.Truncate(c, widths[i], "…") // the width counts the ellipsis
		}
	}
	return out
}

// trimLines drops the padding the table leaves at the end of each line.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
