package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
)

// PostIDHeader tags each POST so both upstreams can record which ones
// reached them.
const postIDHeader = "X-Post-Id"

// guardBackend is a real upstream that can be taken down: while down it
// answers downStatus. It records the POST ids it received and the size
// and digest of the last body it read.
type guardBackend struct {
	*httptest.Server
	name       string
	downStatus atomic.Int64 // 0: healthy
	gets       atomic.Int64
	hits       atomic.Int64

	mu       sync.Mutex
	posts    map[string]int
	lastBody [32]byte
	lastLen  int
}

func newGuardBackend(t *testing.T, name string) *guardBackend {
	t.Helper()
	b := &guardBackend{name: name, posts: map[string]int{}}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		if r.Method == http.MethodPost {
			b.posts[r.Header.Get(postIDHeader)]++
		}
		b.lastBody, b.lastLen = sha256.Sum256(body), len(body)
		b.mu.Unlock()
		if r.Method == http.MethodGet {
			b.gets.Add(1)
		}
		w.Header().Set("X-Side", name)
		w.Header().Set("Content-Type", "text/plain")
		if st := int(b.downStatus.Load()); st != 0 {
			w.WriteHeader(st)
			_, _ = io.WriteString(w, name+" is down")
			return
		}
		_, _ = io.WriteString(w, name+" ok")
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *guardBackend) postCount(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.posts[id]
}

func (b *guardBackend) postIDs() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.posts))
	for k, v := range b.posts {
		out[k] = v
	}
	return out
}

func (b *guardBackend) last() (int, [32]byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastLen, b.lastBody
}

// guardConfig routes /orders to the orders service at migrated.
func guardConfig(legacyURL, serviceURL string, fallback bool, statuses []int, br config.Breaker) *config.Config {
	cfg := baseConfig(legacyURL, serviceURL, config.Route{Name: "orders", Match: config.Match{Prefix: "/orders"},
		Service: "orders", Stage: "migrated", Fallback: fallback, FallbackStatuses: statuses})
	svc := cfg.Services["orders"]
	svc.Breaker = br
	cfg.Services["orders"] = svc
	return cfg
}

func breakerOff() config.Breaker { return config.Breaker{Enabled: ptrTo(false)} }

func ptrTo[T any](v T) *T { return &v }

