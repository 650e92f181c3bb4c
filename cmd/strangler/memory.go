package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
)

// tuneGC applies server.gc_percent and server.memory_limit unless GOGC or
// GOMEMLIMIT are set in the environment, and logs what holds.
func tuneGC(s config.Server, log zerolog.Logger) {
	gc := "GOGC=" + os.Getenv("GOGC")
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(s.GCPercent)
		gc = "server.gc_percent=" + strconv.Itoa(s.GCPercent)
	}
	limit := "GOMEMLIMIT=" + os.Getenv("GOMEMLIMIT")
	if os.Getenv("GOMEMLIMIT") == "" {
		n := int64(s.MemoryLimit)
		if n == 0 {
			n = containerMemory("/sys/fs/cgroup") / 10 * 8
		}
		limit = "none"
		if n > 0 {
			debug.SetMemoryLimit(n)
			limit = strconv.FormatInt(n>>20, 10) + "MiB"
		}
	}
	log.Info().Str("gc", gc).Str("memory_limit", limit).Msg("garbage collector")
}

// containerMemory returns the cgroup (v2 or v1) memory limit under root,
// or 0 when there is none.
func containerMemory(root string) int64 {
	for _, path := range []string{root + "/memory.max", root + "/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0 // "max" or an effectively unlimited value
		}
		return n
	}
	return 0
}
