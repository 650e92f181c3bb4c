package config

import (
	"fmt"

	"github.com/stranglerfig/strangler/stage"
)

// Position returns the route's position as configured.
func (r *Route) Position() stage.Position { return stage.At(r.Stage, r.Percent) }

// Steps parses the route's plan (valid after validation).
func (r *Route) Steps() []stage.Position { return stage.Steps(r.Plan) }

// Next returns the first step of the plan after the route's position;
// ok is false at or past the last step.
func (r *Route) Next() (next stage.Position, ok bool) { return stage.Next(r.Position(), r.Steps()) }

func validatePlan(v *validator, f string, plan []string) {
	var prev stage.Position
	for j, s := range plan {
		p, err := stage.ParseStep(s)
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
