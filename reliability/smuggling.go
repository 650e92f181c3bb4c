package reliability

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// smuggled is the request line an attacker hides in a body.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: r\r\n\r\n"

// rawPayload is a byte sequence a client sends on one connection.
type rawPayload struct {
	name string
	raw  string
	// both: the request carries Content-Length and Transfer-Encoding, so
	// RFC 9112 §6.1 wants the connection closed after the answer.
	both bool
}

func chunk(s string) string { return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n" }

// smugglingPayloads are the classic desync attempts and one control.
func smugglingPayloads() []rawPayload {
	closing := "GET /end HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"
	post := "POST /a HTTP/1.1\r\nHost: r\r\n"
	clte := "0\r\n\r\n" + smuggled
	return []rawPayload{
		{"control: two pipelined GETs", "GET /a HTTP/1.1\r\nHost: r\r\n\r\n" + closing, false},
		{"CL.TE", post + "Content-Length: " + strconv.Itoa(len(clte)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + clte, true},
		{"TE.CL", post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n", true},
		{"TE: xchunked + CL", post + "Transfer-Encoding: xchunked\r\nContent-Length: " + strconv.Itoa(len(clte)) + "\r\n\r\n" + clte, true},
		{"TE: \\tchunked + CL", post + "Transfer-Encoding:\tchunked\r\nContent-Length: " + strconv.Itoa(len(clte)) + "\r\n\r\n" + clte, true},
		{"TE: \\rchunked + CL", post + "Transfer-Encoding:\rchunked\r\nContent-Length: " + strconv.Itoa(len(clte)) + "\r\n\r\n" + clte, true},
		{"TE: chunked, identity + CL", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: " + strconv.Itoa(len(clte)) + "\r\n\r\n" + clte, true},
		{"duplicate CL", post + "Content-Length: 0\r\nContent-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled, false},
		{"CL list 0, N", post + "Content-Length: 0, " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled, false},
		{"bare-LF chunk sizes", post + "Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n" + smuggled, false},
		{"obs-fold TE + CL", post + "Transfer-Encoding: identity\r\n chunked\r\nContent-Length: " + strconv.Itoa(len(clte)) + "\r\n\r\n" + clte, true},
		{"obs-fold header", "GET /a HTTP/1.1\r\nHost: r\r\nX-A: a\r\n b\r\n\r\n" + closing, false},
		{"CL+TE, valid body, nothing after", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
	}
}

// countResponses parses HTTP/1.1 answers from out until it cannot.
func countResponses(out []byte) (n int, statuses []int) {
	br := bufio.NewReader(bytes.NewReader(out))
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return n, statuses
		}
		var discard bytes.Buffer
		_, _ = discard.ReadFrom(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 200 {
			n++
		}
		statuses = append(statuses, resp.StatusCode)
	}
}

// smuggling sends each payload on its own connection through strangler to
// a raw recorder and compares the requests the recorder parsed with the
// answers the client got.
func smuggling(_ context.Context, e *Env) []Row {
	const name = "smuggling"
	rec, err := NewRecorder("legacy")
	if err != nil {
		return failed(name, "8", err)
	}
	defer rec.Close()
	p, err := e.Start("smuggling", fmt.Sprintf("legacy: {url: %q}\n", rec.URL()))
	if err != nil {
		return failed(name, "8", err)
	}
	defer p.Stop()
	var desync, attacker, both, closed []string
	nBoth := 0
	for _, pl := range smugglingPayloads() {
		before := rec.Count()
		out, wasClosed, err := rawExchange(p.Data, []byte(pl.raw), 1500*time.Millisecond)
		if err != nil {
			return failed(name, "8", err)
		}
		time.Sleep(100 * time.Millisecond) // let the recorder finish parsing
		seen := rec.Seen()[before:]
		answered, statuses := countResponses(out)
		e.logf("  %-32s backend %d, answers %d %v, closed %v", pl.name, len(seen), answered, statuses, wasClosed)
		if len(seen) > answered {
			desync = append(desync, pl.name)
		}
		for _, s := range seen {
			if strings.Contains(s.Target, "/smuggled") {
				attacker = append(attacker, pl.name)
				break
			}
		}
		if pl.both {
			nBoth++
			if wasClosed {
				closed = append(closed, pl.name)
			} else {
				both = append(both, pl.name)
			}
		}
	}
	n := len(smugglingPayloads())
	return []Row{
		{name + ": backend requests > client answers on a connection", fmt.Sprintf("%d of %d payloads%s", len(desync), n, list(desync)), "0", len(desync) == 0, "8", false},
		{name + ": attacker request line parsed by the backend", fmt.Sprintf("%d of %d payloads%s", len(attacker), n, list(attacker)), "0", len(attacker) == 0, "8", false},
		{name + ": connection closed after a CL+TE request", fmt.Sprintf("%d of %d closed%s", len(closed), nBoth, listOpen(both)), fmt.Sprintf("%d of %d", nBoth, nBoth), len(both) == 0, "8", false},
	}
}

func list(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, "; ") + ")"
}

func listOpen(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "; kept open: " + strings.Join(names, "; ")
}
