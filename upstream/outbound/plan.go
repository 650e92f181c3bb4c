// Package outbound computes, once per route and upstream, how a client's
// request is sent upstream: the path (prefix stripped and added), the
// query (kept byte for byte), the Host, and the header (hop-by-hop and
// Connection-named headers removed, client addresses and internal
// spellings dropped, X-Forwarded-* written with trusted proxies in mind).
// Both ways of sending apply the same Plan: the standard path
// (httputil.ReverseProxy, Plan.Rewrite) and the lean HTTP/1.1 writer
// (package upstream/lean, through Plan.Header and a Sink).
package outbound

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// Plan is the outbound rule set of one route on one upstream. It is
// immutable once built and safe for concurrent use.
type Plan struct {
	target *url.URL
	// strip is removed from the start of the escaped path; add (escaped)
	// is put in front of what is left.
	strip, add string
	// addEscaped says add is a valid escaping, so a writer may splice it
	// into an escaped path directly.
	addEscaped bool
	keepHost   bool
	trusted    *Trusted
}

// NewPlan returns the plan for requests to target, with strip removed
// from and add put in front of the path, the client's Host kept when
// keepHost, and the X-Forwarded-* headers of peers in trusted believed.
func NewPlan(target *url.URL, strip, add string, keepHost bool, trusted *Trusted) *Plan {
	p := &Plan{target: target, strip: strip, add: add, keepHost: keepHost, trusted: trusted, addEscaped: true}
	if esc, ok := escapedPrefix(add); ok {
		p.add = esc
	} else {
		p.addEscaped = false
	}
	return p
}

// escapedPrefix returns the path prefix p in escaped form: kept as it is
// when it is a valid escaping already ("/a%2Fb"), escaped otherwise
// ("/my app" -> "/my%20app"); ok is false when p cannot be unescaped.
func escapedPrefix(p string) (string, bool) {
	if p == "" {
		return "", true
	}
	path, err := url.PathUnescape(p)
	if err != nil {
		return "", false
	}
	u := url.URL{Path: path, RawPath: p}
	return u.EscapedPath(), true
}

// Target is the upstream's base URL.
func (p *Plan) Target() *url.URL { return p.target }

// Direct reports whether the path can be written by splicing escaped
// strings (Path): false when the add prefix is not a valid escaping, and
// only the standard path (Rewrite) serves the route.
func (p *Plan) Direct() bool { return p.addEscaped }

// Path returns the escaped path sent upstream for the client's escaped
// path esc: strip removed at a segment boundary, add put in front.
func (p *Plan) Path(esc string) string {
	if p.strip != "" && hasPathPrefix(esc, p.strip) {
		esc = esc[len(p.strip):]
		if esc == "" || esc[0] != '/' {
			esc = "/" + esc
		}
	}
	if p.add != "" {
		esc = strings.TrimSuffix(p.add, "/") + esc
	}
	return esc
}

// Rewrites reports whether the plan changes the path at all.
func (p *Plan) Rewrites() bool { return p.strip != "" || p.add != "" }

