package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/stranglerfig/strangler/tracing/tracingtest"
)

// chromiumPath is Debian's chromium. Without it the browser tests skip,
// except in CI (CI=true), where they must run.
const chromiumPath = "/usr/bin/chromium"

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no chromium at %s: the dashboard browser tests must run in CI (apt-get install chromium): %v", chromiumPath, err)
		}
		t.Skipf("no chromium at %s (apt-get install chromium): skipping the dashboard browser tests outside CI: %v", chromiumPath, err)
	}
}

// screenshotDir is where the browser tests save their screenshots:
// $STRANGLER_SCREENSHOTS, or a new temporary folder (kept, and logged).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("STRANGLER_SCREENSHOTS")
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "strangler-screenshots-")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshots in %s", dir)
	return dir
}

// dashboardSides starts a monolith and a service whose JSON differs: on
// /api/orders the service renamed customer_name to customerName; both
// send a card number the route redacts. /api/invoices answers alike.
func dashboardSides(t *testing.T) (mono, svc *httptest.Server) {
	t.Helper()
	serve := func(renamed bool) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			id := strings.TrimPrefix(r.URL.Path[strings.LastIndex(r.URL.Path, "/"):], "/")
			body := map[string]any{"id": id, "card": "4111 1111 1111 1111", "total": 42}
			if strings.HasPrefix(r.URL.Path, "/api/orders") {
				if renamed {
					body["customerName"] = "Ada"
				} else {
					body["customer_name"] = "Ada"
				}
			}
			_ = json.NewEncoder(w).Encode(body)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	return serve(false), serve(true)
}

