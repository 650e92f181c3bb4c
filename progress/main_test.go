package progress

import (
	"testing"

	"github.com/stranglerfig/strangler/internal/testutil"
)

// TestMain fails the package if any goroutine outlives its tests.
func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