// hasPathPrefix reports whether path starts with prefix at a segment
// boundary: "/api" is a prefix of "/api" and "/api/x", not of "/apix".
func hasPathPrefix(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// Host is the Host sent upstream for a client that sent in: the client's
// when the plan keeps it and there is one (an HTTP/1.0 client may send
// none), the upstream's otherwise.
func (p *Plan) Host(in string) string {
	if p.keepHost && in != "" {
		return in
	}
	return p.target.Host
}

// FromTrusted reports whether the peer at remoteAddr is a trusted proxy,
// whose X-Forwarded-* and client-address headers are believed.
func (p *Plan) FromTrusted(remoteAddr string) bool { return p.trusted.Contains(remoteAddr) }

// Sink receives the outbound header as Plan.Header decides it.
type Sink interface {
	// Keep is called for each header of the walked map that goes
	// upstream as it is.
	Keep(k string, vv []string)
	// Drop is called for each header of the walked map that does not.
	Drop(k string)
	// Set is called for each header the plan writes itself: Te:
	// trailers, the upgrade pair, X-Forwarded-Host and -Proto.
	Set(k, v string)
	// ForwardedFor is called with the X-Forwarded-For chain to send: the
	// trusted peer's prior values (nil from others), then ip.
	ForwardedFor(prior []string, ip string)
}

// Header walks h, the header of in or a copy of it, and tells s what
// goes upstream: each header kept or dropped (hop-by-hop, named in in's
// Connection, forwarding set, client addresses from an untrusted peer,
// underscore spellings of internal names), then the headers the plan
// sets. fromTrusted is FromTrusted(in.RemoteAddr), computed once by the
// caller.
func (p *Plan) Header(h http.Header, in *http.Request, fromTrusted bool, s Sink) {
	conn := in.Header["Connection"]
	for k, vv := range h {
		if Dropped(k, fromTrusted) || (len(conn) > 0 && HasToken(conn, k)) || SpoofsInternal(k) {
			s.Drop(k)
			continue
		}
		s.Keep(k, vv)
	}
	if HasToken(in.Header["Te"], "trailers") {
		// The one Te value a proxy passes on, as httputil does.
		s.Set("Te", "trailers")
	}
	if up := upgradeType(in.Header); up != "" {
		s.Set("Connection", "Upgrade")
		s.Set("Upgrade", up)
	}
	p.forwarded(in, fromTrusted, s)
}

// forwarded sets X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded does; a trusted peer's values are
// kept and its For chain is extended.
func (p *Plan) forwarded(in *http.Request, fromTrusted bool, s Sink) {
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		var prior []string
		if fromTrusted {
			prior = in.Header["X-Forwarded-For"]
		}
		s.ForwardedFor(prior, ip)
	}
	host, proto := in.Host, "http"
	if in.TLS != nil {
		proto = "https"
	}
	if fromTrusted {
		if v := in.Header.Get("X-Forwarded-Host"); v != "" {
			host = v
		}
		if v := in.Header.Get("X-Forwarded-Proto"); v != "" {
			proto = v
		}
	}
	s.Set("X-Forwarded-Host", host)
	s.Set("X-Forwarded-Proto", proto)
}

// Rewrite applies the plan on the standard path, as the Rewrite hook of
// an httputil.ReverseProxy: pr.Out gets the path, target, verbatim query,
// header and Host.
func (p *Plan) Rewrite(pr *httputil.ProxyRequest) {
	if p.Rewrites() {
		setEscapedPath(pr.Out.URL, p.Path(pr.Out.URL.EscapedPath()))
	}
	pr.SetURL(p.target)
	// The query goes upstream byte for byte: ReverseProxy drops the
	// parameters it cannot parse (a stray '%', a ';') before Rewrite and
	// SetURL re-joins it; a proxy must not change it. Target URLs carry
	// no query (config validation refuses one).
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	p.Header(pr.Out.Header, pr.In, p.FromTrusted(pr.In.RemoteAddr), headerSink{pr.Out.Header})
	if p.keepHost {
		pr.Out.Host = pr.In.Host
	}
}

// setEscapedPath sets u's path to the escaped esc, keeping Path and
// RawPath in step; an esc that cannot be unescaped leaves u as it is.
func setEscapedPath(u *url.URL, esc string) {
	if path, err := url.PathUnescape(esc); err == nil {
		// RawPath only when the default escaping of Path would differ
		// from what the client sent ("/!" is sent as is, not as "/%21").
		u.Path, u.RawPath = path, ""
		if u.EscapedPath() != esc {
			u.RawPath = esc
		}
	}
}

// headerSink applies the plan to an http.Header in place (the standard
// path's outbound copy).
type headerSink struct{ h http.Header }

func (s headerSink) Keep(string, []string) {}
func (s headerSink) Drop(k string)         { delete(s.h, k) }
func (s headerSink) Set(k, v string)       { s.h[k] = []string{v} }
func (s headerSink) ForwardedFor(prior []string, ip string) {
	if len(prior) > 0 {
		ip = strings.Join(prior, ", ") + ", " + ip
	}
	s.h["X-Forwarded-For"] = []string{ip}
}
