// Package plantest generates the access log of a realistic monolith, with
// the truth of its endpoint shapes, to test the planner against.
package plantest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Endpoint is one method and shape of the generated monolith.
type Endpoint struct {
	Family string // the family's path prefix, e.g. /api/v1/orders
	Method string
	Shape  string // as the planner should learn it, e.g. /api/v1/orders/{id}
	Weight float64
	Error  float64 // share of 5xx answers
	build  func(r *rand.Rand) string
}

// Monolith is a generated monolith: its endpoints and their weights.
type Monolith struct {
	Endpoints []Endpoint
	Families  []string
	cum       []float64
}

var (
	groups = []string{"/api/v1", "/api/v2", "/admin", "/account", "/shop", "/internal/ops", "/partners", "/m"}
	nouns  = []string{"orders", "invoices", "customers", "products", "carts", "payments", "shipments", "refunds",
		"coupons", "reviews", "wishlists", "addresses", "stores", "suppliers", "warehouses", "returns",
		"subscriptions", "plans", "tickets", "messages", "notifications", "reports", "exports", "imports",
		"audits", "sessions", "tokens", "webhooks", "categories", "brands", "prices", "taxes",
		"currencies", "regions", "banners", "pages", "articles", "comments", "tags", "media"}
	subs = []string{"items", "history", "comments", "status", "lines", "attachments"}
	adjs = []string{"red", "blue", "green", "fast", "quiet", "small", "large", "bright", "dark", "soft",
		"warm", "cold", "old", "new", "smart", "plain", "fancy", "happy", "lucky", "brave"}
	things = []string{"shoe", "lamp", "chair", "table", "phone", "watch", "kettle", "bottle", "jacket", "scarf",
		"glove", "plate", "spoon", "clock", "radio", "camera", "pillow", "blanket", "mirror", "basket"}
)

// New builds a monolith of families endpoint families (at most
// len(groups)*len(nouns)), deterministic for seed.
func New(families int, seed uint64) *Monolith {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &Monolith{}
	perm := r.Perm(len(groups) * len(nouns))
	for rank := 0; rank < families && rank < len(perm); rank++ {
		g, n := groups[perm[rank]%len(groups)], nouns[perm[rank]/len(groups)]
		prefix := g + "/" + n
		m.Families = append(m.Families, prefix)
		weight := 1 / math.Pow(float64(rank+1), 1.1) // Zipf: a long tail
		m.addFamily(r, prefix, weight, rank)
	}
	total := 0.0
	for _, e := range m.Endpoints {
		total += e.Weight
		m.cum = append(m.cum, total)
	}
	return m
}