// promValue returns the value of the counter or gauge of family name
// whose labels include want, summed over matching series.
func promValue(t *testing.T, reg *metrics.Registry, name string, want map[string]string) float64 {
	t.Helper()
	v, err := gatherValue(reg, name, want)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func gatherValue(reg *metrics.Registry, name string, want map[string]string) (float64, error) {
	fams, err := reg.Gatherer().Gather()
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum, nil
}

// accessLines returns the access log lines ("request") as maps.
func accessLines(t *testing.T, logs *testutil.SyncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["message"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// The outage: the orders service answers 500 for a while, then recovers,
// under concurrent GET and POST load. GETs keep succeeding through the
// monolith; no POST without an Idempotency-Key is ever sent twice or to
// both sides; the breaker opens after five failures and closes again
// once a half-open probe succeeds.
func TestOutageFallsBackAndBreakerRecovers(t *testing.T) {
	const (
		gets, posts, keyed = 2000, 300, 30
		openFor            = 300 * time.Millisecond
		workers            = 16
	)
	monolith := newGuardBackend(t, "monolith")
	svc := newGuardBackend(t, "orders")
	cfg := guardConfig(monolith.URL, svc.URL, true, []int{500},
		config.Breaker{ConsecutiveFailures: 5, OpenFor: openFor})
	url, p, logs := startProxy(t, cfg)
	if s := p.BreakerState("orders"); s != guard.StateClosed {
		t.Fatalf("breaker starts %q", s)
	}

	// A fixed, shuffled schedule of request kinds.
	const (
		kindGet = iota
		kindPost
		kindKeyed
	)
	schedule := make([]int, 0, gets+posts+keyed)
	for range gets {
		schedule = append(schedule, kindGet)
	}
	for range posts {
		schedule = append(schedule, kindPost)
	}
	for range keyed {
		schedule = append(schedule, kindKeyed)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(schedule), func(i, j int) { schedule[i], schedule[j] = schedule[j], schedule[i] })
	outageFrom, outageTo := len(schedule)/4, 3*len(schedule)/4

	// Watch the breaker and its gauge while the load runs.
	var seenOpen, seenGaugeOpen atomic.Bool
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			if p.BreakerState("orders") == guard.StateOpen {
				seenOpen.Store(true)
			}
			if v, err := gatherValue(p.metrics, "strangler_breaker_state", map[string]string{"service": "orders"}); err == nil && v == 2 {
				seenGaugeOpen.Store(true)
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(3 * time.Millisecond):
			}
		}
	})

	type result struct {
		kind   int
		id     string
		status int
		side   string
		body   string
		err    error
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	jobs := make(chan int)
	results := make([]result, len(schedule))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				res := result{kind: schedule[i], id: fmt.Sprintf("req-%d", i)}
				var req *http.Request
				if res.kind == kindGet {
					req, _ = http.NewRequest("GET", url+"/orders/"+res.id, nil)
				} else {
					req, _ = http.NewRequest("POST", url+"/orders", strings.NewReader(`{"order":"`+res.id+`"}`))
					req.Header.Set(postIDHeader, res.id)
					if res.kind == kindKeyed {
						req.Header.Set("Idempotency-Key", res.id)
					}
				}
				resp, err := client.Do(req)
				if err != nil {
					res.err = err
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					res.status, res.side, res.body = resp.StatusCode, resp.Header.Get("X-Side"), string(b)
				}
				results[i] = res
			}
		})
	}
	// Pace the load (about one request a millisecond) so that the outage
	// spans several open/half-open cycles of the breaker.
	tick := time.NewTicker(time.Millisecond)
	outageStart := time.Now()
	for i := range schedule {
		switch i {
		case outageFrom:
			svc.downStatus.Store(500)
			outageStart = time.Now()
		case outageTo:
			// Let the outage last at least a few open periods.
			if d := 3*openFor - time.Since(outageStart); d > 0 {
				time.Sleep(d)
			}
			svc.downStatus.Store(0)
		}
		<-tick.C
		jobs <- i
	}
	tick.Stop()
	close(jobs)
	wg.Wait()

	// The breaker closes once a half-open probe reaches the recovered
	// service; nudge it with a few GETs if the load ended first.
	probes, probeMonolith := 0, 0
	testutil.Eventually(t, "the breaker to close after recovery", func() bool {
		if p.BreakerState("orders") == guard.StateClosed {
			return true
		}
		probes++
		status, side := get(t, client, url+"/orders/probe")
		if status != 200 {
			t.Errorf("probe GET: %d", status)
		}
		if side == "monolith" {
			probeMonolith++
		}
		return false
	})
	close(stopWatch)
	watch.Wait()

	// GETs: all answered, through the monolith while the service failed.
	getOK, getFallback := 0, 0
	for _, r := range results {
		if r.kind != kindGet {
			continue
		}
		if r.err == nil && r.status == 200 {
			getOK++
			if r.side == "monolith" {
				getFallback++
			}
		} else if r.err != nil {
			t.Logf("GET %s failed: %v", r.id, r.err)
		} else {
			t.Logf("GET %s: %d %q", r.id, r.status, r.body)
		}
	}
	rate := float64(getOK) / gets
	t.Logf("GET success through the outage: %d/%d = %.2f%% (%d answered by the monolith via fallback)",
		getOK, gets, 100*rate, getFallback)
	if rate < 0.999 {
		t.Errorf("GET success %.2f%%, want at least 99.9%%", 100*rate)
	}
	if getFallback == 0 {
		t.Error("no GET fell back to the monolith during the outage")
	}

	// POSTs without a key: each reached at most one upstream, at most
	// once; those refused by the open breaker reached none.
	atService, atMonolith := svc.postIDs(), monolith.postIDs()
	duplicates, reachedSum, refused, servedOK, served500 := 0, 0, 0, 0, 0
	for _, r := range results {
		if r.kind != kindPost {
			continue
		}
		s, m := atService[r.id], atMonolith[r.id]
		reachedSum += s + m
		if s+m > 1 {
			duplicates++
			t.Errorf("POST %s reached the service %d and the monolith %d times", r.id, s, m)
		}
		if m != 0 {
			t.Errorf("POST %s without an Idempotency-Key fell back to the monolith", r.id)
		}
		switch {
		case r.err != nil:
			t.Errorf("POST %s: %v", r.id, r.err)
		case r.status == 200 && r.side == "orders":
			servedOK++
		case r.status == 500 && r.side == "orders":
			served500++
		case r.status == 503 && r.side == "" && strings.Contains(r.body, `"service":"orders"`):
			refused++
			if s != 0 {
				t.Errorf("POST %s was refused yet reached the service", r.id)
			}
		default:
			t.Errorf("POST %s: unexpected %d from %q: %q", r.id, r.status, r.side, r.body)
		}
		if (r.side == "orders") != (s == 1) {
			t.Errorf("POST %s answered by %q but reached the service %d times", r.id, r.side, s)
		}
	}
	t.Logf("POSTs without key: %d sent; reached an upstream %d (service 200: %d, service 500: %d); "+
		"refused 503 by the open breaker (reached none): %d; duplicated: %d",
		posts, reachedSum, servedOK, served500, refused, duplicates)
	if reachedSum+refused != posts {
		t.Errorf("POST accounting: %d reached + %d refused != %d sent", reachedSum, refused, posts)
	}
	if served500+refused == 0 {
		t.Error("the outage was not seen by POSTs: no service 500s, no refusals")
	}

	// POSTs with an Idempotency-Key fall back like GETs.
	keyedFallback := 0
	for _, r := range results {
		if r.kind != kindKeyed {
			continue
		}
		if r.err != nil || r.status != 200 {
			t.Errorf("keyed POST %s: %v %d %q", r.id, r.err, r.status, r.body)
			continue
		}
		if r.side == "monolith" {
			keyedFallback++
			if monolith.postCount(r.id) == 0 {
				t.Errorf("keyed POST %s answered by the monolith, which never saw it", r.id)
			}
		}
	}
	if keyedFallback == 0 {
		t.Error("no POST with an Idempotency-Key fell back during the outage")
	}

	// The breaker opened during the outage, and its gauge said so; now it
	// is closed again, after a successful half-open probe.
	if !seenOpen.Load() || !seenGaugeOpen.Load() {
		t.Errorf("breaker seen open: state %v, gauge %v", seenOpen.Load(), seenGaugeOpen.Load())
	}
	if g := promValue(t, p.metrics, "strangler_breaker_state", map[string]string{"service": "orders"}); g != 0 {
		t.Errorf("breaker gauge %v after recovery, want 0 (closed)", g)
	}
	var changes []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "circuit breaker changed state") {
			var m map[string]any
			_ = json.Unmarshal([]byte(line), &m)
			changes = append(changes, fmt.Sprint(m["from"], ">", m["to"]))
		}
	}
	if len(changes) < 3 || changes[0] != "closed>open" || changes[len(changes)-1] != "half-open>closed" {
		t.Errorf("breaker changes %v, want closed>open first and half-open>closed last", changes)
	}
	t.Logf("breaker changes: %v (extra probe GETs after the load: %d)", changes, probes)

	// Every request the monolith answered for the service was a counted
	// fallback, by reason.
	monolithAnswers := getFallback + keyedFallback + probeMonolith
	fallbacks := func() float64 {
		return promValue(t, p.metrics, "strangler_fallbacks_total", map[string]string{"route": "orders"})
	}
	testutil.Eventually(t, "fallback metrics", func() bool { return fallbacks() == float64(monolithAnswers) })
	for _, reason := range []string{"status_500", guard.ReasonBreakerOpen} {
		if n := promValue(t, p.metrics, "strangler_fallbacks_total",
			map[string]string{"route": "orders", "reason": reason}); n == 0 {
			t.Errorf("no fallback counted with reason %s", reason)
		}
	}
}

