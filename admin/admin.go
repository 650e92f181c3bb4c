// Package admin serves strangler's admin HTTP API on its own listener:
// route status with live figures, stage changes, promote and rollback,
// the audit trail, config and reload, health, readiness and metrics.
//
// Every handler returns an error that renders as JSON
// {"error": "...", "field": "..."} with the matching status. When a token
// is configured every endpoint but /healthz and /readyz needs
// "Authorization: Bearer <token>". Mutations are POST only and refused
// when a browser sent them from another site.
package admin

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/legacy"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// Control is the rollout control plane as the admin API uses it.
type Control interface {
	Routes() []rollout.RouteView
	Route(name string) (rollout.RouteView, bool)
	SetStage(rollout.Change, stage.Position) (rollout.RouteView, error)
	Promote(rollout.Change) (rollout.RouteView, error)
	Rollback(rollout.Change) (rollout.RouteView, error)
	Reset(rollout.Change) (rollout.RouteView, error)
	SetPaused(rollout.Change, bool) (rollout.RouteView, error)
	Effective() *config.Config
	Audit() *rollout.Audit
}

// Explainer says where an automated route stands and why it waits.
type Explainer interface {
	Explain(route string) (rollout.Explain, bool)
}

// Breakers gives a service's circuit breaker state ("" without one).
type Breakers interface {
	BreakerState(service string) string
}

// Figures gives a route's live request figures.
type Figures interface {
	Figures(route string) metrics.Figures
}

// Deps are what the admin API serves from.
type Deps struct {
	Control Control
	Figures Figures
	// Reload reloads the config file; its error is shown to the caller.
	Reload func() error
	// Ready returns nil when the proxy can take traffic.
	Ready func() error
	// Degraded, if set, reports a shared state backend that cannot be
	// reached: /readyz stays 200 and says so in its body.
	Degraded func() (reason string, degraded bool)
	// Metrics serves /metrics.
	Metrics http.Handler
	// Inventory, if set, serves the monolith's unclaimed endpoints.
	Inventory *legacy.Inventory
	// Planner, if set, serves /admin/plan from every request's endpoint
	// shape; PlanOptions, if set, gives the current route table, weights
	// and window for each plan.
	Planner     *plan.Inventory
	PlanOptions func() plan.BuildOptions
	// Progress, if set, serves /admin/progress: the migration's progress
	// now and over time.
	Progress Progress
	// Reports and Shadow, if set, serve diffs and reports.
	Reports Reports
	Shadow  ShadowInfo
	// Timeline, if set, serves the last hour of figures per route.
	Timeline func() metrics.Timeline
	// Automation, if set, explains automated routes.
	Automation Explainer
	// Breakers, if set, gives each service's circuit breaker state.
	Breakers Breakers
	// Cluster, if set, serves /admin/cluster.
	Cluster ClusterFunc
	// ReplicaFigures, if set (etcd backend), gives each live replica's
	// figures of a route; Figures is then the sum over them.
	ReplicaFigures func(route string) map[string]metrics.Figures
	// ConfigPath names the route file in /admin/config.
	ConfigPath string
	// Pprof serves Go's profiler under /debug/pprof/.
	Pprof bool
	// Token, when not empty, is required as a bearer token.
	Token string
	// LoginLimit bounds failed logins per client IP; zero means
	// DefaultLoginBurst and DefaultLoginEvery.
	LoginLimit LoginLimit
	Log        zerolog.Logger
}

// server holds the handlers' dependencies.
type server struct {
	Deps
	auth    authenticator
	limiter *loginLimiter
}

