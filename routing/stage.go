package routing

import "fmt"

// Stage is where a route stands in its migration.
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

var stageNames = [...]string{"legacy", "shadow", "canary", "migrated"}

// String returns the stage's config name.
func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return fmt.Sprintf("stage(%d)", s)
}

// ParseStage parses a config stage name.
func ParseStage(name string) (Stage, error) {
	for i, n := range stageNames {
		if n == name {
			return Stage(i), nil
		}
	}
	return 0, fmt.Errorf("unknown stage %q: want legacy, shadow, canary or migrated", name)
}

// Side is who serves a request.
type Side uint8

const (
	// SideLegacy is the monolith.
	SideLegacy Side = iota
	// SideService is the route's extracted service.
	SideService
)

// String returns "legacy" or "service".
func (s Side) String() string {
	if s == SideService {
		return "service"
	}
	return "legacy"
}
