package config

import "fmt"

// breaker checks a service's circuit breaker settings.
func (v *validator) breaker(f string, b Breaker) {
	if !b.On() {
		return
	}
	if b.ConsecutiveFailures < 1 {
		v.add(f+".consecutive_failures", "must be at least 1")
	}
	if b.FailureRatio <= 0 || b.FailureRatio > 1 || b.FailureRatio != b.FailureRatio {
		v.add(f+".failure_ratio", "must be above 0 and at most 1, got %v", b.FailureRatio)
	}
	if b.Window <= 0 {
		v.add(f+".window", "must be positive, got %s", b.Window)
	}
	if b.OpenFor <= 0 {
		v.add(f+".open_for", "must be positive, got %s", b.OpenFor)
	}
}

// validateGuard checks a route's fallback and automation keys.
func (c *Config) validateGuard(v *validator, f string, r *Route) {
	for j, st := range r.FallbackStatuses {
		if st < 400 || st > 599 {
			v.add(fmt.Sprintf("%s.fallback_statuses[%d]", f, j), "must be a 4xx or 5xx status, got %d", st)
		}
	}
	a := r.Automation
	if !a.Enabled {
		return
	}
	if r.Service == "" {
		v.add(f+".automation.enabled", "needs the route's service")
	}
	if a.Hold <= 0 {
		v.add(f+".automation.hold", "must be positive, got %s", a.Hold)
	}
	if a.Window <= 0 {
		v.add(f+".automation.window", "must be positive, got %s", a.Window)
	}
	fraction(v, f+".automation.gates.match_rate", a.Gates.MatchRate)
	if a.Gates.ErrorRate != nil {
		fraction(v, f+".automation.gates.error_rate", *a.Gates.ErrorRate)
	}
	fraction(v, f+".automation.rollback.match_rate", a.Rollback.MatchRate)
	fraction(v, f+".automation.rollback.error_rate", a.Rollback.ErrorRate)
	for _, p := range []struct {
		field string
		val   float64
	}{{"gates.p99_ratio", a.Gates.P99Ratio}, {"rollback.p99_ratio", a.Rollback.P99Ratio}} {
		if p.val < 0 {
			v.add(f+".automation."+p.field, "must not be negative, got %v", p.val)
		}
	}
	if a.Gates.P99Max < 0 || a.Rollback.P99Max < 0 {
		v.add(f+".automation", "p99_max must not be negative")
	}
}

// fraction checks a rate between 0 and 1.
func fraction(v *validator, field string, x float64) {
	if x < 0 || x > 1 || x != x {
		v.add(field, "must be between 0 and 1 (a fraction, not a percent), got %v", x)
	}
}
