package main

import (
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/proxy"
	"github.com/stranglerfig/strangler/routing"
)

// featured forwards like minimal and adds strangler's per-request
// features: route decision, metrics, access line, request id,
// X-Forwarded-*.
type featured struct {
	client *fasthttp.HostClient
	router *routing.Router
	reg    *metrics.Registry
	log    zerolog.Logger
}

// matchRequests holds the net/http request the route table matches on
// (gorilla/mux matchers take one), reused across requests.
var matchRequests = sync.Pool{New: func() any {
	return &http.Request{URL: new(url.URL), Header: make(http.Header)}
}}

func (f *featured) serve(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	d := f.decide(ctx)
	req := &ctx.Request
	id := string(req.Header.Peek(proxy.RequestIDHeader))
	if !proxy.ValidRequestID(id) {
		id = proxy.NewRequestID()
		req.Header.Set(proxy.RequestIDHeader, id)
	}
	req.Header.Set("X-Forwarded-For", ctx.RemoteIP().String())
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.SetBytesV("X-Forwarded-Host", ctx.Host())
	if err := f.client.Do(req, &ctx.Response); err != nil {
		ctx.Error(`{"error":"bad gateway"}`, fasthttp.StatusBadGateway)
	}
	ctx.Response.Header.Set(proxy.RequestIDHeader, id)
	f.record(ctx, d, id, time.Since(start))
}

// decide runs strangler's route table on the request.
func (f *featured) decide(ctx *fasthttp.RequestCtx) routing.Decision {
	r := matchRequests.Get().(*http.Request)
	defer matchRequests.Put(r)
	r.Method = string(ctx.Method())
	r.Host = string(ctx.Host())
	r.URL.Path = string(ctx.Path())
	d, _, _ := f.router.Table().Decide(r)
	return d
}

// record counts the request and writes its access line, with the fields
// of strangler's access log.
func (f *featured) record(ctx *fasthttp.RequestCtx, d routing.Decision, id string, took time.Duration) {
	route, stage := d.Route, d.Stage.String()
	if route == "" {
		route, stage = metrics.Unmatched, "legacy"
	}
	side, servedBy := metrics.SideLegacy, "legacy"
	if d.Side == routing.SideService {
		side, servedBy = metrics.SideService, d.Service
	}
	status := ctx.Response.StatusCode()
	f.reg.Route(route).Observe(stage, side, status, took)
	f.log.Info().Str("request_id", id).Str("route", d.Route).Str("stage", stage).
		Str("served_by", servedBy).Bytes("method", ctx.Method()).Bytes("path", ctx.Path()).
		Int("status", status).Float64("duration_ms", float64(took.Microseconds())/1000).
		Int("bytes", len(ctx.Response.Body())).Str("remote", ctx.RemoteAddr().String()).Msg("request")
}