// New returns the admin API handler.
func New(d Deps) http.Handler {
	s := &server{Deps: d, auth: newAuthenticator(d.Token), limiter: newLoginLimiter(d.LoginLimit)}
	r := mux.NewRouter()
	notFound := s.wrap(func(http.ResponseWriter, *http.Request) error {
		return &Error{Status: http.StatusNotFound, Msg: "no such admin endpoint"}
	}, false)
	notAllowed := s.wrap(func(http.ResponseWriter, *http.Request) error {
		return &Error{Status: http.StatusMethodNotAllowed, Msg: "method not allowed: mutations are POST, reads are GET"}
	}, false)
	r.NotFoundHandler, r.MethodNotAllowedHandler = notFound, notAllowed
	// Path before Methods: gorilla/mux 1.8.1 forgets a method mismatch when a
	// later route's method matcher succeeds first.
	r.Path("/healthz").Methods(http.MethodGet).Handler(s.wrap(s.healthz, false))
	r.Path("/readyz").Methods(http.MethodGet).Handler(s.wrap(s.readyz, false))
	r.Path("/metrics").Methods(http.MethodGet).Handler(s.wrap(s.metrics, true))

	r.Path("/admin/routes").Methods(http.MethodGet).Handler(s.wrap(s.listRoutes, true))
	r.Path("/admin/routes/{name}").Methods(http.MethodGet).Handler(s.wrap(s.getRoute, true))
	r.Path("/admin/routes/{name}/stage").Methods(http.MethodPost).Handler(s.mutation(s.setStage))
	r.Path("/admin/routes/{name}/promote").Methods(http.MethodPost).Handler(s.mutation(s.promote))
	r.Path("/admin/routes/{name}/rollback").Methods(http.MethodPost).Handler(s.mutation(s.rollback))
	r.Path("/admin/routes/{name}/reset").Methods(http.MethodPost).Handler(s.mutation(s.reset))
	r.Path("/admin/routes/{name}/automation").Methods(http.MethodPost).Handler(s.mutation(s.automation))
	r.Path("/admin/events").Methods(http.MethodGet).Handler(s.wrap(s.events, true))
	r.Path("/admin/config").Methods(http.MethodGet).Handler(s.wrap(s.config, true))
	r.Path("/admin/reload").Methods(http.MethodPost).Handler(s.mutation(s.reload))
	r.Path("/admin/legacy/endpoints").Methods(http.MethodGet).Handler(s.wrap(s.legacyEndpoints, true))
	r.Path("/admin/plan").Methods(http.MethodGet).Handler(s.wrap(s.plan, true))
	r.Path("/admin/progress").Methods(http.MethodGet).Handler(s.wrap(s.progressReport, true))
	r.Path("/admin/diffs").Methods(http.MethodGet).Handler(s.wrap(s.diffs, true))
	r.Path("/admin/diffs/{id}").Methods(http.MethodGet).Handler(s.wrap(s.diff, true))
	r.Path("/admin/report").Methods(http.MethodGet).Handler(s.wrap(s.report, true))
	r.Path("/admin/timeline").Methods(http.MethodGet).Handler(s.wrap(s.timeline, true))
	r.Path("/admin/cluster").Methods(http.MethodGet).Handler(s.wrap(s.cluster, true))
	// The dashboard page, its assets and the stage vocabulary carry no
	// data: they load without a token (the page draws its stage flow
	// before the user enters one) and call the API above with the token
	// the user enters.
	r.Path("/admin/").Methods(http.MethodGet).Handler(s.wrap(s.dashboard, false))
	r.Path("/admin/stages").Methods(http.MethodGet).Handler(s.wrap(s.stages, false))
	r.Path("/admin").Methods(http.MethodGet).Handler(http.RedirectHandler("/admin/", http.StatusMovedPermanently))
	r.PathPrefix("/admin/ui/").Methods(http.MethodGet).Handler(s.wrap(s.assets, false))
	if d.Pprof {
		r.PathPrefix("/debug/pprof/").Handler(s.wrap(func(w http.ResponseWriter, r *http.Request) error {
			pprofHandler(w, r)
			return nil
		}, true))
	}
	return r
}

// wrap turns a handlerFunc into a handler, checking the token first when
// authed.
func (s *server) wrap(h handlerFunc, authed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := error(nil)
		if !s.auth.on {
			err = checkLoopbackHost(r)
		}
		if err == nil && authed {
			err = s.login(r)
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.Log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Err(err).Msg("admin request refused")
			writeError(w, err)
		}
	})
}

// login checks the bearer token unless the client has failed too often
// lately (429 with Retry-After). A failure is logged as a warning with the
// client IP and the reason, never the token, and counted.
func (s *server) login(r *http.Request) error {
	ip := clientIP(r)
	if wait := s.limiter.wait(ip); wait > 0 {
		return tooManyLogins(wait)
	}
	err := s.auth.check(r)
	if err == nil {
		return nil
	}
	limited := s.limiter.fail(ip, sha256.Sum256([]byte(r.Header.Get("Authorization"))))
	s.Log.Warn().Str("client_ip", ip).Str("method", r.Method).Str("path", r.URL.Path).
		Str("reason", err.Error()).Bool("limited", limited).Msg("admin login failed")
	return err
}

