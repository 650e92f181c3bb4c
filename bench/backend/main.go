// Command backend is the small upstream the benchmarks proxy to: every
// path answers a ~200 byte JSON document; /slow waits -slow first.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"time"
)

const body = `{"id":42,"title":"The Pragmatic Programmer","author":"Hunt & Thomas","price":39.5,` +
	`"currency":"EUR","tags":["craft","classic"],"stock":12,"updated":"2026-01-01T00:00:00Z"}`

func main() {
	addr := flag.String("addr", "127.0.0.1:9100", "listen address")
	slow := flag.Duration("slow", 0, "delay every answer by this much (a slow shadow candidate)")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *slow > 0 {
			select {
			case <-time.After(*slow):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
