package proxy

import (
	"net"
	"net/http"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/shadow/mark"
	"github.com/stranglerfig/strangler/upstream"
)

// withShadowMarker strips the inbound shadow marker and its signature at
// the edge, before routing, shadow eligibility and the upstreams see the
// request, unless the peer is listed in shadowing.trust_marker_from (not
// trusted_proxies: a load balancer trusted for X-Forwarded-For passes on
// whatever its clients send). Otherwise any client could pass a real
// request off as a copy, which an upstream may then skip, or opt out of
// mirroring. A request without the headers costs two map lookups.
func withShadowMarker(next http.Handler, trustFrom []string) http.Handler {
	trusted := markerTrust(trustFrom)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, marked := r.Header[mark.Header]
		_, signed := r.Header[mark.SignatureHeader]
		if (marked || signed) && !trusted.Contains(r.RemoteAddr) {
			delete(r.Header, mark.Header)
			delete(r.Header, mark.SignatureHeader)
		}
		next.ServeHTTP(w, r)
	})
}

// markerTrust parses shadowing.trust_marker_from. The config has been
// validated, which refuses entries that do not parse, so none is skipped
// here that the operator could have meant.
func markerTrust(cidrs []string) *upstream.Trusted {
	nets := make([]*net.IPNet, 0, len(cidrs))
	for _, c := range cidrs {
		if n, err := config.ParseCIDR(c); err == nil {
			nets = append(nets, n)
		}
	}
	return upstream.NewTrusted(nets)
}