// addFamily adds the endpoints of one family: a list, items by id, some
// writes, and by rank sub-resources, UUIDs, dates, hashes, e-mails and
// slugs with a frequent literal.
func (m *Monolith) addFamily(r *rand.Rand, prefix string, weight float64, rank int) {
	errRate := 0.0
	if r.IntN(8) == 0 {
		errRate = 0.02 + r.Float64()*0.1
	}
	add := func(method, shape string, share float64, build func(r *rand.Rand) string) {
		m.Endpoints = append(m.Endpoints, Endpoint{Family: prefix, Method: method, Shape: shape,
			Weight: weight * share, Error: errRate, build: build})
	}
	lit := func(p string) func(*rand.Rand) string { return func(*rand.Rand) string { return p } }
	id := func(r *rand.Rand) string { return strconv.Itoa(1 + r.IntN(200000)) }
	add("GET", prefix, 0.3, lit(prefix))
	add("GET", prefix+"/{id}", 0.4, func(r *rand.Rand) string { return prefix + "/" + id(r) })
	if rank%3 == 0 {
		add("POST", prefix, 0.08, lit(prefix))
		add("PUT", prefix+"/{id}", 0.04, func(r *rand.Rand) string { return prefix + "/" + id(r) })
	}
	if rank%4 == 1 {
		add("DELETE", prefix+"/{id}", 0.02, func(r *rand.Rand) string { return prefix + "/" + id(r) })
	}
	if rank%2 == 0 {
		sub := subs[rank%len(subs)]
		add("GET", prefix+"/{id}/"+sub, 0.15, func(r *rand.Rand) string { return prefix + "/" + id(r) + "/" + sub })
	}
	if rank%5 == 2 {
		add("GET", prefix+"/{uuid}", 0.1, func(r *rand.Rand) string { return prefix + "/" + uuid(r) })
	}
	if rank%6 == 3 {
		add("GET", prefix+"/{date}/summary", 0.05, func(r *rand.Rand) string {
			d := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(700))
			return prefix + "/" + d.Format("2006-01-02") + "/summary"
		})
	}
	if rank%7 == 4 {
		add("GET", prefix+"/{hash}", 0.05, func(r *rand.Rand) string { return fmt.Sprintf("%s/%016x%016x", prefix, r.Uint64(), r.Uint64()) })
	}
	if rank%9 == 5 {
		add("GET", prefix+"/{email}/prefs", 0.05, func(r *rand.Rand) string {
			return fmt.Sprintf("%s/user%d@example.com/prefs", prefix, r.IntN(50000))
		})
	}
	if rank < 40 && rank%3 == 1 { // slugs need traffic to be told from names
		add("GET", prefix+"/{id}/reviews", 0.3, func(r *rand.Rand) string {
			return fmt.Sprintf("%s/%s-%s-%d/reviews", prefix, adjs[r.IntN(len(adjs))], things[r.IntN(len(things))], r.IntN(20))
		})
		add("GET", prefix+"/featured", 0.08, lit(prefix+"/featured"))
	}
}

func uuid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// Pick returns a weighted random endpoint.
func (m *Monolith) Pick(r *rand.Rand) *Endpoint {
	x := r.Float64() * m.cum[len(m.cum)-1]
	lo, hi := 0, len(m.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if m.cum[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return &m.Endpoints[lo]
}

// Path returns a concrete path of e.
func (e *Endpoint) Path(r *rand.Rand) string { return e.build(r) }

// WriteLog writes lines lines of combined log format (with a trailing
// request time in seconds) and returns how many requests each endpoint
// got, keyed "METHOD shape".
func (m *Monolith) WriteLog(w io.Writer, lines int, seed uint64) (map[string]int, error) {
	r := rand.New(rand.NewPCG(seed, seed+1))
	bw := bufio.NewWriterSize(w, 256<<10)
	got := map[string]int{}
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	buf := make([]byte, 0, 512)
	for i := range lines {
		e := m.Pick(r)
		got[e.Method+" "+e.Shape]++
		status := 200
		if e.Method == "POST" {
			status = 201
		}
		if r.Float64() < e.Error {
			status = 500 + r.IntN(4)
		}
		ts := t.Add(time.Duration(i) * 20 * time.Millisecond)
		buf = append(buf[:0], "10.0."...)
		buf = strconv.AppendInt(buf, int64(r.IntN(256)), 10)
		buf = append(buf, ".7 - - ["...)
		buf = ts.AppendFormat(buf, "02/Jan/2006:15:04:05 -0700")
		buf = append(buf, "] \""...)
		buf = append(buf, e.Method...)
		buf = append(buf, ' ')
		buf = append(buf, e.Path(r)...)
		if r.IntN(4) == 0 {
			buf = append(buf, "?page=2&sort=desc"...)
		}
		buf = append(buf, " HTTP/1.1\" "...)
		buf = strconv.AppendInt(buf, int64(status), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(200+r.IntN(5000)), 10)
		buf = append(buf, ` "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)" `...)
		buf = strconv.AppendFloat(buf, 0.002+r.ExpFloat64()*0.04, 'f', 3, 64)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return got, fmt.Errorf("writing generated log line %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return got, fmt.Errorf("flushing generated log: %w", err)
	}
	return got, nil
}
