package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/atomicfile"
	"github.com/stranglerfig/strangler/stage"
)

// Override is a runtime decision about one route that outranks the file
// until the file changes that route's position.
type Override struct {
	stage.Position
	Source string    `json:"source"` // admin, automation
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Base is the file's position when the override was made. Once the
	// file says something else, the file's newer decision wins.
	Base stage.Position `json:"base"`
}

// State is what survives a restart: overrides, route versions and the
// audit trail.
type State struct {
	Overrides map[string]Override `json:"overrides"`
	Versions  map[string]uint64   `json:"versions"`
	Events    []Event             `json:"events"`
	// Paused routes are skipped by automation until resumed.
	Paused map[string]Pause `json:"paused,omitempty"`
}

// Pause records why automation was paused for a route.
type Pause struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Store loads and saves State.
type Store interface {
	Load() (State, error)
	Save(State) error
}

// FileStore keeps State as JSON in one file, replaced atomically: write a
// temporary file, fsync, rename over the old one, fsync the directory.
type FileStore struct {
	Path string
}

// Load reads the state file. A missing file is an empty state.
func (s FileStore) Load() (State, error) {
	st := State{}
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading state file: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("state file %s is corrupt: %w", s.Path, err)
	}
	if err := st.validate(s.Path); err != nil {
		return State{}, fmt.Errorf("invalid state file (fix or remove the overrides named; "+
			"strangler does not start on overrides it cannot apply as saved):\n%w", err)
	}
	return st, nil
}

// validate checks every override's position and base as the route file
// checks a route's stage and percent, naming the file and the field of
// each problem. An override that cannot be applied as saved is refused
// rather than dropped: it may be a rollback, and forgetting it would send
// traffic where an operator decided it must not go.
func (st State) validate(file string) error {
	var errs []error
	names := make([]string, 0, len(st.Overrides))
	for name := range st.Overrides {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		o := st.Overrides[name]
		field := fmt.Sprintf("overrides[%q]", name)
		if name == "" {
			errs = append(errs, &config.FieldError{File: file, Field: field, Reason: "route name is empty"})
		}
		errs = append(errs, positionProblems(file, field, o.Position)...)
		errs = append(errs, positionProblems(file, field+".base", o.Base)...)
	}
	return errors.Join(errs...)
}

// positionProblems checks a stage and its percent.
func positionProblems(file, field string, p stage.Position) []error {
	var errs []error
	if _, err := stage.Parse(p.Stage); err != nil {
		errs = append(errs, &config.FieldError{File: file, Field: field + ".stage", Reason: err.Error()})
	}
	if p.Percent < 0 || p.Percent > 100 || p.Percent != p.Percent {
		errs = append(errs, &config.FieldError{File: file, Field: field + ".percent",
			Reason: fmt.Sprintf("must be between 0 and 100, got %v", p.Percent)})
	}
	return errs
}

// Save writes the state file atomically.
func (s FileStore) Save(st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	if err := atomicfile.Write(s.Path, append(data, '\n')); err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	return nil
}
