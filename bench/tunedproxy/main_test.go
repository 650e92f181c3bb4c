package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// TestTunedProxyKeepsConnections sends rounds of concurrent requests
// through the proxy and counts the connections the backend accepted: the
// tuned transport keeps one per client connection, the default transport
// (2 idle per host) redials for most of them.
func TestTunedProxyKeepsConnections(t *testing.T) {
	tests := []struct {
		name     string
		idle     int
		maxConns int64
	}{
		{"tuned, idle per host = clients", 32, 32},
		{"tuned, default flag", 256, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conns atomic.Int64
			backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.ProtoMajor != 1 {
					t.Errorf("upstream protocol %s; want HTTP/1.x", r.Proto)
				}
				_, _ = io.WriteString(w, `{"ok":true}`)
			}))
			backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			backend.Start()
			defer backend.Close()
			u, _ := url.Parse(backend.URL)
			front := httptest.NewServer(newProxy(u, tt.idle))
			defer front.Close()
			const clients, rounds = 32, 20
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			defer client.CloseIdleConnections()
			for range rounds {
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						resp, err := client.Get(front.URL + "/small")
						if err != nil {
							t.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
					})
				}
				wg.Wait()
			}
			if got := conns.Load(); got > tt.maxConns {
				t.Errorf("backend accepted %d connections for %d clients × %d rounds; want ≤ %d", got, clients, rounds, tt.maxConns)
			}
		})
	}
}
