package deploy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Kubernetes objects below model only the fields these tests check;
// the rest of each manifest is decoded and ignored.

type object struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   meta              `yaml:"metadata"`
	Spec       yaml.Node         `yaml:"spec"`
	Data       map[string]string `yaml:"data"`
	file       string
}

type meta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type deploymentSpec struct {
	Replicas *int          `yaml:"replicas"`
	Selector labelSelector `yaml:"selector"`
	Template podTemplate   `yaml:"template"`
}

type statefulSetSpec struct {
	Replicas             *int          `yaml:"replicas"`
	ServiceName          string        `yaml:"serviceName"`
	PodManagementPolicy  string        `yaml:"podManagementPolicy"`
	Selector             labelSelector `yaml:"selector"`
	Template             podTemplate   `yaml:"template"`
	VolumeClaimTemplates []struct {
		Metadata meta `yaml:"metadata"`
		Spec     struct {
			Resources resources `yaml:"resources"`
		} `yaml:"spec"`
	} `yaml:"volumeClaimTemplates"`
}

type podTemplate struct {
	Metadata meta    `yaml:"metadata"`
	Spec     podSpec `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               securityContext `yaml:"securityContext"`
	Containers                    []container     `yaml:"containers"`
	Volumes                       []volume        `yaml:"volumes"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	EmptyDir *struct{} `yaml:"emptyDir"`
}

type container struct {
	Name            string           `yaml:"name"`
	Image           string           `yaml:"image"`
	Command         []string         `yaml:"command"`
	Args            []string         `yaml:"args"`
	Ports           []containerPort  `yaml:"ports"`
	Env             []envVar         `yaml:"env"`
	ReadinessProbe  *probe           `yaml:"readinessProbe"`
	LivenessProbe   *probe           `yaml:"livenessProbe"`
	StartupProbe    *probe           `yaml:"startupProbe"`
	Lifecycle       *lifecycle       `yaml:"lifecycle"`
	Resources       resources        `yaml:"resources"`
	SecurityContext *securityContext `yaml:"securityContext"`
	VolumeMounts    []volumeMount    `yaml:"volumeMounts"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type probe struct {
	HTTPGet *struct {
		Path string    `yaml:"path"`
		Port intOrName `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port intOrName `yaml:"port"`
	} `yaml:"tcpSocket"`
}

type lifecycle struct {
	PreStop *struct {
		Sleep *struct {
			Seconds int `yaml:"seconds"`
		} `yaml:"sleep"`
		Exec *struct {
			Command []string `yaml:"command"`
		} `yaml:"exec"`
	} `yaml:"preStop"`
}

type resources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Privileged               *bool `yaml:"privileged"`
	Capabilities             *struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	SubPath   string `yaml:"subPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type serviceSpec struct {
	Type                     string            `yaml:"type"`
	ClusterIP                string            `yaml:"clusterIP"`
	PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
	Selector                 map[string]string `yaml:"selector"`
	Ports                    []struct {
		Name       string    `yaml:"name"`
		Port       int       `yaml:"port"`
		TargetPort intOrName `yaml:"targetPort"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MinAvailable   *intOrName    `yaml:"minAvailable"`
	MaxUnavailable *intOrName    `yaml:"maxUnavailable"`
	Selector       labelSelector `yaml:"selector"`
}

// intOrName is a Kubernetes IntOrString: a port number or a port name.
type intOrName string

// UnmarshalYAML takes the scalar as written.
func (p *intOrName) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a name", n.Line)
	}
	*p = intOrName(n.Value)
	return nil
}

// manifests is every object under kubernetes/, by kind and name.
type manifests struct {
	objects []object
}

// loadManifests decodes every document of every YAML file under
// kubernetes/.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	var files []string
	err := filepath.WalkDir("kubernetes", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("listing deploy/kubernetes: %v", err)
	}
	sort.Strings(files)
	m := &manifests{}
	for _, f := range files {
		objs, err := decodeFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m.objects = append(m.objects, objs...)
	}
	return m
}

// decodeFile decodes each document of a multi-document YAML file.
func decodeFile(path string) ([]object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening manifest: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var out []object
	for i := 0; ; i++ {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if o.Kind == "" || o.APIVersion == "" || o.Metadata.Name == "" {
			return nil, fmt.Errorf("%s: document %d: want apiVersion, kind and metadata.name", path, i)
		}
		o.file = path
		out = append(out, o)
	}
}

// get returns the one object of kind and name.
func (m *manifests) get(t *testing.T, kind, name string) object {
	t.Helper()
	for _, o := range m.objects {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	t.Fatalf("deploy/kubernetes has no %s %q", kind, name)
	return object{}
}

// spec decodes o's spec into v.
func spec[T any](t *testing.T, o object) T {
	t.Helper()
	var v T
	if err := o.Spec.Decode(&v); err != nil {
		t.Fatalf("%s: %s %s: spec: %v", o.file, o.Kind, o.Metadata.Name, err)
	}
	return v
}

// port resolves a probe's or Service's port (number or name) to a
// container port number, or 0 when c has no such port.
func (c container) port(p intOrName) int {
	for _, cp := range c.Ports {
		if string(p) == cp.Name || string(p) == strconv.Itoa(cp.ContainerPort) {
			return cp.ContainerPort
		}
	}
	return 0
}

// env returns the container's variable name, or nil.
func (c container) env(name string) *envVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// quantity parses a Kubernetes memory quantity (512Mi, 1G, 1048576).
func quantity(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("quantity %q: %w", s, err)
			}
			return v * u.mult, nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("quantity %q: %w", s, err)
	}
	return v, nil
}

type networkPolicySpec struct {
	PodSelector labelSelector `yaml:"podSelector"`
	PolicyTypes []string      `yaml:"policyTypes"`
	Ingress     []struct {
		From []struct {
			PodSelector *labelSelector `yaml:"podSelector"`
		} `yaml:"from"`
		Ports []struct {
			Port intOrName `yaml:"port"`
		} `yaml:"ports"`
	} `yaml:"ingress"`
}

// admits reports whether the policy lets pods with labels reach port
// (resolved on c), and whether any ingress rule opens port to everyone.
func (p networkPolicySpec) admits(c container, port int, labels map[string]string) (admitted, open bool) {
	for _, rule := range p.Ingress {
		covers := len(rule.Ports) == 0
		for _, rp := range rule.Ports {
			covers = covers || c.port(rp.Port) == port
		}
		if !covers {
			continue
		}
		if len(rule.From) == 0 {
			return true, true
		}
		for _, f := range rule.From {
			if f.PodSelector == nil {
				open = true // a namespace or IP block: beyond the pods named here
				continue
			}
			if subset(f.PodSelector.MatchLabels, labels) {
				admitted = true
			}
		}
	}
	return admitted, open
}
