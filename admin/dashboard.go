package admin

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// ui holds the dashboard: plain HTML, CSS and JavaScript as native ES
// modules (ui/js, entry point ui/js/main.js), no build step, no external
// requests. The modules' unit tests (ui/test, run by node --test) are not
// embedded.
//
//go:embed ui/index.html ui/style.css ui/js
var ui embed.FS

// dashboardCSP allows only the page's own files and same-origin API calls.
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", dashboardCSP)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-cache")
}

// dashboard serves the page at /admin/.
func (s *server) dashboard(w http.ResponseWriter, _ *http.Request) error {
	page, err := ui.ReadFile("ui/index.html")
	if err != nil {
		return &Error{Status: http.StatusNotFound, Msg: "dashboard not built into this binary"}
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
	return nil
}

// assets serves /admin/ui/NAME from the embedded files (files only: a
// folder is a 404, not a listing). Scripts are ES modules, which browsers
// run only when served with a JavaScript type: .js is text/javascript
// whatever the system's MIME table says.
func (s *server) assets(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, "/admin/")
	if fi, err := fs.Stat(ui, name); err != nil || fi.IsDir() || strings.HasSuffix(name, "/") {
		return &Error{Status: http.StatusNotFound, Msg: "no such file"}
	}
	setPageHeaders(w)
	if strings.HasSuffix(name, ".js") {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	http.ServeFileFS(w, r, ui, name)
	return nil
}
