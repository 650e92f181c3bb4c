package etcdstate_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
)

// TestAutomationStopsWhileEtcdDown: while etcd is unreachable the
// automation evaluates nothing (it could not record a decision); when etcd
// is back it evaluates again.
func TestAutomationStopsWhileEtcdDown(t *testing.T) {
	m := etcdtest.Start(t)
	file := fileConfig(t, backend(t, "monolith").URL, backend(t, "orders").URL)
	file.Routes[0].Automation.Enabled = true
	if err := file.Validate(); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, "r1", "/strangler/"+t.Name(), []string{m.ClientURL}, file)
	auto := rollout.NewAutomator(r.ctl, metrics.New(), r.proxy, zerolog.Nop())

	m.Stop()
	waitDegraded(t, r, true)
	auto.Tick()
	if ex, ok := auto.Explain("orders"); ok {
		t.Errorf("automation evaluated orders while etcd was down: %+v", ex)
	}
	m.Restart()
	waitDegraded(t, r, false)
	auto.Tick()
	if _, ok := auto.Explain("orders"); !ok {
		t.Error("automation did not evaluate orders once etcd was back")
	}
}
