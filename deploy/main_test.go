package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// binDir holds the strangler binary built once, with the Dockerfile's
// command, for every test that runs it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "strangler-deploy-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := 1
	func() {
		defer func() { _ = os.RemoveAll(dir) }()
		code = m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				os.Stderr.WriteString("goleak: " + err.Error() + "\n")
				code = 1
			}
		}
	}()
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// strangler returns the binary built from the repository with the
// Dockerfile's build stage: its ENV, its `go build` flags, its package.
func strangler(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		df, err := parseDockerfile("Dockerfile")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(binDir, "strangler")
		buildErr = df.build(buildPath)
	})
	if buildErr != nil {
		t.Fatalf("building strangler as deploy/Dockerfile does: %v", buildErr)
	}
	return buildPath
}

// goTool is the go command running these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}
