package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is where a route stands: a stage and, for canary, a percent.
type Position struct {
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
}

// Position returns the route's position as configured.
func (r *Route) Position() Position {
	p := Position{Stage: r.Stage}
	if r.Stage == StageCanary {
		p.Percent = r.Percent
	}
	return p
}

// rank orders positions: legacy < shadow < canary (by percent) < migrated.
func (p Position) rank() float64 {
	switch p.Stage {
	case StageLegacy:
		return 0
	case StageShadow:
		return 1
	case StageCanary:
		return 2 + p.Percent/1000
	case StageMigrated:
		return 3
	}
	return -1
}

// Before reports whether p comes before q in rollout order.
func (p Position) Before(q Position) bool { return p.rank() < q.rank() }

// String renders a position the way plans write it: "canary 25".
func (p Position) String() string {
	if p.Stage == StageCanary {
		return p.Stage + " " + strconv.FormatFloat(p.Percent, 'f', -1, 64)
	}
	return p.Stage
}

// ParseStep parses a plan step: "shadow", "canary N" (0 < N < 100) or
// "migrated".
func ParseStep(s string) (Position, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1 && (f[0] == StageShadow || f[0] == StageMigrated):
		return Position{Stage: f[0]}, nil
	case len(f) == 2 && f[0] == StageCanary:
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		if err != nil || !(pct > 0 && pct < 100) {
			return Position{}, fmt.Errorf("step %q: canary percent must be a number above 0 and below 100", s)
		}
		return Position{Stage: StageCanary, Percent: pct}, nil
	}
	return Position{}, fmt.Errorf("step %q: want shadow, canary N or migrated", s)
}

// Steps parses the route's plan (valid after validation).
func (r *Route) Steps() []Position {
	out := make([]Position, 0, len(r.Plan))
	for _, s := range r.Plan {
		if p, err := ParseStep(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Next returns the first step of the plan after the route's position;
// ok is false at or past the last step.
func (r *Route) Next() (next Position, ok bool) {
	cur := r.Position()
	for _, step := range r.Steps() {
		if cur.Before(step) {
			return step, true
		}
	}
	return Position{}, false
}

func validatePlan(v *validator, f string, plan []string) {
	var prev Position
	for j, s := range plan {
		p, err := ParseStep(s)
		if err != nil {
			v.add(fmt.Sprintf("%s[%d]", f, j), "%v", err)
			continue
		}
		if j > 0 && !prev.Before(p) {
			v.add(fmt.Sprintf("%s[%d]", f, j), "step %q must come after %q: steps go forward", s, prev)
		}
		prev = p
	}
}
