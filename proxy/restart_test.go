package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
)

// TestUpstreamRestartUnderLoad stops the monolith while GETs run through
// strangler and starts it again on the same address. Every request must
// end with an answer (never hang); while the monolith is down the answer
// is strangler's JSON 502, and once it is back every request succeeds:
// connections the old process held are not reused.
func TestUpstreamRestartUnderLoad(t *testing.T) {
	for _, client := range []string{config.ClientLean, config.ClientStandard} {
		t.Run(client, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "ok")
			})
			first := &http.Server{Handler: handler}
			go func() { _ = first.Serve(ln) }()

			cfg := baseConfig("http://"+addr, "http://"+addr)
			cfg.Legacy.Client = client
			url, _, _ := startProxy(t, cfg)

			var phase atomic.Int32 // 0 up, 1 down, 2 up again and settled
			var ok, refused, bad, afterFailures atomic.Int64
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					hc := &http.Client{Timeout: 5 * time.Second}
					for ctx.Err() == nil {
						p := phase.Load()
						resp, err := hc.Get(url + "/anything")
						if err != nil {
							bad.Add(1) // no answer at all: a hang or a reset
							continue
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						switch {
						case resp.StatusCode == 200 && string(body) == "ok":
							ok.Add(1)
						case resp.StatusCode == 502 && strings.Contains(string(body), "upstream unavailable"):
							refused.Add(1)
							if p == 2 {
								afterFailures.Add(1)
							}
						default:
							bad.Add(1)
						}
					}
				}()
			}
			time.Sleep(500 * time.Millisecond)
			phase.Store(1)
			_ = first.Close()
			time.Sleep(500 * time.Millisecond)
			ln2, err := net.Listen("tcp", addr)
			if err != nil {
				cancel()
				wg.Wait()
				t.Fatalf("restarting the monolith on %s: %v", addr, err)
			}
			second := &http.Server{Handler: handler}
			go func() { _ = second.Serve(ln2) }()
			defer second.Close()
			time.Sleep(200 * time.Millisecond)
			phase.Store(2)
			wg.Wait()
			t.Logf("%s: %d ok, %d refused (502) while down, %d without a proper answer", client, ok.Load(), refused.Load(), bad.Load())
			if bad.Load() != 0 {
				t.Errorf("%d requests got no proper answer", bad.Load())
			}
			if refused.Load() == 0 {
				t.Error("no request saw the monolith down: the test did not test")
			}
			if afterFailures.Load() != 0 {
				t.Errorf("%d requests failed after the monolith was back", afterFailures.Load())
			}
		})
	}
}