// dashboardConfig: besides orders and invoices, payments is automated
// with an hour's hold (it stays put), search is automated with a hold
// short enough to be promoted by the automator in the test, static has
// no service (so no breaker), and reports is served by a service nobody
// listens for, whose breaker opens (for an hour) after five failures.
func dashboardConfig(mono, svc, down string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
log: {level: warn}
automation: {interval: 200ms}
legacy: {url: %s}
services:
  orders: {url: %s}
  down: {url: %s, breaker: {consecutive_failures: 5, open_for: 1h}}
routes:
  - name: orders
    match: {prefix: /api/orders}
    service: orders
    stage: shadow
    diff: {redact: [/card]}
  - name: invoices
    match: {prefix: /api/invoices}
    service: orders
    stage: canary
    percent: 50
    sticky: header:X-User-ID
    shadow: {canary: true}
  - name: payments
    match: {prefix: /api/payments}
    service: orders
    stage: canary
    percent: 5
    shadow: {canary: true}
    automation: {enabled: true, hold: 1h, window: 1m, gates: {match_rate: 0.99}}
  - name: search
    match: {prefix: /api/search}
    service: orders
    stage: shadow
    automation: {enabled: true, hold: 100ms, window: 1m, gates: {min_compared: 1}}
  - name: static
    match: {prefix: /static}
    stage: legacy
  - name: reports
    match: {prefix: /api/reports}
    service: down
    stage: migrated
    fallback: true
`, mono, svc, down)
}

// gate forwards to the admin API and can play dead: while down it drops
// every connection, as an unreachable proxy would.
type gate struct {
	*httptest.Server
	down atomic.Bool
}

func newGate(t *testing.T, adminURL string) *gate {
	t.Helper()
	target, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the admin API compares Origin with Host
		},
		Transport: transport,
	}
	g := &gate{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					_ = c.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { g.Close(); transport.CloseIdleConnections() })
	return g
}

// adminGet GETs path from the admin API (with the token, if any) and
// decodes the 200 answer into out.
func adminGet(t *testing.T, adminURL, token, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", adminURL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
}

// adminRoute reads a route through the admin API with the token.
func adminRoute(t *testing.T, adminURL, token, name string) (stage string, percent float64, version uint64) {
	t.Helper()
	var r struct {
		Stage   string  `json:"stage"`
		Percent float64 `json:"percent"`
		Version uint64  `json:"version"`
	}
	adminGet(t, adminURL, token, "/admin/routes/"+name, &r)
	return r.Stage, r.Percent, r.Version
}

// automationJSON is the automation part of GET /admin/routes/{name}.
type automationJSON struct {
	Paused       bool   `json:"paused"`
	PausedReason string `json:"paused_reason"`
	Waiting      string `json:"waiting"`
	EvaluatedAt  string `json:"evaluated_at"`
	Gates        []struct {
		Name  string `json:"name"`
		Holds bool   `json:"holds"`
	} `json:"gates"`
}

// adminAutomation reads a route's stage, breaker and automation through
// the admin API with the token.
func adminAutomation(t *testing.T, adminURL, token, name string) (stage, breaker string, a *automationJSON) {
	t.Helper()
	var r struct {
		Stage      string          `json:"stage"`
		Breaker    string          `json:"breaker"`
		Automation *automationJSON `json:"automation"`
	}
	adminGet(t, adminURL, token, "/admin/routes/"+name, &r)
	return r.Stage, r.Breaker, r.Automation
}

// waitAutomation polls GET /admin/routes/{name} (10 s at most) until ok
// holds for its automation.
func waitAutomation(t *testing.T, adminURL, token, name, what string, ok func(stage string, a *automationJSON) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stage, _, a := adminAutomation(t, adminURL, token, name)
		if ok(stage, a) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /admin/routes/%s: no %s after 10s (stage %s, automation %+v)", name, what, stage, a)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCompared waits (10 s at most) until the admin API lists n stored
// comparisons of route (1,000 at most): they are stored after the
// client's answer. token may be empty.
func waitCompared(t *testing.T, adminURL, token, route string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out struct {
			Diffs []json.RawMessage `json:"diffs"`
		}
		adminGet(t, adminURL, token, "/admin/diffs?route="+route+"&limit=1000", &out)
		if len(out.Diffs) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d comparisons of %s after 10s; want %d", len(out.Diffs), route, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browser drives one chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	shot int

	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, dir: screenshotDir(t)}
	// The first run starts the browser: no timeout on it (see chromedp.Run).
	messages := chromedp.Console(ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 800)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	// Smooth scrolling would move buttons under the mouse.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}}); err != nil {
		t.Fatal(err)
	}
	return b
}

// do runs actions with a time limit.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression to a string.
func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.fail("evaluating %s: %v", js, err)
	}
	return v
}

// wait polls a JavaScript predicate until it is true (15 s at most).
func (b *browser) wait(what, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		b.fail("waiting for %s (%s): %v", what, js, err)
	}
}

// text is the trimmed text of the first element matching a CSS selector.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
}

// screenshot saves the whole page as NN-name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	b.shot++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fail saves a screenshot of the failure and stops the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		path := filepath.Join(b.dir, "failure.png")
		if os.WriteFile(path, buf, 0o644) == nil {
			b.t.Logf("screenshot of the failure: %s", path)
		}
	}
	b.t.Fatalf(format, args...)
}

// checkConsole fails the test on page errors and CSP violations.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser console: %s", p)
	}
}

// TestDashboardBrowser drives the dashboard in headless chromium against a
// real in-process proxy: token, live figures, charts, diffs, steering
// through the confirmation dialog, a wrong token, an outage.
func TestDashboardBrowser(t *testing.T) {
	needChromium(t)
	const token = "dashboard-test-token"
	t.Setenv("STRANGLER_ADMIN_TOKEN", token)
	mono, svc := dashboardSides(t)
	// down: an address that refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	recv := tracingtest.NewReceiver(t) // the diff viewer shows each result's trace id
	data, adminURL := startInProcess(t, writeFile(t, dashboardConfig(mono.URL, svc.URL, down)+tracingYAML(recv.URL)))
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 66 {
		path := "/api/orders/" + strconv.Itoa(i)
		if i >= 60 {
			path = "/api/reports/" + strconv.Itoa(i) // fall back to the monolith
		} else if i%3 != 0 {
			path = "/api/invoices/" + strconv.Itoa(i)
		}
		req, _ := http.NewRequest("GET", data+path, nil)
		req.Header.Set("X-User-ID", "user-"+strconv.Itoa(i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s through the proxy: %d", path, resp.StatusCode)
		}
	}
	waitCompared(t, adminURL, token, "orders", 20)
	// search: once the automator has its first snapshot, one comparison
	// meets its only gate, and after the 100ms hold it is promoted by the
	// automator, which records the figures behind the decision.
	waitAutomation(t, adminURL, token, "search", "first evaluation", func(_ string, a *automationJSON) bool { return a != nil })
	if _, breaker, _ := adminAutomation(t, adminURL, token, "reports"); breaker != "open" {
		t.Fatalf("the breaker of service down is %q after six failures; want open", breaker)
	}
	resp, err := client.Get(data + "/api/search/1")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	waitAutomation(t, adminURL, token, "search", "automatic promotion", func(stage string, _ *automationJSON) bool { return stage == "canary" })
	g := newGate(t, adminURL)
	b := newBrowser(t)
	defer b.checkConsole()

	t.Run("asks for the token", func(t *testing.T) {
		b.t = t
		b.do("loading the page", chromedp.Navigate(g.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#token")))
		b.wait("the token prompt", `document.getElementById('conn').textContent.includes('needs a token')`)
		if got := b.eval(`document.getElementById('token').type`); got != "password" {
			t.Errorf("token input type %q; want password", got)
		}
		b.screenshot("no-token")
	})

	t.Run("routes and figures", func(t *testing.T) {
		b.t = t
		b.do("entering the token", chromedp.SendKeys(chromedp.CSS("#token"), token),
			chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
		b.wait("the route table", `document.querySelectorAll('#routes-body tr').length === 6`)
		if got := b.eval(`location.href`); strings.Contains(got, token) {
			t.Errorf("the token is in the URL: %s", got)
		}
		if got := b.eval(`document.getElementById('token').value`); got != "" {
			t.Errorf("the token input still holds %q after use", got)
		}
		if got := b.eval(`sessionStorage.getItem('strangler.adminToken') || ''`); got != token {
			t.Errorf("sessionStorage holds %q; want the token", got)
		}
		for route, stage := range map[string]string{"orders": "shadow", "invoices": "canary 50%"} {
			if got := b.text(`tr[data-route="` + route + `"] .stage-name`); got != stage {
				t.Errorf("route %s shows stage %q; want %q", route, got, stage)
			}
			if got := b.text(`tr[data-route="` + route + `"] .service`); got != "orders" {
				t.Errorf("route %s shows service %q", route, got)
			}
		}
		// Live figures: the split canary served on both sides, and the
		// shadowed route's match rate (every comparison differs).
		b.wait("request rates", `(() => { const r = (c) => parseFloat(document.querySelector('tr[data-route="invoices"] .' + c).textContent);
			return r('rate-l') > 0 && r('rate-s') > 0; })()`)
		b.wait("the match rate", `/^0\.0% of \d+$/.test(document.querySelector('tr[data-route="orders"] .match').textContent)`)
		if got := b.text(`tr[data-route="invoices"] .err-s`); got != "0.0%" {
			t.Errorf("invoices service error rate %q; want 0.0%%", got)
		}
		if got := b.text(`tr[data-route="invoices"] .p99-s`); !strings.HasSuffix(got, " ms") {
			t.Errorf("invoices service p99 %q; want milliseconds", got)
		}
		if got := b.text("#prog-hour"); !strings.HasSuffix(got, "%") || got == "0.0%" {
			t.Errorf("share served by new services over the hour: %q", got)
		}
		if got := b.text(`#flow li[data-stage="canary"] .chip`); !strings.Contains(got, "invoices") || !strings.Contains(got, "50%") {
			t.Errorf("the stage flow shows %q under canary", got)
		}
		if got := b.text(`#conn`); got != "Live" {
			t.Errorf("connection status %q; want Live", got)
		}
		// On a laptop the route table fits: no sideways scrolling.
		if got := b.eval(`(() => { const w = document.querySelector('#overview .table-wrap');
			return w.scrollWidth + ' ' + w.clientWidth; })()`); func() bool {
			var sw, cw int
			_, err := fmt.Sscan(got, &sw, &cw)
			return err != nil || sw > cw
		}() {
			t.Errorf("the route table is %s px wide in its box at 1366 px (scroll, client); want no sideways scrolling", got)
		}
		b.screenshot("overview")
	})

	t.Run("charts", func(t *testing.T) {
		b.t = t
		b.do("choosing invoices", chromedp.Click(chromedp.CSS(`tr[data-route="invoices"] .details-btn`)))
		b.wait("a traffic chart with data", `(() => {
			const lines = [...document.querySelectorAll('#chart-traffic g.s-service polyline')];
			const ys = new Set(lines.flatMap((l) => l.getAttribute('points').trim().split(/\s+/).map((p) => p.split(',')[1])));
			return lines.length > 0 && lines[0].getAttribute('points').trim().split(/\s+/).length > 1 && ys.size > 1;
		})()`)
		for _, sel := range []string{"#chart-traffic svg > title", "#chart-traffic svg > desc", "#chart-latency g.s-legacy .marker",
			"#chart-match g.s-match .marker", "#chart-traffic details tbody th"} {
			if b.eval(fmt.Sprintf(`String(!!document.querySelector(%q))`, sel)) != "true" {
				t.Errorf("no %s", sel)
			}
		}
		if got := b.text("#chart-traffic svg > title"); !strings.Contains(got, "invoices") {
			t.Errorf("chart title %q", got)
		}
	})

	t.Run("diffs", func(t *testing.T) {
		b.t = t
		b.do("opening the diffs of orders", chromedp.Click(chromedp.CSS(`tr[data-route="orders"] .diffs-btn`)))
		b.wait("recent results", `document.querySelectorAll('#recent-body tr').length > 0`)
		b.wait("top differing paths", `!!document.querySelector('#top-body tr[data-path="/customerName"]')`)
		if got := b.text(`#top-body tr[data-path="/customer_name"] .kind`); got != "missing" {
			t.Errorf("top path /customer_name kind %q; want missing", got)
		}
		b.do("opening a result", chromedp.Click(chromedp.CSS(`#recent-body .show-result`)),
			chromedp.WaitVisible(chromedp.CSS(`#service-body mark[data-path="/customerName"]`)))
		if b.eval(`String(!!document.querySelector('#legacy-body mark[data-path="/customer_name"]'))`) != "true" {
			t.Error("the monolith body does not highlight /customer_name")
		}
		if got := b.text(`#service-body mark[data-path="/customerName"]`); !strings.Contains(got, `"customerName": "Ada"`) {
			t.Errorf("the highlighted service member reads %q", got)
		}
		if got := b.text(`#result-diffs-body tr[data-path="/customerName"] td`); got != "extra" {
			t.Errorf("the difference list gives /customerName as %q; want extra", got)
		}
		trace := b.eval(`(() => { const dt = [...document.querySelectorAll('#result-facts dt')].find(d => d.textContent === 'Trace');
			return dt ? dt.nextElementSibling.textContent : 'no Trace row'; })()`)
		if len(trace) != 32 || strings.Trim(trace, "0123456789abcdef") != "" {
			t.Errorf("the result's Trace fact reads %q; want a 32-digit trace id", trace)
		}
		if got := b.text(`#legacy-body .badge.redacted`); got != "redacted" {
			t.Errorf("the redacted card shows %q; want a redacted badge", got)
		}
		if strings.Contains(b.text("#legacy-body"), "4111") {
			t.Error("the card number is shown")
		}
		b.screenshot("diff")
	})

	t.Run("promote and roll back", func(t *testing.T) {
		b.t = t
		b.do("choosing orders", chromedp.Click(chromedp.CSS(`tr[data-route="orders"] .details-btn`)))
		b.wait("orders selected", `document.getElementById('route-name').textContent === 'orders'`)
		// Cancel by keyboard: Enter on the button, Escape in the dialog.
		b.do("opening the dialog by keyboard", chromedp.Focus(chromedp.CSS("#btn-promote")), chromedp.KeyEvent(kb.Enter))
		b.wait("the dialog", `document.getElementById('confirm').open`)
		if got := b.text("#confirm-text"); got != "Promote orders from shadow to canary 5%?" {
			t.Errorf("dialog text %q", got)
		}
		b.do("cancelling", chromedp.KeyEvent(kb.Escape))
		b.wait("the dialog to close", `!document.getElementById('confirm').open`)
		if stage, _, _ := adminRoute(t, adminURL, token, "orders"); stage != "shadow" {
			t.Fatalf("after cancel the route is at %s", stage)
		}

		b.do("promoting", chromedp.SendKeys(chromedp.CSS("#reason"), "diffs reviewed in the browser test"),
			chromedp.Click(chromedp.CSS("#btn-promote")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")))
		b.screenshot("confirm")
		b.do("confirming", chromedp.Click(chromedp.CSS("#confirm-ok")))
		b.wait("the new stage in the table", `document.querySelector('tr[data-route="orders"] .stage-name').textContent === 'canary 5%'`)
		if got := b.text("#route-stage"); got != "canary 5%" {
			t.Errorf("the steering panel shows %q", got)
		}
		if stage, pct, _ := adminRoute(t, adminURL, token, "orders"); stage != "canary" || pct != 5 {
			t.Errorf("GET /admin/routes/orders after promote: %s %v; want canary 5", stage, pct)
		}
		b.wait("the audit log", `[...document.querySelectorAll('#audit-body tr[data-route="orders"]')].some((r) =>
			r.textContent.includes('promote') && r.textContent.includes('diffs reviewed in the browser test'))`)
		b.screenshot("promoted")

		b.do("setting canary 25", chromedp.SetValue(chromedp.CSS("#percent"), ""), chromedp.SendKeys(chromedp.CSS("#percent"), "25"),
			chromedp.SendKeys(chromedp.CSS("#reason"), "ramp up"),
			chromedp.Click(chromedp.CSS("#btn-stage")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")))
		if got := b.text("#confirm-text"); got != "Set orders from canary 5% to canary 25%?" {
			t.Errorf("dialog text %q", got)
		}
		b.do("confirming", chromedp.Click(chromedp.CSS("#confirm-ok")))
		b.wait("canary 25 in the table", `document.querySelector('tr[data-route="orders"] .stage-name').textContent === 'canary 25%'`)
		if stage, pct, _ := adminRoute(t, adminURL, token, "orders"); stage != "canary" || pct != 25 {
			t.Errorf("GET /admin/routes/orders after set stage: %s %v; want canary 25", stage, pct)
		}

		b.do("rolling back", chromedp.Click(chromedp.CSS("#btn-rollback")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")),
			chromedp.Click(chromedp.CSS("#confirm-ok")))
		b.wait("the rollback in the table", `document.querySelector('tr[data-route="orders"] .stage-name').textContent === 'shadow'`)
		if stage, _, _ := adminRoute(t, adminURL, token, "orders"); stage != "shadow" {
			t.Errorf("GET /admin/routes/orders after rollback: %s; want shadow", stage)
		}
		b.wait("the rollback in the audit log", `[...document.querySelectorAll('#audit-body tr[data-route="orders"] .action')].some((c) => c.textContent === 'rollback')`)
	})

	t.Run("automation and breakers", func(t *testing.T) {
		b.t = t
		for _, route := range []string{"orders", "invoices", "payments"} {
			if got := b.text(`tr[data-route="` + route + `"] .breaker .badge`); got != "closed" {
				t.Errorf("route %s shows breaker %q; want closed", route, got)
			}
		}
		if got := b.text(`tr[data-route="static"] .breaker`); got != "—" {
			t.Errorf("route static (no service) shows breaker %q; want —", got)
		}
		if got := b.text(`tr[data-route="reports"] .breaker .badge.b-open`); got != "open" {
			t.Errorf("route reports shows breaker %q; want an open badge", got)
		}
		b.wait("the auto badge", `(document.querySelector('tr[data-route="payments"] .badge.auto') || {}).textContent === 'auto'`)
		if got := b.text(`tr[data-route="orders"] .stage-badges`); strings.Contains(got, "auto") {
			t.Errorf("orders (not automated) is marked %q", got)
		}
		b.do("choosing payments", chromedp.Click(chromedp.CSS(`tr[data-route="payments"] .details-btn`)))
		b.wait("the automation panel", `!document.getElementById('auto').hidden &&
			!!document.querySelector('#auto-gates tr[data-check="min_compared"]')`)
		for _, c := range []struct{ sel, want string }{
			{`#auto-state`, "on"},
			{`#route-breaker .badge`, "closed"},
			{`#auto-gates tr[data-check="min_compared"] .result`, "✗ FAIL"},
			{`#auto-gates tr[data-check="match_rate"] .result`, "✗ FAIL"},
			{`#auto-gates tr[data-check="min_requests"] .result`, "✗ FAIL"},
			{`#auto-triggers tr[data-check="breaker_open"] .result`, "✓ ok"},
			{`#auto-triggers tr[data-check="breaker_open"] .detail`, "breaker of orders is closed"},
		} {
			if got := b.text(c.sel); got != c.want {
				t.Errorf("%s reads %q; want %q", c.sel, got, c.want)
			}
		}
		if got := b.text("#auto-gates tr[data-check=min_compared] .detail"); !strings.Contains(got, "comparisons in the window, 100 needed") {
			t.Errorf("the min_compared gate's detail reads %q", got)
		}
		if got := b.text("#auto-waiting"); !strings.HasPrefix(got, "waiting: ") || !strings.Contains(got, "min_compared") {
			t.Errorf("the automation status reads %q; want the waiting sentence", got)
		}
		if got := b.text("#auto-next"); got != "Next promotion, to canary 25%: once every gate has held for 1\u00a0h in a row." {
			t.Errorf("the next promotion reads %q", got)
		}
		b.screenshot("automation")

		b.do("pausing", chromedp.SendKeys(chromedp.CSS("#reason"), "release freeze"),
			chromedp.Click(chromedp.CSS("#btn-pause")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")))
		if got := b.text("#confirm-text"); !strings.HasPrefix(got, "Pause automation of payments?") {
			t.Errorf("dialog text %q", got)
		}
		if got := b.text("#confirm-reason"); got != "release freeze" {
			t.Errorf("dialog reason %q", got)
		}
		b.do("confirming", chromedp.Click(chromedp.CSS("#confirm-ok")))
		b.wait("paused on the page", `document.getElementById('auto-state').textContent === 'paused' &&
			document.querySelector('tr[data-route="payments"] .badge.auto').textContent === 'auto paused'`)
		waitAutomation(t, adminURL, token, "payments", "automation.paused", func(_ string, a *automationJSON) bool {
			return a != nil && a.Paused && a.PausedReason == "release freeze"
		})
		b.wait("the paused status", `document.getElementById('auto-waiting').textContent ===
			'automation is paused for this route (reason: release freeze)'`)
		if got := b.eval(`String(document.getElementById('btn-pause').hidden) + ' ' + String(document.getElementById('btn-resume').hidden)`); got != "true false" {
			t.Errorf("pause, resume hidden: %s; want true false", got)
		}
		b.wait("the pause in the audit log", `[...document.querySelectorAll('#audit-body tr[data-route="payments"]')].some((r) =>
			r.querySelector('.action').textContent === 'pause' && r.textContent.includes('release freeze'))`)
		b.screenshot("paused")

		b.do("resuming", chromedp.Click(chromedp.CSS("#btn-resume")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")))
		if got := b.text("#confirm-text"); !strings.HasPrefix(got, "Resume automation of payments") {
			t.Errorf("dialog text %q", got)
		}
		b.do("confirming", chromedp.Click(chromedp.CSS("#confirm-ok")))
		b.wait("resumed on the page", `document.getElementById('auto-state').textContent === 'on' &&
			document.querySelector('tr[data-route="payments"] .badge.auto').textContent === 'auto'`)
		waitAutomation(t, adminURL, token, "payments", "resumed automation", func(_ string, a *automationJSON) bool {
			return a != nil && !a.Paused && strings.HasPrefix(a.Waiting, "waiting: ")
		})
		b.wait("the gates again", `document.getElementById('auto-waiting').textContent.startsWith('waiting: ') &&
			!!document.querySelector('#auto-gates tr[data-check="min_compared"]')`)
		if got := b.text(`tr[data-route="payments"] .stage-badges`); strings.Contains(got, "paused") {
			t.Errorf("the payments row says %q after resume", got)
		}
		if stage, _, _ := adminRoute(t, adminURL, token, "payments"); stage != "canary" {
			t.Errorf("payments moved to %s; automation with an hour's hold must keep it put", stage)
		}

		// search was promoted by the automator: its audit row carries the
		// figures behind the decision.
		b.wait("the automatic promotion in the audit log", `[...document.querySelectorAll('#audit-body tr[data-route="search"]')].some((r) =>
			r.querySelector('.source').textContent === 'automation' && !!r.querySelector('details.figs'))`)
		b.do("opening the figures", chromedp.Click(chromedp.CSS(`#audit-body tr[data-route="search"] details.figs summary`)))
		if got := b.text(`#audit-body tr[data-route="search"] details.figs dl`); !strings.Contains(got, "compared1") {
			t.Errorf("the figures of the automatic promotion read %q; want compared 1", got)
		}
		b.screenshot("automation-audit")
		b.do("choosing orders again", chromedp.Click(chromedp.CSS(`tr[data-route="orders"] .details-btn`)))
		b.wait("orders selected", `document.getElementById('route-name').textContent === 'orders' && document.getElementById('auto').hidden`)
	})

	t.Run("wrong token", func(t *testing.T) {
		b.t = t
		_, _, before := adminRoute(t, adminURL, token, "orders")
		b.do("entering a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"),
			chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
		b.wait("the refusal", `document.getElementById('conn').textContent.includes('the admin API refused the token')`)
		b.do("promoting with the wrong token", chromedp.Click(chromedp.CSS("#btn-promote")),
			chromedp.WaitVisible(chromedp.CSS("#confirm-ok")), chromedp.Click(chromedp.CSS("#confirm-ok")))
		b.wait("the error", `document.getElementById('notice-text').textContent.includes('the admin API refused the token')`)
		if got := b.text("#notice-text"); !strings.Contains(got, "Nothing was changed") {
			t.Errorf("notice %q does not say nothing changed", got)
		}
		if stage, _, after := adminRoute(t, adminURL, token, "orders"); stage != "shadow" || after != before {
			t.Errorf("after a refused promote the route is at %s version %d; want shadow version %d", stage, after, before)
		}
		if got := b.text(`tr[data-route="orders"] .stage-name`); got != "shadow" {
			t.Errorf("the page shows %q after a refused promote", got)
		}
		b.screenshot("wrong-token")
		b.do("entering the right token", chromedp.SendKeys(chromedp.CSS("#token"), token),
			chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
		b.wait("live again", `document.getElementById('conn').textContent === 'Live'`)
	})

	t.Run("proxy unreachable", func(t *testing.T) {
		b.t = t
		g.down.Store(true)
		b.wait("the outage", `document.getElementById('conn').textContent.includes('proxy unreachable, retrying')`)
		b.screenshot("unreachable")
		g.down.Store(false)
		b.wait("the recovery", `document.getElementById('conn').textContent === 'Live'`)
		if got := b.text(`tr[data-route="invoices"] .stage-name`); got != "canary 50%" {
			t.Errorf("after the recovery invoices shows %q", got)
		}
	})

	t.Run("narrow screen", func(t *testing.T) {
		b.t = t
		b.do("a narrow screen", chromedp.EmulateViewport(400, 800))
		b.wait("the narrow layout", `getComputedStyle(document.getElementById('flow')).gridTemplateColumns.split(' ').length === 1`)
		if got := b.eval(`String(document.documentElement.scrollWidth)`); got != "400" {
			t.Errorf("the page is %s px wide on a 400 px screen; want no horizontal scrolling", got)
		}
		b.screenshot("narrow")
		b.do("choosing payments", chromedp.Click(chromedp.CSS(`tr[data-route="payments"] .details-btn`)))
		b.wait("the automation panel", `!document.getElementById('auto').hidden &&
			!!document.querySelector('#auto-gates tr[data-check="min_compared"]')`)
		if got := b.eval(`String(document.documentElement.scrollWidth)`); got != "400" {
			t.Errorf("with the automation panel the page is %s px wide on a 400 px screen; want no horizontal scrolling", got)
		}
		b.screenshot("narrow-automation")
	})
	b.t = t
}
