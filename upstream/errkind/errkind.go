// Package errkind names the kinds of upstream failure strangler tells
// apart in logs, metrics and shadow records, and classifies an error into
// one of them. It is a leaf: report, shadow and metrics can use the names
// without importing the proxy machinery of package upstream.
package errkind

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// The kinds of upstream failure. Each is the value logged as error_kind
// and used as a metric label; report stores the same strings.
const (
	// Timeout: a dial, TLS handshake, response header or context deadline
	// passed.
	Timeout = "timeout"
	// Refused: the upstream refused the connection (ECONNREFUSED).
	Refused = "refused"
	// Reset: the connection broke: reset, aborted, a broken pipe, or
	// closed (EOF) before the answer was complete.
	Reset = "reset"
	// DNS: the upstream's name did not resolve.
	DNS = "dns"
	// TLS: the TLS handshake failed (not TLS, an untrusted or invalid
	// certificate).
	TLS = "tls"
	// Other: anything else (an invalid request, a malformed answer).
	Other = "other"
)

// All lists every kind, in the order of the constants.
var All = []string{Timeout, Refused, Reset, DNS, TLS, Other}

// Of classifies err by its chain (errors.Is and errors.As on syscall
// errnos, net.Error, *net.DNSError, TLS and x509 errors and context
// errors), never by its text. A nil err is Other.
func Of(err error) string {
	switch {
	case err == nil:
		return Other
	case IsTimeout(err):
		return Timeout
	case isDNS(err):
		return DNS
	case isTLS(err):
		return TLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case isReset(err):
		return Reset
	}
	return Other
}

// IsTimeout reports whether err is a deadline: context.DeadlineExceeded
// or a net.Error whose Timeout is true.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isDNS(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}

func isTLS(err error) bool {
	var (
		recErr   tls.RecordHeaderError
		certErr  *tls.CertificateVerificationError
		alertErr tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &recErr) || errors.As(err, &certErr) || errors.As(err, &alertErr) ||
		errors.As(err, &unknown) || errors.As(err, &hostErr) || errors.As(err, &invalid)
}

// isReset reports a connection that broke under the request: reset or
// aborted by the peer, a broken pipe, or an end of stream where an answer
// (or the rest of one) was due.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
