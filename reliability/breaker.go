package reliability

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// breakerAbuse sends malformed chunked bodies and abandoned uploads to a
// migrated route whose service has a breaker, then normal requests: the
// client's faults must not open the service's breaker.
func breakerAbuse(_ context.Context, e *Env) []Row {
	const name = "breaker abuse"
	var hits atomic.Int64
	svc, stop := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodGet {
			hits.Add(1)
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer stop()
	legacy, stopLegacy := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "legacy")
	}))
	defer stopLegacy()
	body := fmt.Sprintf("legacy: {url: %q}\nservices:\n  svc:\n    url: %q\n    breaker: {consecutive_failures: 5, open_for: 30s}\n"+
		"routes:\n  - {name: api, match: {prefix: /api/}, service: svc, stage: migrated}\n", legacy.URL, svc.URL)
	p, err := e.Start("breaker", body)
	if err != nil {
		return failed(name, "2", err)
	}
	defer p.Stop()
	const abuse = 6
	var statuses []int
	answered400 := 0
	for range abuse {
		out, _, err := rawExchange(p.Data, []byte("POST /api/up HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"), 3*time.Second)
		if err != nil {
			return failed(name, "2", err)
		}
		_, st := countResponses(out)
		if len(st) > 0 {
			statuses = append(statuses, st[len(st)-1])
			if st[len(st)-1] == http.StatusBadRequest {
				answered400++
			}
		}
		if err := abandonUpload(p.Data); err != nil {
			return failed(name, "2", err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	before := hits.Load()
	ok := 0
	const normal = 20
	for range normal {
		if code, _ := get(p.URL()+"/api/x", nil); code == http.StatusOK {
			ok++
		}
	}
	served := hits.Load() - before
	return []Row{
		{name + ": normal GETs served by the service after 6 malformed chunked + 6 abandoned uploads",
			fmt.Sprintf("%d of %d 200, %d at the service", ok, normal, served), fmt.Sprintf("%d of %d", normal, normal),
			ok == normal && served == normal, "2", false},
		{name + ": malformed chunked request bodies answered 400",
			fmt.Sprintf("%d of %d (statuses %v)", answered400, abuse, statuses), fmt.Sprintf("%d of %d", abuse, abuse),
			answered400 == abuse, "2", false},
	}
}

// abandonUpload announces a 1000-byte body, sends 10 bytes and leaves.
func abandonUpload(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("dialing %s: %w", addr, err)
	}
	_, err = io.WriteString(c, "POST /api/up HTTP/1.1\r\nHost: r\r\nContent-Length: 1000\r\n\r\n0123456789")
	time.Sleep(50 * time.Millisecond)
	_ = c.Close()
	time.Sleep(50 * time.Millisecond)
	return err
}