// mutation wraps a state-changing handler: token, then same-origin.
func (s *server) mutation(h handlerFunc) http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		if err := checkSameOrigin(r); err != nil {
			return err
		}
		return h(w, r)
	}, true)
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *server) readyz(w http.ResponseWriter, _ *http.Request) error {
	if err := s.Ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
		return nil
	}
	if s.Degraded != nil {
		if reason, bad := s.Degraded(); bad {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "state": "degraded", "reason": reason})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) error {
	s.Metrics.ServeHTTP(w, r)
	return nil
}

// RouteJSON is a route as the admin API answers it: with its live
// figures (on etcd, the sum over the live replicas, with each replica's
// own under replica_figures), its service's breaker and, when automated,
// the explanation of its plan. The CLI reads it too.
type RouteJSON struct {
	rollout.RouteView
	Figures        metrics.Figures            `json:"figures"`
	ReplicaFigures map[string]metrics.Figures `json:"replica_figures,omitempty"`
	Breaker        string                     `json:"breaker,omitempty"`
	Automation     *rollout.Explain           `json:"automation,omitempty"`
}

func (s *server) withFigures(v rollout.RouteView) RouteJSON {
	out := RouteJSON{RouteView: v, Figures: s.Figures.Figures(v.Name)}
	if s.ReplicaFigures != nil {
		out.ReplicaFigures = s.ReplicaFigures(v.Name)
	}
	if s.Breakers != nil && v.Service != "" {
		out.Breaker = s.Breakers.BreakerState(v.Service)
	}
	if s.Automation != nil {
		if ex, ok := s.Automation.Explain(v.Name); ok {
			out.Automation = &ex
		}
	}
	return out
}

