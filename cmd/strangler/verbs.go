package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
	"github.com/stranglerfig/strangler/termout"
)

// verbFlags are shared by the commands that talk to a running proxy.
type verbFlags struct {
	admin     string
	tokenEnv  string
	output    string
	format    string
	reason    string
	ifVersion int64
}

func defaultAdminURL() string {
	if u := os.Getenv("STRANGLER_ADMIN_URL"); u != "" {
		return u
	}
	return "http://" + config.DefaultAdminListen
}

// register adds the flags of a verb that prints a table or JSON, and of
// a change (reason, version check) when mutation is set.
func (f *verbFlags) register(cmd *cobra.Command, mutation bool) {
	f.registerAdmin(cmd)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output: table or json")
	cmd.Flags().StringVar(&f.format, "format", "",
		"table, md or json (outranks --output; table is fitted to a terminal, plain text when piped)")
	if mutation {
		f.registerReason(cmd)
		f.registerIfVersion(cmd)
	}
}

// registerAdmin adds the flags that reach the admin API.
func (f *verbFlags) registerAdmin(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.admin, "admin", defaultAdminURL(), "admin API URL (env STRANGLER_ADMIN_URL)")
	cmd.Flags().StringVar(&f.tokenEnv, "token-env", config.DefaultTokenEnv, "environment variable holding the admin token")
}

func (f *verbFlags) registerReason(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.reason, "reason", "", "why (kept in the audit trail)")
}

func (f *verbFlags) registerIfVersion(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&f.ifVersion, "if-version", -1, "refuse the change unless the route is at this version")
}

func (f *verbFlags) client() *adminClient { return newAdminClient(f.admin, f.tokenEnv) }

func (f *verbFlags) change() admin.ChangeRequest {
	req := admin.ChangeRequest{Reason: f.reason}
	if f.ifVersion >= 0 {
		v := uint64(f.ifVersion)
		req.IfVersion = &v
	}
	return req
}

func (f *verbFlags) checkOutput() error {
	if f.format != "" {
		if f.format != "table" && f.format != "md" && f.format != "json" {
			return fmt.Errorf("--format %q: want table, md or json", f.format)
		}
		f.output = f.format
	}
	if f.output != "table" && f.output != "json" && f.output != "md" {
		return fmt.Errorf("--output %q: want table, md or json", f.output)
	}
	return nil
}

// terminal describes the command's standard output (the context may
// force it, for tests), rendering Markdown when asked.
func (f *verbFlags) terminal(cmd *cobra.Command) termout.Terminal {
	t := terminal(cmd)
	if f.output == "md" {
		t = termout.Terminal{Markdown: true}
	}
	return t
}

func newVerbCmds() []*cobra.Command {
	return []*cobra.Command{newRoutesCmd(), newRouteCmd(), newStageCmd(),
		newMoveCmd("promote", "Move a route to the next step of its plan"),
		newMoveCmd("rollback", "Send all of a route's traffic to the monolith now"),
		newMoveCmd("reset", "Drop a route's runtime override: the file's stage applies again"),
		newEventsCmd(), newReportCmd(), newDiffsCmd(), newDiffCmd(),
		newPauseCmd("pause", true), newPauseCmd("resume", false), newClusterCmd()}
}

func newRoutesCmd() *cobra.Command {
	var f verbFlags
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "List a running proxy's routes: stage, percent, traffic per side",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			var out struct {
				Routes []admin.RouteJSON `json:"routes"`
			}
			if err := f.client().do(cmd.Context(), "GET", "/admin/routes", nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printRoutes(cmd.OutOrStdout(), f.terminal(cmd), out.Routes)
		},
	}
	f.register(cmd, false)
	return cmd
}

func newRouteCmd() *cobra.Command {
	var f verbFlags
	cmd := &cobra.Command{
		Use:   "route NAME",
		Short: "Show one route of a running proxy in detail",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			var r admin.RouteJSON
			if err := f.client().do(cmd.Context(), "GET", "/admin/routes/"+url.PathEscape(args[0]), nil, &r); err != nil {
				return err
			}
			return printRoute(cmd.OutOrStdout(), f.terminal(cmd), f.output, r)
		},
	}
	f.register(cmd, false)
	return cmd
}