// Without fallback, an open breaker answers 503 at once with a JSON body
// naming the service, and nothing reaches the service.
func TestBreakerOpenRefusesFast(t *testing.T) {
	monolith := newGuardBackend(t, "monolith")
	svc := newGuardBackend(t, "orders")
	svc.downStatus.Store(503)
	url, p, _ := startProxy(t, guardConfig(monolith.URL, svc.URL, false, nil,
		config.Breaker{ConsecutiveFailures: 3, OpenFor: time.Hour}))
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for i := 0; i < 3; i++ {
		if status, side := get(t, client, url+"/orders/1"); status != 503 || side != "orders" {
			t.Fatalf("failure %d: %d from %q, want the service's 503", i, status, side)
		}
	}
	if s := p.BreakerState("orders"); s != guard.StateOpen {
		t.Fatalf("breaker %q after 3 failures, want open", s)
	}
	if g := promValue(t, p.metrics, "strangler_breaker_state", map[string]string{"service": "orders"}); g != 2 {
		t.Fatalf("breaker gauge %v, want 2 (open)", g)
	}
	hits := svc.hits.Load()
	for _, method := range []string{"GET", "POST"} {
		start := time.Now()
		req, _ := http.NewRequest(method, url+"/orders/1", strings.NewReader("{}"))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s refused after %s, want fast", method, took)
		}
		var doc struct{ Error, Service string }
		if resp.StatusCode != 503 || json.Unmarshal(body, &doc) != nil || doc.Service != "orders" ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %q, want a 503 JSON body naming orders", method, resp.StatusCode, body)
		}
	}
	if svc.hits.Load() != hits || monolith.hits.Load() != 0 {
		t.Fatalf("open breaker let requests through: service +%d, monolith %d", svc.hits.Load()-hits, monolith.hits.Load())
	}
	if n := promValue(t, p.metrics, "strangler_breaker_refused_total", map[string]string{"route": "orders"}); n != 2 {
		t.Fatalf("refusals counted %v, want 2", n)
	}
}

