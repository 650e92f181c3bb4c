package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// pageSides are a monolith and a service that render the same page but
// for one paragraph, where the service's holds an image whose onerror
// would run script if the dashboard ever rendered an excerpt as markup.
func pageSides(t *testing.T) (mono, svc *httptest.Server) {
	t.Helper()
	serve := func(note string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, `<!DOCTYPE html><html><head><title>Order</title></head><body><main id="order">`+
				`<h1>Order 7</h1><p class="note">`+note+`</p></main></body></html>`)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	return serve("Ships in 2 days"), serve(`Ships in 3 days<img src="x" onerror="window.pwned = 1">`)
}

// TestDashboardShowsPageExcerpts: a page difference shows its locator and
// the source around it on both sides, as text: the service's markup is
// never rendered, so its script never runs.
func TestDashboardShowsPageExcerpts(t *testing.T) {
	needChromium(t)
	const token = "page-test-token"
	t.Setenv("STRANGLER_ADMIN_TOKEN", token)
	mono, svc := pageSides(t)
	data, adminURL := startInProcess(t, writeFile(t, shadowConfig(mono.URL, svc.URL)))
	for range 3 {
		resp, err := http.Get(data + "/api/orders/7")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	waitCompared(t, adminURL, token, "orders", 3)
	g := newGate(t, adminURL)
	b := newBrowser(t)
	defer b.checkConsole()
	b.do("logging in", chromedp.Navigate(g.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
	b.wait("the route table", `!!document.querySelector('tr[data-route="orders"] .diffs-btn')`)
	b.do("opening the diffs of orders", chromedp.Click(chromedp.CSS(`tr[data-route="orders"] .diffs-btn`)))
	b.wait("recent results", `document.querySelectorAll('#recent-body .show-result').length > 0`)
	b.do("opening a result", chromedp.Click(chromedp.CSS(`#recent-body .show-result`)))
	b.wait("an excerpt row", `!!document.querySelector('#result-diffs-body tr.excerpt')`)
	const textPath = `main#order > p.note::text`
	if got := b.text(`#result-diffs-body tr[data-path="` + textPath + `"]:not(.excerpt) td`); got != "changed" {
		t.Errorf("the difference at %s reads %q; want changed", textPath, got)
	}
	excerpts := b.eval(`[...document.querySelectorAll('#result-diffs-body pre.excerpt')].map((p) => p.textContent).join('\n')`)
	for _, want := range []string{`<p class="note">Ships in 2 days</p>`, `<img src="x" onerror="window.pwned = 1"/>`} {
		if !strings.Contains(excerpts, want) {
			t.Errorf("the excerpts do not show %q as text:\n%s", want, excerpts)
		}
	}
	if got := b.eval(`String(document.querySelectorAll('#result img').length) + ' ' + String(window.pwned)`); got != "0 undefined" {
		t.Errorf("images in the result view and window.pwned: %q; want 0 undefined (an excerpt was rendered as markup)", got)
	}
	b.screenshot("page-excerpt")
}
