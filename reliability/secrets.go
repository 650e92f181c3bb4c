package reliability

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// canaries are unique secrets planted where real ones travel.
var canaries = map[string]string{
	"Authorization header": "CanaryAuthZ7q1",
	"Cookie":               "CanaryCookieK2w",
	"X-Api-Key header":     "CanaryApiKeyP9x",
	"query parameter":      "CanaryQueryM4v",
	"JSON field":           "CanaryJsonR8d",
	"Set-Cookie":           "CanarySetCookieT3n",
}

// secretsBackend answers JSON with a planted password and a Set-Cookie;
// n differs between the two sides so every comparison is stored.
func secretsBackend(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "sid="+canaries["Set-Cookie"]+"; HttpOnly")
		fmt.Fprintf(w, `{"user":"u1","password":%q,"n":%d}`, canaries["JSON field"], n)
	})
}

// plantedSecrets mirrors requests carrying canary secrets and searches the
// admin API, the metrics and the logs for them.
func plantedSecrets(_ context.Context, e *Env) []Row {
	const name = "planted secrets"
	legacy, stop := httpBackend(secretsBackend(1))
	defer stop()
	svc, stopSvc := httpBackend(secretsBackend(2))
	defer stopSvc()
	body := fmt.Sprintf("legacy: {url: %q}\nservices:\n  svc: {url: %q}\nroutes:\n"+
		"  - name: acct\n    match: {prefix: /api/}\n    service: svc\n    stage: shadow\n"+
		"    diff: {redact: [/password, \"header:X-Api-Key\"]}\n", legacy.URL, svc.URL)
	p, err := e.Start("secrets", body)
	if err != nil {
		return failed(name, "", err)
	}
	defer p.Stop()
	hdr := map[string]string{
		"Authorization": "Bearer " + canaries["Authorization header"],
		"Cookie":        "sid=" + canaries["Cookie"],
		"X-Api-Key":     canaries["X-Api-Key header"],
	}
	for i := range 5 {
		get(fmt.Sprintf("%s/api/acct/%d?token=%s&x=1", p.URL(), i, canaries["query parameter"]), hdr)
	}
	dumps, err := adminDumps(p)
	if err != nil {
		return failed(name, "", err)
	}
	dumps["logs"] = p.Logs()
	var hits []string
	for where, text := range dumps {
		for what, c := range canaries {
			if strings.Contains(text, c) {
				hits = append(hits, what+" in "+where)
			}
		}
	}
	sort.Strings(hits)
	return []Row{{name + ": canary secrets found in /admin answers, /metrics, logs",
		fmt.Sprintf("%d hits over %d sources%s", len(hits), len(dumps), list(hits)), "0", len(hits) == 0, "18 (design)", false}}
}

var idRe = regexp.MustCompile(`"id":\s*(\d+)`)

// adminDumps waits for stored comparisons and fetches every admin read.
func adminDumps(p *Proc) (map[string]string, error) {
	dumps := map[string]string{}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, diffs, err := p.AdminGet("/admin/diffs?limit=100")
		if err != nil {
			return nil, err
		}
		dumps["/admin/diffs"] = diffs
		if idRe.MatchString(diffs) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, m := range idRe.FindAllStringSubmatch(dumps["/admin/diffs"], -1) {
		_, one, err := p.AdminGet("/admin/diffs/" + m[1])
		if err != nil {
			return nil, err
		}
		dumps["/admin/diffs/{id}"] += one
	}
	for _, path := range []string{"/admin/report?format=json", "/admin/report?format=md", "/admin/report?format=html",
		"/admin/events", "/admin/routes", "/admin/config", "/admin/legacy/endpoints", "/admin/timeline", "/metrics"} {
		_, text, err := p.AdminGet(path)
		if err != nil {
			return nil, err
		}
		dumps[path] = text
	}
	if !idRe.MatchString(dumps["/admin/diffs"]) {
		return nil, fmt.Errorf("no comparison stored within 5 s: %.200s", dumps["/admin/diffs"])
	}
	return dumps, nil
}
