package config

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the watcher waits for a burst of file
// events to settle before it reads the file again.
const DefaultDebounce = 200 * time.Millisecond

// Watch calls onChange each time the content of the file at path changes,
// until ctx is done. It watches the file's directory (and, for a symlink,
// the directory of its target), so it sees in-place writes, atomic
// renames and the Kubernetes ConfigMap symlink swap alike. Events are
// debounced; onChange runs on Watch's goroutine, one call at a time.
// onError receives watcher errors that do not stop the watch.
func Watch(ctx context.Context, path string, debounce time.Duration, onChange func(), onError func(error)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", path, err)
	}
	defer w.Close()
	watched := map[string]bool{}
	if err := addDirs(w, path, watched); err != nil {
		return err
	}
	last := hashFile(path)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			onError(fmt.Errorf("watching %s: %w", path, err))
		case <-timer.C:
			if err := addDirs(w, path, watched); err != nil {
				onError(err)
			}
			if h := hashFile(path); h != last {
				last = h
				onChange()
			}
		}
	}
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

// hashFile returns a digest of the file's content, or "" if unreadable.
func hashFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return string(sum[:])
}
