package admin_test

import (
	"io/fs"
	"net/http"
	"os"
	pathpkg "path"
	"regexp"
	"strings"
	"testing"
)

// noToken deletes the fixture's Authorization header from a request.
var noToken = map[string]string{"Authorization": ""}

// TestDashboardPage: the page loads without the token even when one is
// set (it carries no data), under a strict Content-Security-Policy.
func TestDashboardPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{Token: "s3cret-token"})
	if r := f.do("GET", "/admin/routes", "", noToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /admin/routes without the token: %d; the fixture must require a token", r.Status)
	}
	for _, headers := range []map[string]string{noToken, {"Authorization": "Bearer wrong"}, nil} {
		r := f.do("GET", "/admin/", "", headers)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /admin/ (headers %v): %d %s; want 200 without needing the token", headers, r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET /admin/: Content-Type %q", ct)
		}
		checkPageHeaders(t, "/admin/", r.Header)
		page := string(r.Body)
		for _, want := range []string{`<script type="module" src="ui/js/main.js"></script>`, `href="ui/style.css"`,
			`type="password"`, `<main`, `<dialog`, `aria-live`,
			// circuit breakers and automation
			`>Breaker</th>`, `id="auto"`, `id="btn-pause"`, `id="btn-resume"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		// The stage names come from GET /admin/stages, not from a copy.
		if strings.Contains(page, `<option value="canary"`) {
			t.Error("the page lists the stages itself; want them read from GET /admin/stages")
		}
	}
}

// checkPageHeaders checks the headers every dashboard file carries.
func checkPageHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'",
		"connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "http") {
		t.Errorf("%s: Content-Security-Policy %q allows inline code or another origin", path, csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "no-referrer"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q; want %q", path, k, got, want)
		}
	}
}

// moduleFiles lists the dashboard's script modules, ui/js/**.js.
func moduleFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(os.DirFS("ui"), "js", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".js") {
			names = append(names, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("%d modules in ui/js; want the dashboard split into modules (main.js, api.js, state.js, ...)", len(names))
	}
	return names
}

// TestDashboardAssets: the modules and the stylesheet are served with
// their types and without the token; anything else under /admin/ui/ (a
// folder, the modules' tests, the old single script) is a 404; /admin
// redirects to /admin/.
func TestDashboardAssets(t *testing.T) {
	f := newFixture(t, fixtureOptions{Token: "s3cret-token"})
	types := map[string]string{"/admin/ui/style.css": "text/css; charset=utf-8"}
	for _, name := range moduleFiles(t) {
		types["/admin/ui/"+name] = "text/javascript; charset=utf-8"
	}
	for path, ct := range types {
		r := f.do("GET", path, "", noToken)
		if r.Status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
			continue
		}
		if got := r.Header.Get("Content-Type"); got != ct {
			t.Errorf("GET %s: Content-Type %q; want %q", path, got, ct)
		}
		checkPageHeaders(t, path, r.Header)
		disk, err := os.ReadFile(strings.TrimPrefix(path, "/admin/"))
		if err != nil {
			t.Fatal(err)
		}
		if string(disk) != string(r.Body) {
			t.Errorf("GET %s does not serve admin/%s", path, strings.TrimPrefix(path, "/admin/"))
		}
	}
	for _, path := range []string{"/admin/ui/nope", "/admin/ui/", "/admin/ui/../admin.go", "/admin/ui/js/main.js/x", "/admin/nope",
		"/admin/ui/js", "/admin/ui/js/", "/admin/ui/js/views", "/admin/ui/test/format.test.js", "/admin/ui/app.js"} {
		r := f.do("GET", path, "", noToken)
		if path == "/admin/nope" {
			// Unknown admin paths need the token before they say 404.
			r = f.do("GET", path, "", nil)
		}
		if r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s; want 404", path, r.Status, r.Body)
		}
	}
	if r := f.do("POST", "/admin/ui/js/main.js", "", noToken); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST /admin/ui/js/main.js: %d; want 405", r.Status)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.admin.URL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/admin/" {
		t.Errorf("GET /admin: %d Location %q; want 301 to /admin/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestDashboardReferences: every file the page loads exists, and the page
// needs nothing from another origin.
func TestDashboardReferences(t *testing.T) {
	f := newFixture(t, fixtureOptions{Token: "s3cret-token"})
	page := string(f.do("GET", "/admin/", "", noToken).Body)
	refs := regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the page references %d files; want the script and the stylesheet", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") {
			t.Errorf("the page references %q: want a path relative to /admin/", ref)
			continue
		}
		if r := f.do("GET", "/admin/"+ref, "", noToken); r.Status != http.StatusOK {
			t.Errorf("the page references %q, which answers %d", ref, r.Status)
		}
	}
	// Every module imports its siblings by relative path, each served;
	// main.js imports, directly or not, every other module.
	imports := map[string][]string{}
	for _, name := range moduleFiles(t) {
		src := string(f.do("GET", "/admin/ui/"+name, "", noToken).Body)
		for _, m := range importPath.FindAllStringSubmatch(src, -1) {
			ref := m[1]
			if !strings.HasPrefix(ref, "./") && !strings.HasPrefix(ref, "../") {
				t.Errorf("ui/%s imports %q: want a relative path (no bare module names, no other origin)", name, ref)
				continue
			}
			target := pathpkg.Join(pathpkg.Dir(name), ref)
			imports[name] = append(imports[name], target)
			if r := f.do("GET", "/admin/ui/"+target, "", noToken); r.Status != http.StatusOK {
				t.Errorf("ui/%s imports %q (ui/%s), which answers %d", name, ref, target, r.Status)
			}
		}
	}
	reached := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if !reached[name] {
			reached[name] = true
			for _, next := range imports[name] {
				visit(next)
			}
		}
	}
	visit("js/main.js")
	for _, name := range moduleFiles(t) {
		if !reached[name] {
			t.Errorf("ui/%s is served but main.js does not load it", name)
		}
	}
}

// importPath finds a module's static imports.
var importPath = regexp.MustCompile(`(?m)^import\s[^;]*?\sfrom\s'([^']+)';`)

