package deploy

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shadowDrain is how long strangler lets queued shadow copies finish after
// the servers stopped (cmd/strangler/serve.go).
const shadowDrain = 2 * time.Second

func itoa(n int) string { return strconv.Itoa(n) }

// intPtr shows an optional number: its value, or "unset".
func intPtr(n *int) string {
	if n == nil {
		return "unset"
	}
	return itoa(*n)
}

// TestDeployment checks the strangler Deployment against the route file it
// mounts and the image it runs.
func TestDeployment(t *testing.T) {
	m, d, c := stranglerPod(t)
	rf := loadRouteFile(t)
	pod := d.Template.Spec
	df, err := parseDockerfile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		check func() error
	}{
		{"three replicas", func() error {
			if d.Replicas == nil || *d.Replicas != 3 {
				return fmt.Errorf("replicas %s, want 3", intPtr(d.Replicas))
			}
			return nil
		}},
		{"selector matches the pod labels", func() error {
			if !subset(d.Selector.MatchLabels, d.Template.Metadata.Labels) {
				return fmt.Errorf("selector %v does not match template labels %v", d.Selector.MatchLabels, d.Template.Metadata.Labels)
			}
			return nil
		}},
		{"container ports are listen and admin.listen", func() error {
			want := map[int]string{}
			for _, p := range []string{rf.listenPort, rf.adminPort} {
				n, _ := strconv.Atoi(p)
				want[n] = p
			}
			if len(c.Ports) != len(want) {
				return fmt.Errorf("container ports %v, want exactly %v", c.Ports, []string{rf.listenPort, rf.adminPort})
			}
			for _, p := range c.Ports {
				if _, ok := want[p.ContainerPort]; !ok {
					return fmt.Errorf("container port %d is neither listen %s nor admin.listen %s", p.ContainerPort, rf.cfg.Listen, rf.cfg.Admin.Listen)
				}
			}
			return nil
		}},
		{"listeners reachable from outside the pod", func() error {
			for _, h := range []struct{ key, host string }{{"listen", rf.listenHost}, {"admin.listen", rf.adminHost}} {
				if ip := net.ParseIP(h.host); h.host == "localhost" || (ip != nil && ip.IsLoopback()) {
					return fmt.Errorf("%s binds loopback %q: the kubelet's probes and the Services cannot reach it", h.key, h.host)
				}
			}
			return nil
		}},
		{"preStop sleeps server.drain_delay", func() error {
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
				return fmt.Errorf("no preStop sleep action (the distroless image has no shell for an exec sleep)")
			}
			if got := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second; got != rf.cfg.Server.DrainDelay {
				return fmt.Errorf("preStop sleeps %v, server.drain_delay is %v", got, rf.cfg.Server.DrainDelay)
			}
			return nil
		}},
		{"grace period covers preStop, drain and shutdown", func() error {
			if pod.TerminationGracePeriodSeconds == nil {
				return fmt.Errorf("terminationGracePeriodSeconds unset (30 s default)")
			}
			grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
			need := rf.cfg.Server.DrainDelay + rf.cfg.Server.ShutdownTimeout + shadowDrain
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
				need += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			}
			if grace <= need {
				return fmt.Errorf("terminationGracePeriodSeconds %v, want more than preStop + drain_delay %v + shutdown_timeout %v + shadow drain %v = %v",
					grace, rf.cfg.Server.DrainDelay, rf.cfg.Server.ShutdownTimeout, shadowDrain, need)
			}
			return nil
		}},
		{"non-root, read-only, no capabilities", func() error {
			return checkSecurity(pod.SecurityContext, c.SecurityContext)
		}},
		{"runs as the image's user", func() error {
			uid, _, _ := strings.Cut(df.final().user, ":")
			if pod.SecurityContext.RunAsUser != nil && itoa(*pod.SecurityContext.RunAsUser) != uid {
				return fmt.Errorf("runAsUser %d, the image's USER is %s", *pod.SecurityContext.RunAsUser, uid)
			}
			return nil
		}},
		{"resources requested and memory limited", func() error {
			return checkResources(c, int64(rf.cfg.Server.MemoryLimit))
		}},
		{"state file on a writable volume", func() error {
			return checkWritable(c, path.Dir(rf.cfg.StateFile))
		}},
		{"the command is the image's ENTRYPOINT", func() error {
			if len(c.Command) > 0 || len(c.Args) > 0 {
				return fmt.Errorf("command %q args %q override the image's ENTRYPOINT; keep them in deploy/Dockerfile", c.Command, c.Args)
			}
			return nil
		}},
		{"replica name is the pod name", func() error {
			e := c.env("STRANGLER_REPLICA_NAME")
			if e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
				return fmt.Errorf("STRANGLER_REPLICA_NAME must come from fieldRef metadata.name")
			}
			return nil
		}},
		{"replica advertises its own admin port", func() error {
			e := c.env("STRANGLER_REPLICA_ADVERTISE")
			if e == nil {
				if rf.str("replica.advertise") == "" {
					return fmt.Errorf("neither STRANGLER_REPLICA_ADVERTISE nor replica.advertise is set: peers cannot reach this replica")
				}
				return nil
			}
			want := "http://$(POD_IP):" + rf.adminPort
			if e.Value != want {
				return fmt.Errorf("STRANGLER_REPLICA_ADVERTISE %q, want %q", e.Value, want)
			}
			ip := c.env("POD_IP")
			if ip == nil || ip.ValueFrom == nil || ip.ValueFrom.FieldRef == nil || ip.ValueFrom.FieldRef.FieldPath != "status.podIP" {
				return fmt.Errorf("POD_IP must come from fieldRef status.podIP")
			}
			return nil
		}},
		{"secrets come from the Secret the README creates", func() error {
			return checkSecrets(c, []string{rf.cfg.Admin.TokenEnv, rf.cfg.Shadowing.SecretEnv, rf.str("state.etcd.password_env")})
		}},
		{"everything in one namespace, which is created", func() error {
			return checkNamespace(m)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// checkNamespace wants every namespaced object in one namespace, and
// that namespace among the manifests.
func checkNamespace(m *manifests) error {
	ns, created := "", map[string]bool{}
	for _, o := range m.objects {
		if o.Kind == "Namespace" {
			created[o.Metadata.Name] = true
			continue
		}
		if ns == "" {
			ns = o.Metadata.Namespace
		}
		if o.Metadata.Namespace == "" || o.Metadata.Namespace != ns {
			return fmt.Errorf("%s: %s %s is in namespace %q, others in %q", o.file, o.Kind, o.Metadata.Name, o.Metadata.Namespace, ns)
		}
	}
	if !created[ns] {
		return fmt.Errorf("no manifest creates Namespace %s", ns)
	}
	return nil
}

// checkSecurity wants a non-root user, no privilege escalation, a
// read-only root file system and no capabilities.
func checkSecurity(pod securityContext, c *securityContext) error {
	if c == nil {
		return fmt.Errorf("no container securityContext")
	}
	nonRoot := (c.RunAsNonRoot != nil && *c.RunAsNonRoot) || (c.RunAsNonRoot == nil && pod.RunAsNonRoot != nil && *pod.RunAsNonRoot)
	var problems []string
	if !nonRoot {
		problems = append(problems, "runAsNonRoot is not true")
	}
	for _, u := range []*int{pod.RunAsUser, c.RunAsUser} {
		if u != nil && *u == 0 {
			problems = append(problems, "runAsUser is 0")
		}
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		problems = append(problems, "readOnlyRootFilesystem is not true")
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		problems = append(problems, "allowPrivilegeEscalation is not false")
	}
	if c.Privileged != nil && *c.Privileged {
		problems = append(problems, "privileged")
	}
	if c.Capabilities == nil || !contains(c.Capabilities.Drop, "ALL") || len(c.Capabilities.Add) > 0 {
		problems = append(problems, "capabilities must drop ALL and add none")
	}
	if len(problems) > 0 {
		return fmt.Errorf("securityContext: %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkResources wants CPU and memory requests and a memory limit above
// what the Go runtime is told to stay under.
func checkResources(c container, memoryLimit int64) error {
	for _, k := range []string{"cpu", "memory"} {
		if c.Resources.Requests[k] == "" {
			return fmt.Errorf("no resources.requests.%s", k)
		}
	}
	limit, err := quantity(c.Resources.Limits["memory"])
	if err != nil || limit == 0 {
		return fmt.Errorf("resources.limits.memory %q: want a limit (strangler sizes its Go memory limit from it): %v", c.Resources.Limits["memory"], err)
	}
	req, err := quantity(c.Resources.Requests["memory"])
	if err != nil || req > limit {
		return fmt.Errorf("resources.requests.memory %q: want a quantity at most the limit: %v", c.Resources.Requests["memory"], err)
	}
	if memoryLimit >= limit {
		return fmt.Errorf("server.memory_limit %d is not below the container limit %d: the kernel kills before the collector works", memoryLimit, limit)
	}
	if e := c.env("GOMEMLIMIT"); e != nil {
		if e.ValueFrom != nil {
			return fmt.Errorf("GOMEMLIMIT from a resourceFieldRef is the whole limit, no headroom; leave it out (strangler takes 80 %%)")
		}
		n, err := quantity(strings.TrimSuffix(e.Value, "B"))
		if err != nil || n >= limit {
			return fmt.Errorf("GOMEMLIMIT %q: want a quantity below the container limit %d: %v", e.Value, limit, err)
		}
	}
	return nil
}

// checkWritable wants dir on a volume mounted read-write: the root file
// system is read-only.
func checkWritable(c container, dir string) error {
	for _, vm := range c.VolumeMounts {
		if !vm.ReadOnly && (dir == vm.MountPath || strings.HasPrefix(dir, vm.MountPath+"/")) {
			return nil
		}
	}
	return fmt.Errorf("state_file's folder %s is on no writable volume mount", dir)
}

// checkSecrets wants each named variable from one Secret, and the README's
// kubectl command to create every key used.
func checkSecrets(c container, vars []string) error {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		return fmt.Errorf("reading deploy/README.md: %w", err)
	}
	secret := ""
	for _, name := range vars {
		if name == "" {
			return fmt.Errorf("a secret variable name is empty in the route file")
		}
		e := c.env(name)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			return fmt.Errorf("%s is not set from a secretKeyRef", name)
		}
		ref := e.ValueFrom.SecretKeyRef
		if secret != "" && ref.Name != secret {
			return fmt.Errorf("%s comes from Secret %s, the others from %s", name, ref.Name, secret)
		}
		secret = ref.Name
		if !strings.Contains(string(readme), "--from-literal="+ref.Key+"=") {
			return fmt.Errorf("deploy/README.md does not create key %s of Secret %s", ref.Key, ref.Name)
		}
	}
	if !strings.Contains(string(readme), "create secret generic "+secret) {
		return fmt.Errorf("deploy/README.md does not create Secret %s", secret)
	}
	return nil
}

// TestServices checks that each Service selects the strangler pods and
// targets their ports: the data plane the listen port, the admin Service
// the admin port, inside the cluster only.
func TestServices(t *testing.T) {
	m, d, c := stranglerPod(t)
	rf := loadRouteFile(t)
	for _, tc := range []struct {
		name, port string
	}{
		{"strangler", rf.listenPort},
		{"strangler-admin", rf.adminPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec[serviceSpec](t, m.get(t, "Service", tc.name))
			if !subset(s.Selector, d.Template.Metadata.Labels) {
				t.Errorf("selector %v does not select the pods (labels %v)", s.Selector, d.Template.Metadata.Labels)
			}
			if len(s.Ports) == 0 {
				t.Fatal("no ports")
			}
			for _, p := range s.Ports {
				got := c.port(p.TargetPort)
				if got == 0 {
					t.Errorf("port %d targets %q, no port of the container", p.Port, p.TargetPort)
				} else if itoa(got) != tc.port {
					t.Errorf("port %d targets container port %d, want %s", p.Port, got, tc.port)
				}
			}
			if tc.port == rf.adminPort && s.Type != "" && s.Type != "ClusterIP" {
				t.Errorf("the admin Service is %s: keep it ClusterIP", s.Type)
			}
		})
	}
}

// TestDisruptionBudget checks the PDB selects the Deployment's pods and
// leaves some serving.
func TestDisruptionBudget(t *testing.T) {
	m, d, _ := stranglerPod(t)
	p := spec[pdbSpec](t, m.get(t, "PodDisruptionBudget", "strangler"))
	if !subset(p.Selector.MatchLabels, d.Template.Metadata.Labels) {
		t.Errorf("PDB selector %v does not match the pods' labels %v", p.Selector.MatchLabels, d.Template.Metadata.Labels)
	}
	if d.Replicas == nil {
		t.Fatal("Deployment strangler: replicas unset")
	}
	if err := budgetKeepsServing(p, *d.Replicas); err != nil {
		t.Error(err)
	}
}

// budgetKeepsServing wants a budget that lets a drain proceed and keeps
// at least one replica.
func budgetKeepsServing(p pdbSpec, replicas int) error {
	switch {
	case p.MaxUnavailable != nil && p.MinAvailable == nil:
		n, err := strconv.Atoi(string(*p.MaxUnavailable))
		if err != nil || n < 1 || n >= replicas {
			return fmt.Errorf("maxUnavailable %q: want a number from 1 to %d", *p.MaxUnavailable, replicas-1)
		}
	case p.MinAvailable != nil && p.MaxUnavailable == nil:
		n, err := strconv.Atoi(string(*p.MinAvailable))
		if err != nil || n < 1 || n >= replicas {
			return fmt.Errorf("minAvailable %q: want a number from 1 to %d", *p.MinAvailable, replicas-1)
		}
	default:
		return fmt.Errorf("want exactly one of minAvailable and maxUnavailable")
	}
	return nil
}

// TestEtcd checks the etcd StatefulSet: three members whose names, peer
// and client URLs agree with --initial-cluster, the headless Service, the
// container ports and the route file's endpoints.
func TestEtcd(t *testing.T) {
	m := loadManifests(t)
	rf := loadRouteFile(t)
	sts := m.get(t, "StatefulSet", "etcd")
	s := spec[statefulSetSpec](t, sts)
	svc := spec[serviceSpec](t, m.get(t, "Service", s.ServiceName))
	if s.Replicas == nil || *s.Replicas != 3 {
		t.Fatalf("etcd replicas %s, want 3", intPtr(s.Replicas))
	}
	if svc.ClusterIP != "None" || !svc.PublishNotReadyAddresses {
		t.Errorf("Service %s: want headless (clusterIP: None) with publishNotReadyAddresses, so members find each other while they bootstrap", s.ServiceName)
	}
	if s.PodManagementPolicy != "Parallel" {
		t.Errorf("podManagementPolicy %q: a static bootstrap needs every member up at once (Parallel)", s.PodManagementPolicy)
	}
	if !subset(svc.Selector, s.Template.Metadata.Labels) || !subset(s.Selector.MatchLabels, s.Template.Metadata.Labels) {
		t.Errorf("selectors %v / %v do not match the etcd pods' labels %v", svc.Selector, s.Selector.MatchLabels, s.Template.Metadata.Labels)
	}
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("etcd: want one container")
	}
	c := s.Template.Spec.Containers[0]
	if err := checkSecurity(s.Template.Spec.SecurityContext, c.SecurityContext); err != nil {
		t.Error(err)
	}
	flags := etcdFlags(c.Args)
	ns := sts.Metadata.Namespace
	host := func(member string) string { return member + "." + s.ServiceName + "." + ns + ".svc.cluster.local" }

	peer := c.port("peer")
	client := c.port("client")
	for _, tc := range []struct {
		flag string
		port int
	}{
		{"listen-peer-urls", peer},
		{"initial-advertise-peer-urls", peer},
		{"listen-client-urls", client},
		{"advertise-client-urls", client},
	} {
		u, err := url.Parse(flags[tc.flag])
		if err != nil || u.Port() != itoa(tc.port) || tc.port == 0 {
			t.Errorf("--%s=%s: want port %d (the container's port)", tc.flag, flags[tc.flag], tc.port)
		}
	}
	for _, p := range svc.Ports {
		if c.port(p.TargetPort) == 0 || itoa(p.Port) != itoa(c.port(p.TargetPort)) {
			t.Errorf("Service %s port %d targets %q: want the container port of that number", s.ServiceName, p.Port, p.TargetPort)
		}
	}

	members := strings.Split(flags["initial-cluster"], ",")
	if len(members) != *s.Replicas {
		t.Fatalf("--initial-cluster has %d members, the StatefulSet %d", len(members), *s.Replicas)
	}
	for i, mem := range members {
		name, peerURL, _ := strings.Cut(mem, "=")
		want := sts.Metadata.Name + "-" + itoa(i)
		if name != want {
			t.Errorf("--initial-cluster member %d is %q, want the pod name %q", i, name, want)
		}
		advertised := strings.ReplaceAll(flags["initial-advertise-peer-urls"], "$(POD_NAME)", want)
		if peerURL != advertised || peerURL != "http://"+host(want)+":"+itoa(peer) {
			t.Errorf("--initial-cluster %s=%s: member %s advertises %s; want http://%s:%d", name, peerURL, want, advertised, host(want), peer)
		}
	}
	if flags["name"] != "$(POD_NAME)" || c.env("POD_NAME") == nil {
		t.Errorf("--name=%s: want $(POD_NAME) from the downward API", flags["name"])
	}
	if err := checkDataDir(s, c, flags["data-dir"]); err != nil {
		t.Error(err)
	}

	endpoints := rf.list("state.etcd.endpoints")
	if len(endpoints) != *s.Replicas {
		t.Errorf("state.etcd.endpoints %v: want the %d members", endpoints, *s.Replicas)
	}
	for i, e := range endpoints {
		want := strings.ReplaceAll(flags["advertise-client-urls"], "$(POD_NAME)", sts.Metadata.Name+"-"+itoa(i))
		if e != want {
			t.Errorf("state.etcd.endpoints[%d] %s: member %d advertises %s", i, e, i, want)
		}
	}
}

// etcdFlags maps --flag=value arguments.
func etcdFlags(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		out[k] = v
	}
	return out
}

