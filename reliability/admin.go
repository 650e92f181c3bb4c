package reliability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// authCase is one request the admin API must refuse.
type authCase struct {
	name, method, path, auth string
	hdr                      map[string]string
	want                     int
}

func authCases() []authCase {
	tok := AdminToken
	wrong := strings.Repeat("x", len(tok))
	return []authCase{
		{"no token", "GET", "/admin/routes", "", nil, 401},
		{"wrong token, same length", "GET", "/admin/routes", "Bearer " + wrong, nil, 401},
		{"prefix of the token", "GET", "/admin/routes", "Bearer " + tok[:len(tok)/2], nil, 401},
		{"token plus one character", "GET", "/admin/routes", "Bearer " + tok + "x", nil, 401},
		{"empty bearer", "GET", "/admin/routes", "Bearer ", nil, 401},
		{"token as Basic", "GET", "/admin/routes", "Basic " + tok, nil, 401},
		{"no token on /metrics", "GET", "/metrics", "", nil, 401},
		{"no token on a mutation", "POST", "/admin/reload", "", nil, 401},
		{"GET on a mutation", "GET", "/admin/reload", "Bearer " + tok, nil, 405},
		{"cross-site POST", "POST", "/admin/reload", "Bearer " + tok, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-origin POST", "POST", "/admin/reload", "Bearer " + tok, map[string]string{"Origin": "http://evil.example"}, 403},
	}
}

// adminAuth checks the admin API's negatives, failed-login limiting and
// logging, the data plane not serving admin paths, and a short token on a
// non-loopback bind.
func adminAuth(_ context.Context, e *Env) []Row {
	const name = "admin auth"
	legacy, stop := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "legacy")
	}))
	defer stop()
	p, err := e.Start("admin", fmt.Sprintf("legacy: {url: %q}\n", legacy.URL))
	if err != nil {
		return failed(name, "11", err)
	}
	defer p.Stop()
	cases := authCases()
	var wrongs []string
	for _, c := range cases {
		hdr := map[string]string{}
		for k, v := range c.hdr {
			hdr[k] = v
		}
		if c.auth != "" {
			hdr["Authorization"] = c.auth
		}
		code, _, err := p.adminDo(c.method, c.path, "", hdr)
		if err != nil {
			return failed(name, "11", err)
		}
		if code != c.want {
			wrongs = append(wrongs, fmt.Sprintf("%s: %d, want %d", c.name, code, c.want))
		}
	}
	code, body := get(p.URL()+"/admin/routes", map[string]string{"Authorization": "Bearer " + AdminToken})
	if body != "legacy" {
		wrongs = append(wrongs, fmt.Sprintf("data plane /admin/routes: %d %.40q, want the monolith's answer", code, body))
	}
	n := len(cases) + 1
	rows := []Row{{name + ": negatives refused as expected (401/405/403; data plane never admin)",
		fmt.Sprintf("%d of %d%s", n-len(wrongs), n, list(wrongs)), fmt.Sprintf("%d of %d", n, n), len(wrongs) == 0, "11", false}}
	rows = append(rows, rateLimitRows(p)...)
	return append(rows, shortTokenRow(e, legacy.URL))
}

// rateLimitRows sends a burst of wrong tokens and looks for 429s and for
// log lines about them, then starts strangler with a 1-character token on
// a non-loopback admin address.
func rateLimitRows(p *Proc) []Row {
	const burst = 60
	const line = `"message":"admin login failed"`
	before := strings.Count(p.Logs(), line)
	limited := 0
	for i := range burst {
		code, _, err := p.adminDo("GET", "/admin/routes", fmt.Sprintf("wrong-%02d", i), nil)
		if err == nil && code == http.StatusTooManyRequests {
			limited++
		}
	}
	time.Sleep(300 * time.Millisecond) // the log buffer's flush interval is 200 ms
	logged := strings.Count(p.Logs(), line) - before
	return []Row{
		{"admin auth: 429 answers in a burst of 60 wrong tokens", fmt.Sprint(limited), "≥ 1", limited > 0, "11", false},
		{"admin auth: log lines about the 60 failed logins", fmt.Sprint(logged), "≥ 1", logged > 0, "11", false},
	}
}

// shortTokenRow starts strangler with admin.listen on every interface and
// a 1-character token: it must refuse to start.
func shortTokenRow(e *Env, legacyURL string) Row {
	row := Row{Scenario: "admin auth: start with a 1-character token on a non-loopback admin bind",
		Threshold: "refused (exit ≠ 0)", Defect: "11"}
	path, data, admin, err := e.writeConfig("shorttoken", fmt.Sprintf("legacy: {url: %q}\n", legacyURL))
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	_, port, _ := strings.Cut(admin, ":")
	text, err := readFile(path)
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	text = strings.Replace(text, fmt.Sprintf("listen: %q, pprof", admin), fmt.Sprintf("listen: %q, pprof", "0.0.0.0:"+port), 1)
	if err := writeFile(path, text); err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	p, err := e.startFile(path, data, "127.0.0.1:"+port, "x")
	if err != nil {
		row.Figure, row.Pass = "refused: "+firstLine(tail(err.Error(), 200)), true
		return row
	}
	p.Stop()
	row.Figure = "started and served"
	return row
}
