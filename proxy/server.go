package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/logbuf"
)

// NewLogger returns the process logger for cfg: JSON lines by default,
// human-readable console output when format is "console", batched in a
// logbuf.Writer when cfg.Buffer is set. The returned close flushes the
// batch and must be called before the process exits.
func NewLogger(cfg config.Log, w io.Writer) (zerolog.Logger, func() error) {
	if w == nil {
		w = os.Stdout
	}
	closeLog := func() error { return nil }
	var buf *logbuf.Writer
	if cfg.Buffer > 0 {
		buf = logbuf.New(w, int(cfg.Buffer), cfg.FlushInterval)
		w, closeLog = buf, buf.Close
	}
	if cfg.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
		if buf != nil {
			w = buf.Through(w)
		}
	}
	level, err := zerolog.ParseLevel(cfg.Level)
	if err != nil || cfg.Level == "" {
		level = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), closeLog
}

// NewServer returns an http.Server for h with the limits of cfg set
// explicitly. Write and read timeouts stay off so long streams and large
// uploads are not cut; the header wait and idle time are bounded.
func NewServer(h http.Handler, cfg config.Server, log zerolog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    int(cfg.MaxHeaderBytes),
		ErrorLog:          stdlog.New(log.With().Str("component", "http").Logger(), "", 0),
	}
}

// Serve runs srv on ln until ctx is done, then shuts down gracefully:
// it stops accepting, ends streamed answers (SSE: the request's context
// is cancelled and the answer finished) and closes upgraded connections
// (WebSocket with a 1001 close frame), lets the other in-flight requests
// finish for up to shutdownTimeout, then closes what is left. It returns
// nil after a clean shutdown.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, shutdownTimeout time.Duration) error {
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	conns := newConnSet()
	ln = trackingListener{Listener: ln, set: conns}
	srv.RegisterOnShutdown(conns.closeAll)
	if srv.ConnContext == nil {
		srv.ConnContext = connContext
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	cancelBase() // ends hijacked connections, which Shutdown does not track
	if err != nil {
		_ = srv.Close()
		err = fmt.Errorf("draining %s: %w", ln.Addr(), err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return errors.Join(err, serr)
	}
	return err
}
