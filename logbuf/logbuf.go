// Package logbuf batches log lines on their way to the process's output:
// one write per batch instead of one system call per line, which at tens
// of thousands of access-log lines a second is measurable CPU, and more
// when the output is a pipe to a log collector. Nothing is dropped: a
// full buffer is written at once by the writer that filled it, lines of
// level warn and above are written (after everything before them)
// without waiting, and the rest waits at most one flush interval.
package logbuf

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Writer buffers whole log lines up to a size and flushes them on a
// ticker. It implements zerolog.LevelWriter. Close flushes and stops the
// ticker goroutine.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	buf    []byte
	size   int
	err    error // first write error, reported once by Close
	closed bool  // after Close every line is written through

	stop chan struct{}
	done chan struct{}
}

// New returns a Writer to out that holds up to size bytes and flushes at
// least every interval. It starts one goroutine, ended by Close.
func New(out io.Writer, size int, interval time.Duration) *Writer {
	w := &Writer{out: out, buf: make([]byte, 0, size), size: size,
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.tick(interval)
	return w
}

func (w *Writer) tick(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Flush()
		}
	}
}

// Write appends one line; a line that does not fit flushes the buffer
// first, and one larger than the buffer is written through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.writeLocked(p) // late lines (a handler outliving shutdown)
	}
	if len(w.buf)+len(p) > w.size {
		w.flushLocked()
		if len(p) > w.size {
			return w.writeLocked(p)
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// WriteLevel implements zerolog.LevelWriter: warnings and errors are
// written at once, behind what is buffered.
func (w *Writer) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	if l < zerolog.WarnLevel || l == zerolog.NoLevel {
		return w.Write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	return w.writeLocked(p)
}

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	return w.err
}

func (w *Writer) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	_, _ = w.writeLocked(w.buf)
	w.buf = w.buf[:0]
}

func (w *Writer) writeLocked(p []byte) (int, error) {
	n, err := w.out.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Close stops the ticker and flushes. It returns the first write error
// seen, if any.
func (w *Writer) Close() error {
	select {
	case <-w.stop:
		return errors.New("logbuf: already closed")
	default:
	}
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	w.closed = true
	return w.err
}

// Through returns a writer that formats with f, which must write into w
// (a zerolog.ConsoleWriter with Out: w, say), and keeps w's promise for
// it: warnings and errors are flushed at once. f alone would hide the
// level from w.
func (w *Writer) Through(f io.Writer) zerolog.LevelWriter { return through{f: f, w: w} }

type through struct {
	f io.Writer
	w *Writer
}

func (t through) Write(p []byte) (int, error) { return t.f.Write(p) }

func (t through) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	n, err := t.f.Write(p)
	if l >= zerolog.WarnLevel && l != zerolog.NoLevel {
		if ferr := t.w.Flush(); err == nil {
			err = ferr
		}
	}
	return n, err
}
