// Package reliability is strangler's reliability suite: scenarios from
// shared/design/reliability.md and issue 12 that run on one machine. Each
// scenario starts real backends (in this process, on 127.0.0.1) and the
// built strangler binary as a child process, attacks or loads it over
// loopback, and returns rows of a table: scenario, measured figure,
// threshold, pass.
//
// `make reliability` runs every scenario in full (bounded, under 10
// minutes on 2 cores) and writes docs/reliability.md; `go test
// ./reliability/...` runs the same scenarios in a quick mode (under 2
// minutes). Config keys the scenarios assume but the code may not know
// yet are listed in keys.go.
package reliability
