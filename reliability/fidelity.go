package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// fidelity checks what reaches the upstream byte for byte: the query
// string, internal and spoofable headers, h2c upgrades, and hop-by-hop
// headers in 1xx answers.
func fidelity(_ context.Context, e *Env) []Row {
	const name = "forwarding fidelity"
	rec, err := NewRecorder("legacy")
	if err != nil {
		return failed(name, "8, 9", err)
	}
	defer rec.Close()
	hints, stop := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Link", "</app.css>; rel=preload")
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "1")
		h.Set("Keep-Alive", "timeout=5")
		w.WriteHeader(http.StatusEarlyHints)
		h.Del("Connection")
		h.Del("X-Hop")
		h.Del("Keep-Alive")
		_, _ = w.Write([]byte("ok"))
	}))
	defer stop()
	body := fmt.Sprintf("legacy: {url: %q}\nservices:\n  hints: {url: %q}\nroutes:\n"+
		"  - {name: hints, match: {path: /hints}, service: hints, stage: migrated}\n", rec.URL(), hints.URL)
	p, err := e.Start("fidelity", body)
	if err != nil {
		return failed(name, "8, 9", err)
	}
	defer p.Stop()
	return []Row{queryRow(p, rec), headerRow(p, rec), h2cRow(p, rec), earlyHintsRow(p), forgedMarkerRow(e, rec)}
}

// exchange sends raw on a new connection and returns the requests the
// recorder parsed for it.
func exchange(p *Proc, rec *Recorder, raw string) ([]byte, []Seen, error) {
	n := rec.Count()
	out, _, err := rawExchange(p.Data, []byte(raw), 3*time.Second)
	return out, rec.Seen()[n:], err
}

func queryRow(p *Proc, rec *Recorder) Row {
	row := Row{Scenario: "forwarding fidelity: query string reaches the monolith byte for byte (GET and POST)", Defect: "9"}
	queries := []string{"?z=1&a=2&c=x;y", "?q=100%&x=1", "?a=%zz&b=+&b=%2B", "?&&x", "?x=1;y=2"}
	total, same := 0, 0
	var bad []string
	for _, q := range queries {
		for _, method := range []string{"GET", "POST"} {
			total++
			raw := method + " /q" + q + " HTTP/1.1\r\nHost: r\r\nConnection: close\r\n"
			if method == "POST" {
				raw += "Content-Length: 2\r\n\r\nhi"
			} else {
				raw += "\r\n"
			}
			_, seen, err := exchange(p, rec, raw)
			if err != nil {
				row.Figure = "could not run: " + err.Error()
				return row
			}
			if len(seen) == 1 && seen[0].Target == "/q"+q {
				same++
				continue
			}
			got := "nothing"
			if len(seen) > 0 {
				got = seen[0].Target
			}
			bad = append(bad, fmt.Sprintf("%s %s → %s", method, q, got))
		}
	}
	row.Figure = fmt.Sprintf("%d of %d identical%s", same, total, list(bad))
	row.Threshold = fmt.Sprintf("%d of %d", total, total)
	row.Pass = same == total
	return row
}

func headerRow(p *Proc, rec *Recorder) Row {
	row := Row{Scenario: "forwarding fidelity: spoofable and internal headers reaching the upstream as sent", Threshold: "0", Defect: "7, 8"}
	spoofed := []string{"X-Real-IP", "True-Client-IP", "X_Forwarded_For", "X-Strangler_Shadow", "X-Strangler-Shadow"}
	raw := "GET /h HTTP/1.1\r\nHost: r\r\nConnection: close\r\n"
	for _, h := range spoofed {
		raw += h + ": 6.6.6.6\r\n"
	}
	_, seen, err := exchange(p, rec, raw+"\r\n")
	if err != nil || len(seen) != 1 {
		row.Figure = fmt.Sprintf("could not run: %v, %d requests at the backend", err, len(seen))
		return row
	}
	var leaked []string
	for name, vals := range seen[0].Header {
		for _, v := range vals {
			for _, h := range spoofed {
				if strings.EqualFold(name, h) && strings.Contains(v, "6.6.6.6") {
					leaked = append(leaked, name)
				}
			}
		}
	}
	row.Figure = fmt.Sprintf("%d of %d%s", len(leaked), len(spoofed), list(leaked))
	row.Pass = len(leaked) == 0
	return row
}

func h2cRow(p *Proc, rec *Recorder) Row {
	row := Row{Scenario: "forwarding fidelity: Upgrade: h2c tunnelled to the upstream", Threshold: "no", Defect: "8"}
	raw := "GET /h2c HTTP/1.1\r\nHost: r\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
	out, seen, err := exchange(p, rec, raw)
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	upgraded := false
	for _, s := range seen {
		upgraded = upgraded || strings.EqualFold(s.Header.Get("Upgrade"), "h2c")
	}
	_, st := countResponses(out)
	row.Figure = fmt.Sprintf("upstream saw Upgrade: h2c: %v (client got %v)", upgraded, st)
	row.Pass = !upgraded
	return row
}

func earlyHintsRow(p *Proc) Row {
	row := Row{Scenario: "forwarding fidelity: hop-by-hop headers in a 103 answer", Threshold: "0", Defect: "8"}
	out, _, err := rawExchange(p.Data, []byte("GET /hints HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"), 3*time.Second)
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	head, _, _ := strings.Cut(string(out), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 103") {
		row.Figure = "no 103 relayed: " + firstLine(head)
		return row
	}
	var hop []string
	for _, l := range strings.Split(head, "\r\n")[1:] {
		k, _, _ := strings.Cut(l, ":")
		if strings.EqualFold(k, "Connection") || strings.EqualFold(k, "X-Hop") || strings.EqualFold(k, "Keep-Alive") {
			hop = append(hop, k)
		}
	}
	row.Figure = fmt.Sprintf("%d%s", len(hop), list(hop))
	row.Pass = len(hop) == 0
	return row
}

// forgedMarkerRow runs strangler behind a trusted load balancer (the
// client's address is in trusted_proxies) and sends X-Strangler-Shadow:
// trust in X-Forwarded-For must not extend to the shadow marker.
func forgedMarkerRow(e *Env, rec *Recorder) Row {
	row := Row{Scenario: "forwarding fidelity: client X-Strangler-Shadow reaching the upstream behind a trusted proxy",
		Threshold: "no", Defect: "7"}
	p, err := e.Start("marker", fmt.Sprintf("trusted_proxies: [127.0.0.1/32]\nlegacy: {url: %q}\n", rec.URL()))
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	defer p.Stop()
	_, seen, err := exchange(p, rec, "POST /pay HTTP/1.1\r\nHost: r\r\nConnection: close\r\nX-Strangler-Shadow: 1\r\nContent-Length: 2\r\n\r\nhi")
	if err != nil || len(seen) != 1 {
		row.Figure = fmt.Sprintf("could not run: %v, %d requests at the backend", err, len(seen))
		return row
	}
	got := seen[0].Header.Get("X-Strangler-Shadow")
	row.Figure = fmt.Sprintf("upstream saw X-Strangler-Shadow: %q on a real POST", got)
	row.Pass = got == ""
	return row
}