// checkDataDir wants etcd's data on a volume claimed per member.
func checkDataDir(s statefulSetSpec, c container, dir string) error {
	for _, vm := range c.VolumeMounts {
		if dir != vm.MountPath && !strings.HasPrefix(dir, vm.MountPath+"/") {
			continue
		}
		for _, claim := range s.VolumeClaimTemplates {
			if claim.Metadata.Name == vm.Name {
				if claim.Spec.Resources.Requests["storage"] == "" {
					return fmt.Errorf("volume claim %s requests no storage", vm.Name)
				}
				return nil
			}
		}
		return fmt.Errorf("--data-dir %s is on volume %s, not a volumeClaimTemplate: data would not survive a restart", dir, vm.Name)
	}
	return fmt.Errorf("--data-dir %s is on no volume mount", dir)
}

// TestEtcdNetworkPolicy checks that the etcd NetworkPolicy selects the etcd
// pods, admits strangler's pods and the members to the client port, the
// members only to the peer port, and nobody else.
func TestEtcdNetworkPolicy(t *testing.T) {
	m, d, _ := stranglerPod(t)
	s := spec[statefulSetSpec](t, m.get(t, "StatefulSet", "etcd"))
	p := spec[networkPolicySpec](t, m.get(t, "NetworkPolicy", "etcd"))
	etcd := s.Template.Metadata.Labels
	c := s.Template.Spec.Containers[0]
	if !subset(p.PodSelector.MatchLabels, etcd) {
		t.Fatalf("podSelector %v does not select the etcd pods (labels %v)", p.PodSelector.MatchLabels, etcd)
	}
	if !contains(p.PolicyTypes, "Ingress") {
		t.Errorf("policyTypes %v: want Ingress", p.PolicyTypes)
	}
	for _, tc := range []struct {
		who    string
		labels map[string]string
		port   string
		want   bool
	}{
		{"strangler to client", d.Template.Metadata.Labels, "client", true},
		{"members to client", etcd, "client", true},
		{"members to peer", etcd, "peer", true},
		{"strangler to peer", d.Template.Metadata.Labels, "peer", false},
		{"other pods to client", map[string]string{"app": "other"}, "client", false},
	} {
		t.Run(tc.who, func(t *testing.T) {
			admitted, open := p.admits(c, c.port(intOrName(tc.port)), tc.labels)
			if open {
				t.Errorf("a rule opens the %s port beyond the pods it names", tc.port)
			}
			if admitted != tc.want {
				t.Errorf("pods %v to the %s port: admitted %v, want %v", tc.labels, tc.port, admitted, tc.want)
			}
		})
	}
}
