package reliability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// shadowLatency measures the primary's p99 at a fixed rate with shadowing
// off, with every request mirrored to a candidate that takes 2 s, and to
// one that refuses connections, in interleaved rounds.
func shadowLatency(ctx context.Context, e *Env) []Row {
	const name = "shadow candidate latency"
	legacy, stop := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer stop()
	slow, stopSlow := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, `{"ok":false}`)
	}))
	defer stopSlow()
	dead, err := freeAddr() // nothing listens there
	if err != nil {
		return failed(name, "", err)
	}
	runs := []struct{ name, stage, candidate string }{
		{"off", "legacy", legacy.URL},
		{"2 s slow candidate", "shadow", slow.URL},
		{"dead candidate", "shadow", "http://" + dead},
	}
	procs := make([]*Proc, len(runs))
	for i, r := range runs {
		p, err := e.Start(fmt.Sprintf("shadow-%d", i), fmt.Sprintf("legacy: {url: %q}\nservices:\n  svc: {url: %q}\nroutes:\n"+
			"  - {name: api, match: {prefix: /api/}, service: svc, stage: %s}\n", legacy.URL, r.candidate, r.stage))
		if err != nil {
			return failed(name, "", err)
		}
		defer p.Stop()
		procs[i] = p
	}
	rate, d, rounds := pick(e, 150, 300), pick(e, 2*time.Second, 4*time.Second), pick(e, 1, 3)
	p99 := make([][]time.Duration, len(runs))
	errs := make([]uint64, len(runs))
	for range rounds {
		for i, p := range procs {
			if ctx.Err() != nil {
				return failed(name, "", ctx.Err())
			}
			constantRate(p.URL()+"/api/x", rate, time.Second) // warm-up
			l := constantRate(p.URL()+"/api/x", rate, d)
			p99[i] = append(p99[i], l.P99)
			errs[i] += l.Errors
		}
	}
	off := median(p99[0])
	var rows []Row
	for i := 1; i < len(runs); i++ {
		added := median(p99[i]) - off
		limit := max(time.Millisecond, off/10)
		rows = append(rows,
			Row{Scenario: fmt.Sprintf("%s: primary p99 added by mirroring every request to a %s", name, runs[i].name),
				Figure:    fmt.Sprintf("%s (p99 %s vs %s off; %d × %d req/s for %s)", ms(added), ms(median(p99[i])), ms(off), rounds, rate, d),
				Threshold: "≤ max(1 ms, 10 % of off)", Pass: added <= limit, Timed: true},
			Row{Scenario: fmt.Sprintf("%s: failed primary requests, %s", name, runs[i].name),
				Figure: fmt.Sprint(errs[i]), Threshold: "0", Pass: errs[i] == 0})
	}
	return rows
}