// Once any byte of the service's answer reached the client there is no
// fallback: a service that dies mid-answer leaves the client with an
// error or a truncated body, never the monolith's body spliced in. A
// service that dies before answering anything does fall back.
func TestNoFallbackAfterResponseStarted(t *testing.T) {
	tests := []struct {
		name     string
		die      func(w http.ResponseWriter) // writes some of an answer, or none
		fallback bool
	}{
		{"headers and part of a sized body", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "orders-partial-")
		}, false},
		{"part of a chunked body", func(w http.ResponseWriter) {
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "orders-partial-")
		}, false},
		{"headers only", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
		}, false},
		{"nothing at all", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			monolith := newGuardBackend(t, "monolith")
			svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.die != nil {
					w.Header().Set("X-Side", "orders")
					tc.die(w)
					w.(http.Flusher).Flush()
				}
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				conn.Close()
			}))
			defer svc.Close()
			url, p, logs := startProxy(t, guardConfig(monolith.URL, svc.URL, true, []int{500}, breakerOff()))
			// A fresh connection: a client may retry an idempotent request
			// that fails on a reused one, and that retry would be a new
			// request.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Get(url + "/orders/1")
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tc.fallback {
				if err != nil || resp.StatusCode != 200 || string(body) != "monolith ok" {
					t.Fatalf("got %v %q, want the monolith's answer", err, body)
				}
				return
			}
			if err == nil {
				t.Fatalf("client read a complete answer %d %q after the service died mid-answer", resp.StatusCode, body)
			}
			if bytes.Contains(body, []byte("monolith")) || monolith.hits.Load() != 0 {
				t.Fatalf("the monolith answered too: body %q, monolith hits %d", body, monolith.hits.Load())
			}
			if n := promValue(t, p.metrics, "strangler_fallbacks_total", nil); n != 0 {
				t.Fatalf("%v fallbacks counted", n)
			}
			// (An aborted request gets no access log line at all; if one
			// appears, it must not claim a fallback.)
			for _, line := range accessLines(t, logs) {
				if line["fallback"] != nil || line["served_by"] == "legacy" {
					t.Fatalf("access log %v claims a fallback", line)
				}
			}
		})
	}
}

