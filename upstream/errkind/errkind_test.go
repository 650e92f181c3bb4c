package errkind

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

// timeoutErr is a net.Error that timed out, as a deadline on a
// connection reports.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestOf classifies wrapped errors the way the net, tls and url packages
// wrap them; text that merely mentions a kind is not classified by it.
func TestOf(t *testing.T) {
	op := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://127.0.0.1:1/",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, Other},
		{"context deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), Timeout},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, Timeout},
		{"refused", op(syscall.ECONNREFUSED), Refused},
		{"reset", op(syscall.ECONNRESET), Reset},
		{"aborted", op(syscall.ECONNABORTED), Reset},
		{"broken pipe", op(syscall.EPIPE), Reset},
		{"eof", fmt.Errorf("read response: %w", io.EOF), Reset},
		{"unexpected eof", fmt.Errorf("broken: %w", io.ErrUnexpectedEOF), Reset},
		{"dns", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, DNS},
		{"tls record", fmt.Errorf("handshake: %w", tls.RecordHeaderError{Msg: "not tls"}), TLS},
		{"tls alert", fmt.Errorf("handshake: %w", tls.AlertError(40)), TLS},
		{"x509 unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, TLS},
		{"x509 hostname", fmt.Errorf("verify: %w", x509.HostnameError{Host: "x"}), TLS},
		{"canceled", fmt.Errorf("read: %w", context.Canceled), Other},
		{"text only: refused", errors.New("connection refused"), Other},
		{"text only: reset", errors.New("connection reset by peer"), Other},
		{"text only: EOF", errors.New("EOF"), Other},
		{"other errno", op(syscall.ENOENT), Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestAllDistinct keeps All in step with the constants.
func TestAllDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range All {
		if k == "" || seen[k] {
			t.Errorf("kind %q empty or listed twice", k)
		}
		seen[k] = true
	}
	if len(All) != 6 {
		t.Errorf("All has %d kinds, want 6", len(All))
	}
}
