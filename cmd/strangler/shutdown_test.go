package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServeSIGTERMWithStreams runs the real binary with an SSE stream and
// a WebSocket open through it, sends SIGTERM and expects the process to
// exit 0 well before server.shutdown_timeout (20 s here), after the drain
// delay, with close code 1001 on the WebSocket.
func TestServeSIGTERMWithStreams(t *testing.T) {
	upgrader := websocket.Upgrader{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			c, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: hello\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer backend.Close()
	cfg := writeFile(t, "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n"+
		"server: {drain_delay: 300ms, shutdown_timeout: 20s}\nlegacy:\n  url: "+backend.URL+"\n")
	cmd, addr := startServe(t, binary, cfg)
	defer func() { _ = cmd.Process.Kill() }()

	resp, err := http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sse := bufio.NewReader(resp.Body)
	if line, err := sse.ReadString('\n'); err != nil || line != "data: hello\n" {
		t.Fatalf("first event %q, %v", line, err)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit: %v; want status 0", err)
		}
	case <-ctx.Done():
		t.Fatal("process did not exit within 10 s of SIGTERM (shutdown_timeout is 20 s)")
	}
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM (drain delay 300ms)", took.Round(time.Millisecond))
	if took < 300*time.Millisecond {
		t.Errorf("exited after %v, before the drain delay", took)
	}
	if _, err := io.ReadAll(sse); err != nil {
		t.Errorf("the SSE stream ended with %v; want a clean end", err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("websocket read after SIGTERM: %v; want close code 1001", err)
	}
}
