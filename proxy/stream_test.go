package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
)

// TestSSEStreamsThrough checks that each event reaches the client while
// the backend is still holding the stream open.
func TestSSEStreamsThrough(t *testing.T) {
	next := make(chan struct{})
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = io.WriteString(w, "data: event-"+string(rune('0'+i))+"\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
				return
			}
		}
	}))
	defer sse.Close()
	url, _, _ := startProxy(t, baseConfig(sse.URL, sse.URL,
		config.Route{Name: "events", Match: config.Match{Path: "/events"}, Service: "orders", Stage: "migrated"}))
	resp, err := http.Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := "data: event-" + string(rune('0'+i)) + "\n"; line != want {
			t.Fatalf("got %q; want %q", line, want)
		}
		_, _ = rd.ReadString('\n') // blank line ending the event
		// Only now may the backend send the next event: had the proxy
		// buffered, this read would have blocked until the 10 s timeout.
		next <- struct{}{}
	}
}

func TestWebSocketThroughProxy(t *testing.T) {
	upgrader := websocket.Upgrader{}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, append([]byte("echo:"), msg...)); err != nil {
				return
			}
		}
	}))
	defer echo.Close()
	url, _, _ := startProxy(t, baseConfig(echo.URL, echo.URL,
		config.Route{Name: "ws", Match: config.Match{Path: "/ws"}, Service: "orders", Stage: "migrated"}))
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial through proxy: %v", err)
	}
	defer c.Close()
	for _, msg := range []string{"hello", "strangler"} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "echo:"+msg {
			t.Errorf("got %q; want %q", got, "echo:"+msg)
		}
	}
}

// TestGracefulShutdown starts a slow request, stops the server, and checks
// the request still completes while new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	}))
	defer slow.Close()
	cfg := mustValid(t, baseConfig(slow.URL, slow.URL))
	p, err := New(cfg, Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, NewServer(p.Handler(), cfg.Server, zerolog.Nop()), ln, 5*time.Second) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	cancel()
	r := <-res
	if r.err != nil || r.body != "done" {
		t.Errorf("in-flight request: body %q, err %v; want it to finish", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v; want nil after a clean drain", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepts after shutdown")
	}
}
