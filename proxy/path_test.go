package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/config"
)

// pathRoutes are the routes of TestPathTable: one plain prefix, and one
// route for each allowance (match.allow) and for case-insensitive
// matching.
func pathRoutes() []config.Route {
	mig := func(name string, m config.Match) config.Route {
		return config.Route{Name: name, Match: m, Service: "orders", Stage: "migrated"}
	}
	return []config.Route{
		mig("public", config.Match{Prefix: "/public/"}),
		mig("iis", config.Match{Prefix: "/iis/", CaseInsensitive: true, Allow: []string{"backslash"}}),
		mig("tomcat", config.Match{Prefix: "/tc/", Allow: []string{"semicolon"}}),
		mig("files", config.Match{Prefix: "/files/", Allow: []string{"encoded_slash", "empty_segment"}}),
		{Name: "raw", Match: config.Match{Prefix: "/raw/", Allow: []string{"double_encoding", "control", "invalid_utf8"}}},
		mig("h2", config.Match{Path: "/h2", Allow: []string{"h2c"}}),
		mig("orders", config.Match{Path: "/api/orders/{id:[0-9]+}"}),
		mig("shop", config.Match{Path: "/Shop/{id}", CaseInsensitive: true}),
	}
}

// TestPathTable sends each request-target raw over a socket to the data
// plane in front of two recording backends and checks the route matched
// and the target the backend received, or the refusal (400, nothing sent
// upstream). Route "" is the monolith's default (no route).
func TestPathTable(t *testing.T) {
	mono, svc := newRecorder(t, "monolith"), newRecorder(t, "orders")
	sp := serveProxy(t, baseConfig(mono.URL, svc.URL, pathRoutes()...))
	const refused = "refused"
	tests := []struct {
		target, route, side, forwarded string
		method, header                 string // default GET, no extra header
	}{
		// plain, and unreserved characters percent-encoded
		{target: "/public/x", route: "public", side: "orders", forwarded: "/public/x"},
		{target: "/public/", route: "public", side: "orders", forwarded: "/public/"},
		{target: "/public", route: "", side: "monolith", forwarded: "/public"},
		{target: "/public/a/b/c", route: "public", side: "orders", forwarded: "/public/a/b/c"},
		{target: "/public/x?a=1", route: "public", side: "orders", forwarded: "/public/x?a=1"},
		{target: "/%70ublic/x", route: "public", side: "orders", forwarded: "/public/x"},
		{target: "/%70%75%62%6c%69%63/x", route: "public", side: "orders", forwarded: "/public/x"},
		{target: "/public/%7euser", route: "public", side: "orders", forwarded: "/public/~user"},
		{target: "/public/%41", route: "public", side: "orders", forwarded: "/public/A"},
		{target: "/public/a%2Db%5fc", route: "public", side: "orders", forwarded: "/public/a-b_c"},
		{target: "http://example.com/public/abs", route: "public", side: "orders", forwarded: "/public/abs"},
		// dot-segments, however spelled: refused whatever the route
		{target: "/public/%2e", side: refused},
		{target: "/public/%2e%2e/admin", side: refused},
		{target: "/public/../admin", side: refused},
		{target: "/public/./x", side: refused},
		{target: "/public/.%2e/admin", side: refused},
		{target: "/public/%2E./admin", side: refused},
		{target: "/public/..;/admin", side: refused},
		{target: "/public/..;x=1/admin", side: refused},
		{target: "/public/..%5cadmin", side: refused},
		{target: `/public/..\admin`, side: refused},
		{target: "/public/..%2fadmin", side: refused},
		{target: "/public/x/..", side: refused},
		{target: "/tc/a/..;/b", side: refused},
		{target: `/iis/..\x`, side: refused},
		{target: "/files/a%2f..%2fb", side: refused},
		{target: "/public/.hidden", route: "public", side: "orders", forwarded: "/public/.hidden"},
		{target: "/public/...", route: "public", side: "orders", forwarded: "/public/..."},
		{target: "/public/a.b", route: "public", side: "orders", forwarded: "/public/a.b"},
		// empty segments
		{target: "//public/x", route: "", side: refused},
		{target: "/public//x", route: "public", side: refused},
		{target: "/files//x", route: "files", side: "orders", forwarded: "/files//x"},
		// encoded slashes
		{target: "/public%2fx", route: "", side: refused},
		{target: "/public/a%2fb", route: "public", side: refused},
		{target: "/public/a%2Fb", route: "public", side: refused},
		{target: "/api/orders/4%2F2", route: "", side: refused},
		{target: "/files/a%2Fb", route: "files", side: "orders", forwarded: "/files/a%2Fb"},
		{target: "/files/a%2fb", route: "files", side: "orders", forwarded: "/files/a%2Fb"},
		// case
		{target: "/PUBLIC/x", route: "", side: "monolith", forwarded: "/PUBLIC/x"},
		{target: "/Public/x", route: "", side: "monolith", forwarded: "/Public/x"},
		{target: "/iis/x", route: "iis", side: "orders", forwarded: "/iis/x"},
		{target: "/IIS/x", route: "iis", side: "orders", forwarded: "/IIS/x"},
		{target: "/Iis/Sub/Path", route: "iis", side: "orders", forwarded: "/Iis/Sub/Path"},
		{target: "/%49IS/x", route: "iis", side: "orders", forwarded: "/IIS/x"},
		{target: "/shop/7", route: "shop", side: "orders", forwarded: "/shop/7"},
		{target: "/SHOP/7", route: "shop", side: "orders", forwarded: "/SHOP/7"},
		{target: "/ShOp/7/x", route: "", side: "monolith", forwarded: "/ShOp/7/x"},
		// semicolons (path parameters)
		{target: "/public;x/y", route: "", side: refused},
		{target: "/public/x;jsessionid=1", route: "public", side: refused},
		{target: "/api/orders/42;x", route: "", side: refused},
		{target: "/iis/a;b", route: "iis", side: refused},
		{target: "/raw/a;b", route: "raw", side: refused},
		{target: "/tc/a;jsessionid=1", route: "tomcat", side: "orders", forwarded: "/tc/a;jsessionid=1"},
		{target: "/tc;x/a", route: "", side: refused},
		{target: "/public/a%3bb", route: "public", side: "orders", forwarded: "/public/a%3Bb"},
		// backslashes
		{target: `/public\x`, route: "", side: refused},
		{target: "/public%5cx", route: "", side: refused},
		{target: "/public/a%5cb", route: "public", side: refused},
		{target: `/iis/a\b`, route: "iis", side: "orders", forwarded: "/iis/a%5Cb"},
		{target: "/IIS/a%5cb", route: "iis", side: "orders", forwarded: "/IIS/a%5Cb"},
		// control bytes
		{target: "/public/a%00b", route: "public", side: refused},
		{target: "/public/a%0ab", route: "public", side: refused},
		{target: "/public/a%0d%0aX:y", route: "public", side: refused},
		{target: "/public/a%7fb", route: "public", side: refused},
		{target: "/raw/a%00", route: "raw", side: "monolith", forwarded: "/raw/a%00"},
		// invalid and overlong UTF-8
		{target: "/public/%c0%ae%c0%ae/admin", route: "public", side: refused},
		{target: "/public/%c0%af", route: "public", side: refused},
		{target: "/public/%e0%80%ae", route: "public", side: refused},
		{target: "/public/%ed%a0%80", route: "public", side: refused},
		{target: "/public/%ff", route: "public", side: refused},
		{target: "/raw/%c0%ae", route: "raw", side: "monolith", forwarded: "/raw/%C0%AE"},
		{target: "/public/caf%c3%a9", route: "public", side: "orders", forwarded: "/public/caf%C3%A9"},
		{target: "/public/caf\xc3\xa9", route: "public", side: "orders", forwarded: "/public/caf%C3%A9"},
		// double encoding
		{target: "/public/%252e%252e/admin", route: "public", side: refused},
		{target: "/public/%252f", route: "public", side: refused},
		{target: "/public/%255c", route: "public", side: refused},
		{target: "/public/%2500", route: "public", side: refused},
		{target: "/public/%25%32%65", route: "public", side: refused},
		{target: "/public/%252525252e", route: "public", side: refused},
		{target: "/raw/%252e", route: "raw", side: "monolith", forwarded: "/raw/%252e"},
		{target: "/public/100%25", route: "public", side: "orders", forwarded: "/public/100%25"},
		{target: "/public/%2541", route: "public", side: "orders", forwarded: "/public/%2541"},
		// other characters: reserved ones stay encoded, unsafe ones get encoded
		{target: "/public/a%20b", route: "public", side: "orders", forwarded: "/public/a%20b"},
		{target: `/public/a"b`, route: "public", side: "orders", forwarded: "/public/a%22b"},
		{target: "/public/{x}", route: "public", side: "orders", forwarded: "/public/%7Bx%7D"},
		{target: "/public/a|b", route: "public", side: "orders", forwarded: "/public/a%7Cb"},
		{target: "/public/!$&'()*+,=:@", route: "public", side: "orders", forwarded: "/public/!$&'()*+,=:@"},
		{target: "/public/a%21", route: "public", side: "orders", forwarded: "/public/a%21"},
		{target: "/public/a%3a", route: "public", side: "orders", forwarded: "/public/a%3A"},
		// templates and the monolith
		{target: "/api/orders/42", route: "orders", side: "orders", forwarded: "/api/orders/42"},
		{target: "/api/orders/%34%32", route: "orders", side: "orders", forwarded: "/api/orders/42"},
		{target: "/api/orders/x", route: "", side: "monolith", forwarded: "/api/orders/x"},
		{target: "/legacy/page", route: "", side: "monolith", forwarded: "/legacy/page"},
		{target: "/", route: "", side: "monolith", forwarded: "/"},
		// Upgrade: h2c
		{target: "/h2", header: "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA",
			route: "h2", side: "orders", forwarded: "/h2"},
		{target: "/public/x", header: "Upgrade: h2c\r\nConnection: Upgrade", route: "public", side: refused},
		{target: "/", header: "Upgrade: H2C\r\nConnection: Upgrade", route: "", side: refused},
		// with a body (the standard client, not the lean path)
		{target: "/public/%70ost", method: "POST", route: "public", side: "orders", forwarded: "/public/post"},
		{target: "/public/a%2fb", method: "POST", route: "public", side: refused},
		{target: "/files/a%2fb", method: "POST", route: "files", side: "orders", forwarded: "/files/a%2Fb"},
		{target: "/legacy/%7eform", method: "POST", route: "", side: "monolith", forwarded: "/legacy/~form"},
	}
	if len(tests) < 80 {
		t.Fatalf("%d request-targets; the table wants at least 80", len(tests))
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d:%s", i, tt.target), func(t *testing.T) {
			method, extra := tt.method, ""
			if method == "" {
				method = "GET"
			}
			if tt.header != "" {
				extra = tt.header + "\r\n"
			}
			if method == "POST" {
				extra += "Content-Length: 4\r\n"
			}
			id := fmt.Sprintf("path-%d", i)
			raw := method + " " + tt.target + " HTTP/1.1\r\nHost: example.com\r\nX-Request-Id: " + id + "\r\n" +
				extra + "Connection: close\r\n\r\n"
			if method == "POST" {
				raw += "body"
			}
			before := mono.count() + svc.count()
			resp, _, _ := rawExchange(t, sp.addr, raw)
			sent := mono.count() + svc.count() - before
			if tt.side == refused {
				if resp.StatusCode != http.StatusBadRequest || sent != 0 {
					t.Errorf("%s: got %d, %d request(s) upstream; want 400 and nothing upstream", tt.target, resp.StatusCode, sent)
				}
			} else {
				side, fwd := resp.Header.Get("X-Side"), resp.Header.Get("X-Target")
				if resp.StatusCode != 200 || side != tt.side || fwd != tt.forwarded {
					t.Errorf("%s: got %d from %q with target %q; want 200 from %q with %q",
						tt.target, resp.StatusCode, side, fwd, tt.side, tt.forwarded)
				}
			}
			if tt.route != "" || tt.side != refused {
				if got := routeOf(sp.logs.String(), id); got != tt.route {
					t.Errorf("%s: matched route %q; want %q", tt.target, got, tt.route)
				}
			}
		})
	}
	if t.Failed() {
		t.Logf("log:\n%s", lastLines(sp.logs.String(), 5))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