var (
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/|<!--.*?-->`)
	externalURL  = regexp.MustCompile(`(?i)https?://`)
)

// TestDashboardNoExternalURL greps every embedded dashboard file for
// http:// and https:// outside comments: the page must work offline and
// under its CSP.
func TestDashboardNoExternalURL(t *testing.T) {
	n := 0
	err := fs.WalkDir(os.DirFS("ui"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		data, err := fs.ReadFile(os.DirFS("ui"), path)
		if err != nil {
			return err
		}
		text := blockComment.ReplaceAllStringFunc(string(data), func(c string) string {
			return strings.Repeat("\n", strings.Count(c, "\n")) // keep line numbers
		})
		for i, line := range strings.Split(text, "\n") {
			for _, loc := range externalURL.FindAllStringIndex(line, -1) {
				if strings.HasSuffix(path, ".js") && strings.Contains(line[:loc[0]], "//") {
					continue // a line comment
				}
				t.Errorf("ui/%s:%d references an external URL: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 13 {
		t.Errorf("%d files in ui/; want index.html, style.css, the modules in js/ and their tests", n)
	}
}

// TestDashboardCSPCompliance: nothing in the page needs 'unsafe-inline'
// (no inline script, style or handler), and the script never turns data
// into markup.
func TestDashboardCSPCompliance(t *testing.T) {
	page, err := os.ReadFile("ui/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>[^<]*`).FindAllString(string(page), -1) {
		if !strings.Contains(tag, ` src="`) || !strings.HasSuffix(tag, ">") {
			t.Errorf("index.html has an inline script: %q", tag)
		}
	}
	for _, re := range []string{`<style`, `\sstyle=`, `\son[a-z]+=`, `javascript:`} {
		if m := regexp.MustCompile(re).FindString(string(page)); m != "" {
			t.Errorf("index.html has inline code or style (%s): %q", re, m)
		}
	}
	var all strings.Builder
	for _, name := range moduleFiles(t) {
		js, err := os.ReadFile("ui/" + name)
		if err != nil {
			t.Fatal(err)
		}
		code := regexp.MustCompile(`(?m)^\s*//.*$`).ReplaceAllString(blockComment.ReplaceAllString(string(js), ""), "")
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
			"new Function", "window.confirm", "localStorage", ".style.", "setAttribute('style'", "import("} {
			if strings.Contains(code, bad) {
				t.Errorf("ui/%s uses %s", name, bad)
			}
		}
		all.WriteString(code)
	}
	for _, want := range []string{"sessionStorage", "'Bearer '", "'Content-Type'", "showModal"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("the dashboard's modules lack %s", want)
		}
	}
}
