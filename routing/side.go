package routing

// Side is who serves a request.
type Side uint8

const (
	// SideLegacy is the monolith.
	SideLegacy Side = iota
	// SideService is the route's extracted service.
	SideService
)

// sideNames are the sides' label values, by Side.
var sideNames = [...]string{SideLegacy: "legacy", SideService: "service"}

// String returns "legacy" or "service": the one spelling of a side, used
// as the metrics' side label and in logs and reports.
func (s Side) String() string {
	if s == SideService {
		return sideNames[SideService]
	}
	return sideNames[SideLegacy]
}
