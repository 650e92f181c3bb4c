package admin_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// clientFrom returns an HTTP client whose connections leave from the
// loopback address ip (all of 127/8 is local on Linux), so that the admin
// API sees a distinct client IP.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// TestLoginRateLimit: failed logins are limited per client IP (429 with
// Retry-After, the token not even checked), logged as warnings with the
// client IP and never the token; another address is not affected, and
// the limit lifts as the bucket refills.
func TestLoginRateLimit(t *testing.T) {
	var logs testutil.SyncBuffer
	log := zerolog.New(&logs)
	const every = 300 * time.Millisecond
	f := newFixture(t, fixtureOptions{Token: token, Log: &log, LoginLimit: admin.LoginLimit{Burst: 3, Every: every}})
	attacker, neighbour := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")
	steps := []struct {
		desc   string
		client *http.Client
		bearer string
		want   int
	}{
		{"1st wrong token", attacker, wrongShort, http.StatusUnauthorized},
		{"2nd wrong token", attacker, wrongSameLen, http.StatusUnauthorized},
		{"3rd wrong token", attacker, "", http.StatusUnauthorized},
		{"4th attempt is limited", attacker, wrongShort, http.StatusTooManyRequests},
		{"even the right token waits", attacker, token, http.StatusTooManyRequests},
		{"another address is not limited", neighbour, token, http.StatusOK},
		{"another address has its own bucket", neighbour, wrongShort, http.StatusUnauthorized},
	}
	for _, s := range steps {
		resp := adminGet(t, s.client, f.admin.URL+"/admin/routes", s.bearer)
		if resp.StatusCode != s.want {
			t.Fatalf("%s: status %d, want %d", s.desc, resp.StatusCode, s.want)
		}
		if s.want == http.StatusTooManyRequests {
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || secs < 1 {
				t.Errorf("%s: Retry-After %q, want whole seconds >= 1", s.desc, resp.Header.Get("Retry-After"))
			}
		}
	}
	out := logs.String()
	if n := strings.Count(out, `"message":"admin login failed"`); n != 4 {
		t.Errorf("%d failed-login warnings, want 4 (3 from 127.0.0.1, 1 from 127.0.0.2):\n%s", n, out)
	}
	if !strings.Contains(out, `"level":"warn","client_ip":"127.0.0.1"`) || !strings.Contains(out, `"client_ip":"127.0.0.2"`) {
		t.Errorf("warnings lack the client IPs:\n%s", out)
	}
	for _, secret := range []string{token, wrongSameLen, wrongShort} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the bearer token %q", secret)
		}
	}
	// One failure's worth refills per every: the right token is then let in.
	time.Sleep(2 * every)
	if resp := adminGet(t, attacker, f.admin.URL+"/admin/routes", token); resp.StatusCode != http.StatusOK {
		t.Errorf("after the refill: status %d, want 200", resp.StatusCode)
	}
}

func adminGet(t *testing.T, c *http.Client, url, bearer string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestRepeatedWrongTokenIsOneGuess: a dashboard polling with one mistyped
// token sends it again and again; that is one guess, not a brute force,
// so the right token is let in right after (the dashboard's browser test
// locked its operator out before).
func TestRepeatedWrongTokenIsOneGuess(t *testing.T) {
	f := newFixture(t, fixtureOptions{Token: token, LoginLimit: admin.LoginLimit{Burst: 3, Every: time.Hour}})
	c := clientFrom(t, "127.0.0.3")
	for i := range 20 {
		if resp := adminGet(t, c, f.admin.URL+"/admin/routes", wrongShort); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d with the same wrong token: status %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := adminGet(t, c, f.admin.URL+"/admin/routes", token); resp.StatusCode != http.StatusOK {
		t.Fatalf("the right token after 20 of one wrong token: status %d, want 200", resp.StatusCode)
	}
	for i, bearer := range []string{wrongSameLen, "", "third-guess"} {
		want := http.StatusUnauthorized
		if i == 2 {
			want = http.StatusTooManyRequests // the 4th distinct guess: the bucket of 3 is empty
		}
		if resp := adminGet(t, c, f.admin.URL+"/admin/routes", bearer); resp.StatusCode != want {
			t.Fatalf("distinct guess %d: status %d, want %d", i+2, resp.StatusCode, want)
		}
	}
}
