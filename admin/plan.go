package admin

import (
	"net/http"
	"strconv"

	"github.com/stranglerfig/strangler/plan"
)

// plan serves GET /admin/plan: the migration plan of live traffic (the
// endpoint inventory, what to carve next, route hygiene) as JSON, or as
// Markdown with ?format=md; ?top=N sets the number of suggestions.
func (s *server) plan(w http.ResponseWriter, r *http.Request) error {
	if s.Planner == nil {
		return &Error{Status: http.StatusNotFound, Msg: "no planner"}
	}
	var opts plan.BuildOptions
	if s.PlanOptions != nil {
		opts = s.PlanOptions()
	}
	if opts.Source == "" {
		opts.Source = "live"
	}
	q := r.URL.Query()
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 || n > maxPlanTop {
			return &Error{Status: http.StatusBadRequest, Field: "top",
				Msg: "top: want a non-zero integer up to " + strconv.Itoa(maxPlanTop) + " (negative: all), got " + strconv.Quote(v)}
		}
		opts.Top = n
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "md" {
		return &Error{Status: http.StatusBadRequest, Field: "format", Msg: "format: want json or md, got " + strconv.Quote(format)}
	}
	p := plan.Build(s.Planner, opts)
	if format == "md" {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		return plan.WriteMarkdown(w, p)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// maxPlanTop bounds ?top= on /admin/plan.
const maxPlanTop = 1000
