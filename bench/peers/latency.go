package main

import (
	"fmt"
	"log"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// latencyResult is one fixed-rate run.
type latencyResult struct {
	name                          string
	p50, p99, p999                time.Duration
	success                       float64
	requests                      uint64
	addedP50, addedP99, addedP999 time.Duration // over direct
}

// latencyPhase measures latency at a constant request rate (open loop:
// requests are sent on schedule whatever the answers do) against the
// backend directly, through the tuned Go proxy, and through strangler with shadowing off, on (fast
// candidate), on with a candidate that takes 2 s, and on with a candidate
// that refuses connections.
func latencyPhase(p *processes, o options, work, backend string) ([]latencyResult, error) {
	slow, err := p.startBackend(o.bin, 2*time.Second)
	if err != nil {
		return nil, err
	}
	dead := "http://127.0.0.1:1"
	type starter func(*processes, string, string, string) (target, error)
	runs := []struct {
		name  string
		start starter // nil: the backend direct
	}{
		{"direct", nil},
		{"tuned httputil.ReverseProxy", startTuned},
		{"strangler, shadow off", stranglerStarter("legacy", "")},
		{"strangler, shadow on", stranglerStarter("shadow", "")},
		{"strangler, shadow on, candidate 2 s slow", stranglerStarter("shadow", slow)},
		{"strangler, shadow on, candidate dead", stranglerStarter("shadow", dead)},
	}
	var out []latencyResult
	for _, r := range runs {
		url := backend
		if r.start != nil {
			t, err := r.start(p, o.bin, work, backend)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.name, err)
			}
			url = t.url
		}
		attack(url, o.rate, 2*time.Second) // warm-up
		res := attack(url, o.rate, o.latDur)
		res.name = r.name
		log.Printf("latency %-42s p50 %-9s p99 %-9s p99.9 %-9s success %.2f%%", r.name, res.p50, res.p99, res.p999, 100*res.success)
		out = append(out, res)
	}
	for i := range out {
		out[i].addedP50 = out[i].p50 - out[0].p50
		out[i].addedP99 = out[i].p99 - out[0].p99
		out[i].addedP999 = out[i].p999 - out[0].p999
	}
	return out, nil
}

// attack sends rate requests/s to url/small for d with vegeta.
func attack(url string, rate int, d time.Duration) latencyResult {
	a := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Connections(64), vegeta.Timeout(10*time.Second))
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url + "/small"})
	var m vegeta.Metrics
	for res := range a.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, d, "bench") {
		m.Add(res)
	}
	m.Close()
	return latencyResult{
		p50: m.Latencies.P50, p99: m.Latencies.P99, p999: m.Latencies.Quantile(0.999),
		success: m.Success, requests: m.Requests,
	}
}
