package shadow

import (
	"strings"
	"testing"
)

// TestUnsignedCopiesLoggedOnce: without a secret, Start says once that
// copies are unsigned; with one it says nothing, and never logs the
// secret.
func TestUnsignedCopiesLoggedOnce(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	for _, tc := range []struct {
		name   string
		secret []byte
		want   int
	}{
		{"no secret", nil, 1},
		{"secret", []byte(secret), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, okHandler, okHandler, Options{Workers: 1, Queue: 4, Secret: tc.secret})
			p := r.policy(nil)
			for range 3 {
				offerGET(t, p, "primary")
			}
			r.wait()
			out := r.logs.String()
			if n := strings.Count(out, "shadow copies are unsigned"); n != tc.want {
				t.Errorf("%d unsigned warnings, want %d:\n%s", n, tc.want, out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the log contains the secret:\n%s", out)
			}
		})
	}
}
