package config

import (
	"net"
	"net/url"
	"strconv"
)

// validateTracing checks the tracing block, naming the field at fault.
// It is checked when tracing is off too, so a typo shows before the day
// it is switched on.
func (c *Config) validateTracing(v *validator) {
	t := c.Tracing
	if t.Protocol != "" && t.Protocol != TracingGRPC && t.Protocol != TracingHTTP {
		v.add("tracing.protocol", "unknown protocol %q: want grpc or http", t.Protocol)
	}
	if r := t.Ratio(); r < 0 || r > 1 || r != r {
		v.add("tracing.sample_ratio", "must be between 0 and 1, got %g", r)
	}
	if t.Endpoint != "" {
		if err := checkTracingEndpoint(t.Endpoint); err != "" {
			v.add("tracing.endpoint", "%q %s", t.Endpoint, err)
		}
	}
	for name, env := range t.HeadersEnv {
		if !tokenRe.MatchString(name) {
			v.add("tracing.headers_env", "%q is not a valid header name", name)
		}
		if !envRe.MatchString(env) {
			v.add("tracing.headers_env."+name, "%q is not a valid environment variable name", env)
		}
	}
	if (t.TLS.Cert == "") != (t.TLS.Key == "") {
		v.add("tracing.tls", "cert and key go together: set both or neither")
	}
	if t.Insecure && t.TLS != (TLSFiles{}) {
		v.add("tracing.insecure", "contradicts tracing.tls: plain text carries no certificates")
	}
	if t.Timeout < 0 {
		v.add("tracing.timeout", "must not be negative, got %s", t.Timeout)
	}
	if t.QueueSize < 1 || t.QueueSize > 1<<20 {
		v.add("tracing.queue_size", "must be between 1 and 1048576, got %d", t.QueueSize)
	}
	if t.BatchSize < 1 || t.BatchSize > t.QueueSize {
		v.add("tracing.batch_size", "must be between 1 and tracing.queue_size (%d), got %d", t.QueueSize, t.BatchSize)
	}
}

// checkTracingEndpoint accepts an http(s) URL with a host, or host:port;
// it returns what is wrong, or "".
func checkTracingEndpoint(ep string) string {
	if u, err := url.Parse(ep); err == nil && u.Scheme != "" && u.Host != "" {
		if u.Scheme != "http" && u.Scheme != "https" {
			return "must be an http or https URL, or host:port"
		}
		return ""
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" {
		return "is neither an http(s) URL nor host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "has a port that is not a number from 1 to 65535"
	}
	return ""
}
