package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
)

// baseConfig returns a valid config with the monolith and one service.
func baseConfig(legacyURL, serviceURL string, routes ...config.Route) *config.Config {
	cfg := &config.Config{
		Listen: "127.0.0.1:0",
		Server: config.Server{ReadHeaderTimeout: 5e9, IdleTimeout: 60e9, MaxHeaderBytes: 1 << 20, ShutdownTimeout: 5e9},
		Admin:  config.Admin{Listen: "127.0.0.1:0", TokenEnv: "STRANGLER_ADMIN_TOKEN"},
		Log:    config.Log{Level: "info", Format: "json", Access: true},
		Legacy: config.Upstream{URL: legacyURL},
		Services: map[string]config.Service{
			"orders": {Upstream: config.Upstream{URL: serviceURL}},
		},
		Routes: routes,
	}
	return cfg
}

func mustValid(t testing.TB, cfg *config.Config) *config.Config {
	t.Helper()
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config invalid: %v", err)
	}
	return cfg
}

// startProxy serves cfg through a real HTTP server and returns its URL,
// the Proxy and the captured log.
func startProxy(t testing.TB, cfg *config.Config) (string, *Proxy, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	p, err := New(mustValid(t, cfg), Options{Log: zerolog.New(logs), Metrics: metrics.New()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(func() { srv.Close(); p.Close() })
	return srv.URL, p, logs
}

// get sends a GET with optional header pairs and returns status and the
// serving side.
func get(t testing.TB, client *http.Client, url string, header ...string) (int, string) {
	t.Helper()
	return do(t, client, "GET", url, header...)
}

func do(t testing.TB, client *http.Client, method, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Side")
}
