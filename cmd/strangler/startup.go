package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
)

// startupError is a problem at start told in one line that says what to
// do; the cause stays reachable with errors.Is and errors.As but is not
// printed.
type startupError struct {
	msg   string
	cause error
}

func (e *startupError) Error() string { return e.msg }
func (e *startupError) Unwrap() error { return e.cause }

// routeFileError explains a route file that cannot be read, or returns
// nil for other load errors (validation problems are listed as they are).
func routeFileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &startupError{fmt.Sprintf("route file %s not found: write one with `strangler init --legacy-url URL --out %[1]s`, or pass --config FILE", path), err}
	case errors.Is(err, fs.ErrPermission):
		return &startupError{fmt.Sprintf("route file %s cannot be read (permission denied): make it readable by this user, or pass --config FILE", path), err}
	case errors.Is(err, syscall.EISDIR):
		return &startupError{fmt.Sprintf("route file %s is a directory: pass --config FILE naming the file", path), err}
	}
	return nil
}

// listenError explains why addr, the address of the setting key (flag
// flag), cannot be listened on.
func listenError(addr, key, flag string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return &startupError{fmt.Sprintf("%s (%s) is already in use by another process: stop it, or choose another address with --%s or %s in the route file",
			addr, key, flag, key), err}
	}
	if errors.Is(err, syscall.EACCES) {
		return &startupError{fmt.Sprintf("%s (%s) needs privileges to listen on: use a port above 1023 with --%s or %s in the route file",
			addr, key, flag, key), err}
	}
	return fmt.Errorf("listening on %s (%s): %w", addr, key, err)
}

// probeTimeout bounds the start-up check of the monolith.
const probeTimeout = 2 * time.Second

// warnUnreachable checks once that the monolith accepts connections. If
// not, it prints one line to w and logs a warning, and serving goes on:
// the proxy may start before its monolith (a restart, an orchestrator),
// and answers 502 for it until it is up.
func warnUnreachable(w io.Writer, log zerolog.Logger, legacy config.Upstream) {
	addr, err := dialAddr(legacy.URL)
	if err != nil {
		return // validation already accepted the URL; nothing sensible to dial
	}
	timeout := probeTimeout
	if legacy.DialTimeout > 0 {
		timeout = min(timeout, legacy.DialTimeout)
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err == nil {
		conn.Close()
		return
	}
	reason := "no answer within " + timeout.String()
	if errors.Is(err, syscall.ECONNREFUSED) {
		reason = "connection refused"
	} else if dnsErr := (*net.DNSError)(nil); errors.As(err, &dnsErr) {
		reason = "unknown host"
	}
	fmt.Fprintf(w, "strangler: warning: the monolith at %s (legacy.url) is unreachable (%s): serving anyway, its requests get 502 until it answers; start it or fix legacy.url\n",
		legacy.URL, reason)
	log.Warn().Str("url", legacy.URL).Err(err).Msg("the monolith is unreachable at start-up; serving anyway")
}

// dialAddr is the host:port of an http or https URL.
func dialAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", raw, err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
