package config

import (
	"strings"
	"testing"
)

func TestValidateTracingRejects(t *testing.T) {
	tests := []struct {
		name, block, field, reason string
	}{
		{"ratio above 1", "  sample_ratio: 1.5\n", "tracing.sample_ratio", "between 0 and 1, got 1.5"},
		{"negative ratio", "  sample_ratio: -0.1\n", "tracing.sample_ratio", "between 0 and 1"},
		{"udp protocol", "  protocol: udp\n", "tracing.protocol", `unknown protocol "udp"`},
		{"endpoint scheme", "  endpoint: ftp://collector:4317\n", "tracing.endpoint", "http or https URL"},
		{"endpoint without port", "  endpoint: collector\n", "tracing.endpoint", "neither"},
		{"endpoint port", "  endpoint: collector:99999\n", "tracing.endpoint", "port"},
		{"header name", "  headers_env:\n    \"bad header\": TOKEN\n", "tracing.headers_env", "not a valid header name"},
		{"header env", "  headers_env:\n    Authorization: \"1X\"\n", "tracing.headers_env.authorization", "environment variable"},
		{"cert without key", "  tls:\n    cert: /c.pem\n", "tracing.tls", "set both"},
		{"insecure with tls", "  insecure: true\n  tls:\n    ca: /ca.pem\n", "tracing.insecure", "contradicts"},
		{"queue", "  queue_size: -1\n", "tracing.queue_size", "between 1"},
		{"batch over queue", "  queue_size: 10\n  batch_size: 20\n", "tracing.batch_size", "tracing.queue_size (10)"},
		{"unknown key", "  sampel_ratio: 0.5\n", "tracing.sampel_ratio", "unknown key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(baseYAML+"tracing:\n"+tc.block), "t.yaml", Source{})
			fe := findProblem(err, tc.field)
			if fe == nil {
				t.Fatalf("no problem on field %q; got: %v", tc.field, err)
			}
			if !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("reason for %s = %q, want it to contain %q", tc.field, fe.Reason, tc.reason)
			}
		})
	}
}

func TestValidateTracingAccepts(t *testing.T) {
	tests := []struct {
		name, block string
		check       func(t *testing.T, tr Tracing)
	}{
		{"off by default", "", func(t *testing.T, tr Tracing) {
			if tr.Enabled || tr.Ratio() != 1 || tr.ServiceName != "strangler" || tr.QueueSize != DefaultTracingQueue {
				t.Errorf("defaults = %+v", tr)
			}
		}},
		{"grpc with ratio 0", "  enabled: true\n  protocol: grpc\n  endpoint: collector:4317\n  insecure: true\n  sample_ratio: 0\n",
			func(t *testing.T, tr Tracing) {
				if !tr.Enabled || tr.Ratio() != 0 || tr.Protocol != TracingGRPC {
					t.Errorf("tracing = %+v", tr)
				}
			}},
		{"http URL with headers", "  enabled: true\n  endpoint: https://otlp.example:4318\n  headers_env:\n    x-api-key: OTLP_KEY\n",
			func(t *testing.T, tr Tracing) {
				if tr.HeadersEnv["x-api-key"] != "OTLP_KEY" {
					t.Errorf("headers_env = %v", tr.HeadersEnv)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			block := ""
			if tc.block != "" {
				block = "tracing:\n" + tc.block
			}
			cfg, err := Parse([]byte(baseYAML+block), "t.yaml", Source{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, cfg.Tracing)
		})
	}
}
