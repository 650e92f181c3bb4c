package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/internal/testutil"
)

const (
	token        = "s3cr3t-admin-token-0123456789abcdef"
	wrongSameLen = "s3cr3t-admin-token-0123456789abcdeX"
	wrongShort   = "guess"
)

// TestAuth runs the admin API with a token: every refused request leaves
// the state alone and the token never reaches the log.
func TestAuth(t *testing.T) {
	if len(wrongSameLen) != len(token) {
		t.Fatal("wrongSameLen must have the token's length")
	}
	var logs testutil.SyncBuffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	// 77 refusals from one address: limiting is tested on its own.
	f := newFixture(t, fixtureOptions{Token: token, Log: &log, LoginLimit: admin.LoginLimit{Burst: 1000}})
	f.traffic()

	t.Run("refused without the right token", func(t *testing.T) {
		creds := []struct {
			desc, authorization string
		}{
			{"no Authorization header", ""},
			{"wrong token of the same length", "Bearer " + wrongSameLen},
			{"wrong token of another length", "Bearer " + wrongShort},
			{"empty bearer token", "Bearer "},
			{"Basic scheme", "Basic " + token},
			{"token without scheme", token},
			{"token with a suffix", "Bearer " + token + "x"},
		}
		endpoints := []struct{ method, path, body string }{
			{"GET", "/admin/routes", ""},
			{"GET", "/admin/routes/order-list", ""},
			{"GET", "/admin/events", ""},
			{"GET", "/admin/config", ""},
			{"GET", "/admin/legacy/endpoints", ""},
			{"GET", "/admin/plan", ""},
			{"GET", "/metrics", ""},
			{"POST", "/admin/routes/order-list/stage", `{"stage":"legacy"}`},
			{"POST", "/admin/routes/order-list/promote", ""},
			{"POST", "/admin/routes/order-list/rollback", ""},
			{"POST", "/admin/routes/order-list/reset", ""},
			{"POST", "/admin/reload", ""},
		}
		for _, c := range creds {
			for _, e := range endpoints {
				t.Run(c.desc+" "+e.method+" "+e.path, func(t *testing.T) {
					before := f.snapshot()
					r := f.do(e.method, e.path, e.body, map[string]string{"Authorization": c.authorization})
					if r.Status != http.StatusUnauthorized {
						t.Fatalf("status %d, want 401; body %s", r.Status, r.Body)
					}
					if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
						t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
					}
					if msg, _ := r.errorBody(t); msg == "" {
						t.Errorf("401 without a message: %s", r.Body)
					}
					if strings.Contains(string(r.Body), token) {
						t.Errorf("the response echoes the token: %s", r.Body)
					}
					if after := f.snapshot(); after != before {
						t.Errorf("a refused request changed the state:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
	})

	t.Run("right token", func(t *testing.T) {
		for _, tc := range []struct{ desc, method, path, body string }{
			{"list", "GET", "/admin/routes", ""},
			{"get", "GET", "/admin/routes/order-list", ""},
			{"events", "GET", "/admin/events", ""},
			{"config", "GET", "/admin/config", ""},
			{"metrics", "GET", "/metrics", ""},
			{"stage", "POST", "/admin/routes/order-list/stage", `{"stage":"canary","percent":5}`},
			{"promote", "POST", "/admin/routes/order-list/promote", ""},
			{"rollback", "POST", "/admin/routes/order-list/rollback", ""},
			{"reset", "POST", "/admin/routes/order-list/reset", ""},
			{"reload", "POST", "/admin/reload", ""},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				if r := f.do(tc.method, tc.path, tc.body, nil); r.Status != http.StatusOK {
					t.Errorf("status %d, want 200; body %s", r.Status, r.Body)
				}
			})
		}
	})

	// Health and the stage vocabulary carry no data: the dashboard's
	// page draws its stage flow before the user enters the token.
	t.Run("health and stages without a token", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/admin/stages"} {
			t.Run(path, func(t *testing.T) {
				r := f.do("GET", path, "", map[string]string{"Authorization": ""})
				if r.Status != http.StatusOK {
					t.Errorf("status %d, want 200; body %s", r.Status, r.Body)
				}
			})
		}
	})

	t.Run("GET on a mutation", func(t *testing.T) {
		for _, path := range []string{"/admin/routes/order-list/stage", "/admin/routes/order-list/promote",
			"/admin/routes/order-list/rollback", "/admin/routes/order-list/reset", "/admin/reload"} {
			t.Run(path, func(t *testing.T) {
				before := f.snapshot()
				if r := f.do("GET", path, "", nil); r.Status != http.StatusMethodNotAllowed {
					t.Errorf("status %d, want 405; body %s", r.Status, r.Body)
				}
				if after := f.snapshot(); after != before {
					t.Errorf("GET changed the state")
				}
			})
		}
	})

	t.Run("cross-site", func(t *testing.T) {
		tests := []struct {
			desc    string
			headers map[string]string
			status  int
		}{
			{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
			{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
			{"Origin of another site", map[string]string{"Origin": "http://evil.example"}, 403},
			{"Origin of another port", map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
			{"Origin null", map[string]string{"Origin": "null"}, 403},
			{"cross-site with a same-origin Origin", map[string]string{
				"Sec-Fetch-Site": "cross-site", "Origin": f.admin.URL}, 403},
			{"same-origin Origin", map[string]string{"Origin": f.admin.URL}, 200},
			{"Sec-Fetch-Site same-origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": f.admin.URL}, 200},
			{"Sec-Fetch-Site none (typed by the user)", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				before := f.snapshot()
				r := f.do("POST", "/admin/routes/order-list/stage", `{"stage":"shadow"}`, tc.headers)
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", r.Status, tc.status, r.Body)
				}
				changed := f.snapshot() != before
				if tc.status != http.StatusOK && changed {
					t.Errorf("a refused request changed the state")
				}
				if tc.status == http.StatusOK && !changed {
					t.Errorf("an accepted change left no trace")
				}
			})
		}
	})

	out := logs.String()
	if !strings.Contains(out, "admin request refused") || !strings.Contains(out, "admin change") {
		t.Fatalf("the log misses the refusals or the changes; the test would prove nothing:\n%s", out)
	}
	for _, secret := range []string{token, wrongSameLen, wrongShort} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the bearer token %q", secret)
		}
	}
}