func newStageCmd() *cobra.Command {
	var f verbFlags
	cmd := &cobra.Command{
		Use:   "stage NAME STAGE [PERCENT]",
		Short: "Set a route's stage (and canary percent) on a running proxy",
		Example: "  strangler stage order-details canary 25 --reason \"error rate flat for a day\"\n" +
			"  strangler stage order-details legacy",
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			req := f.change()
			req.Stage = &args[1]
			if len(args) == 3 {
				pct, err := strconv.ParseFloat(args[2], 64)
				if err != nil {
					return fmt.Errorf("PERCENT %q is not a number", args[2])
				}
				req.Percent = &pct
			}
			var r admin.RouteJSON
			err := f.client().do(cmd.Context(), "POST", "/admin/routes/"+url.PathEscape(args[0])+"/stage", req, &r)
			if err != nil {
				return err
			}
			return printRoute(cmd.OutOrStdout(), f.terminal(cmd), f.output, r)
		},
	}
	f.register(cmd, true)
	return cmd
}

// newMoveCmd builds promote, rollback and reset, which differ only in
// the endpoint.
func newMoveCmd(action, short string) *cobra.Command {
	return newPostCmd(action, short, action, true, func(f *verbFlags) any { return f.change() })
}

// newPauseCmd builds pause and resume, which stop and restart a route's
// automatic promotion and rollback. The automation endpoint takes no
// if_version, so they take no --if-version.
func newPauseCmd(action string, paused bool) *cobra.Command {
	short := "Stop automatic promotion and rollback of a route"
	if !paused {
		short = "Let automation move a route again"
	}
	return newPostCmd(action, short, "automation", false, func(f *verbFlags) any {
		return admin.AutomationRequest{Paused: &paused, Reason: f.reason}
	})
}

// newPostCmd builds a verb that POSTs body to a route's endpoint and
// prints the route the admin API answers. It takes --reason, and
// --if-version when versioned (the endpoint takes if_version).
func newPostCmd(action, short, endpoint string, versioned bool, body func(*verbFlags) any) *cobra.Command {
	var f verbFlags
	cmd := &cobra.Command{
		Use:   action + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			var r admin.RouteJSON
			path := "/admin/routes/" + url.PathEscape(args[0]) + "/" + endpoint
			if err := f.client().do(cmd.Context(), "POST", path, body(&f), &r); err != nil {
				return err
			}
			return printRoute(cmd.OutOrStdout(), f.terminal(cmd), f.output, r)
		},
	}
	f.register(cmd, false)
	f.registerReason(cmd)
	if versioned {
		f.registerIfVersion(cmd)
	}
	return cmd
}

