package admin

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/stranglerfig/strangler/report"
)

// Reports is the store of comparison results as the admin API uses it.
type Reports interface {
	Recent(route string, limit int) []report.Summary
	Get(id uint64) (report.Record, bool)
	Report(routes []string) report.Report
}

// ShadowInfo gives a route's mirroring counts and learned noise.
type ShadowInfo interface {
	Counts(route string) report.ShadowCounts
	Noise(route string) []report.NoisePath
}

// maxDiffs caps the limit of /admin/diffs.
const maxDiffs = 1000

func (s *server) diffs(w http.ResponseWriter, r *http.Request) error {
	if s.Reports == nil {
		return errNoReports
	}
	limit, err := queryLimit(r, 50, maxDiffs)
	if err != nil {
		return err
	}
	route := r.URL.Query().Get("route")
	if route != "" {
		// A route gone from the config may still have stored results (the
		// report lists it): only a route with neither is unknown.
		if _, ok := s.Control.Route(route); !ok && len(s.Reports.Recent(route, 1)) == 0 {
			return &Error{Status: http.StatusNotFound, Field: "route", Msg: "unknown route " + strconv.Quote(route)}
		}
	}
	cluster, err := clusterScope(r)
	if err != nil {
		return err
	}
	if !cluster {
		writeJSON(w, http.StatusOK, map[string]any{"diffs": s.Reports.Recent(route, limit)})
		return nil
	}
	out, err := s.clusterDiffs(r, route, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) diff(w http.ResponseWriter, r *http.Request) error {
	if s.Reports == nil {
		return errNoReports
	}
	id, err := strconv.ParseUint(mux.Vars(r)["id"], 10, 64)
	if err != nil || id == 0 { // ids start at 1
		return &Error{Status: http.StatusBadRequest, Field: "id", Msg: "id must be a positive integer"}
	}
	rec, ok := s.Reports.Get(id)
	if !ok {
		return &Error{Status: http.StatusNotFound, Field: "id", Msg: "no stored result " + strconv.FormatUint(id, 10) + " (evicted or never stored)"}
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

var errNoReports = &Error{Status: http.StatusNotFound, Msg: "shadow reports are not enabled"}

// buildReport assembles the per-route report with stages, mirroring
// counts and learned noise.
func (s *server) buildReport() report.Report {
	views := s.Control.Routes()
	names := make([]string, 0, len(views))
	stages := map[string]string{}
	for _, v := range views {
		names = append(names, v.Name)
		stages[v.Name] = v.Position.String()
	}
	rep := s.Reports.Report(names)
	for i := range rep.Routes {
		rr := &rep.Routes[i]
		rr.Stage = stages[rr.Route]
		if s.Shadow != nil {
			rr.Shadow = s.Shadow.Counts(rr.Route)
			rr.Noise = s.Shadow.Noise(rr.Route)
		}
	}
	return rep
}

func (s *server) report(w http.ResponseWriter, r *http.Request) error {
	if s.Reports == nil {
		return errNoReports
	}
	cluster, err := clusterScope(r)
	if err != nil {
		return err
	}
	if cluster {
		return s.writeClusterReport(w, r)
	}
	rep := s.buildReport()
	// Markdown and HTML carry the same data as JSON: as writeJSON does,
	// never cached and never sniffed into something else.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		writeJSON(w, http.StatusOK, rep)
	case "md", "markdown":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		return report.WriteMarkdown(w, rep)
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		return report.WriteHTML(w, rep)
	default:
		return &Error{Status: http.StatusBadRequest, Field: "format", Msg: "format must be json, md or html, not " + strconv.Quote(f)}
	}
	return nil
}

// writeClusterReport serves the report merged over the cluster as JSON
// or Markdown (followed by the replicas summed and the missing ones).
func (s *server) writeClusterReport(w http.ResponseWriter, r *http.Request) error {
	f := r.URL.Query().Get("format")
	switch f {
	case "", "json", "md", "markdown":
	default:
		return &Error{Status: http.StatusBadRequest, Field: "format", Msg: "with scope=cluster, format must be json or md, not " + strconv.Quote(f)}
	}
	rep, err := s.clusterReport(r)
	if err != nil {
		return err
	}
	if f == "" || f == "json" {
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	if err := report.WriteMarkdown(w, rep.Report); err != nil {
		return err
	}
	return writeMissing(w, rep.Replicas, rep.Missing)
}

// writeMissing ends a Markdown cluster report with who is in it and who
// is not.
func writeMissing(w io.Writer, replicas []string, missing []Missing) error {
	if _, err := fmt.Fprintf(w, "\nReplicas summed: %s.\n", strings.Join(replicas, ", ")); err != nil {
		return err
	}
	for _, m := range missing {
		if _, err := fmt.Fprintf(w, "\n**Missing replica %s** (its comparisons are not in this report): %s\n", m.Replica, m.Error); err != nil {
			return err
		}
	}
	return nil
}
