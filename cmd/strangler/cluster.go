package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// registerTimeout bounds registering this replica in etcd at start.
const registerTimeout = 10 * time.Second

// versionString is this binary's version: the -ldflags value, or else
// the module version Go recorded, or "dev".
func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	return v
}

// loadFile applies a route file (the reloader's Apply) and remembers its
// hash, which this replica publishes for drift detection.
func (a *app) loadFile(cfg *config.Config) error {
	if err := a.control.LoadFile(cfg); err != nil {
		return err
	}
	a.fileHash.Store(&cfg.FileSHA256)
	return nil
}

// self is what this replica publishes about itself.
func (a *app) self() etcdstate.Member {
	hash := ""
	if h := a.fileHash.Load(); h != nil {
		hash = *h
	}
	return etcdstate.Member{Name: a.cfg.Replica.ReplicaName(), Advertise: a.cfg.Replica.Advertise,
		Version: versionString(), RouteFileHash: hash, AppliedRevision: a.control.Revision()}
}

// register puts this replica in the etcd list (nothing on the file
// backend). A live replica with the same name makes the start fail.
func (a *app) register() error {
	if a.etcd == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), registerTimeout)
	defer cancel()
	reg, err := a.etcd.Register(ctx, etcdstate.MemberOptions{Self: a.self, OnDrift: a.metrics.SetConfigDrift, Log: a.log})
	if err != nil {
		return fmt.Errorf("registering replica %q (replica.name) under %s/replicas/: %w",
			a.cfg.Replica.ReplicaName(), a.cfg.State.Etcd.Prefix, err)
	}
	a.members = reg
	v, err := reg.View(ctx)
	a.metrics.SetConfigDrift(err == nil && v.Drift)
	return nil
}

// clusterView serves /admin/cluster and refreshes the drift gauge.
func (a *app) clusterView(ctx context.Context) (etcdstate.ClusterView, error) {
	if a.members == nil {
		m := a.self()
		m.LastHeartbeat = time.Now().UTC().Truncate(time.Millisecond)
		return etcdstate.LocalView(m), nil
	}
	v, err := a.members.View(ctx)
	if err != nil {
		return v, err
	}
	a.metrics.SetConfigDrift(v.Drift)
	return v, nil
}

func newClusterCmd() *cobra.Command {
	var f verbFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "List the replicas sharing a running proxy's rollout, its automation leader and config drift",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			var v etcdstate.ClusterView
			if err := f.client().do(cmd.Context(), "GET", "/admin/cluster", nil, &v); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), v)
			}
			return printCluster(cmd.OutOrStdout(), v, time.Now())
		},
	}
	f.register(cmd, false)
	return cmd
}

// printCluster writes the replicas as a table; the answering replica is
// marked with "*" after its name.
func printCluster(w io.Writer, v etcdstate.ClusterView, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADVERTISE\tVERSION\tROUTE FILE\tREVISION\tHEARTBEAT\tLEADER\tDRIFT")
	for _, r := range v.Replicas {
		name := r.Name
		if r.Self {
			name += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", name, orDash(r.Advertise), r.Version,
			orDash(etcdstate.ShortHash(r.RouteFileHash)), r.AppliedRevision, age(now, r.LastHeartbeat),
			yes(r.Leader, "leader"), yes(r.Drift, "DRIFT"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	leader := orDash(v.Leader)
	if v.Backend == etcdstate.BackendFile {
		leader = "- (file backend: one replica)"
	}
	_, err := fmt.Fprintf(w, "\nbackend %s, automation leader %s, config drift %s\n", v.Backend, leader, yes(v.Drift, "YES"))
	return err
}

// age renders how long ago t was, to the tenth of a second.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(100*time.Millisecond).String() + " ago"
}

func yes(b bool, word string) string {
	if b {
		return word
	}
	return "-"
}
