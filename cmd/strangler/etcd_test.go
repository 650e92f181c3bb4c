package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// etcdConfig is the sides' route file on the etcd backend, replica name.
func (s *sides) etcdConfig(endpoint, prefix, name string) string {
	return s.config("legacy", 0) + fmt.Sprintf(`state:
  backend: etcd
  etcd: {endpoints: [%s], prefix: %s, dial_timeout: 2s}
replica: {name: %s}
`, endpoint, prefix, name)
}

// get returns the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends an admin mutation and returns the status and body.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// servedBy asks a data plane who serves /api/orders.
func servedBy(t *testing.T, dataURL string) string {
	t.Helper()
	resp, err := http.Get(dataURL + "/api/orders/1")
	if err != nil {
		t.Fatalf("data plane: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("data plane answered %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Side")
}

// TestServeOnEtcd runs two `serve`s on one etcd: a promote on one is
// served by the other; with etcd stopped both keep serving, /readyz is
// 200 and says degraded, the gauge is 0 and a change is refused with
// 503; when etcd returns, changes work again.
func TestServeOnEtcd(t *testing.T) {
	m := etcdtest.Start(t)
	s := newSides(t)
	prefix := "/strangler/" + t.Name()
	data1, admin1 := startInProcess(t, writeFile(t, s.etcdConfig(m.ClientURL, prefix, "one")))
	data2, admin2 := startInProcess(t, writeFile(t, s.etcdConfig(m.ClientURL, prefix, "two")))

	if code, body := post(t, admin1+"/admin/routes/orders/stage", `{"stage":"migrated","reason":"on one"}`); code != http.StatusOK {
		t.Fatalf("stage on replica one: %d %s", code, body)
	}
	testutil.Eventually(t, "servedBy(t, data2) == \"orders\"", func() bool { return servedBy(t, data2) == "orders" })
	_, events := get(t, admin2+"/admin/events?route=orders")
	if !strings.Contains(events, `"replica": "one"`) {
		t.Errorf("replica two's events do not name replica one:\n%s", events)
	}

	m.Stop()
	testutil.Eventually(t, "the condition at etcd_test.go:83", func() bool {
		code, body := get(t, admin2+"/readyz")
		return code == http.StatusOK && strings.Contains(body, `"state": "degraded"`)
	})
	_, body := get(t, admin2+"/readyz")
	var ready map[string]string
	if err := json.Unmarshal([]byte(body), &ready); err != nil || ready["status"] != "ready" || ready["reason"] == "" {
		t.Errorf("/readyz while etcd is down: %s (%v), want ready, degraded, a reason", body, err)
	}
	if _, metrics := get(t, admin2+"/metrics"); !strings.Contains(metrics, "strangler_state_backend_up 0") {
		t.Error("/metrics lacks strangler_state_backend_up 0 while etcd is down")
	}
	testutil.Eventually(t, "the condition at etcd_test.go:95", func() bool {
		code, _ := get(t, admin1+"/readyz")
		return code == http.StatusOK
	})
	code, msg := post(t, admin1+"/admin/routes/orders/rollback", `{"reason":"while down"}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "unreachable") {
		t.Errorf("rollback while etcd is down: %d %s, want 503 naming the unreachable backend", code, msg)
	}
	for _, d := range []string{data1, data2} {
		if got := servedBy(t, d); got != "orders" {
			t.Errorf("%s serves %s while etcd is down, want the last applied state (orders)", d, got)
		}
	}

	m.Restart()
	testutil.Eventually(t, "the condition at etcd_test.go:110", func() bool {
		code, _ := post(t, admin1+"/admin/routes/orders/rollback", `{"reason":"etcd is back"}`)
		return code == http.StatusOK
	})
	testutil.Eventually(t, "servedBy(t, data2) == \"monolith\"", func() bool { return servedBy(t, data2) == "monolith" })
	if _, metrics := get(t, admin2+"/metrics"); !strings.Contains(metrics, "strangler_state_backend_up 1") {
		t.Error("/metrics lacks strangler_state_backend_up 1 once etcd is back")
	}
}
