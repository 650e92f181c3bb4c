package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
)

// verbFlags are shared by the commands that talk to a running proxy.
type verbFlags struct {
	admin     string
	tokenEnv  string
	output    string
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
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("--output %q: want table or json", f.output)
	}
	return nil
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
			return printRoutes(cmd.OutOrStdout(), out.Routes)
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
			return printRoute(cmd.OutOrStdout(), f.output, r)
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
			return printRoute(cmd.OutOrStdout(), f.output, r)
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
			return printRoute(cmd.OutOrStdout(), f.output, r)
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
			return printEvents(cmd.OutOrStdout(), out.Events)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&routeName, "route", "", "only this route's events")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many events")
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printRoutes(w io.Writer, routes []admin.RouteJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tSTAGE\tFILE\tSERVICE\tLEGACY REQ\tSERVICE REQ\tSERVICE 5XX\tP99 LEGACY\tP99 SERVICE\tVERSION")
	for _, r := range routes {
		file := positionString(r.File)
		if r.Override != nil {
			file += " (overridden)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\n", r.Name, positionString(r.Position), file,
			orDash(r.Service), r.Figures.Legacy.Requests, r.Figures.Service.Requests, r.Figures.Service.Errors,
			ms(r.Figures.Legacy.P99ms), ms(r.Figures.Service.P99ms), r.Version)
	}
	return tw.Flush()
}

func printRoute(w io.Writer, output string, r admin.RouteJSON) error {
	if output == "json" {
		return printJSON(w, r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "route\t%s\n", r.Name)
	fmt.Fprintf(tw, "stage\t%s\n", positionString(r.Position))
	fmt.Fprintf(tw, "file says\t%s\n", positionString(r.File))
	if o := r.Override; o != nil {
		fmt.Fprintf(tw, "override\t%s by %s at %s: %s\n", positionString(o.Position), o.Source, o.At.Format(time.RFC3339), orDash(o.Reason))
	}
	fmt.Fprintf(tw, "service\t%s\n", orDash(r.Service))
	fmt.Fprintf(tw, "sticky\t%s\n", r.Sticky)
	fmt.Fprintf(tw, "version\t%d\n", r.Version)
	next := "-"
	if r.Next != nil {
		next = positionString(*r.Next)
	}
	fmt.Fprintf(tw, "plan\t%s (next: %s)\n", planString(r.Plan), next)
	for _, s := range []struct {
		name string
		f    metrics.SideFigures
	}{{"legacy", r.Figures.Legacy}, {"service", r.Figures.Service}} {
		fmt.Fprintf(tw, "%s\t%d requests, %d errors, p50 %s, p99 %s\n", s.name, s.f.Requests, s.f.Errors, ms(s.f.P50ms), ms(s.f.P99ms))
	}
	if r.Breaker != "" {
		fmt.Fprintf(tw, "breaker\t%s\n", r.Breaker)
	}
	printAutomation(tw, r.Automation)
	return tw.Flush()
}

// printAutomation explains an automated route: each gate and trigger
// with its value, and why it waits.
func printAutomation(w io.Writer, ex *rollout.Explain) {
	if ex == nil {
		fmt.Fprintf(w, "automation\toff\n")
		return
	}
	state := "on"
	if ex.Paused {
		state = "paused: " + orDash(ex.PausedReason)
	}
	fmt.Fprintf(w, "automation\t%s (evaluated %s)\n", state, ex.EvaluatedAt.Local().Format(time.TimeOnly))
	for _, c := range ex.Gates {
		fmt.Fprintf(w, "  gate\t%s %s\n", mark(c.Holds), c.Detail)
	}
	for _, c := range ex.Triggers {
		fmt.Fprintf(w, "  trigger\t%s %s\n", mark(c.Holds), c.Detail)
	}
	if ex.NextPromotionIn != "" {
		fmt.Fprintf(w, "  next promotion\tin %s\n", ex.NextPromotionIn)
	}
	fmt.Fprintf(w, "  status\t%s\n", ex.Waiting)
}

func mark(ok bool) string {
	if ok {
		return "ok  "
	}
	return "FAIL"
}

func printEvents(w io.Writer, events []rollout.Event) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tROUTE\tACTION\tFROM\tTO\tSOURCE\tREASON")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.Route, e.Action,
			positionString(e.From), positionString(e.To), e.Source, orDash(e.Reason))
	}
	return tw.Flush()
}

func planString(plan []config.Position) string {
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
