package progress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/stranglerfig/strangler/internal/atomicfile"
)

// Store keeps the history across restarts.
type Store interface {
	// Load returns the history, oldest first.
	Load(ctx context.Context) ([]Sample, error)
	// Append adds one sample, dropping what falls out of the bounds.
	Append(ctx context.Context, s Sample) error
}

// FileStore keeps the history as JSON in one file next to the state
// file (FileFor), replaced atomically like the state file: temporary
// file, fsync, rename, fsync of the directory. One proxy writes it.
type FileStore struct {
	Path string
	// Keep and Max bound the history (defaults DefaultKeep, MaxSamples).
	Keep time.Duration
	Max  int
}

// FileFor is the history file of a state file: <state_file>.progress.json.
func FileFor(stateFile string) string { return stateFile + ".progress.json" }

// fileData is the history file's content.
type fileData struct {
	Samples []Sample `json:"samples"`
}

// Load reads the history file; a missing file is an empty history.
func (f FileStore) Load(context.Context) ([]Sample, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the progress history: %w", err)
	}
	var d fileData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("progress history %s is corrupt: %w", f.Path, err)
	}
	return Trim(d.Samples, keepOr(f.Keep), maxOr(f.Max)), nil
}

// Append adds s to the history file, trimmed to the bounds.
func (f FileStore) Append(ctx context.Context, s Sample) error {
	h, err := f.Load(ctx)
	if err != nil {
		return err
	}
	h = Trim(append(h, s), keepOr(f.Keep), maxOr(f.Max))
	data, err := json.Marshal(fileData{Samples: h})
	if err != nil {
		return fmt.Errorf("encoding the progress history: %w", err)
	}
	if err := atomicfile.Write(f.Path, append(data, '\n')); err != nil {
		return fmt.Errorf("saving progress history: %w", err)
	}
	return nil
}

func keepOr(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultKeep
	}
	return d
}

func maxOr(n int) int {
	if n <= 0 {
		return MaxSamples
	}
	return n
}
