package outbound

import (
	"net"
	"net/http"
	"strings"

	"github.com/stranglerfig/strangler/routing"
)

// Trusted is the set of peers (load balancers, edge proxies) whose
// X-Forwarded-* headers strangler believes. The nil *Trusted trusts
// nobody.
type Trusted struct {
	nets []*net.IPNet
}

// NewTrusted returns a Trusted set of networks.
func NewTrusted(nets []*net.IPNet) *Trusted {
	return &Trusted{nets: nets}
}

// Contains reports whether the peer at addr ("ip:port" or "ip") is
// trusted.
func (t *Trusted) Contains(addr string) bool {
	if t == nil || len(t.nets) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return t.containsIP(net.ParseIP(strings.TrimSpace(host)))
}

func (t *Trusted) containsIP(ip net.IP) bool {
	if ip == nil {
		return false
	}
	for _, n := range t.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that sent r: the peer, or,
// when the peer is trusted, the right-most X-Forwarded-For entry that is
// not itself a trusted proxy.
func (t *Trusted) ClientIP(r *http.Request) string {
	peer := routing.RemoteIP(r)
	if t == nil || len(t.nets) == 0 || !t.containsIP(net.ParseIP(strings.TrimSpace(peer))) {
		return peer
	}
	chain := strings.Join(r.Header.Values("X-Forwarded-For"), ",")
	for chain != "" {
		i := strings.LastIndexByte(chain, ',')
		hop := strings.TrimSpace(chain[i+1:])
		chain = chain[:max(i, 0)]
		ip := net.ParseIP(hop)
		if ip == nil {
			break // a malformed hop: stop believing the chain here
		}
		if !t.containsIP(ip) {
			return hop
		}
	}
	return peer
}
