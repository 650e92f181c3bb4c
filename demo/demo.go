// Package demo provides the built-in backends that `strangler demo` runs: a
// small legacy bookshop monolith and an extracted "orders" microservice that
// re-implements the monolith's order endpoints with a few realistic
// differences (a renamed field, an extra field, a reordered array, per-call
// noise and one genuine bug).
//
// Both backends are deterministic, keep all state in memory, start no
// goroutines and are safe for concurrent use.
package demo

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxBodyBytes limits the size of request bodies accepted by POST handlers.
const maxBodyBytes = 1 << 20

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON renders v as JSON with the given status code.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError renders {"error": msg} with the given status code.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// servedBy wraps h so that every response carries X-Served-By: name.
func servedBy(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		h.ServeHTTP(w, r)
	})
}

// healthz answers 200 "ok".
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}

// pathID parses the {id} path value; it writes a 400 and reports false when
// the value is not a positive integer.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int, bool) {
	raw := r.PathValue("id")
	id, err := strconv.Atoi(raw)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid %s id %q", what, raw))
		return 0, false
	}
	return id, true
}

// userFilter parses the optional ?user=ID query parameter. It returns 0 when
// absent; it writes a 400 and reports false when malformed.
func userFilter(w http.ResponseWriter, r *http.Request) (int, bool) {
	raw := r.URL.Query().Get("user")
	if raw == "" {
		return 0, true
	}
	id, err := strconv.Atoi(raw)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid user filter %q", raw))
		return 0, false
	}
	return id, true
}

// decodeBody strictly decodes a single JSON value from the (size-limited)
// request body into dst. It writes the error response itself and reports
// false on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body must contain a single JSON object")
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds 1 MiB")
		return false
	}
	writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
	return false
}

// newRequestID returns 16 random hex characters.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// nowStamp returns the current UTC time in RFC 3339 with nanoseconds.
func nowStamp() string {
	return time.Now().UTC().Format(time.RFC3339Nano)
}

// euros converts an amount in cents to a JSON-friendly float.
func euros(cents int64) float64 {
	return float64(cents) / 100
}
