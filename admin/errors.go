package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/stranglerfig/strangler/rollout"
)

// Error is a structured admin API error: it renders as
// {"error": "...", "field": "..."} with Status.
type Error struct {
	Status int
	Msg    string
	Field  string
	// RetryAfter, if set, is sent as the Retry-After header (seconds).
	RetryAfter string
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// handlerFunc is an admin handler that returns its error instead of
// writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// writeError renders err with the status its kind calls for.
func writeError(w http.ResponseWriter, err error) {
	status, body := classify(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="strangler admin"`)
	}
	if ae := (*Error)(nil); errors.As(err, &ae) && ae.RetryAfter != "" {
		w.Header().Set("Retry-After", ae.RetryAfter)
	}
	writeJSON(w, status, body)
}

func classify(err error) (int, errorBody) {
	var ae *Error
	var fe *rollout.FieldError
	switch {
	case errors.As(err, &ae):
		return ae.Status, errorBody{Error: ae.Msg, Field: ae.Field}
	case errors.As(err, &fe):
		return http.StatusBadRequest, errorBody{Error: fe.Reason, Field: fe.Field}
	case errors.Is(err, rollout.ErrUnknownRoute):
		return http.StatusNotFound, errorBody{Error: err.Error(), Field: "name"}
	case errors.Is(err, rollout.ErrConflict):
		return http.StatusConflict, errorBody{Error: err.Error(), Field: "if_version"}
	case errors.Is(err, rollout.ErrNoStep), errors.Is(err, rollout.ErrNoOverride):
		return http.StatusConflict, errorBody{Error: err.Error()}
	case errors.Is(err, rollout.ErrUnavailable):
		return http.StatusServiceUnavailable, errorBody{Error: err.Error()}
	case errors.Is(err, rollout.ErrNotLoaded):
		return http.StatusServiceUnavailable, errorBody{Error: err.Error()}
	}
	return http.StatusInternalServerError, errorBody{Error: err.Error()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// maxBody bounds admin request bodies.
const maxBody = 64 << 10

// decodeBody decodes a JSON body strictly into v: unknown fields,
// trailing data and oversized bodies are errors naming the field where
// possible. An empty body leaves v untouched when optional.
func decodeBody(r *http.Request, v any, optional bool) error {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body larger than %d bytes", maxBody)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return &Error{Status: http.StatusBadRequest, Msg: "a JSON body is required"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	// dec.More is no test for trailing data: it reports false before a
	// stray '}' or ']', which would let `{...}}` through.
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) != 0 {
		return &Error{Status: http.StatusBadRequest, Msg: "unexpected data after the JSON object"}
	}
	return nil
}

func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return &Error{Status: http.StatusBadRequest, Msg: "the body must be a JSON object, not " + te.Value}
	case errors.As(err, &te):
		return &Error{Status: http.StatusBadRequest, Field: te.Field,
			Msg: fmt.Sprintf("%s must be a %s, not %s", te.Field, te.Type, te.Value)}
	case errors.As(err, &se):
		return &Error{Status: http.StatusBadRequest, Msg: "malformed JSON: " + se.Error()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusBadRequest, Field: field, Msg: fmt.Sprintf("unknown field %q", field)}
	}
	return &Error{Status: http.StatusBadRequest, Msg: "malformed JSON: " + err.Error()}
}
