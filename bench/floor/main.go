// Command floor is a reference for the benchmark, not a product: a Go
// reverse proxy on valyala/fasthttp instead of net/http. Without -config
// it forwards with one X-Forwarded-For header and nothing else; with
// -config it also does what strangler does on every request of stage
// legacy: routing on strangler's own route table, metrics in strangler's
// registry, a JSON access line through strangler's batched log writer, a
// request id and the X-Forwarded-* headers. It measures how close a Go
// proxy with those features can get to nginx's CPU per request once
// net/http is gone (docs/benchmarks.md).
package main

import (
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/logbuf"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/proxy"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9102", "listen address")
	up := flag.String("up", "127.0.0.1:9100", "upstream host:port")
	cfgPath := flag.String("config", "", "strangler config whose routes to use; empty: no features")
	flag.Parse()

	client := &fasthttp.HostClient{Addr: *up, MaxConns: 512}
	handler := minimal(client)
	if *cfgPath != "" {
		out := logbuf.New(os.Stdout, 64<<10, 200*time.Millisecond)
		defer out.Close()
		f, closeFn, err := newFeatured(*cfgPath, client, zerolog.New(out).With().Timestamp().Logger())
		if err != nil {
			log.Fatal(err)
		}
		defer closeFn()
		handler = f.serve
	}
	srv := &fasthttp.Server{Handler: handler, ReadTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go stopOnSignal(srv)
	if err := srv.ListenAndServe(*addr); err != nil {
		log.Fatal(err)
	}
}

// stopOnSignal shuts srv down on SIGINT or SIGTERM, so deferred flushes run.
func stopOnSignal(srv *fasthttp.Server) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = srv.Shutdown()
}

// minimal forwards every request with X-Forwarded-For and nothing else.
func minimal(client *fasthttp.HostClient) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Request.Header.Set("X-Forwarded-For", ctx.RemoteIP().String())
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error(`{"error":"bad gateway"}`, fasthttp.StatusBadGateway)
		}
	}
}

// newFeatured builds the featured handler on the routes of the strangler
// config at path; the returned function releases what strangler built.
func newFeatured(path string, client *fasthttp.HostClient, lg zerolog.Logger) (*featured, func(), error) {
	cfg, err := config.Load(path, config.Source{})
	if err != nil {
		return nil, nil, err
	}
	reg := metrics.New()
	p, err := proxy.New(cfg, proxy.Options{Log: zerolog.Nop(), Metrics: reg})
	if err != nil {
		return nil, nil, err
	}
	return &featured{client: client, router: p.Router(), reg: reg, log: lg}, p.Close, nil
}
