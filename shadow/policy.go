package shadow

import (
	"context"
	"math/rand/v2"
	"mime"
	"net/http"
	"time"

	"github.com/stranglerfig/strangler/diff"
	// Imported as exch: the package's tests name a type exchange.
	exch "github.com/stranglerfig/strangler/exchange"
	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/tracing"
	"github.com/stranglerfig/strangler/upstream"
)

// Reasons a request is not mirrored (the "reason" label).
const (
	ReasonSampledOut       = "sampled_out"
	ReasonMethod           = "method"
	ReasonUpgrade          = "upgrade"
	ReasonLoop             = "loop"
	ReasonBodyTooLarge     = "body_too_large"
	ReasonBodyIncomplete   = "body_incomplete"
	ReasonClientGone       = "client_gone"
	ReasonStreaming        = "streaming"
	ReasonResponseTooLarge = "response_too_large"
	ReasonNoResponse       = "no_response"
	ReasonQueueFull        = "queue_full"
	ReasonMemory           = "memory"
	ReasonStopping         = "stopping"
	ReasonWriteToMonolith  = "write_to_monolith"
	ReasonFallback         = "fallback"
	ReasonTargetDown       = "target_down"
)

// Target is one side a copy can go to: an upstream, rewritten for the
// route as the primary would be.
type Target struct {
	Upstream *upstream.Upstream
	Route    upstream.Route
	Trusted  *upstream.Trusted
	// Sandbox marks a service whose side effects are disposable. Copies to
	// any other target lose their method-override headers.
	Sandbox bool
}

// PolicyConfig describes how one route mirrors.
type PolicyConfig struct {
	Route string
	// Sample is the percent of eligible requests mirrored.
	Sample float64
	// Methods that may be mirrored (upper case).
	Methods []string
	// MaxBody bounds the request body copied; MaxResponse the response
	// body captured on each side.
	MaxBody     int64
	MaxResponse int64
	Timeout     time.Duration
	Legacy      Target
	Service     Target
	Rules       diff.RulesConfig
	// Noise, when set, asks the monolith a second time for NoiseSample
	// percent of mirrored GETs (after NoiseWarmup always) to learn noise.
	Noise       bool
	NoiseSample float64
	NoiseWarmup int
	// RedactHeaders, RedactPaths (JSON Pointers) and RedactSelectors (CSS,
	// for HTML) are never stored, besides what is redacted by default.
	RedactHeaders   []string
	RedactPaths     []string
	RedactSelectors []string
}

// Policy mirrors one route's requests. It is built per config (cheap) and
// shares the Dispatcher, which outlives reloads.
type Policy struct {
	cfg         PolicyConfig
	sample      uint32
	methods     map[string]bool
	rules       *diff.Rules // with learned noise
	bareRules   *diff.Rules // without: for learning noise
	redactor    *report.Redactor
	learner     *Learner
	noiseSample uint32
	d           *Dispatcher
	down        [2]*guard.Breaker // the targets' shadow breakers, by routing.Side
	stats       *routeStats       // the route's counts, kept across reloads
}

// NewPolicy compiles cfg for d.
func (d *Dispatcher) NewPolicy(cfg PolicyConfig) (*Policy, error) {
	p := &Policy{cfg: cfg, d: d, methods: map[string]bool{}, stats: d.reg.routeStats(cfg.Route),
		sample: routing.Threshold(cfg.Sample), noiseSample: routing.Threshold(cfg.NoiseSample)}
	for _, m := range cfg.Methods {
		p.methods[m] = true
	}
	for side, t := range [2]Target{cfg.Legacy, cfg.Service} {
		if t.Upstream != nil {
			p.down[side] = d.reg.breaker(t.Upstream)
		}
	}
	var err error
	if p.bareRules, err = diff.NewRules(cfg.Rules); err != nil {
		return nil, err
	}
	if cfg.Noise {
		p.learner = d.reg.learner(cfg.Route)
		withNoise := cfg.Rules
		withNoise.Noise = p.learner
		if p.rules, err = diff.NewRules(withNoise); err != nil {
			return nil, err
		}
	} else {
		p.rules = p.bareRules
	}
	if p.redactor, err = report.NewRedactorConfig(report.RedactorConfig{
		Headers: cfg.RedactHeaders, Paths: cfg.RedactPaths, Selectors: cfg.RedactSelectors}); err != nil {
		return nil, err
	}
	return p, nil
}

