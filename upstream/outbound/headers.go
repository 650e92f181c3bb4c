package outbound

import (
	"net/http"
	"net/textproto"
	"strings"
)

// HopHeaders are removed from a forwarded request and answer (RFC 9110
// 7.6.1), as httputil.ReverseProxy does. Canonical: RemoveHop deletes
// them as written.
var HopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// ForwardedHeaders are written afresh for each upstream request (with
// trusted-proxy handling), never passed on as the client sent them.
var ForwardedHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// RemoveHop drops hop-by-hop headers and those named in Connection from
// h (an upstream's answer, or a 1xx relayed to the client).
func RemoveHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range HopHeaders {
		delete(h, name) // canonical already: Del would canonicalize it again
	}
}

// Dropped reports whether the inbound header k (canonical) is not
// forwarded as the client sent it: hop-by-hop headers, the X-Forwarded-*
// set (written afresh), Host and Content-Length (request framing the
// writer sets), and client addresses from an untrusted peer. The shadow
// mark is not among them: the edge (proxy) has already stripped an
// untrusted one. It is a switch, not a walk over HopHeaders and
// ForwardedHeaders, because it runs for every header of every request;
// TestDropped keeps it in step with those lists.
func Dropped(k string, fromTrusted bool) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Host",
		"Content-Length": // framing: the writer (lean or http.Transport) sends its own
		return true
	case "X-Real-Ip", "True-Client-Ip":
		// Client addresses as another proxy saw them: believed, like
		// X-Forwarded-Host, only from a trusted peer.
		return !fromTrusted
	}
	return false
}

// SpoofsInternal reports whether the header name k is an underscore
// spelling of a header strangler controls ("X_Forwarded_For",
// "X-Strangler_Shadow"): many backends (CGI, PHP, WSGI, nginx's
// variables) read '-' and '_' alike, so such a header would pass for the
// real one. It is dropped from every peer. Names without '_' cost one
// byte scan.
func SpoofsInternal(k string) bool {
	if strings.IndexByte(k, '_') < 0 {
		return false
	}
	return internalHeader(http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-")))
}

// internalHeader reports whether the canonical name k is one strangler
// drops, writes or reads itself: hop-by-hop and framing headers, the
// forwarding family, client addresses, the request id and X-Strangler-*.
func internalHeader(k string) bool {
	return Dropped(k, false) || k == "X-Request-Id" || strings.HasPrefix(k, "X-Strangler-")
}

// HasToken reports whether the comma-separated values hold tok (case
// insensitive).
func HasToken(values []string, tok string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}

// upgradeType is the protocol r asks to switch to ("websocket"), "" when
// it asks for none; httputil's rule.
func upgradeType(h http.Header) string {
	if !HasToken(h["Connection"], "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}
