package upstream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strings"

	"github.com/stranglerfig/strangler/shadow/mark"
)

// ShadowHeader marks a mirrored request. strangler never mirrors a request
// that carries it (loop guard), and upstreams can use it to recognise
// shadow traffic. An inbound one is stripped at the edge (proxy) unless
// its peer is in shadowing.trust_marker_from, so what reaches this
// package is forwarded as is. Copies are signed (package shadow/mark).
const ShadowHeader = mark.Header

// hopHeaders are removed from a forwarded request (RFC 9110 7.6.1), as
// httputil.ReverseProxy does.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// forwardedHeaders are written afresh for each upstream request (with
// trusted-proxy handling), never passed on as the client sent them.
var forwardedHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// ShadowRequest builds the client request that mirrors in (a snapshot the
// caller owns, with its body given separately) to u: rewritten for rt
// exactly as Proxy would, hop-by-hop headers removed, X-Forwarded-*
// handled as for the primary, and marked with ShadowHeader.
func (u *Upstream) ShadowRequest(ctx context.Context, in *http.Request, body []byte, rt Route, trusted *Trusted) *http.Request {
	out := in.WithContext(ctx)
	url := *in.URL // rewritten below: in keeps its own (WithContext is shallow)
	out.URL = &url
	out.Header = in.Header.Clone()
	out.RequestURI = ""
	out.Close = false
	out.ContentLength = int64(len(body))
	out.Body, out.GetBody = http.NoBody, nil
	if len(body) > 0 {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	out.TransferEncoding = nil
	removeHopHeaders(out.Header)
	for _, h := range forwardedHeaders {
		out.Header.Del(h)
	}
	rewrite(&httputil.ProxyRequest{In: in, Out: out}, u.opts.URL, rt, trusted)
	out.Header.Set(ShadowHeader, "1")
	return out
}

// removeHopHeaders drops hop-by-hop headers and those named in Connection.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name) // canonical already: Del would canonicalize it again
	}
}