func newEventsCmd() *cobra.Command {
	var f verbFlags
	var routeName string
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the audit trail of stage changes, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if routeName != "" {
				q.Set("route", routeName)
			}
			var out struct {
				Events []rollout.Event `json:"events"`
			}
			if err := f.client().do(cmd.Context(), "GET", "/admin/events?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printEvents(cmd.OutOrStdout(), f.terminal(cmd), out.Events)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&routeName, "route", "", "only this route's events")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many events")
	return cmd
}

// terminal describes the command's standard output (the context may
// force it, for tests).
func terminal(cmd *cobra.Command) termout.Terminal {
	return termout.For(cmd.Context(), cmd.OutOrStdout())
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printRoutes(w io.Writer, t termout.Terminal, routes []admin.RouteJSON) error {
	if fitted(t) {
		return printRoutesTerminal(w, t, routes)
	}
	header := []string{"ROUTE", "STAGE", "FILE", "SERVICE", "LEGACY REQ", "SERVICE REQ", "SERVICE 5XX", "P99 LEGACY", "P99 SERVICE", "VERSION"}
	rows := make([][]string, 0, len(routes))
	for _, r := range routes {
		file := positionString(r.File)
		if r.Override != nil {
			file += " (overridden)"
		}
		rows = append(rows, []string{r.Name, positionString(r.Position), file, orDash(r.Service),
			strconv.FormatUint(r.Figures.Legacy.Requests, 10), strconv.FormatUint(r.Figures.Service.Requests, 10),
			strconv.FormatUint(r.Figures.Service.Errors, 10), ms(r.Figures.Legacy.P99ms), ms(r.Figures.Service.P99ms),
			strconv.FormatUint(r.Version, 10)})
	}
	return writeTable(w, t, header, rows)
}

// printRoutesTerminal is the routes table for a terminal: fewer, paired
// columns, the stage coloured and marked * when a runtime override
// outranks the file (strangler route NAME tells more).
func printRoutesTerminal(w io.Writer, t termout.Terminal, routes []admin.RouteJSON) error {
	header := []string{"ROUTE", "STAGE", "SERVICE", "REQUESTS L/S", "5XX S", "P99 MS L/S", "VER"}
	rows := make([][]string, 0, len(routes))
	for _, r := range routes {
		stage := positionString(r.Position)
		if r.Override != nil {
			stage += "*"
		}
		l, s := r.Figures.Legacy, r.Figures.Service
		rows = append(rows, []string{r.Name, t.Stage(stage), orDash(r.Service),
			fmt.Sprintf("%d/%d", l.Requests, s.Requests), strconv.FormatUint(s.Errors, 10),
			strings.TrimSuffix(ms(l.P99ms), "ms") + "/" + strings.TrimSuffix(ms(s.P99ms), "ms"), strconv.FormatUint(r.Version, 10)})
	}
	if err := t.Table(w, header, rows, 0, 2); err != nil {
		return err
	}
	for _, r := range routes {
		if r.Override != nil {
			_, err := fmt.Fprintln(w, "* overridden at run time; strangler reset NAME returns to the file's stage")
			return err
		}
	}
	return nil
}

func printRoute(w io.Writer, t termout.Terminal, output string, r admin.RouteJSON) error {
	if output == "json" {
		return printJSON(w, r)
	}
	rows := [][]string{{"route", r.Name}, {"stage", t.Stage(positionString(r.Position))}, {"file says", positionString(r.File)}}
	if o := r.Override; o != nil {
		rows = append(rows, []string{"override", fmt.Sprintf("%s by %s at %s: %s", positionString(o.Position), o.Source,
			o.At.Format(time.RFC3339), orDash(o.Reason))})
	}
	next := "-"
	if r.Next != nil {
		next = positionString(*r.Next)
	}
	rows = append(rows, []string{"service", orDash(r.Service)}, []string{"sticky", r.Sticky},
		[]string{"version", strconv.FormatUint(r.Version, 10)},
		[]string{"plan", fmt.Sprintf("%s (next: %s)", planString(r.Plan), next)})
	for _, s := range []struct {
		name string
		f    metrics.SideFigures
	}{{"legacy", r.Figures.Legacy}, {"service", r.Figures.Service}} {
		rows = append(rows, []string{s.name, fmt.Sprintf("%d requests, %d errors, p50 %s, p99 %s",
			s.f.Requests, s.f.Errors, ms(s.f.P50ms), ms(s.f.P99ms))})
	}
	if r.Breaker != "" {
		rows = append(rows, []string{"breaker", r.Breaker})
	}
	rows = append(rows, automationRows(t, r.Automation)...)
	return writeWholeTable(w, t, nil, rows)
}

// automationRows explain an automated route: each gate and trigger with
// its value, and why it waits.
func automationRows(t termout.Terminal, ex *rollout.Explain) [][]string {
	if ex == nil {
		return [][]string{{"automation", "off"}}
	}
	state := "on"
	if ex.Paused {
		state = "paused: " + orDash(ex.PausedReason)
	}
	rows := [][]string{{"automation", fmt.Sprintf("%s (evaluated %s)", state, ex.EvaluatedAt.Local().Format(time.TimeOnly))}}
	for _, c := range ex.Gates {
		rows = append(rows, []string{"  gate", t.Good(mark(c.Holds), c.Holds) + " " + c.Detail})
	}
	for _, c := range ex.Triggers {
		rows = append(rows, []string{"  trigger", t.Good(mark(c.Holds), c.Holds) + " " + c.Detail})
	}
	if ex.NextPromotionIn != "" {
		rows = append(rows, []string{"  next promotion", "in " + ex.NextPromotionIn})
	}
	return append(rows, []string{"  status", ex.Waiting})
}

func mark(ok bool) string {
	if ok {
		return "ok  "
	}
	return "FAIL"
}

func printEvents(w io.Writer, t termout.Terminal, events []rollout.Event) error {
	header := []string{"TIME", "ROUTE", "ACTION", "FROM", "TO", "SOURCE", "REASON"}
	rows := make([][]string, 0, len(events))
	for _, e := range events {
		rows = append(rows, []string{e.Time.Local().Format(timeFormat(t)), e.Route, e.Action,
			t.Stage(positionString(e.From)), t.Stage(positionString(e.To)), e.Source, orDash(e.Reason)})
	}
	return writeTable(w, t, header, rows, 6, 1)
}

// timeFormat is the date and time layout of tables: shorter on a
// terminal (no year).
func timeFormat(t termout.Terminal) string {
	if fitted(t) {
		return "01-02 15:04:05"
	}
	return time.DateTime
}

func planString(plan []stage.Position) string {
	s := ""
	for i, p := range plan {
		if i > 0 {
			s += " → "
		}
		s += positionString(p)
	}
	return s
}

func ms(v float64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