// safe methods may be mirrored to the monolith; writes never are.
var safe = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true}

// skipReason says why r is not mirrored to side to, or "" if it is
// eligible. Sampling is decided here too.
func (p *Policy) skipReason(r *http.Request, to routing.Side) string {
	switch {
	case r.Header.Get(upstream.ShadowHeader) != "":
		return ReasonLoop
	case r.Method == http.MethodConnect || r.Header.Get("Upgrade") != "":
		return ReasonUpgrade
	case !p.methods[r.Method]:
		return ReasonMethod
	case to == routing.SideLegacy && !safe[r.Method]:
		return ReasonWriteToMonolith
	case r.ContentLength > p.cfg.MaxBody:
		return ReasonBodyTooLarge
	case p.sample < routing.Buckets && rand.Uint32N(routing.Buckets) >= p.sample:
		return ReasonSampledOut
	case p.targetDown(to):
		return ReasonTargetDown
	}
	return ""
}

// targetDown reports whether the copy target's shadow breaker is open.
func (p *Policy) targetDown(to routing.Side) bool {
	b := p.down[to]
	return b != nil && b.State() == guard.StateOpen
}

// ServeMirrored serves r through primary while capturing what the
// mirror needs, then hands a copy to the dispatcher without waiting. The
// client's answer never waits for, or depends on, the copy.
func (p *Policy) ServeMirrored(w http.ResponseWriter, r *http.Request, d routing.Decision, primary http.Handler) {
	if reason := p.skipReason(r, d.Other()); reason != "" {
		p.skipped(reason)
		primary.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	tee := &teeBody{buf: getBuffer(), max: p.cfg.MaxBody, eof: true}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		tee.rc, tee.eof = r.Body, false
		r.Body = tee
	}
	x, w := exch.Ensure(w)
	x.StartCapture(getBuffer(), p.cfg.MaxResponse)
	primary.ServeHTTP(w, r)
	c := x.EndCapture()
	// Judge the exchange before the client has its answer: a client that
	// closes its connection once it has the answer has not gone away.
	if reason := p.unusable(r, tee, &c, w.Header()); reason != "" {
		putBuffer(tee.buf)
		putBuffer(c.Body)
		p.skipped(reason)
		return
	}
	p.d.hold()
	sendAnswer(w, &c)
	j := p.newJob(r, d, tee, &c, w.Header(), time.Since(start))
	if p.d.opts.Tracer != nil {
		j.link = tracing.LinkOf(r.Context())
	}
	p.d.offer(j)
}

// unusable says why a served exchange cannot be compared, or "";
// header is the primary answer's.
func (p *Policy) unusable(r *http.Request, tee *teeBody, c *exch.Capture, header http.Header) string {
	switch {
	case r.Context().Err() != nil:
		return ReasonClientGone
	case tee.over:
		return ReasonBodyTooLarge
	case !tee.eof:
		return ReasonBodyIncomplete
	case c.Hijacked:
		return ReasonUpgrade
	case c.FellBack:
		return ReasonFallback
	case c.Status == 0:
		return ReasonNoResponse
	case isEventStream(header.Get("Content-Type")):
		return ReasonStreaming
	case c.Truncated:
		return ReasonResponseTooLarge
	}
	return ""
}

// isEventStream reports whether contentType is text/event-stream.
func isEventStream(contentType string) bool {
	ct, _, _ := mime.ParseMediaType(contentType)
	return ct == "text/event-stream"
}

// newJob snapshots the exchange for the worker.
func (p *Policy) newJob(r *http.Request, d routing.Decision, tee *teeBody, c *exch.Capture, header http.Header,
	took time.Duration) *job {
	snap := r.Clone(context.Background())
	snap.Body = nil
	return &job{
		p: p, req: snap, reqBody: tee.buf, to: d.Other(), primarySide: d.Side,
		primary:    diff.Response{Status: c.Status, Header: header.Clone(), Body: c.Body.Bytes(), Duration: took},
		primaryBuf: c.Body, at: time.Now(),
	}
}
