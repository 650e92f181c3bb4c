package upstream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"

	"github.com/stranglerfig/strangler/shadow/mark"
	"github.com/stranglerfig/strangler/upstream/outbound"
)

// ShadowHeader marks a mirrored request. strangler never mirrors a request
// that carries it (loop guard), and upstreams can use it to recognise
// shadow traffic. An inbound one is stripped at the edge (proxy) unless
// its peer is in shadowing.trust_marker_from, so what reaches this
// package is forwarded as is. Copies are signed (package shadow/mark).
const ShadowHeader = mark.Header

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
	outbound.NewPlan(u.opts.URL, rt.StripPrefix, rt.AddPrefix, rt.KeepHost, trusted).
		Rewrite(&httputil.ProxyRequest{In: in, Out: out})
	// A copy's answer is compared, never relayed: it asks for no
	// trailers, as it did before the plan was shared.
	delete(out.Header, "Te")
	out.Header.Set(ShadowHeader, "1")
	return out
}
