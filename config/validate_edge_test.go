package config

import (
	"strings"
	"testing"
)

// TestValidateRequestLimits checks the validation of the request-limit
// and path keys: each bad value is reported with its field.
func TestValidateRequestLimits(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // "" : valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"every allowance", func(c *Config) { c.Routes[0].Match.Allow = append([]string(nil), MatchAllowances...) }, ""},
		{"unknown allowance", func(c *Config) { c.Routes[0].Match.Allow = []string{"semicolon", "dots"} }, "routes[0].match.allow[1]"},
		{"negative route body limit", func(c *Config) { c.Routes[0].MaxBodyBytes = -1 }, "routes[0].max_body_bytes"},
		{"negative server body limit", func(c *Config) { c.Server.MaxBodyBytes = -5 }, "server.max_body_bytes"},
		{"negative body timeout", func(c *Config) { c.Server.BodyReadTimeout = -1 }, "server.body_read_timeout"},
		{"negative minimum rate", func(c *Config) { c.Server.BodyMinRate = -1 }, "server.body_min_rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{
				Listen: ":8080", Admin: Admin{Listen: "127.0.0.1:9901", TokenEnv: "T"},
				Server: Server{ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
					MaxHeaderBytes: DefaultMaxHeaderBytes, ShutdownTimeout: DefaultShutdownTimeout},
				Log:    Log{Level: "info", Format: "json"},
				Legacy: Upstream{URL: "http://127.0.0.1:1"},
				Routes: []Route{{Name: "r", Match: Match{Prefix: "/r/"}}},
			}
			tt.edit(c)
			c.SetDefaults()
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if c.Server.MaxBodyBytes != DefaultMaxBodyBytes || c.Server.BodyReadTimeout != DefaultBodyReadTimeout {
					t.Errorf("defaults not applied: %+v", c.Server)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("want a problem at %s, got %v", tt.field, err)
			}
		})
	}
}
