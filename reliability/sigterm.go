package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// streamsBackend serves /sse (an event every 100 ms until the client
// leaves) and /ws (a WebSocket echo).
func streamsBackend() http.Handler {
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	return mux
}

// sigterm opens an SSE stream and a WebSocket through strangler, sends
// SIGTERM and measures the exit and the close frame.
func sigterm(_ context.Context, e *Env) []Row {
	const name = "sigterm with streams"
	const drain = 500 * time.Millisecond
	legacy, stop := httpBackend(streamsBackend())
	defer stop()
	p, err := e.Start("sigterm", fmt.Sprintf("server: {drain_delay: %s, shutdown_timeout: 3s}\nlegacy: {url: %q}\n", drain, legacy.URL))
	if err != nil {
		return failed(name, "6", err)
	}
	defer p.Stop()
	resp, err := http.Get(p.URL() + "/sse")
	if err != nil {
		return failed(name, "6", err)
	}
	defer resp.Body.Close()
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		return failed(name, "6", fmt.Errorf("reading the first SSE event: %w", err))
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+p.Data+"/ws", nil)
	if err != nil {
		return failed(name, "6", fmt.Errorf("opening a WebSocket through strangler: %w", err))
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		return failed(name, "6", err)
	}
	if _, _, err := ws.ReadMessage(); err != nil {
		return failed(name, "6", fmt.Errorf("reading the WebSocket echo: %w", err))
	}
	closeCode := make(chan string, 1)
	go func() {
		_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					closeCode <- fmt.Sprint(ce.Code)
				} else {
					closeCode <- "no close frame (" + err.Error() + ")"
				}
				return
			}
		}
	}()
	sent := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return failed(name, "6", err)
	}
	code, at := p.Wait(15 * time.Second)
	took := "did not exit in 15 s"
	if code != -1 || !at.IsZero() {
		took = fmt.Sprintf("%.2f s", at.Sub(sent).Seconds())
	}
	limit := drain + time.Second
	var wsCode string
	select {
	case wsCode = <-closeCode:
	case <-time.After(2 * time.Second):
		ws.Close()
		wsCode = <-closeCode
	}
	return []Row{
		{name + ": exit after SIGTERM with an SSE stream and a WebSocket open",
			fmt.Sprintf("code %d after %s", code, took), fmt.Sprintf("code 0 within %.1f s (drain + 1 s)", limit.Seconds()),
			code == 0 && !at.IsZero() && at.Sub(sent) <= limit, "6", false},
		{name + ": WebSocket close code received", wsCode, "1001", wsCode == "1001", "6", false},
	}
}
