package rollout

import (
	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/stage"
)

// RouteView is a route as the admin API shows it: the effective position,
// the file's position and the override between them, so drift is visible.
type RouteView struct {
	Name    string       `json:"name"`
	Service string       `json:"service,omitempty"`
	Match   config.Match `json:"match"`
	Sticky  string       `json:"sticky"`
	stage.Position
	// File is the position the route file gives.
	File stage.Position `json:"file"`
	// Override, when set, outranks the file.
	Override *Override `json:"override"`
	// Version counts the route's changes; pass it as if_version to refuse
	// a change based on a stale view.
	Version uint64           `json:"version"`
	Plan    []stage.Position `json:"plan"`
	// Next is where promote would move the route, if anywhere.
	Next *stage.Position `json:"next"`
}

// Route returns one route's view.
func (c *Controller) Route(name string) (RouteView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if findRoute(c.effective.Load(), name) == nil {
		return RouteView{}, false
	}
	return c.view(name), true
}

// Routes returns every route's view, in match order.
func (c *Controller) Routes() []RouteView {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.effective.Load()
	if cur == nil {
		return []RouteView{}
	}
	out := make([]RouteView, 0, len(cur.Routes))
	for i := range cur.Routes {
		out = append(out, c.view(cur.Routes[i].Name))
	}
	return out
}

// Effective returns the config being served (file plus overrides).
func (c *Controller) Effective() *config.Config {
	return c.effective.Load()
}

// view builds a RouteView. Called with c.mu held; the route must exist.
func (c *Controller) view(name string) RouteView {
	r := findRoute(c.effective.Load(), name)
	v := RouteView{
		Name: r.Name, Service: r.Service, Match: r.Match, Sticky: r.Sticky,
		Position: r.Position(), File: positionOf(findRoute(c.file, name)),
		Version: c.state.Versions[name], Plan: r.Steps(),
	}
	if o, ok := c.state.Overrides[name]; ok {
		v.Override = &o
	}
	if next, ok := r.Next(); ok {
		v.Next = &next
	}
	return v
}
