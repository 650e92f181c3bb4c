package demo

import (
	"encoding/json"
	"net/http"
	"time"
)

// catalogService is the extracted catalog: product details, re-implemented
// faithfully, so that its route can walk its whole plan on its own.
type catalogService struct {
	faults *Faults
}

// NewCatalogWithFaults returns the extracted catalog service: GET
// /api/products/{id} answering exactly as the monolith does, and
// /healthz. While f's bug is on, every price is 10% higher (a pricing
// bug that diffs catch). Every response carries X-Served-By: catalog.
func NewCatalogWithFaults(f *Faults) http.Handler {
	s := &catalogService{faults: f}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/products/{id}", s.getProduct)
	mux.HandleFunc("GET /healthz", healthz)
	return servedBy("catalog", f.inject(mux))
}

func (s *catalogService) getProduct(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "product")
	if !ok {
		return
	}
	p, ok := findProduct(id)
	if !ok {
		writeError(w, http.StatusNotFound, "product not found")
		return
	}
	v := p.view()
	if s.faults.state().bug {
		v.Price = euros(p.PriceCents * 11 / 10)
	}
	writeJSON(w, http.StatusOK, v)
}

// faultsBody is what POST /_demo/faults accepts.
type faultsBody struct {
	Bug     *bool   `json:"bug"`
	Failing *int    `json:"failing"`
	Latency *string `json:"latency"`
}

// FaultsHandler serves POST /_demo/faults to switch f at run time, for
// people trying the demo: {"bug": true}, {"failing": 500} (0 heals),
// {"latency": "300ms"}.
func FaultsHandler(f *Faults) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b faultsBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			writeError(w, http.StatusBadRequest, "want {\"bug\": bool, \"failing\": status, \"latency\": \"300ms\"}: "+err.Error())
			return
		}
		if b.Latency != nil {
			d, err := time.ParseDuration(*b.Latency)
			if err != nil {
				writeError(w, http.StatusBadRequest, "latency: "+err.Error())
				return
			}
			f.SetLatency(d)
		}
		if b.Bug != nil {
			f.SetBug(*b.Bug)
		}
		if b.Failing != nil {
			f.SetFailing(*b.Failing)
		}
		st := f.state()
		writeJSON(w, http.StatusOK, map[string]any{"bug": st.bug, "failing": st.failing, "latency": st.latency.String()})
	})
}

// withFaultsEndpoint serves /_demo/faults beside h.
func withFaultsEndpoint(h http.Handler, f *Faults) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /_demo/faults", FaultsHandler(f))
	mux.Handle("/", h)
	return mux
}
