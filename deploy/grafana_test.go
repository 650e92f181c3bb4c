package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dashboardFile is the Grafana dashboard, in Grafana's JSON model.
var dashboardFile = filepath.Join("grafana", "strangler.json")

// dashboard is the part of Grafana's JSON model the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource map[string]string  `json:"datasource"`
	GridPos    struct{ X, W int } `json:"gridPos"`
	Targets    []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// grafanaVar matches Grafana's template variables: $__rate_interval,
// $route, ${route}, ${route:regex}.
var grafanaVar = regexp.MustCompile(`\$\{?(\w+)(:\w+)?\}?`)

// expandGrafana replaces Grafana's variables with what Prometheus sees
// once Grafana has expanded them: a range for the interval variables, a
// regular expression (the "All" value) for the others.
func expandGrafana(expr string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.HasPrefix(grafanaVar.FindStringSubmatch(v)[1], "__") {
			return "5m"
		}
		return ".+"
	})
}

// labelValues matches a variable query label_values(SELECTOR, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// dashboardExprs returns every PromQL expression of the dashboard, with
// its variables expanded, by where it is: panel queries and the metric
// selectors of the variable queries.
func dashboardExprs(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				out[fmt.Sprintf("panel %q query %d", p.Title, i)] = expandGrafana(tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: query %s: %v", v.Name, v.Query, err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
		}
		out["variable "+v.Name] = expandGrafana(m[1])
	}
	return out
}

func TestGrafanaDashboardVariables(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`rate(a{job=~"$job"}[$__rate_interval])`, `rate(a{job=~".+"}[5m])`},
		{`a{route=~"${route}", x=~"${x:regex}"}`, `a{route=~".+", x=~".+"}`},
		{`increase(a[$__range])`, `increase(a[5m])`},
		{`no variables`, `no variables`},
	} {
		if got := expandGrafana(tc.in); got != tc.want {
			t.Errorf("expandGrafana(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestGrafanaDashboard checks the dashboard's shape: an uid, a
// datasource variable every query panel uses, the job and route
// variables, unique panel ids, panels inside the 24-column grid, and
// queries that promtool parses.
func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: want both", d.UID, d.Title)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	for _, v := range []string{"datasource", "job", "route"} {
		if !vars[v] {
			t.Errorf("no template variable %q", v)
		}
	}
	ids := map[int]string{}
	queries := 0
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			if p.GridPos.X < 0 || p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos x %d w %d leaves the 24 columns", p.Title, p.GridPos.X, p.GridPos.W)
			}
			if p.Type != "row" && p.Datasource["uid"] != "${datasource}" {
				t.Errorf("panel %q: datasource %v, want uid ${datasource}", p.Title, p.Datasource)
			}
			queries += len(p.Targets)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if queries < 20 {
		t.Errorf("%d queries: the dashboard looks truncated", queries)
	}
	checkPromQL(t, dashboardExprs(t, d))
}
