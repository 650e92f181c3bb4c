package proxy

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/stranglerfig/strangler/config"
)

// TestShutdownEndsStreams opens an SSE stream (on the lean path and on
// the standard client) and a WebSocket through the served proxy, with an
// ordinary request in flight, then stops it. Serve must return nil well
// before shutdown_timeout, the in-flight request must finish, the SSE
// streams must end cleanly and the WebSocket client must get close code
// 1001.
func TestShutdownEndsStreams(t *testing.T) {
	backend := httptest.NewServer(streamsHandler(t))
	defer backend.Close()
	cfg := baseConfig(backend.URL, backend.URL,
		config.Route{Name: "ws", Match: config.Match{Path: "/ws"}, Service: "orders", Stage: "migrated"})
	cfg.Services["std"] = config.Service{Upstream: config.Upstream{URL: backend.URL, Client: config.ClientStandard}}
	cfg.Routes = append(cfg.Routes, config.Route{Name: "std-events", Match: config.Match{Path: "/std/events"},
		Service: "std", Stage: "migrated"})
	cfg.Server.ShutdownTimeout = 20 * time.Second
	sp := serveProxy(t, cfg)

	streams := make([]*bufio.Reader, 0, 2)
	for _, path := range []string{"/events", "/std/events"} {
		resp, err := http.Get("http://" + sp.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		rd := bufio.NewReader(resp.Body)
		if line, err := rd.ReadString('\n'); err != nil || line != "data: hello\n" {
			t.Fatalf("%s: first event %q, %v", path, line, err)
		}
		streams = append(streams, rd)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+sp.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "hi" {
		t.Fatalf("websocket echo %q, %v", msg, err)
	}
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + sp.addr + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- string(b)
	}()
	time.Sleep(100 * time.Millisecond) // the slow request is in flight

	start := time.Now()
	sp.stop()
	select {
	case err := <-sp.done:
		sp.done <- err // for Cleanup
		if err != nil {
			t.Errorf("Serve returned %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10 s of the stop (shutdown_timeout is 20 s)")
	}
	took := time.Since(start)
	t.Logf("Serve returned %v after the stop", took.Round(time.Millisecond))

	if got := <-slow; got != "done" {
		t.Errorf("the in-flight request got %q; want it to finish", got)
	}
	for i, rd := range streams {
		rest, err := io.ReadAll(rd)
		if err != nil {
			t.Errorf("stream %d ended with %v after %q; want a clean end", i, err, rest)
		}
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("websocket read after shutdown: %v; want close code 1001", err)
	}
}

// streamsHandler serves /events and /std/events (SSE: one event, then
// open until the client leaves), /ws (WebSocket echo) and /slow (answers
// "done" after 500 ms).
func streamsHandler(t *testing.T) http.Handler {
	upgrader := websocket.Upgrader{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/events"):
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: hello\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
				t.Error("the SSE stream was never ended")
			}
		case r.URL.Path == "/ws":
			c, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				mt, msg, err := c.ReadMessage()
				if err != nil || c.WriteMessage(mt, msg) != nil {
					return
				}
			}
		case r.URL.Path == "/slow":
			time.Sleep(500 * time.Millisecond)
			_, _ = io.WriteString(w, "done")
		}
	})
}
