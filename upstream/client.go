package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/guard"
)

// clientBody wraps the body of a request forwarded on the standard path
// and remembers why reading it failed. The request then failed because
// of the client (a malformed chunked body, an upload abandoned half way,
// a body past its limit or too slow), not because of the upstream: the
// error handler answers it as the client's fault and the service's
// breaker does not hear of it.
type clientBody struct {
	rc     io.ReadCloser
	closed atomic.Bool
	failed atomic.Pointer[error]
}

// Read reads the client's body, keeping the first error other than
// io.EOF. Reads after Close fail on the transport's side, not the
// client's, and are not kept.
func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && !b.closed.Load() {
		b.failed.CompareAndSwap(nil, &err)
	}
	return n, err
}

// Close closes the body.
func (b *clientBody) Close() error {
	b.closed.Store(true)
	return b.rc.Close()
}

// bodyError returns the error reading r's body failed with, if r's body
// is a clientBody that failed.
func bodyError(r *http.Request) error {
	if b, ok := r.Body.(*clientBody); ok {
		if err := b.failed.Load(); err != nil {
			return *err
		}
	}
	return nil
}

// clientGone reports whether the client went away: the server canceled
// its request's context (its connection closed or broke).
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// clientStatus is the status answered when reading the client's body
// failed with err: 413 past a body limit, 408 when it was too slow, 499
// when the client went away (net/http cancels the request's context on
// any read error, so a limit or a deadline are told apart first), 400
// otherwise (malformed chunked encoding, a body shorter than announced).
func clientStatus(r *http.Request, err error) (int, string) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "request body too large"
	case isTimeout(err):
		return http.StatusRequestTimeout, "request body timed out"
	case clientGone(r):
		return StatusClientClosed, ""
	}
	return http.StatusBadRequest, "request body unreadable"
}

// clientFailed answers a request that failed because of its client, not
// the upstream: 499 in the access log when the client went away,
// otherwise the status clientStatus gives for the body error. It is not
// an upstream error: no metric of upstream errors, no breaker outcome,
// no fallback.
func clientFailed(w http.ResponseWriter, r *http.Request, bodyErr error, route, upstream string, log zerolog.Logger) {
	reqID := r.Header.Get("X-Request-Id")
	guard.Exempt(w, "client")
	status, msg := StatusClientClosed, ""
	if bodyErr != nil {
		status, msg = clientStatus(r, bodyErr)
	}
	if status == StatusClientClosed {
		log.Debug().Str("route", route).Str("upstream", upstream).Str("request_id", reqID).
			Msg("client closed the request")
		w.WriteHeader(StatusClientClosed)
		return
	}
	log.Info().Str("route", route).Str("upstream", upstream).Str("request_id", reqID).
		Str("method", r.Method).Int("status", status).AnErr("body_error", bodyErr).
		Msg("client request body failed")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Connection", "close") // what is left of the body cannot be trusted
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":"`+msg+`","request_id":"`+jsonSafe(reqID)+`"}`+"\n")
}
