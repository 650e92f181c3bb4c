package reliability

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// pathView is how one kind of backend reads a request path.
type pathView struct {
	name string
	read func(path string) string
}

// backendViews are the readings of common backends the split-view oracle
// checks a forwarded path against.
var backendViews = []pathView{
	{"RFC 3986", func(p string) string { return removeDots(decodeUnreserved(p)) }},
	{"decoded", func(p string) string { return collapse(removeDots(decodeAll(p))) }},
	{"Tomcat ;params", func(p string) string { return collapse(removeDots(decodeAll(stripParams(p)))) }},
	{"IIS backslash", func(p string) string {
		return collapse(removeDots(strings.ReplaceAll(decodeAll(p), `\`, "/")))
	}},
	{"double-decoded", func(p string) string { return collapse(removeDots(decodeAll(decodeAll(p)))) }},
	{"overlong UTF-8", func(p string) string { return collapse(removeDots(decodeAll(overlong(p)))) }},
	{"NUL-terminated", func(p string) string {
		d := decodeAll(p)
		if i := strings.IndexByte(d, 0); i >= 0 {
			d = d[:i]
		}
		return collapse(removeDots(d))
	}},
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decode replaces each valid %XX whose byte keep accepts.
func decode(s string, keep func(byte) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 && keep(h<<4|l) {
				b.WriteByte(h<<4 | l)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func decodeAll(s string) string { return decode(s, func(byte) bool { return true }) }

func decodeUnreserved(s string) string {
	return decode(s, func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
	})
}

// stripParams drops ";..." from every segment, as Tomcat and Spring do.
func stripParams(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, ';'); j >= 0 {
			segs[i] = s[:j]
		}
	}
	return strings.Join(segs, "/")
}

// overlong turns the overlong UTF-8 forms of '.' and '/' into the bytes
// lenient decoders read them as.
func overlong(p string) string {
	return strings.NewReplacer("%c0%ae", ".", "%C0%AE", ".", "%c0%af", "/", "%C0%AF", "/", "%e0%80%ae", ".").Replace(p)
}

func collapse(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// removeDots resolves "." and ".." segments (RFC 3986 §5.2.4).
func removeDots(p string) string {
	var out []string
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch s {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

// routeOf is the route a backend-read path belongs to in the split-view
// config: the public service's prefix, or the monolith.
func routeOf(path string) string {
	if strings.HasPrefix(path, "/public/") {
		return "public"
	}
	return "legacy"
}

// splitTargets are the request-targets of the table: the examples
// and the usual traversal and encoding tricks, alone and combined.
func splitTargets() []string {
	base := []string{
		"/public/x", "/admin", "/public/../admin", "/public/..;/admin", "/public/..%5cadmin", "/public/..%5Cadmin",
		`/public/..\admin`, "/%70ublic/x", "//public/x", "/public%2fx", "/public%2Fx", "/PUBLIC/x", "/public;x/y",
		"/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin", "/public/%252e%252e/admin",
		"/public/%c0%ae%c0%ae/admin", "/public/%c0%ae%c0%ae%c0%afadmin", "/public/x%00/../../admin", "/public%00/x",
		"/public/..%2fadmin", "/public/%2e%2e%2fadmin", "/public/./x", "/public/x/..", "/public/x/../y",
		"/./public/x", "/admin/../public/x", "/admin/..;/public/x", "/admin/..%5cpublic/x", "/admin%2f..%2fpublic/x",
		"/x/..%2fpublic/y", "/public/x;jsessionid=1", "/public;/x", "/;/public/x", "/public/x?y=../../admin",
		"/public/%zz", "/public/%", "/pub%6cic/x", "/public/%7e", "/%2fpublic/x", "/public//..//admin",
		"/public/...", "/public/..../admin", "/public/.%00./admin", "/public/%u002e%u002e/admin", "/public/x%2f..%2f..%2fadmin",
		"/public%5cx", "/public/x%5c..%5c..%5cadmin", "/public/%252fadmin", "/public/x/%2e", "/public",
	}
	mids := []string{"..;/", "..%5c", "%2e%2e/", ".%2e/", "%2e./", "..%2f", "%252e%252e/", "%c0%ae%c0%ae/", "..%00/", `..\`, ";x/../", "%3b/../"}
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, t := range base {
		add(t)
	}
	for _, pre := range []string{"/public/", "/admin/"} {
		for _, m := range mids {
			for _, suf := range []string{"admin", "public/x"} {
				add(pre + m + suf)
			}
		}
	}
	return out
}

// splitOutcome is what one request-target did.
type splitOutcome struct {
	target, reached, forwarded, means string
	status                            int
	split                             bool
}

// splitView sends every target to a config with one route (prefix
// /public/, migrated to the public service) and checks that each forwarded
// path means, to every backend reading, the backend it reached.
func splitView(_ context.Context, e *Env) []Row {
	const name = "path split view"
	legacy, err := NewRecorder("legacy")
	if err != nil {
		return failed(name, "4", err)
	}
	defer legacy.Close()
	public, err := NewRecorder("public")
	if err != nil {
		return failed(name, "4", err)
	}
	defer public.Close()
	body := fmt.Sprintf("legacy: {url: %q}\nservices:\n  public: {url: %q}\nroutes:\n"+
		"  - {name: public, match: {prefix: /public/}, service: public, stage: migrated}\n", legacy.URL(), public.URL())
	p, err := e.Start("splitview", body)
	if err != nil {
		return failed(name, "4", err)
	}
	defer p.Stop()
	targets := splitTargets()
	var splits []splitOutcome
	refused := 0
	for _, t := range targets {
		o, err := oneTarget(p, legacy, public, t)
		if err != nil {
			return failed(name, "4", err)
		}
		if o.reached == "" {
			refused++
		}
		if o.split {
			splits = append(splits, o)
		}
	}
	rows := []Row{{
		Scenario:  name + ": request-targets reaching a backend that reads them as another route",
		Figure:    fmt.Sprintf("%d of %d (%d refused)%s", len(splits), len(targets), refused, splitExamples(splits, 6)),
		Threshold: "0",
		Pass:      len(splits) == 0,
		Defect:    "4",
	}}
	return append(rows, caseInsensitive(e, legacy, public))
}

// oneTarget sends GET target on its own connection and sees where it went.
func oneTarget(p *Proc, legacy, public *Recorder, target string) (splitOutcome, error) {
	o := splitOutcome{target: target}
	nl, np := legacy.Count(), public.Count()
	out, _, err := rawExchange(p.Data, []byte("GET "+target+" HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"), 3*time.Second)
	if err != nil {
		return o, err
	}
	if _, st := countResponses(out); len(st) > 0 {
		o.status = st[len(st)-1]
	}
	var seen []Seen
	if l := legacy.Seen()[nl:]; len(l) > 0 {
		o.reached, seen = "legacy", l
	}
	if pub := public.Seen()[np:]; len(pub) > 0 {
		if o.reached != "" {
			o.split, o.reached, o.means = true, "both", "one route"
			return o, nil
		}
		o.reached, seen = "public", pub
	}
	if o.reached == "" {
		o.split = o.status < 400 || o.status >= 500 // neither forwarded nor refused
		return o, nil
	}
	o.forwarded = seen[0].Target
	path := o.forwarded
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for _, v := range backendViews {
		if r := routeOf(v.read(path)); r != o.reached {
			o.split, o.means = true, fmt.Sprintf("%s to %s (%s)", r, v.name, v.read(path))
			break
		}
	}
	return o, nil
}

func splitExamples(s []splitOutcome, n int) string {
	if len(s) == 0 {
		return ""
	}
	var parts []string
	for i, o := range s {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(s)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s reached %s, means %s", o.target, o.reached, o.means))
	}
	return ": " + strings.Join(parts, "; ")
}

// caseInsensitive checks a route configured to match regardless of case
// (for IIS backends): /PUBLIC/x and /Public/x must reach its service.
func caseInsensitive(e *Env, legacy, public *Recorder) Row {
	row := Row{Scenario: "path split view: case-insensitive route (match.case_insensitive) gets /PUBLIC/x, /Public/x",
		Threshold: "2 of 2 at the service", Defect: "4"}
	with := fmt.Sprintf("legacy: {url: %q}\nservices:\n  public: {url: %q}\nroutes:\n"+
		"  - {name: public, match: {prefix: /public/, case_insensitive: %s}, service: public, stage: migrated}\n",
		legacy.URL(), public.URL(), assumed("routes[].match.case_insensitive"))
	without := fmt.Sprintf("legacy: {url: %q}\nservices:\n  public: {url: %q}\nroutes:\n"+
		"  - {name: public, match: {prefix: /public/}, service: public, stage: migrated}\n", legacy.URL(), public.URL())
	p, note, err := e.StartAssumed("caseinsensitive", with, without)
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	defer p.Stop()
	at := 0
	for _, t := range []string{"/PUBLIC/x", "/Public/x"} {
		o, err := oneTarget(p, legacy, public, t)
		if err != nil {
			row.Figure = "could not run: " + err.Error()
			return row
		}
		if o.reached == "public" {
			at++
		}
	}
	row.Figure = fmt.Sprintf("%d of 2 at the service", at)
	if note != "" {
		row.Figure += "; " + note
	}
	row.Pass = at == 2
	return row
}
