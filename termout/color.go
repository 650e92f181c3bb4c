package termout

import (
	"strings"

	"github.com/fatih/color"

	"github.com/stranglerfig/strangler/stage"
)

// paint returns s in the colour attrs when t allows colour.
func (t Terminal) paint(s string, attrs ...color.Attribute) string {
	if !t.Color || s == "" {
		return s
	}
	c := color.New(attrs...)
	c.EnableColor() // colour was decided by t, not by fatih/color's own look at os.Stdout
	return c.Sprint(s)
}

// Verdict colours a comparison verdict: equal green, noise-only cyan,
// different red, error yellow.
func (t Terminal) Verdict(v string) string {
	switch v {
	case "equal":
		return t.paint(v, color.FgGreen)
	case "noise-only":
		return t.paint(v, color.FgCyan)
	case "different":
		return t.paint(v, color.FgRed)
	case "error":
		return t.paint(v, color.FgYellow)
	}
	return v
}

// Stage colours a rollout position by its stage (the first word of s):
// legacy plain, shadow cyan, canary yellow, migrated green.
func (t Terminal) Stage(s string) string {
	name, _, _ := strings.Cut(s, " ")
	st, _ := stage.Lookup(name) // an unknown name is Legacy: plain
	switch st {
	case stage.Shadow:
		return t.paint(s, color.FgCyan)
	case stage.Canary:
		return t.paint(s, color.FgYellow)
	case stage.Migrated:
		return t.paint(s, color.FgGreen)
	}
	return s
}

// Good colours s green when ok and red otherwise.
func (t Terminal) Good(s string, ok bool) string {
	if ok {
		return t.paint(s, color.FgGreen)
	}
	return t.paint(s, color.FgRed)
}

// Bold makes s bold (headings).
func (t Terminal) Bold(s string) string { return t.paint(s, color.Bold) }

// Warn colours s yellow (warnings).
func (t Terminal) Warn(s string) string { return t.paint(s, color.FgYellow) }
