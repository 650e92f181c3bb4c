// Package deploy holds strangler's deploy recipes (Kubernetes manifests,
// a Dockerfile, a systemd unit) and, in its tests, the checks that keep
// them consistent with the route file they ship and with the binary:
// ports, probes, drain timing, security settings and the CLI they call.
// There is no Go API here.
package deploy
