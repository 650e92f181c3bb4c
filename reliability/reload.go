package reliability

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// reloadBody routes /orders/ to the service and keeps /payments/ on the
// monolith; a cut right after "prefix: /" leaves a route sending every
// path to the service.
func reloadBody(legacy, svc, extra string) string {
	return fmt.Sprintf(`legacy: {url: %q}
services:
  svc: {url: %q}
routes:
  - name: orders
    service: svc
    stage: migrated
    match:
      prefix: /orders/
  - name: payments
    stage: legacy
    match:
      prefix: /payments/
  - name: %s
    stage: legacy
    match:
      path: /extra
`, legacy, svc, extra)
}

// writeSlowly rewrites path in place: the first cut bytes, a pause, the rest.
func writeSlowly(path string, text []byte, cut int, pause time.Duration) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.Write(text[:cut]); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	time.Sleep(pause)
	if _, err := f.Write(text[cut:]); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// reloadStorm rewrites the route file in place under load, pausing in the
// middle of each write (often right after "prefix: /"), and counts failed
// requests and payment requests that reached the service.
func reloadStorm(ctx context.Context, e *Env) []Row {
	const name = "reload storm"
	var paymentsAtService atomic.Int64
	svc, stop := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/payments/") {
			paymentsAtService.Add(1)
		}
		_, _ = io.WriteString(w, "svc")
	}))
	defer stop()
	legacy, stopLegacy := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "legacy")
	}))
	defer stopLegacy()
	p, err := e.Start("reload", reloadBody(legacy.URL, svc.URL, "extra-a"))
	if err != nil {
		return failed(name, "5", err)
	}
	defer p.Stop()
	orig, err := os.ReadFile(p.Path)
	if err != nil {
		return failed(name, "5", err)
	}
	variants := [][]byte{orig, []byte(strings.Replace(string(orig), "extra-a", "extra-b", 1))}
	rewrites := pick(e, 8, 50)
	stopLoad := make(chan struct{})
	var requests, errs atomic.Int64
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { reloadLoad(p.URL(), i, stopLoad, &requests, &errs) })
	}
	rng := rand.New(rand.NewPCG(12, 5))
	var werr error
	for i := range rewrites {
		if ctx.Err() != nil {
			break
		}
		text := variants[(i+1)%2]
		cut := strings.Index(string(text), "prefix: /orders/") + len("prefix: /")
		if i%3 == 2 {
			cut = 1 + rng.IntN(len(text)-1)
		}
		if werr = writeSlowly(p.Path, text, cut, 300*time.Millisecond); werr != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stopLoad)
	wg.Wait()
	if werr != nil {
		return failed(name, "5", werr)
	}
	return []Row{
		{name + fmt.Sprintf(": failed requests over %d in-place rewrites, each paused mid-write", rewrites),
			fmt.Sprintf("%d of %d", errs.Load(), requests.Load()), "0", errs.Load() == 0, "5", false},
		{name + ": payment requests routed by a truncated file (to the service)",
			fmt.Sprint(paymentsAtService.Load()), "0", paymentsAtService.Load() == 0, "5", false},
	}
}

// reloadLoad sends GETs to /payments/ and /orders/ until stop is closed.
func reloadLoad(base string, n int, stop <-chan struct{}, requests, errs *atomic.Int64) {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	paths := []string{"/payments/" + fmt.Sprint(n), "/orders/" + fmt.Sprint(n)}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		requests.Add(1)
		resp, err := client.Get(base + paths[i%2])
		if err != nil {
			errs.Add(1)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
