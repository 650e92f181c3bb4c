// Command reliability runs strangler's reliability suite (make
// reliability): it builds the binary, runs every scenario against it on
// 127.0.0.1, prints the table and writes it with the date and machine to
// docs/reliability.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stranglerfig/strangler/reliability"
)

func main() {
	out := flag.String("out", "../docs/reliability.md", "Markdown file the table is written into (\"\": none)")
	bin := flag.String("bin", "", "strangler binary to test (default: build ./cmd/strangler of -root)")
	root := flag.String("root", "..", "the strangler module's folder, where the binary is built from")
	quick := flag.Bool("quick", false, "the short mode go test uses")
	only := flag.String("run", "", "comma-separated scenario names to run (default: all)")
	limit := flag.Duration("limit", 10*time.Minute, "stop the run after this long")
	flag.Parse()
	if err := run(*out, *bin, *root, *quick, *only, *limit); err != nil {
		log.Fatal(err)
	}
}

func run(out, bin, root string, quick bool, only string, limit time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	dir, err := os.MkdirTemp("", "strangler-reliability-")
	if err != nil {
		return fmt.Errorf("making a work folder: %w", err)
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		if bin, err = reliability.Build(ctx, root, dir); err != nil {
			return err
		}
	}
	started := time.Now()
	env := &reliability.Env{Bin: bin, Dir: dir, Quick: quick, Logf: log.Printf}
	var names []string
	if only != "" {
		names = strings.Split(only, ",")
	}
	rows := reliability.Run(ctx, env, names...)
	took := time.Since(started).Round(time.Second)
	fmt.Print(reliability.Text(rows))
	failed := 0
	for _, r := range rows {
		if !r.Pass {
			failed++
		}
	}
	fmt.Printf("%d rows, %d failing, in %s\n", len(rows), failed, took)
	if out == "" {
		return nil
	}
	doc, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", out, err)
	}
	mode := "full"
	if quick {
		mode = "quick"
	}
	table := fmt.Sprintf("Run of %s UTC (%s mode, %s), machine: %s.\n\n%s",
		started.UTC().Format("2006-01-02 15:04"), mode, took, reliability.Machine(), reliability.Markdown(rows))
	if err := os.WriteFile(out, []byte(reliability.Splice(string(doc), table)), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	log.Printf("table written to %s", out)
	return nil
}
