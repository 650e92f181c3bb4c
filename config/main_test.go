package config

import (
	"testing"

	"github.com/stranglerfig/strangler/internal/testutil"
)

// TestMain fails the package's tests if any goroutine (for example a
// Watch loop or an fsnotify reader) outlives them.
func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