// A fallback shows in the access log ("fallback":"status_500", served_by
// legacy) and in strangler_fallbacks_total{route,reason}.
func TestFallbackLoggedAndCounted(t *testing.T) {
	monolith := newGuardBackend(t, "monolith")
	svc := newGuardBackend(t, "orders")
	svc.downStatus.Store(500)
	url, p, logs := startProxy(t, guardConfig(monolith.URL, svc.URL, true, []int{500}, breakerOff()))
	client := &http.Client{}
	defer client.CloseIdleConnections()
	const n = 5
	for i := 0; i < n; i++ {
		if status, side := get(t, client, url+"/orders/1"); status != 200 || side != "monolith" {
			t.Fatalf("GET %d: %d from %q, want the monolith's 200", i, status, side)
		}
	}
	// A POST without a key is not replayed: the client gets the 500.
	if status, side := do(t, client, "POST", url+"/orders/1"); status != 500 || side != "orders" {
		t.Fatalf("POST: %d from %q, want the service's 500", status, side)
	}
	if svc.gets.Load() != n || monolith.gets.Load() != n {
		t.Fatalf("service saw %d GETs, monolith %d; want %d each", svc.gets.Load(), monolith.gets.Load(), n)
	}
	testutil.Eventually(t, "access log lines", func() bool { return len(accessLines(t, logs)) == n+1 })
	for i, line := range accessLines(t, logs) {
		want := map[string]any{"fallback": "status_500", "served_by": "legacy", "stage": "migrated",
			"route": "orders", "status": float64(200), "method": "GET"}
		if i == n {
			want = map[string]any{"fallback": nil, "served_by": "orders", "status": float64(500), "method": "POST"}
		}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("log line %d: %s = %v, want %v (%v)", i, k, line[k], v, line)
			}
		}
	}
	if got := promValue(t, p.metrics, "strangler_fallbacks_total",
		map[string]string{"route": "orders", "reason": "status_500"}); got != n {
		t.Errorf("strangler_fallbacks_total{route=orders,reason=status_500} = %v, want %d", got, n)
	}
	if got := promValue(t, p.metrics, "strangler_requests_total",
		map[string]string{"route": "orders", "served_by": "legacy", "code_class": "2xx"}); got != n {
		t.Errorf("requests served by legacy = %v, want %d", got, n)
	}
}

// A body over guard.DefaultMaxBody is not kept for a replay: the request
// cannot fall back, but reaches the service whole. A smaller one is
// replayed to the monolith byte for byte.
func TestFallbackBodyLimit(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		chunked  bool
		fallback bool
	}{
		{"small", 4 << 10, false, true},
		{"exactly the limit", guard.DefaultMaxBody, false, true},
		{"over the limit", guard.DefaultMaxBody + 1, false, false},
		{"over the limit, chunked", guard.DefaultMaxBody + 4096, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			monolith := newGuardBackend(t, "monolith")
			svc := newGuardBackend(t, "orders")
			svc.downStatus.Store(500)
			url, p, _ := startProxy(t, guardConfig(monolith.URL, svc.URL, true, []int{500}, breakerOff()))
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte('a' + i%26)
			}
			var body io.Reader = bytes.NewReader(data)
			if tc.chunked {
				body = io.MultiReader(body)
			}
			req, _ := http.NewRequest("PUT", url+"/orders/1", body)
			req.Header.Set("Idempotency-Key", "key-"+tc.name)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sum := sha256.Sum256(data)
			if n, got := svc.last(); n != len(data) || got != sum {
				t.Fatalf("service received %d bytes (digest match %v), want all %d", n, got == sum, len(data))
			}
			fallbacks := promValue(t, p.metrics, "strangler_fallbacks_total", map[string]string{"route": "orders"})
			if !tc.fallback {
				if resp.StatusCode != 500 || resp.Header.Get("X-Side") != "orders" || monolith.hits.Load() != 0 || fallbacks != 0 {
					t.Fatalf("got %d from %q, monolith hits %d, fallbacks %v; want the service's 500 and no replay",
						resp.StatusCode, resp.Header.Get("X-Side"), monolith.hits.Load(), fallbacks)
				}
				return
			}
			if resp.StatusCode != 200 || resp.Header.Get("X-Side") != "monolith" {
				t.Fatalf("got %d from %q, want the monolith", resp.StatusCode, resp.Header.Get("X-Side"))
			}
			if n, got := monolith.last(); n != len(data) || got != sum {
				t.Fatalf("monolith received %d bytes (digest match %v), want all %d", n, got == sum, len(data))
			}
		})
	}
}
