package upstream

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/upstream/outbound"
)

// FuzzSanitizeHeaders sends requests with arbitrary Connection values and
// header lines through the lean and the standard front (the client is an
// untrusted peer) and checks what the backend received: no hop-by-hop
// header (but Te: trailers), none the client named in Connection, no
// internal header or underscore spelling of one, an X-Forwarded-For that
// ends with the peer's address, and no CR, LF or NUL anywhere.
func FuzzSanitizeHeaders(f *testing.F) {
	seeds := []struct{ conn, name, value, name2, value2 string }{
		{"keep-alive", "Accept", "*/*", "X-Plain", "1"},
		{"X-Secret, keep-alive", "X-Secret", "s", "X_Forwarded_For", "6.6.6.6"},
		{"close", "X-Real-IP", "6.6.6.6", "True-Client-IP", "6.6.6.7"},
		{"Upgrade", "Upgrade", "h2c", "HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA"},
		{"te", "Te", "trailers", "X-Strangler_Shadow", "1"},
		{"x_forwarded_host", "X_Forwarded_Host", "evil.example", "X_Real_IP", "6.6.6.9"},
		{"", "Proxy_Connection", "keep-alive", "Keep_Alive", "timeout=5"},
		{"X-Request-Id", "X_Request_Id", "forged", "Forwarded", "for=6.6.6.6"},
	}
	for _, s := range seeds {
		f.Add(s.conn, s.name, s.value, s.name2, s.value2)
	}
	backend := newFuzzBackend(f)
	leanFront, stdFront := fuzzFronts(f, backend.URL)
	f.Fuzz(func(t *testing.T, conn, name, value, name2, value2 string) {
		for _, n := range []string{name, name2} {
			switch k := strings.ToLower(strings.TrimSpace(n)); k {
			case "content-length", "transfer-encoding", "host":
				t.Skip("framing headers announce a body the harness does not send")
			}
		}
		if len(conn)+len(name)+len(value)+len(name2)+len(value2) > 16<<10 {
			t.Skip("net/http refuses large heads before any proxy code runs")
		}
		head := "GET /api/x HTTP/1.1\r\nHost: shop.example\r\nConnection: " + conn + "\r\n" +
			name + ": " + value + "\r\n" + name2 + ": " + value2 + "\r\n\r\n"
		in, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil || in.ContentLength != 0 || in.Header["Transfer-Encoding"] != nil {
			t.Skip("not one bodiless request to net/http")
		}
		for _, front := range []string{leanFront, stdFront} {
			_, sent, err := exchangeRaw(front, http.MethodGet, head, backend)
			if err != nil || sent.Header == nil {
				continue // refused before any proxy code ran, or not forwarded
			}
			checkSanitized(t, head, in.Header, sent.Header)
		}
	})
}

// checkSanitized checks what the backend received (sent) for a request
// whose header was in.
func checkSanitized(t *testing.T, head string, in, sent http.Header) {
	t.Helper()
	hop := []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	internal := append([]string{"X-Strangler-Shadow", "X-Real-Ip", "True-Client-Ip", "Forwarded", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id", "Content-Length", "Host"}, hop...)
	ours := map[string]bool{"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
		"Te": true, "Accept-Encoding": true, "User-Agent": true}
	upgrade := in.Get("Upgrade") != "" && outbound.HasToken(in["Connection"], "upgrade")
	for k, vv := range sent {
		if strings.ContainsAny(k+strings.Join(vv, ""), "\r\n\x00") {
			t.Errorf("%q: header %q: %q holds CR, LF or NUL", head, k, vv)
		}
		switch {
		case k == "Te":
			if len(vv) != 1 || vv[0] != "trailers" {
				t.Errorf("%q: Te %q reached the backend", head, vv)
			}
		case k == "Accept-Encoding" || k == "User-Agent" || strings.HasPrefix(k, "X-Forwarded-"):
			// written by the proxy (or Go's client for the standard path)
		case upgrade && (k == "Connection" || k == "Upgrade"):
			// An upgrade is tunnelled: the proxy asks for it afresh.
			if want := map[string]string{"Connection": "Upgrade", "Upgrade": in.Get("Upgrade")}[k]; len(vv) != 1 || vv[0] != want {
				t.Errorf("%q: upgrade sent with %s %q", head, k, vv)
			}
		case contains(hop, k), contains(internal, k) && k != "X-Request-Id":
			t.Errorf("%q: %s: %q reached the backend", head, k, vv)
		case strings.Contains(k, "_") && contains(internal, http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))):
			t.Errorf("%q: %s, an underscore spelling of an internal header, reached the backend", head, k)
		case outbound.HasToken(in["Connection"], k) && !ours[k]:
			t.Errorf("%q: %s, named in Connection, reached the backend", head, k)
		}
	}
	if xff := strings.Join(sent["X-Forwarded-For"], ", "); xff != "127.0.0.1" {
		t.Errorf("%q: X-Forwarded-For %q, want the (untrusted) peer's address alone", head, xff)
	}
}

func contains(list []string, k string) bool {
	for _, s := range list {
		if s == k {
			return true
		}
	}
	return false
}
