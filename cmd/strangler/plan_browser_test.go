package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardPlanView sends traffic through an in-process proxy that
// samples progress every 200 ms, then reads the dashboard's Plan view in
// headless chromium: the progress cards, the burn-up charts with their
// data tables, and a suggestion for the unrouted family with its route
// block and a working Copy button. No page error, no CSP violation.
func TestDashboardPlanView(t *testing.T) {
	needChromium(t)
	const token = "plan-view-test-token"
	t.Setenv("STRANGLER_ADMIN_TOKEN", token)
	mono, svc := differingSides(t)
	data, adminURL, _ := serveWithProgress(t, writeFile(t, migratedConfig(mono.URL, svc.URL)), 200*time.Millisecond)
	for i := range 30 {
		for _, p := range []string{"/api/customers/" + strconv.Itoa(i), "/legacy/invoices/" + strconv.Itoa(i)} {
			resp, err := http.Get(data + p)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	time.Sleep(500 * time.Millisecond) // a few samples
	g := newGate(t, adminURL)
	b := newBrowser(t)
	defer b.checkConsole()
	b.do("logging in", chromedp.Navigate(g.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
	b.wait("a suggestion", `!!document.querySelector('#suggestions li.suggestion pre.yaml')`)
	b.do("opening the Plan view", chromedp.Click(chromedp.CSS(`nav.sections a[href="#plan"]`)))

	if got := b.text("#pp-req"); got != "50.0%" {
		t.Errorf("requests served by new services: %q, want 50.0%%", got)
	}
	if got := b.text("#pp-routes"); got != "1 of 2 migrated" {
		t.Errorf("routes by stage: %q, want 1 of 2 migrated", got)
	}
	prefix := b.text("#suggestions li.suggestion .sg-prefix")
	yaml := b.text("#suggestions li.suggestion pre.yaml")
	if !strings.Contains(prefix, "/legacy") || !strings.Contains(yaml, "stage: shadow") || !strings.Contains(yaml, "/legacy") {
		t.Errorf("first suggestion %q with route block:\n%s\nwant the /legacy family in shadow", prefix, yaml)
	}
	if n := b.eval(`String(document.querySelectorAll('#suggestions li.suggestion .sg-reasons li').length)`); n == "0" {
		t.Error("the suggestion shows no reasons")
	}

	chart := `#chart-burnup svg.chart-svg`
	b.wait("the burn-up chart with points", `document.querySelectorAll('`+chart+` .marker').length > 0`)
	if title := b.text(chart + " title"); title != "Served by new services" {
		t.Errorf("chart title %q", title)
	}
	if desc := b.text(chart + " desc"); !strings.Contains(desc, "Latest: requests 50%") {
		t.Errorf("chart description %q; want the latest share, 50%%", desc)
	}
	if rows := b.eval(`String(document.querySelectorAll('#chart-burnup .chart-table tbody tr th').length)`); rows == "0" {
		t.Error("the burn-up chart's data table has no rows")
	}
	if got := b.text(`#chart-stages svg.chart-svg desc`); !strings.Contains(got, "migrated 1") {
		t.Errorf("routes chart description %q; want migrated 1", got)
	}
	b.screenshot("plan-view")

	b.do("copying the route block", chromedp.Click(chromedp.CSS(`#suggestions li.suggestion button.copy`)))
	b.wait("the copy notice", `/copied|selected/.test(document.getElementById('notice-text').textContent)`)
	if note := b.text("#notice-text"); strings.Contains(note, "selected") {
		if sel := strings.TrimSpace(b.eval(`window.getSelection().toString()`)); sel != yaml {
			t.Errorf("clipboard refused and the selection is %q; want the route block", sel)
		}
	}
}