func (s *server) listRoutes(w http.ResponseWriter, _ *http.Request) error {
	views := s.Control.Routes()
	out := make([]RouteJSON, 0, len(views))
	for _, v := range views {
		out = append(out, s.withFigures(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": out})
	return nil
}

func (s *server) getRoute(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	v, ok := s.Control.Route(name)
	if !ok {
		return &Error{Status: http.StatusNotFound, Field: "name", Msg: "unknown route " + strconv.Quote(name)}
	}
	writeJSON(w, http.StatusOK, s.withFigures(v))
	return nil
}

// ChangeRequest is the body of the mutation endpoints (stage, promote,
// rollback, reset). The CLI sends it too.
type ChangeRequest struct {
	Stage     *string  `json:"stage,omitempty"`
	Percent   *float64 `json:"percent,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	IfVersion *uint64  `json:"if_version,omitempty"`
}

// maxReason bounds the reason kept in the audit trail.
const maxReason = 1000

// newChange checks a reason and builds the change an admin request makes
// to the route named in the URL.
func newChange(r *http.Request, reason string, ifVersion *uint64) (rollout.Change, error) {
	if len(reason) > maxReason {
		return rollout.Change{}, &Error{Status: http.StatusBadRequest, Field: "reason", Msg: "at most " + strconv.Itoa(maxReason) + " characters"}
	}
	return rollout.Change{Route: mux.Vars(r)["name"], Reason: reason, Source: rollout.SourceAdmin, IfVersion: ifVersion}, nil
}

func (s *server) decodeChange(r *http.Request, optional bool) (rollout.Change, ChangeRequest, error) {
	var b ChangeRequest
	if err := decodeBody(r, &b, optional); err != nil {
		return rollout.Change{}, b, err
	}
	ch, err := newChange(r, b.Reason, b.IfVersion)
	return ch, b, err
}

func (s *server) setStage(w http.ResponseWriter, r *http.Request) error {
	ch, b, err := s.decodeChange(r, false)
	if err != nil {
		return err
	}
	// An empty stage would pass validation as the default (legacy) while
	// the override kept "".
	if b.Stage == nil || *b.Stage == "" {
		return &Error{Status: http.StatusBadRequest, Field: "stage", Msg: "required: legacy, shadow, canary or migrated"}
	}
	pos := stage.Position{Stage: *b.Stage}
	if b.Percent != nil {
		pos.Percent = *b.Percent
	} else if pos.Stage == stage.Canary.String() {
		return &Error{Status: http.StatusBadRequest, Field: "percent", Msg: "required for stage canary"}
	}
	return s.respond(w, r, "stage", func() (rollout.RouteView, error) { return s.Control.SetStage(ch, pos) })
}

func (s *server) promote(w http.ResponseWriter, r *http.Request) error {
	return s.simpleChange(w, r, "promote", s.Control.Promote)
}

func (s *server) rollback(w http.ResponseWriter, r *http.Request) error {
	return s.simpleChange(w, r, "rollback", s.Control.Rollback)
}

func (s *server) reset(w http.ResponseWriter, r *http.Request) error {
	return s.simpleChange(w, r, "reset", s.Control.Reset)
}

// simpleChange handles the mutations whose body has only reason and
// if_version.
func (s *server) simpleChange(w http.ResponseWriter, r *http.Request, action string,
	do func(rollout.Change) (rollout.RouteView, error)) error {
	ch, b, err := s.decodeChange(r, true)
	if err != nil {
		return err
	}
	if b.Stage != nil || b.Percent != nil {
		return &Error{Status: http.StatusBadRequest, Field: "stage", Msg: action + " takes no stage or percent; use /stage"}
	}
	return s.respond(w, r, action, func() (rollout.RouteView, error) { return do(ch) })
}

func (s *server) respond(w http.ResponseWriter, r *http.Request, action string, do func() (rollout.RouteView, error)) error {
	v, err := do()
	if err != nil {
		return err
	}
	s.Log.Info().Str("route", v.Name).Str("action", action).Str("remote", r.RemoteAddr).Msg("admin change")
	writeJSON(w, http.StatusOK, s.withFigures(v))
	return nil
}

// AutomationRequest is the body of POST /admin/routes/{name}/automation:
// it pauses or resumes a route's automation. The CLI sends it too.
type AutomationRequest struct {
	Paused *bool  `json:"paused"`
	Reason string `json:"reason"`
}

func (s *server) automation(w http.ResponseWriter, r *http.Request) error {
	var b AutomationRequest
	if err := decodeBody(r, &b, false); err != nil {
		return err
	}
	if b.Paused == nil {
		return &Error{Status: http.StatusBadRequest, Field: "paused", Msg: "required: true to pause, false to resume"}
	}
	ch, err := newChange(r, b.Reason, nil)
	if err != nil {
		return err
	}
	action := "resume"
	if *b.Paused {
		action = "pause"
	}
	return s.respond(w, r, action, func() (rollout.RouteView, error) { return s.Control.SetPaused(ch, *b.Paused) })
}

func (s *server) events(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r, 100, rollout.DefaultAuditSize)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": s.Control.Audit().List(r.URL.Query().Get("route"), limit)})
	return nil
}

// queryLimit reads the limit query parameter: def when absent, else a
// whole number from 1 to most.
func queryLimit(r *http.Request, def, most int) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > most {
		return 0, &Error{Status: http.StatusBadRequest, Field: "limit", Msg: "limit must be between 1 and " + strconv.Itoa(most)}
	}
	return n, nil
}

func (s *server) config(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"file": s.ConfigPath, "config": ConfigView(s.Control.Effective())})
	return nil
}

func (s *server) reload(w http.ResponseWriter, _ *http.Request) error {
	if err := s.Reload(); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error": "config rejected; the last good config keeps serving", "problems": config.ProblemStrings(err)})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "at": time.Now().UTC()})
	return nil
}

func (s *server) timeline(w http.ResponseWriter, _ *http.Request) error {
	if s.Timeline == nil {
		return &Error{Status: http.StatusNotFound, Msg: "no timeline"}
	}
	writeJSON(w, http.StatusOK, s.Timeline())
	return nil
}

func (s *server) legacyEndpoints(w http.ResponseWriter, _ *http.Request) error {
	if s.Inventory == nil {
		return &Error{Status: http.StatusNotFound, Msg: "no inventory"}
	}
	eps, overflow := s.Inventory.Snapshot()
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": eps, "overflow": overflow})
	return nil
}
