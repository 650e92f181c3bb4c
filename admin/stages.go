package admin

import "net/http"

// TEMPORARY (issue 17, point 8): a stand-in for GET /admin/stages so that
// the dashboard, which reads its stage vocabulary from the API, runs on
// this branch. The integrator keeps the version built from the stage
// package (point 3) and drops this file.

// stageInfo is one stage as GET /admin/stages lists it.
type stageInfo struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// stageTable lists the stages in plan order.
var stageTable = []stageInfo{
	{Name: "legacy", Title: "Legacy", Description: "the monolith serves everything"},
	{Name: "shadow", Title: "Shadow", Description: "the monolith answers; the service gets a copy to compare"},
	{Name: "canary", Title: "Canary", Description: "a share of users get the service"},
	{Name: "migrated", Title: "Migrated", Description: "the service serves everything"},
}

// stages serves GET /admin/stages: {"stages": [{name, title, description}]}.
// Like the page, it needs no token: the vocabulary is no data, and the
// dashboard lays out its stage flow before the user enters the token.
func (s *server) stages(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"stages": stageTable})
	return nil
}
