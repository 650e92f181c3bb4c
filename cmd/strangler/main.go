// Command strangler is a reverse proxy for strangler-fig migrations: it
// sits in front of a legacy monolith and moves HTTP routes to new services
// one at a time, through the stages legacy, shadow, canary and migrated.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd()
	if err := cmd.ExecuteContext(ctx); err != nil {
		var ec exitCode
		if asExitCode(err, &ec) {
			stop()
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "strangler:", err)
		stop()
		os.Exit(1)
	}
}
