package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/shadow"
)

// pageStyle is how a test backend writes the same catalog page: the
// monolith's template, or the service's (other whitespace, attribute
// order and quote style, which must not count).
type pageStyle int

const (
	monolithStyle pageStyle = iota
	serviceStyle
)

// pageItems are the catalog page's list items.
var pageItems = []string{"Red widget", "Green widget", "Blue widget", "Black widget", "White widget"}

// newPageBackend serves a server-rendered catalog page with a fresh CSRF
// token, a cache-busting script version and the time on every answer.
// plant, when set, replaces the third item's text on every answer.
func newPageBackend(t *testing.T, style pageStyle, plant string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items := slices.Clone(pageItems)
		if plant != "" {
			items[2] = plant
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, renderPage(style, items, randomHex(16), randomHex(4), time.Now().UTC().Format(time.RFC3339Nano)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// renderPage writes the catalog page in a style.
func renderPage(style pageStyle, items []string, csrf, version, now string) string {
	var b strings.Builder
	if style == monolithStyle {
		fmt.Fprintf(&b, `<!DOCTYPE html><html><head><title>Catalog</title><script src="/app.js?v=%s"></script></head><body>`, version)
		b.WriteString(`<main><h1>Catalog</h1><ul class="items">`)
		for _, it := range items {
			fmt.Fprintf(&b, "<li>%s</li>", it)
		}
		fmt.Fprintf(&b, `</ul><form id="checkout" method="post"><input type="hidden" name="csrf" value="%s"><button>Buy</button></form>`, csrf)
		fmt.Fprintf(&b, `</main><footer>Generated at <time>%s</time></footer></body></html>`, now)
		return b.String()
	}
	fmt.Fprintf(&b, "<!doctype html>\n<html>\n  <head>\n    <title>Catalog</title>\n    <script src='/app.js?v=%s'></script>\n  </head>\n  <body>\n", version)
	b.WriteString("    <main>\n      <h1>Catalog</h1>\n      <ul class='items'>\n")
	for _, it := range items {
		fmt.Fprintf(&b, "        <li>%s</li>\n", it)
	}
	fmt.Fprintf(&b, "      </ul>\n      <form method='post' id='checkout'>\n        <input value='%s' name='csrf' type='hidden'>\n        <button>Buy</button>\n      </form>\n", csrf)
	fmt.Fprintf(&b, "    </main>\n    <footer>Generated at <time>%s</time></footer>\n  </body>\n</html>\n", now)
	return b.String()
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// pageRig starts a shadowing proxy with noise learning in front of a
// page monolith and a page service.
func pageRig(t *testing.T, plant string) *shadowRig {
	t.Helper()
	mono, svc := newPageBackend(t, monolithStyle, ""), newPageBackend(t, serviceStyle, plant)
	return startShadowRig(t, baseConfig(mono.URL, svc.URL, shadowRoute(func(r *config.Route) {
		r.Diff.Noise = config.Noise{Enabled: true, Warmup: 20, Sample: 5}
	})), shadow.Options{})
}

// sendPages sends n GETs of the catalog page through the rig.
func sendPages(t *testing.T, rig *shadowRig, n int) {
	t.Helper()
	client := &http.Client{}
	for range n {
		if status, _ := get(t, client, rig.url+"/api/catalog"); status != 200 {
			t.Fatalf("primary status %d", status)
		}
	}
	rig.settle(t)
}

// TestPageShadowIdenticalWithNoise: two renderings of the same page that
// differ in markup style, a CSRF token, a script version and the time
// compare as matches over 1,000 requests once noise is learned.
func TestPageShadowIdenticalWithNoise(t *testing.T) {
	rig := pageRig(t, "")
	sendPages(t, rig, 20) // warm-up: the monolith is asked twice for each
	before := rig.store.Report([]string{"items"}).Routes[0]
	sendPages(t, rig, 1000)
	after := rig.store.Report([]string{"items"}).Routes[0]
	compared := after.Compared - before.Compared
	if compared != 1000 {
		t.Errorf("compared %d after warm-up; want 1000", compared)
	}
	if d := after.Different - before.Different; d != 0 {
		t.Errorf("%d of %d mismatches after noise was learned; want 0 (noise: %v; top paths: %+v)",
			d, compared, rig.disp.Noise("items"), after.TopPaths)
	}
	t.Logf("after the warm-up: %d compared, %d equal, %d noise-only, %d different",
		compared, after.Equal-before.Equal, after.NoiseOnly-before.NoiseOnly, after.Different-before.Different)
	var learned []string
	for _, p := range rig.disp.Noise("items") {
		learned = append(learned, p.Path)
	}
	for _, want := range []string{"csrf", "@src", "time"} {
		if !slices.ContainsFunc(learned, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("learned noise %q has no locator with %q", learned, want)
		}
	}
}

// TestPageShadowFindsPlantedChange: a text change in the third list item
// on the service side is found on every comparison, at its locator, among
// the learned noise.
func TestPageShadowFindsPlantedChange(t *testing.T) {
	rig := pageRig(t, "Blue widgets")
	sendPages(t, rig, 200)
	rep := rig.store.Report([]string{"items"}).Routes[0]
	if rep.Different != rep.Compared || rep.Compared != 200 {
		t.Errorf("different %d of %d compared; want all 200", rep.Different, rep.Compared)
	}
	const want = "main > ul.items > li:nth-of-type(3)::text"
	var found bool
	for _, p := range rep.TopPaths {
		if p.Noise {
			continue
		}
		if p.Path != diff.Generalize(want) && p.Path != want {
			t.Errorf("a real difference at %q (%+v); only %q is real", p.Path, p.Example, want)
			continue
		}
		found = true
		if p.Count != 200 || p.Example.Legacy != "Blue widget" || p.Example.Service != "Blue widgets" {
			t.Errorf("at %s: count %d, legacy %q, service %q; want 200, Blue widget, Blue widgets",
				p.Path, p.Count, p.Example.Legacy, p.Example.Service)
		}
		if p.Example.Excerpt == nil || !strings.Contains(p.Example.Excerpt.Service, "Blue widgets") {
			t.Errorf("at %s: excerpt %+v does not show the service's text", p.Path, p.Example.Excerpt)
		}
	}
	if !found {
		t.Errorf("no real difference at %q; top paths %+v", want, rep.TopPaths)
	}
}

// echoBackend writes the request's headers back, one "Name: value" line
// each in text/plain or one JSON object each in JSON Lines.
func echoBackend(t *testing.T, jsonLines bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range r.Header {
				if !yield(k) {
					return
				}
			}
		})
		var b strings.Builder
		for _, k := range names {
			if k == "X-Forwarded-For" || k == "X-Request-Id" || k == "Traceparent" {
				continue // differ per hop; not what this test is about
			}
			if jsonLines {
				fmt.Fprintf(&b, "{%q: %q}\n", k, r.Header.Get(k))
			} else {
				fmt.Fprintf(&b, "%s: %s\n", k, r.Header.Get(k))
			}
		}
		if jsonLines {
			w.Header().Set("Content-Type", "application/x-ndjson")
		} else {
			w.Header().Set("Content-Type", "text/plain")
		}
		_, _ = io.WriteString(w, b.String())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEchoBodiesIgnoreTheMarker: an echo endpoint shows the copy's
// X-Strangler-Shadow marker only on the service side; those comparisons
// are equal, not different and not noise-only.
func TestEchoBodiesIgnoreTheMarker(t *testing.T) {
	for _, jsonLines := range []bool{false, true} {
		t.Run(fmt.Sprintf("jsonLines=%v", jsonLines), func(t *testing.T) {
			mono, svc := echoBackend(t, jsonLines), echoBackend(t, jsonLines)
			rig := startShadowRig(t, baseConfig(mono.URL, svc.URL, shadowRoute(nil)), shadow.Options{})
			sendPages(t, rig, 50)
			rep := rig.store.Report([]string{"items"}).Routes[0]
			if rep.Equal != 50 {
				t.Errorf("equal %d, noise-only %d, different %d of %d; want 50 equal (top paths %+v)",
					rep.Equal, rep.NoiseOnly, rep.Different, rep.Compared, rep.TopPaths)
			}
		})
	}
}
