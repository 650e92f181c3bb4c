package admin

import (
	"net/http"

	"github.com/stranglerfig/strangler/stage"
)

// StageJSON describes one migration stage for GET /admin/stages.
type StageJSON struct {
	// Name is the stage as the route file and the API spell it.
	Name string `json:"name"`
	// Title is the stage's display name.
	Title string `json:"title"`
	// Description says in one line who serves what at this stage.
	Description string `json:"description"`
}

// StagesJSON is the answer of GET /admin/stages: every stage in rollout
// order, so clients such as the dashboard need no copy of the list.
type StagesJSON struct {
	Stages []StageJSON `json:"stages"`
}

// stagesJSON is built once: the stages do not change at run time.
var stagesJSON = func() StagesJSON {
	out := StagesJSON{Stages: make([]StageJSON, 0, stage.Count)}
	for _, s := range stage.All() {
		out.Stages = append(out.Stages, StageJSON{Name: s.String(), Title: s.Title(), Description: s.Description()})
	}
	return out
}()

// stages answers GET /admin/stages.
func (s *server) stages(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, stagesJSON)
	return nil
}
