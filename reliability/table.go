package reliability

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Row is one line of the reliability table.
type Row struct {
	Scenario  string
	Figure    string
	Threshold string
	Pass      bool
	// Defect is the issue 12 defect the row guards ("" for none).
	Defect string
	// Timed rows compare latencies: make reliability judges them, the
	// go test subset only logs them (no timed assertions in make test).
	Timed bool
}

// Scenario is one experiment; Run returns its rows (a row that could not
// be measured fails, with the reason as its figure).
type Scenario struct {
	Name string
	Run  func(ctx context.Context, e *Env) []Row
}

// failed is the row of a scenario that could not run.
func failed(scenario, defect string, err error) []Row {
	return []Row{{Scenario: scenario, Figure: "could not run: " + err.Error(), Threshold: "runs", Defect: defect}}
}

// Scenarios are every scenario of the suite, in table order.
func Scenarios() []Scenario {
	return []Scenario{
		{"smuggling", smuggling},
		{"path split view", splitView},
		{"forwarding fidelity", fidelity},
		{"slow clients", slowClients},
		{"stored results memory", storedMemory},
		{"breaker abuse", breakerAbuse},
		{"reload storm", reloadStorm},
		{"sigterm with streams", sigterm},
		{"planted secrets", plantedSecrets},
		{"shadow candidate latency", shadowLatency},
		{"admin auth", adminAuth},
	}
}

// Run runs the scenarios in order (all when names is empty) and returns
// their rows.
func Run(ctx context.Context, e *Env, names ...string) []Row {
	var rows []Row
	for _, s := range Scenarios() {
		if len(names) > 0 && !contains(names, s.Name) {
			continue
		}
		if ctx.Err() != nil {
			rows = append(rows, failed(s.Name, "", ctx.Err())...)
			continue
		}
		start := time.Now()
		e.logf("scenario %s", s.Name)
		got := s.Run(ctx, e)
		e.logf("scenario %s: %d rows in %s", s.Name, len(got), time.Since(start).Round(time.Millisecond))
		rows = append(rows, got...)
	}
	return rows
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Markdown renders rows as a table.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("| scenario | figure | threshold | pass | defect |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		pass := "FAIL"
		if r.Pass {
			pass = "pass"
		}
		threshold := r.Threshold
		if r.Timed {
			threshold += " (timed)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(r.Scenario), cell(r.Figure), cell(threshold), pass, cell(r.Defect))
	}
	return b.String()
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// Text renders rows for a terminal.
func Text(rows []Row) string {
	var b strings.Builder
	for _, r := range rows {
		pass := "FAIL"
		if r.Pass {
			pass = "pass"
		}
		fmt.Fprintf(&b, "%-4s  %-58s  %s  [want %s]\n", pass, r.Scenario, r.Figure, r.Threshold)
	}
	return b.String()
}

// Machine names the machine: cores, CPU model, Go version.
func Machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name\t: "); ok {
				model = v
				break
			}
		}
	}
	nproc := fmt.Sprint(runtime.NumCPU())
	if out, err := exec.Command("nproc").Output(); err == nil {
		nproc = strings.TrimSpace(string(out))
	}
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("nproc %s, %s, %s", nproc, model, goVersion)
}

// Table markers in docs/reliability.md: the run's table goes between them.
const (
	beginTable = "<!-- reliability table: begin (written by make reliability) -->"
	endTable   = "<!-- reliability table: end -->"
)

// Splice puts table between the markers of doc, or appends the markers
// and the table when doc has none.
func Splice(doc, table string) string {
	block := beginTable + "\n" + table + endTable
	i, j := strings.Index(doc, beginTable), strings.Index(doc, endTable)
	if i < 0 || j < i {
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + "\n" + block + "\n"
	}
	return doc[:i] + block + doc[j+len(endTable):]
}
