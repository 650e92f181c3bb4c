package reliability

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Load is the outcome of a constant-rate run.
type Load struct {
	Requests uint64
	Errors   uint64 // transport errors and non-2xx answers
	P50, P99 time.Duration
}

// String gives p99 and the error count.
func (l Load) String() string {
	return fmt.Sprintf("p99 %s, %d/%d errors", ms(l.P99), l.Errors, l.Requests)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// constantRate sends rate GETs per second to url for d (open loop:
// requests leave on schedule whatever the answers do).
func constantRate(url string, rate int, d time.Duration) Load {
	a := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Connections(64), vegeta.Timeout(5*time.Second))
	defer a.Stop()
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url})
	var m vegeta.Metrics
	for res := range a.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, d, "reliability") {
		m.Add(res)
	}
	m.Close()
	errs := uint64(0)
	for code, n := range m.StatusCodes {
		if code < "200" || code >= "300" {
			errs += uint64(n)
		}
	}
	return Load{Requests: m.Requests, Errors: errs, P50: m.Latencies.P50, P99: m.Latencies.P99}
}

// median returns the middle duration.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// get sends one GET with a client that keeps no connections and returns
// the status (0 on a transport error) and body.
func get(url string, hdr map[string]string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body)
}

// rawExchange writes payload on a new connection to addr, half-closes
// nothing, and reads until the server closes or wait passes; it returns
// what was read and whether the server closed the connection.
func rawExchange(addr string, payload []byte, wait time.Duration) ([]byte, bool, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, false, fmt.Errorf("dialing %s: %w", addr, err)
	}
	defer c.Close()
	if _, err := c.Write(payload); err != nil {
		return nil, false, fmt.Errorf("writing to %s: %w", addr, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	out, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return out, false, nil
	}
	return out, true, nil
}
