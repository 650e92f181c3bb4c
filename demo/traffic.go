package demo

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// trafficPaths are the requests the demo's background traffic sends, a
// path listed several times being sent that much more often: reviews
// are the monolith's busiest unmigrated family, so the planner ranks them
// first.
var trafficPaths = []string{
	"/api/orders/1001", "/api/orders/1002", "/api/orders/1003", "/api/orders/1004", "/api/orders/1005",
	"/api/orders", "/api/orders?user=1", "/api/products", "/api/users/2",
	"/orders/1001", "/orders/1002", "/orders/1004",
	"/api/products/1", "/api/products/2", "/api/products/3", "/api/products/4", "/api/products/5", "/api/products/6",
	"/api/reviews?product=1", "/api/reviews?product=2", "/api/reviews?product=3", "/api/reviews?product=4",
	"/api/reviews/11", "/api/reviews/22", "/api/reviews/31", "/api/reviews/52",
	"/api/search?q=design", "/api/search?q=release",
	"/api/shipping/rates?zip=10115",
	"/api/invoices/7", "/api/invoices/8", "/api/invoices/9", "/api/invoices/10",
}

// Traffic sends gentle background traffic (one request every interval,
// as one of a dozen users) to the proxy at base until ctx is done, so the
// demo's figures and diff reports fill up. It returns when ctx is done.
func Traffic(ctx context.Context, base string, interval time.Duration) {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			sendOne(ctx, client, base)
		}
	}
}

func sendOne(ctx context.Context, client *http.Client, base string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+trafficPaths[rand.IntN(len(trafficPaths))], nil)
	if err != nil {
		return
	}
	req.Header.Set("X-User-ID", "user-"+strconv.Itoa(rand.IntN(12)))
	resp, err := client.Do(req)
	if err != nil {
		return // the proxy is starting or stopping; the next tick retries
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