// TestNoToken: without a token (the loopback default) every endpoint
// answers without an Authorization header.
func TestNoToken(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.traffic()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/healthz", ""},
		{"GET", "/readyz", ""},
		{"GET", "/metrics", ""},
		{"GET", "/admin/routes", ""},
		{"GET", "/admin/routes/order-list", ""},
		{"GET", "/admin/events", ""},
		{"GET", "/admin/config", ""},
		{"GET", "/admin/legacy/endpoints", ""},
		{"POST", "/admin/routes/order-list/stage", `{"stage":"canary","percent":5}`},
		{"POST", "/admin/routes/order-list/promote", ""},
		{"POST", "/admin/routes/order-list/rollback", ""},
		{"POST", "/admin/routes/order-list/reset", ""},
		{"POST", "/admin/reload", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := f.do(tc.method, tc.path, tc.body, nil)
			if r.Status != http.StatusOK {
				t.Errorf("status %d, want 200; body %s", r.Status, r.Body)
			}
		})
	}
}

func TestCheckExposure(t *testing.T) {
	const env = "STRANGLER_ADMIN_TOKEN"
	tests := []struct {
		desc, listen, token string
		ok                  bool
	}{
		{"IPv4 loopback", "127.0.0.1:9901", "", true},
		{"IPv6 loopback", "[::1]:9901", "", true},
		{"localhost", "localhost:9901", "", true},
		{"other 127/8 address", "127.0.0.2:9901", "", true},
		{"all interfaces", "0.0.0.0:9901", "", false},
		{"no host", ":9901", "", false},
		{"IPv6 all interfaces", "[::]:9901", "", false},
		{"private address", "10.0.0.5:9901", "", false},
		{"host name", "example.com:9901", "", false},
		{"not host:port", "127.0.0.1", "", false},
		{"all interfaces with a token", "0.0.0.0:9901", token, true},
		{"no host with a token", ":9901", token, true},
		{"private address with a token", "10.0.0.5:9901", token, true},
		{"host name with a token", "example.com:9901", token, true},
		{"loopback with a token", "127.0.0.1:9901", token, true},
		{"all interfaces with a 1-character token", "0.0.0.0:9901", "x", false},
		{"private address with a 15-character token", "10.0.0.5:9901", "0123456789abcde", false},
		{"private address with a 16-character token", "10.0.0.5:9901", "0123456789abcdef", true},
		{"loopback with a 1-character token", "127.0.0.1:9901", "x", true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := admin.CheckExposure(tc.listen, tc.token, env)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckExposure(%q) = %v, want nil", tc.listen, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckExposure(%q) = nil, want a refusal", tc.listen)
			}
			if !strings.Contains(err.Error(), env) {
				t.Errorf("the refusal %q does not name %s", err, env)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the refusal %q shows the token", err)
			}
		})
	}
}

// TestNoTokenRefusesForeignHost: without a token only requests addressed
// to localhost or a loopback IP are answered, so a page rebound to
// 127.0.0.1 (DNS rebinding) cannot read or steer the admin API.
func TestNoTokenRefusesForeignHost(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	before := f.do("GET", "/admin/routes/order-list", "", nil).Body
	for _, tc := range []struct {
		host string
		want int
	}{
		{"attacker.example", http.StatusForbidden},
		{"attacker.example:9901", http.StatusForbidden},
		{"10.0.0.5:9901", http.StatusForbidden},
		{"localhost:9901", http.StatusOK},
		{"127.0.0.1:9901", http.StatusOK},
		{"[::1]:9901", http.StatusOK},
	} {
		t.Run(tc.host, func(t *testing.T) {
			hdr := map[string]string{"Host": tc.host, "Origin": "http://" + tc.host}
			if r := f.do("GET", "/admin/routes", "", hdr); r.Status != tc.want {
				t.Errorf("GET with Host %s: %d; want %d", tc.host, r.Status, tc.want)
			}
			r := f.do("POST", "/admin/routes/order-list/rollback", "", hdr)
			if tc.want == http.StatusForbidden && r.Status != http.StatusForbidden {
				t.Errorf("rollback with Host %s: %d; want 403", tc.host, r.Status)
			}
			if tc.want == http.StatusForbidden {
				if after := f.do("GET", "/admin/routes/order-list", "", nil).Body; string(after) != string(before) {
					t.Errorf("a refused request changed the route")
				}
			}
		})
	}
}
