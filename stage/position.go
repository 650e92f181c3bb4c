package stage

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is where a route stands: a stage and, for canary, a percent.
// Its JSON form is {"stage":"canary","percent":25}.
type Position struct {
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
}

// At returns the position of a route configured at the stage named name
// with percent: the percent counts only at canary.
func At(name string, percent float64) Position {
	p := Position{Stage: name}
	if name == Canary.String() {
		p.Percent = percent
	}
	return p
}

// rank orders positions: legacy < shadow < canary (by percent) < migrated;
// an unknown stage ranks before all of them.
func (p Position) rank() float64 {
	s, ok := Lookup(p.Stage)
	switch {
	case !ok:
		return -1
	case s == Canary:
		return float64(Canary) + p.Percent/1000
	}
	return float64(s)
}

// Before reports whether p comes before q in rollout order.
func (p Position) Before(q Position) bool { return p.rank() < q.rank() }

// String renders a position the way plans write it: "canary 25".
func (p Position) String() string {
	if p.Stage == Canary.String() {
		return p.Stage + " " + strconv.FormatFloat(p.Percent, 'f', -1, 64)
	}
	return p.Stage
}

// ParseStep parses a plan step: "shadow", "canary N" (0 < N < 100, an
// optional % sign) or "migrated".
func ParseStep(s string) (Position, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1 && (f[0] == Shadow.String() || f[0] == Migrated.String()):
		return Position{Stage: f[0]}, nil
	case len(f) == 2 && f[0] == Canary.String():
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		if err != nil || !(pct > 0 && pct < 100) {
			return Position{}, fmt.Errorf("step %q: canary percent must be a number above 0 and below 100", s)
		}
		return Position{Stage: f[0], Percent: pct}, nil
	}
	return Position{}, fmt.Errorf("step %q: want shadow, canary N or migrated", s)
}

// Steps parses a plan, leaving out the steps ParseStep rejects (a
// validated plan has none).
func Steps(plan []string) []Position {
	out := make([]Position, 0, len(plan))
	for _, s := range plan {
		if p, err := ParseStep(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Next returns the first step of plan after current; ok is false at or
// past the last step.
func Next(current Position, plan []Position) (next Position, ok bool) {
	for _, step := range plan {
		if current.Before(step) {
			return step, true
		}
	}
	return Position{}, false
}
