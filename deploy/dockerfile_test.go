package deploy

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerfile is the part of a Dockerfile these tests read.
type dockerfile struct {
	stages []*stage
}

// stage is one FROM ... section.
type stage struct {
	from, name string
	vars       map[string]string // ARG defaults and ENV, for expansion
	env        map[string]string // ENV only: the build's environment
	runs       []string
	copies     [][]string // COPY words, flags included
	user       string
	expose     []string
	entrypoint []string
}

// parseDockerfile reads the instructions of path, joining continued lines
// and dropping comments.
func parseDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	defer f.Close()
	df := &dockerfile{}
	sc := bufio.NewScanner(f)
	line := ""
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "#") || (text == "" && line == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(text, "\\"); ok {
			line += cont + " "
			continue
		}
		line += text
		if err := df.add(line); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, line, err)
		}
		line = ""
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

// add records one instruction.
func (df *dockerfile) add(line string) error {
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	verb = strings.ToUpper(verb)
	if verb == "FROM" {
		words := strings.Fields(rest)
		s := &stage{from: words[0], vars: map[string]string{}, env: map[string]string{}}
		if len(words) == 3 && strings.EqualFold(words[1], "AS") {
			s.name = words[2]
		}
		df.stages = append(df.stages, s)
		return nil
	}
	if len(df.stages) == 0 {
		return errors.New("instruction before FROM")
	}
	s := df.stages[len(df.stages)-1]
	switch verb {
	case "ARG":
		k, v, _ := strings.Cut(rest, "=")
		s.vars[k] = v
	case "ENV":
		for _, kv := range strings.Fields(rest) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return errors.New("ENV wants KEY=value")
			}
			s.vars[k], s.env[k] = v, v
		}
	case "RUN":
		s.runs = append(s.runs, rest)
	case "COPY":
		s.copies = append(s.copies, strings.Fields(rest))
	case "USER":
		s.user = rest
	case "EXPOSE":
		s.expose = append(s.expose, strings.Fields(rest)...)
	case "ENTRYPOINT":
		if err := json.Unmarshal([]byte(rest), &s.entrypoint); err != nil {
			return fmt.Errorf("ENTRYPOINT must be the exec (JSON) form, so that signals reach strangler: %w", err)
		}
	}
	return nil
}

// final is the stage that makes the image.
func (df *dockerfile) final() *stage { return df.stages[len(df.stages)-1] }

// goBuild finds the stage and the words of its `go build` command, with
// variables expanded.
func (df *dockerfile) goBuild() (*stage, []string, error) {
	for _, s := range df.stages {
		for _, run := range s.runs {
			words, err := shellWords(os.Expand(run, func(k string) string { return s.vars[k] }))
			if err != nil {
				return nil, nil, fmt.Errorf("RUN %q: %w", run, err)
			}
			if len(words) > 2 && words[0] == "go" && words[1] == "build" {
				return s, words, nil
			}
		}
	}
	return nil, nil, errors.New("no RUN go build in any stage")
}

// output is the -o value of a go build command.
func output(words []string) (string, int) {
	for i, w := range words {
		if w == "-o" && i+1 < len(words) {
			return words[i+1], i + 1
		}
	}
	return "", -1
}

// build runs the Dockerfile's go build, as written, from the repository
// root (the build context), writing the binary to out instead.
func (df *dockerfile) build(out string) error {
	s, words, err := df.goBuild()
	if err != nil {
		return err
	}
	_, i := output(words)
	if i < 0 {
		return fmt.Errorf("go build without -o: %q", words)
	}
	args := slices.Clone(words[1:])
	args[i-1] = out
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = ".."
	cmd.Env = os.Environ()
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// shellWords splits a command line as sh would for plain words, single and
// double quotes; anything fancier is refused.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words, in = append(words, cur.String()), false
				cur.Reset()
			}
		case strings.ContainsRune("|&;<>()`\\", r):
			return nil, fmt.Errorf("shell syntax %q is not handled", r)
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestDockerfileBuildsStaticBinary builds strangler with the Dockerfile's
// own command and flags and reads the result: a binary that needs a libc
// (no CGO_ENABLED=0) would not start on distroless static or scratch.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	df, err := parseDockerfile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s, words, err := df.goBuild()
	if err != nil {
		t.Fatal(err)
	}
	ldflags := ""
	for i, w := range words {
		if w == "-ldflags" && i+1 < len(words) {
			ldflags = words[i+1]
		}
	}
	for _, tc := range []struct {
		what string
		ok   bool
	}{
		{"the build stage sets CGO_ENABLED=0", s.env["CGO_ENABLED"] == "0"},
		{"go build has -trimpath", slices.Contains(words, "-trimpath")},
		{`-ldflags has -s (no symbol table)`, slices.Contains(strings.Fields(ldflags), "-s")},
		{`-ldflags has -w (no DWARF)`, slices.Contains(strings.Fields(ldflags), "-w")},
		{"the builder is golang:1.26 (go.mod's go line)", s.from == "golang:"+goModVersion(t)},
	} {
		if !tc.ok {
			t.Errorf("Dockerfile: want %s; build stage FROM %s, RUN %q", tc.what, s.from, words)
		}
	}

	f, err := elf.Open(strangler(t))
	if err != nil {
		t.Fatalf("reading the built binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: it is dynamically linked and will not run on a static base image", p.Type)
		}
	}
	if sec := f.Section(".dynamic"); sec != nil {
		t.Errorf("binary has a .dynamic section")
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary imports %v", libs)
	}
	if sec := f.Section(".symtab"); sec != nil {
		t.Errorf("binary keeps its symbol table: -ldflags -s did not apply")
	}
}

// goModVersion is the major.minor of go.mod's go line.
func goModVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

// TestDockerfileImage checks the final image: a static base, a non-root
// user, the binary copied from where the build wrote it, the ports of the
// route file, and an ENTRYPOINT the CLI accepts.
func TestDockerfileImage(t *testing.T) {
	df, err := parseDockerfile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	img := df.final()
	build, words, err := df.goBuild()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := output(words)
	rf := loadRouteFile(t)

	if !strings.HasPrefix(img.from, "gcr.io/distroless/static") && img.from != "scratch" {
		t.Errorf("final stage FROM %s: want gcr.io/distroless/static* or scratch", img.from)
	}
	if uid, _, _ := strings.Cut(img.user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: want a non-root user", img.user)
	}
	if len(img.entrypoint) == 0 {
		t.Fatal("no ENTRYPOINT in the final stage")
	}
	copied := false
	for _, c := range img.copies {
		if len(c) == 3 && c[0] == "--from="+build.name && c[1] == out && c[2] == img.entrypoint[0] {
			copied = true
		}
	}
	if !copied {
		t.Errorf("no COPY --from=%s %s %s: the ENTRYPOINT is not the binary the build wrote", build.name, out, img.entrypoint[0])
	}
	want := []string{rf.listenPort + "", rf.adminPort}
	if got := slices.Sorted(slices.Values(img.expose)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("EXPOSE %v: want the route file's listen and admin.listen ports %v", img.expose, want)
	}
	checkCommand(t, "Dockerfile ENTRYPOINT", append([]string{"strangler"}, img.entrypoint[1:]...))
	if got := flagValue(img.entrypoint, "--config"); got != routeFileMountPath(t) {
		t.Errorf("ENTRYPOINT --config %s: the Deployment mounts the route file at %s", got, routeFileMountPath(t))
	}
}
