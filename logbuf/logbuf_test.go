package logbuf

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/stranglerfig/strangler/internal/testutil"
)

// TestMain fails the package if a Writer's ticker outlives Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sink records each Write call separately.
type sink struct {
	mu     sync.Mutex
	writes []string
	fail   error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestBatchesAndKeepsOrder(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		lines      []string
		levels     []zerolog.Level
		wantWrites []string // before Close
		wantAll    string   // after Close
	}{
		{
			name:       "small lines wait for the flush",
			size:       64,
			lines:      []string{"a\n", "b\n", "c\n"},
			levels:     []zerolog.Level{zerolog.InfoLevel, zerolog.InfoLevel, zerolog.InfoLevel},
			wantWrites: nil,
			wantAll:    "a\nb\nc\n",
		},
		{
			name:       "a full buffer is written by the writer that filled it",
			size:       8,
			lines:      []string{"aaaa\n", "bbbb\n", "cc\n"},
			levels:     []zerolog.Level{zerolog.InfoLevel, zerolog.InfoLevel, zerolog.InfoLevel},
			wantWrites: []string{"aaaa\n"},
			wantAll:    "aaaa\nbbbb\ncc\n",
		},
		{
			name:       "a line larger than the buffer goes through",
			size:       4,
			lines:      []string{"ab\n", "0123456789\n"},
			levels:     []zerolog.Level{zerolog.InfoLevel, zerolog.InfoLevel},
			wantWrites: []string{"ab\n", "0123456789\n"},
			wantAll:    "ab\n0123456789\n",
		},
		{
			name:       "a warning flushes what came before it, then itself",
			size:       64,
			lines:      []string{"info\n", "warn\n", "after\n"},
			levels:     []zerolog.Level{zerolog.InfoLevel, zerolog.WarnLevel, zerolog.DebugLevel},
			wantWrites: []string{"info\n", "warn\n"},
			wantAll:    "info\nwarn\nafter\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{}
			w := New(s, tt.size, time.Hour)
			for i, l := range tt.lines {
				if _, err := w.WriteLevel(tt.levels[i], []byte(l)); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.snapshot(); !slices.Equal(got, tt.wantWrites) {
				t.Errorf("writes before Close = %q, want %q", got, tt.wantWrites)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(s.snapshot(), ""); got != tt.wantAll {
				t.Errorf("output = %q, want %q", got, tt.wantAll)
			}
		})
	}
}

func TestFlushesOnTicker(t *testing.T) {
	s := &sink{}
	w := New(s, 1<<10, 10*time.Millisecond)
	defer w.Close()
	_, _ = w.Write([]byte("line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for len(s.snapshot()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the ticker never flushed the buffered line")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	var out testutil.SyncBuffer
	w := New(&out, 256, time.Millisecond)
	log := zerolog.New(w)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				log.Info().Int("g", g).Int("i", i).Msg("x")
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 4000 {
		t.Errorf("%d lines written, want 4000", n)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, `{"level":"info"`) || !strings.HasSuffix(line, `"message":"x"}`) {
			t.Fatalf("torn line %q", line)
		}
	}
}

func TestCloseReportsWriteError(t *testing.T) {
	s := &sink{fail: errors.New("disk full")}
	w := New(s, 64, time.Hour)
	_, _ = w.Write([]byte("lost?\n"))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close = %v, want the write error", err)
	}
	if err := w.Close(); err == nil {
		t.Error("a second Close did not fail")
	}
}

func TestLinesAfterCloseAreWritten(t *testing.T) {
	s := &sink{}
	w := New(s, 64, time.Hour)
	_, _ = w.Write([]byte("before\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("late\n"))
	if got := strings.Join(s.snapshot(), ""); got != "before\nlate\n" {
		t.Errorf("output = %q, want the late line written through", got)
	}
}

func TestThroughConsoleFlushesWarnings(t *testing.T) {
	s := &sink{}
	w := New(s, 1<<10, time.Hour)
	defer w.Close()
	log := zerolog.New(w.Through(zerolog.ConsoleWriter{Out: w, NoColor: true}))
	log.Info().Msg("routine")
	if got := s.snapshot(); len(got) != 0 {
		t.Fatalf("an info line was written before the flush: %q", got)
	}
	log.Error().Msg("broken")
	out := strings.Join(s.snapshot(), "")
	if !strings.Contains(out, "routine") || !strings.Contains(out, "broken") ||
		strings.Index(out, "routine") > strings.Index(out, "broken") {
		t.Errorf("after an error line the output is %q, want both lines in order", out)
	}
}
