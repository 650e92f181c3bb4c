// Package termout shapes command output for where it goes: on a terminal,
// tables fitted to its width with long values cut by an ellipsis and
// colour unless NO_COLOR is set; into a pipe or a file, plain text.
package termout

import (
	"context"
	"io"
	"os"

	"golang.org/x/term"
)

// Terminal describes the destination of a command's output.
type Terminal struct {
	// TTY is true when the output is a terminal.
	TTY bool
	// Width is the terminal's width in columns; 0 means unlimited (a pipe).
	Width int
	// Color allows ANSI colour.
	Color bool
	// Markdown renders tables as Markdown (asked for with --format md),
	// whatever the destination.
	Markdown bool
}

// Pipe is a destination that is not a terminal: no width, no colour.
var Pipe = Terminal{}

// fallbackWidth is used when a terminal does not tell its size.
const fallbackWidth = 80

// Detect tells whether w is a terminal, its width, and whether colour is
// allowed: only on a terminal, and not when NO_COLOR is set to anything
// but "" or TERM is "dumb" (https://no-color.org).
func Detect(w io.Writer) Terminal {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return Pipe
	}
	fd := int(f.Fd())
	if !term.IsTerminal(fd) {
		return Pipe
	}
	width, _, err := term.GetSize(fd)
	if err != nil || width <= 0 {
		width = fallbackWidth
	}
	return Terminal{TTY: true, Width: width, Color: ColorAllowed()}
}

// ColorAllowed reports whether the environment allows colour: NO_COLOR
// is unset or empty and TERM is not "dumb".
func ColorAllowed() bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// Detector tells what kind of destination a writer is.
type Detector func(io.Writer) Terminal

type detectorKey struct{}

// WithDetector returns a context whose For answers with d instead of
// Detect: tests use it to force a width or a pipe.
func WithDetector(ctx context.Context, d Detector) context.Context {
	return context.WithValue(ctx, detectorKey{}, d)
}

// Fixed is a Detector that always answers t.
func Fixed(t Terminal) Detector { return func(io.Writer) Terminal { return t } }

// For describes w with the context's Detector, or Detect.
func For(ctx context.Context, w io.Writer) Terminal {
	if ctx != nil {
		if d, ok := ctx.Value(detectorKey{}).(Detector); ok {
			return d(w)
		}
	}
	return Detect(w)
}
