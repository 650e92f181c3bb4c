package reliability

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// monolith is a backend with a fixed number of workers, as a threaded
// monolith has: a request waits up to 2 s for one, then gets 503.
func monolith(workers int) http.Handler {
	slots := make(chan struct{}, workers)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		case <-time.After(2 * time.Second):
			http.Error(w, "monolith busy", http.StatusServiceUnavailable)
			return
		}
		defer func() { <-slots }()
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
}

// attacker is one slow connection; closed is set when the server ends it.
type attacker struct {
	c      net.Conn
	closed atomic.Bool
}

// attack opens n connections that write head at once, then drip every
// interval, until stop is closed or the server closes them.
func attack(addr string, n int, head, drip string, interval time.Duration, stop <-chan struct{}, wg *sync.WaitGroup) []*attacker {
	var out []*attacker
	for range n {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			continue
		}
		a := &attacker{c: c}
		out = append(out, a)
		_, _ = io.WriteString(c, head)
		wg.Go(func() { // the server closing shows as EOF here
			_, _ = io.Copy(io.Discard, c)
			a.closed.Store(true)
		})
		if drip == "" {
			continue
		}
		wg.Go(func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if _, err := io.WriteString(c, drip); err != nil {
						return
					}
				}
			}
		})
	}
	return out
}

// slowKind is one way of being slow.
type slowKind struct {
	name, head, drip string
	interval         time.Duration
	closeBy          time.Duration // the timeout that should end it, + 1 s
}

// slowClients measures normal traffic alone, then beside slow bodies,
// slow headers and idle connections, and checks a too-large body gets 413.
func slowClients(ctx context.Context, e *Env) []Row {
	const name = "slow clients"
	workers := pick(e, 20, 100)
	legacy, stop := httpBackend(monolith(workers))
	defer stop()
	base := "  read_header_timeout: 2s\n  idle_timeout: 5s\n"
	with := fmt.Sprintf("server:\n%s  max_body_bytes: %s\n  body_read_timeout: %s\nlegacy: {url: %q}\n", base,
		assumed("server.max_body_bytes"), assumed("server.body_read_timeout"), legacy.URL)
	p, note, err := e.StartAssumed("slow", with, fmt.Sprintf("server:\n%slegacy: {url: %q}\n", base, legacy.URL))
	if err != nil {
		return failed(name, "3", err)
	}
	defer p.Stop()
	rate, d := pick(e, 100, 200), pick(e, 2*time.Second, 5*time.Second)
	attackers := pick(e, workers*3/2, workers*3/2)
	bodyTimeout, _ := time.ParseDuration(assumed("server.body_read_timeout"))
	kinds := []slowKind{
		{"slow bodies (1 byte / 2 s)", "POST /upload HTTP/1.1\r\nHost: r\r\nContent-Length: 100000\r\n\r\n", "x", 2 * time.Second, bodyTimeout + time.Second},
		{"slow headers (1 line / s)", "GET /n HTTP/1.1\r\nHost: r\r\n", "X-Slow: 1\r\n", time.Second, 3 * time.Second},
		{"idle connections", "", "", 0, 3 * time.Second},
	}
	var rows []Row
	for _, k := range kinds {
		if ctx.Err() != nil {
			break
		}
		baseline := constantRate(p.URL()+"/n", rate, d) // right before, to share the machine's drift
		e.logf("  alone %s", baseline)
		rows = append(rows, slowKindRows(p, k, attackers, rate, d, baseline, note)...)
	}
	return append(rows, tooLargeRow(p, note), inFlightRow(e))
}

// inFlightRow sends 10 concurrent GETs to a monolith that takes 1 s, with
// legacy.max_in_flight 5: the 5 over the bound must get 503 at once.
func inFlightRow(e *Env) Row {
	row := Row{Scenario: "slow clients: concurrent requests over legacy.max_in_flight 5 (monolith takes 1 s, 10 sent)",
		Threshold: "5 answered 503 within 0.5 s", Defect: "3"}
	legacy, stop := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer stop()
	with := fmt.Sprintf("legacy: {url: %q, max_in_flight: 5}\n", legacy.URL)
	p, note, err := e.StartAssumed("inflight", with, fmt.Sprintf("legacy: {url: %q}\n", legacy.URL))
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	defer p.Stop()
	var fast atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			start := time.Now()
			if code, _ := get(p.URL()+"/slow", nil); code == http.StatusServiceUnavailable && time.Since(start) < 500*time.Millisecond {
				fast.Add(1)
			}
		})
	}
	wg.Wait()
	row.Figure = fmt.Sprintf("%d answered 503 within 0.5 s", fast.Load())
	if note != "" {
		row.Figure += "; " + note
	}
	row.Pass = fast.Load() == 5
	return row
}

// slowKindRows runs one attack beside normal traffic.
func slowKindRows(p *Proc, k slowKind, n, rate int, d time.Duration, baseline Load, note string) []Row {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	as := attack(p.Data, n, k.head, k.drip, k.interval, stop, &wg)
	time.Sleep(k.closeBy)
	open := 0
	for _, a := range as {
		if !a.closed.Load() {
			open++
		}
	}
	under := constantRate(p.URL()+"/n", rate, d)
	close(stop)
	for _, a := range as {
		_ = a.c.Close()
	}
	wg.Wait()
	limit := 2*baseline.P99 + 5*time.Millisecond
	suffix := ""
	if note != "" && strings.HasPrefix(k.name, "slow bodies") {
		suffix = "; " + note
	}
	return []Row{
		{Scenario: fmt.Sprintf("slow clients: failed normal GETs beside %d %s", n, k.name),
			Figure:    fmt.Sprintf("%d of %d (baseline %d of %d)", under.Errors, under.Requests, baseline.Errors, baseline.Requests),
			Threshold: "0", Pass: under.Errors == 0 && under.Requests > 0, Defect: "3"},
		{Scenario: fmt.Sprintf("slow clients: p99 of normal GETs beside %d %s", n, k.name),
			Figure: fmt.Sprintf("%s vs %s alone", ms(under.P99), ms(baseline.P99)), Threshold: "≤ 2× alone + 5 ms",
			Pass: under.P99 <= limit, Defect: "3", Timed: true},
		{Scenario: fmt.Sprintf("slow clients: %s still open %.0f s after they started", k.name, k.closeBy.Seconds()),
			Figure: fmt.Sprintf("%d of %d%s", open, len(as), suffix), Threshold: "0", Pass: open == 0 && len(as) == n, Defect: "3"},
	}
}

// tooLargeRow sends a 2 MiB body over server.max_body_bytes.
func tooLargeRow(p *Proc, note string) Row {
	row := Row{Scenario: "slow clients: 2 MiB request body over server.max_body_bytes " + assumed("server.max_body_bytes"),
		Threshold: "413", Defect: "3"}
	req, err := http.NewRequest(http.MethodPost, p.URL()+"/upload", strings.NewReader(strings.Repeat("x", 2<<20)))
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	_ = resp.Body.Close()
	row.Figure = fmt.Sprint(resp.StatusCode)
	if note != "" {
		row.Figure += "; " + note
	}
	row.Pass = resp.StatusCode == http.StatusRequestEntityTooLarge
	return row
}
