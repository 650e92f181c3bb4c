package admin

import (
	"net/http"
	"strconv"

	"github.com/stranglerfig/strangler/progress"
)

// Progress gives the migration's progress now and over time
// (progress.Sampler).
type Progress interface {
	Report(points int) progress.Report
}

// maxProgressPoints bounds ?points= on /admin/progress.
const maxProgressPoints = progress.MaxSamples

// defaultMarkdownPoints is the number of rows of ?format=md without
// ?points=.
const defaultMarkdownPoints = 24

// progressReport serves GET /admin/progress: the share of requests and of
// endpoints served by new services now and over time, with endpoints and
// routes per stage, as JSON, or as Markdown with ?format=md. ?points=N
// merges the history into at most N samples (JSON default: all of them;
// Markdown: 24).
func (s *server) progressReport(w http.ResponseWriter, r *http.Request) error {
	if s.Progress == nil {
		return &Error{Status: http.StatusNotFound, Msg: "no progress history"}
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "md" {
		return &Error{Status: http.StatusBadRequest, Field: "format", Msg: "format: want json or md, got " + strconv.Quote(format)}
	}
	points := 0
	if format == "md" {
		points = defaultMarkdownPoints
	}
	if v := q.Get("points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxProgressPoints {
			return &Error{Status: http.StatusBadRequest, Field: "points",
				Msg: "points: want an integer from 1 to " + strconv.Itoa(maxProgressPoints) + ", got " + strconv.Quote(v)}
		}
		points = n
	}
	rep := s.Progress.Report(points)
	if format == "md" {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		return progress.WriteMarkdown(w, rep)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
