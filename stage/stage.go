// Package stage owns strangler's migration vocabulary: the four stages a
// route goes through in rollout order (legacy, shadow, canary, migrated),
// their names, titles and one-line descriptions, and the positions and
// plan steps built on them (a stage and, at canary, a percent).
//
// It is a leaf package: config, routing, metrics, rollout and the admin
// API all read the stages from here, and the dashboard reads them from
// the admin API (GET /admin/stages), so there is one list.
package stage

import (
	"fmt"
	"strings"
)

// Stage is where a route stands in its migration. Stages are ordered:
// a lower value comes earlier in the rollout.
type Stage uint8

// Stages in rollout order.
const (
	// Legacy: the monolith serves every request.
	Legacy Stage = iota
	// Shadow: the monolith serves; a copy goes to the service.
	Shadow
	// Canary: the service serves a sticky share of keys, the monolith the rest.
	Canary
	// Migrated: the service serves every request.
	Migrated
)

// Count is the number of stages.
const Count = int(Migrated) + 1

// info is what is said about one stage.
type info struct {
	name, title, description string
}

// infos is the one list of stages, in rollout order.
var infos = [Count]info{
	Legacy:   {"legacy", "Legacy", "the monolith serves everything"},
	Shadow:   {"shadow", "Shadow", "the monolith answers; the service gets a copy to compare"},
	Canary:   {"canary", "Canary", "a share of users get the service"},
	Migrated: {"migrated", "Migrated", "the service serves everything"},
}

// wantList is "legacy, shadow, canary or migrated", for error messages.
var wantList = func() string {
	names := Names()
	return strings.Join(names[:Count-1], ", ") + " or " + names[Count-1]
}()

// All returns every stage in rollout order.
func All() []Stage {
	out := make([]Stage, Count)
	for i := range out {
		out[i] = Stage(i)
	}
	return out
}

// Names returns the config names of every stage in rollout order.
func Names() []string {
	out := make([]string, Count)
	for i, in := range infos {
		out[i] = in.name
	}
	return out
}

// Valid reports whether s is one of the four stages.
func (s Stage) Valid() bool { return int(s) < Count }

// String returns the stage's config name ("canary").
func (s Stage) String() string {
	if s.Valid() {
		return infos[s].name
	}
	return fmt.Sprintf("stage(%d)", s)
}

// Title returns the stage's display name ("Canary").
func (s Stage) Title() string {
	if s.Valid() {
		return infos[s].title
	}
	return s.String()
}

// Description says in one line who serves what at this stage.
func (s Stage) Description() string {
	if s.Valid() {
		return infos[s].description
	}
	return ""
}

// Lookup returns the stage named name; ok is false for an unknown name.
// It does not allocate.
func Lookup(name string) (s Stage, ok bool) {
	for i, in := range infos {
		if in.name == name {
			return Stage(i), true
		}
	}
	return 0, false
}

// Parse returns the stage named name, or an error naming the stages
// there are.
func Parse(name string) (Stage, error) {
	if s, ok := Lookup(name); ok {
		return s, nil
	}
	return 0, fmt.Errorf("unknown stage %q: want %s", name, wantList)
}

// MarshalText encodes the stage as its config name.
func (s Stage) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("marshalling %s: not a stage", s)
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a config name.
func (s *Stage) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
