package config

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the watcher waits for a burst of file
// events to settle before it reads the file again.
const DefaultDebounce = 200 * time.Millisecond

// Watch calls onChange each time the content of the file at path changes
// and has then stayed the same, until ctx is done. It is WatchContent for
// callers that read the file themselves; such a read may see a write that
// began after the check, so reloaders should use WatchContent.
func Watch(ctx context.Context, path string, debounce time.Duration, onChange func(), onError func(error)) error {
	return WatchContent(ctx, path, debounce, func([]byte) { onChange() }, onError)
}

// WatchContent calls onChange with the file's content each time the
// content of the file at path changes and has then stayed the same, until
// ctx is done. It is NewWatcher(path, debounce).Run: see Run.
func WatchContent(ctx context.Context, path string, debounce time.Duration, onChange func([]byte), onError func(error)) error {
	return NewWatcher(path, debounce).Run(ctx, onChange, onError)
}

// Watcher watches one config file. Make one with NewWatcher, start it
// with Run and wait on Ready to know that a change made from then on is
// seen (as Skipper's routing exposes FirstLoad).
type Watcher struct {
	path     string
	debounce time.Duration
	ready    chan struct{}
}

// NewWatcher returns a Watcher of the file at path that lets a burst of
// events settle for debounce before reading the file.
func NewWatcher(path string, debounce time.Duration) *Watcher {
	return &Watcher{path: path, debounce: debounce, ready: make(chan struct{})}
}

// Ready is closed once Run has registered its directory watches and read
// the file's starting content: any change made after that is reported.
// It stays open if Run fails to start (for example, a missing directory).
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Run calls onChange with the file's content each time the content of
// the file changes and has then stayed the same, until ctx is done. It
// watches the file's directory (and, for a symlink, the directory of its
// target), so it sees in-place writes, atomic renames and the Kubernetes
// ConfigMap symlink swap alike. A change is reported only once the file
// is stable: a debounce interval after the last event the content is
// read, and a debounce interval later it must read the same, with no
// event in between; onChange gets the bytes of that second read (nil if
// the file could not be read, e.g. it was removed). A writer pausing
// mid-write for less than that therefore never has its partial file
// reported. onChange runs on Run's goroutine, one call at a time. onError
// receives watcher errors that do not stop the watch. Run is called once.
func (w *Watcher) Run(ctx context.Context, onChange func([]byte), onError func(error)) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", w.path, err)
	}
	defer fw.Close()
	watched := map[string]bool{}
	if err := addDirs(fw, w.path, watched); err != nil {
		return err
	}
	_, first := readHashed(w.path)
	close(w.ready)
	return w.loop(ctx, fw, watched, stability{last: first}, onChange, onError)
}

// loop is Run's event loop, once the watches are registered.
func (w *Watcher) loop(ctx context.Context, fw *fsnotify.Watcher, watched map[string]bool, st stability,
	onChange func([]byte), onError func(error)) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-fw.Events:
			if !ok {
				return nil
			}
			st.reset() // anything read so far may be a partial write
			timer.Reset(w.debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			onError(fmt.Errorf("watching %s: %w", w.path, err))
		case <-timer.C:
			if err := addDirs(fw, w.path, watched); err != nil {
				onError(err)
			}
			data, h := readHashed(w.path)
			switch st.observe(h) {
			case changed:
				onChange(data)
			case unsettled:
				timer.Reset(w.debounce)
			}
		}
	}
}

// verdict is what one read of the watched file means.
type verdict int

const (
	unchanged verdict = iota // same as the content last reported
	unsettled                // new content, not yet seen twice: read again
	changed                  // new content, read twice in a row: report it
)

// stability decides when new content has settled: it must be read twice
// in a row, a debounce interval apart, with no file event in between
// (an event clears pending).
type stability struct {
	last       string // digest of the content last reported (or found at start)
	pending    string // digest of the new content read once
	hasPending bool
}

// reset forgets the pending read.
func (s *stability) reset() { s.pending, s.hasPending = "", false }

// observe takes the digest of one read and says what it means.
func (s *stability) observe(h string) verdict {
	switch {
	case h == s.last:
		s.reset()
		return unchanged
	case !s.hasPending || h != s.pending:
		s.pending, s.hasPending = h, true
		return unsettled
	}
	s.last = h
	s.reset()
	return changed
}

// addDirs watches the directory of path and of every symlink hop.
func addDirs(w *fsnotify.Watcher, path string, watched map[string]bool) error {
	dirs := []string{filepath.Dir(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		if watched[d] {
			continue
		}
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watching directory %s: %w", d, err)
		}
		watched[d] = true
	}
	return nil
}

// readHashed returns the file's content (as ReadFile, at most
// MaxFileSize) and a digest of it, or nil and "" if it cannot be read.
func readHashed(path string) ([]byte, string) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, ""
	}
	sum := sha256.Sum256(data)
	return data, string(sum[:])
}
