package plan

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Handler serves the plan of inv as JSON, or as Markdown with
// ?format=md; ?top=N overrides the number of suggestions. opts (may be
// nil) is called per request for the current options (route table,
// weights, window). The caller mounts it (GET /admin/plan) behind its own
// authentication.
func Handler(inv *Inventory, opts func() BuildOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var o BuildOptions
		if opts != nil {
			o = opts()
		}
		if o.Source == "" {
			o.Source = "live"
		}
		q := r.URL.Query()
		if s := q.Get("top"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n == 0 {
				http.Error(w, "top: want a non-zero integer, got "+strconv.Quote(s), http.StatusBadRequest)
				return
			}
			o.Top = n
		}
		p := Build(inv, o)
		w.Header().Set("Cache-Control", "no-store")
		switch q.Get("format") {
		case "md", "markdown":
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			_ = WriteMarkdown(w, p)
		case "", "json":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(p)
		default:
			http.Error(w, "format: want json or md", http.StatusBadRequest)
		}
	})
}
