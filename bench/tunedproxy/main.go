// Command tunedproxy is the baseline a Go team would deploy: an
// httputil.ReverseProxy over an http.Transport sized for the load (idle
// connections per host at least the client connections, so nothing
// reconnects under load), a pool of copy buffers, HTTP/1.1 only to the
// upstream, and explicit timeouts. Like bareproxy it logs nothing.
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// bufferPool hands httputil.ReverseProxy reusable 32 KiB copy buffers.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any {
		b := make([]byte, 32<<10)
		return &b
	}}}
}

// Get returns a 32 KiB buffer.
func (b *bufferPool) Get() []byte { return *(b.p.Get().(*[]byte)) }

// Put takes a buffer back.
func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// transport is sized for idle connections per host: with at least as many
// as there are client connections, a closed loop never redials.
func transport(idlePerHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2 upstream
		MaxIdleConns:          4 * idlePerHost,
		MaxIdleConnsPerHost:   idlePerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
}

// newProxy forwards to u over a transport keeping idle connections per
// host.
func newProxy(u *url.URL, idlePerHost int) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport:  transport(idlePerHost),
		BufferPool: newBufferPool(),
		ErrorLog:   log.New(log.Writer(), "tunedproxy: ", 0),
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9102", "listen address")
	target := flag.String("target", "http://127.0.0.1:9100", "upstream URL")
	idle := flag.Int("idle-per-host", 256, "idle upstream connections kept per host (>= client connections)")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil {
		log.Fatalf("tunedproxy: target %q: %v", *target, err)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           newProxy(u, *idle),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Fatal(srv.ListenAndServe())
}
