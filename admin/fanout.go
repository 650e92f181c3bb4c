package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// Fan-out of the cluster scope (issue 13, Deliver 4): a replica asked for
// scope=cluster asks every other live replica for its local answer.
const (
	// peerTimeout bounds one peer's answer.
	peerTimeout = 2 * time.Second
	// peerConcurrency bounds the peers asked at once.
	peerConcurrency = 4
	// maxPeerBody bounds the body read from one peer.
	maxPeerBody  = 16 << 20
	scopeLocal   = "local"
	scopeCluster = "cluster"
)

// peerTransport carries fan-out requests. Keep-alives are off: fan-out is
// a rare admin read, and no idle connection outlives the request.
var peerTransport = &http.Transport{Proxy: nil, DisableKeepAlives: true,
	ResponseHeaderTimeout: peerTimeout, MaxResponseHeaderBytes: 64 << 10}

// Missing names a replica whose answer is not in a cluster result.
type Missing struct {
	Replica string `json:"replica"`
	Error   string `json:"error"`
}

// peerAnswer is one replica's local answer, or why there is none.
type peerAnswer struct {
	replica string
	body    []byte
	err     error
}

// clusterScope reads the scope parameter: true for cluster.
func clusterScope(r *http.Request) (bool, error) {
	switch sc := r.URL.Query().Get("scope"); sc {
	case "", scopeLocal:
		return false, nil
	case scopeCluster:
		return true, nil
	default:
		return false, &Error{Status: http.StatusBadRequest, Field: "scope", Msg: "scope must be local or cluster, not " + strconv.Quote(sc)}
	}
}

// peers lists the replicas to ask (every live one but self) and self's
// name. With the file backend, or no cluster listing, there are none.
func (s *server) peers(ctx context.Context) (self string, peers []etcdstate.ClusterReplica, err error) {
	if s.Cluster == nil {
		return "local", nil, nil
	}
	v, err := s.Cluster(ctx)
	if errors.Is(err, rollout.ErrUnavailable) {
		return "", nil, &Error{Status: http.StatusServiceUnavailable, Msg: "cannot list the replicas to ask: " + s.unreachable(err)}
	}
	if err != nil {
		return "", nil, fmt.Errorf("listing the replicas to ask: %w", err)
	}
	for _, rep := range v.Replicas {
		if rep.Self {
			self = rep.Name
		} else if v.Backend == etcdstate.BackendEtcd {
			peers = append(peers, rep)
		}
	}
	return self, peers, nil
}

// fanOut GETs path (with query q plus scope=local, so a peer never fans
// out in turn) from every peer, at most peerConcurrency at once, each
// within peerTimeout, forwarding the caller's Authorization header.
func (s *server) fanOut(r *http.Request, peers []etcdstate.ClusterReplica, path string, q url.Values) []peerAnswer {
	q.Set("scope", scopeLocal)
	out := make([]peerAnswer, len(peers))
	sem := make(chan struct{}, peerConcurrency)
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			body, err := s.askPeer(r, p.Advertise, path+"?"+q.Encode())
			if err != nil {
				s.Log.Warn().Str("replica", p.Name).Str("path", path).Err(err).Msg("cluster scope: a replica did not answer")
			}
			out[i] = peerAnswer{replica: p.Name, body: body, err: err}
		})
	}
	wg.Wait()
	return out
}

// askPeer GETs pathQuery from the replica whose admin URL is base.
func (s *server) askPeer(r *http.Request, base, pathQuery string) ([]byte, error) {
	if base == "" {
		return nil, errors.New("it advertises no admin URL (replica.advertise)")
	}
	ctx, cancel := context.WithTimeout(r.Context(), peerTimeout)
	defer cancel()
	target := strings.TrimSuffix(base, "/") + pathQuery
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := peerTransport.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", target, err)
	}
	if len(body) > maxPeerBody {
		return nil, fmt.Errorf("GET %s: the answer exceeds %d bytes", target, maxPeerBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", target, resp.Status, peerError(body))
	}
	return body, nil
}

// peerError is the message of a peer's JSON error body, or its start.
func peerError(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return string(body[:min(len(body), 200)])
}

// decodeAnswers decodes each answered body into a T; a body that does not
// decode makes its replica missing.
func decodeAnswers[T any](answers []peerAnswer) (got map[string]T, missing []Missing) {
	got = map[string]T{}
	missing = []Missing{}
	for _, a := range answers {
		var v T
		err := a.err
		if err == nil {
			if derr := json.Unmarshal(a.body, &v); derr != nil {
				err = fmt.Errorf("decoding its answer: %w", derr)
			}
		}
		if err != nil {
			missing = append(missing, Missing{Replica: a.replica, Error: err.Error()})
			continue
		}
		got[a.replica] = v
	}
	return got, missing
}

// ClusterReport is a report merged over the replicas that answered.
type ClusterReport struct {
	report.Report
	Scope string `json:"scope"`
	// Replicas answered and are summed in the report (self first).
	Replicas []string `json:"replicas"`
	// Missing did not answer: their comparisons are not in the report.
	Missing []Missing `json:"missing"`
}

// clusterReport builds the report over the cluster.
func (s *server) clusterReport(r *http.Request) (ClusterReport, error) {
	self, peers, err := s.peers(r.Context())
	if err != nil {
		return ClusterReport{}, err
	}
	answers := s.fanOut(r, peers, "/admin/report", url.Values{"format": {"json"}})
	got, missing := decodeAnswers[report.Report](answers)
	rep := s.buildReport()
	names := []string{self}
	for _, p := range peers {
		if pr, ok := got[p.Name]; ok {
			rep = mergeReports(rep, pr)
			names = append(names, p.Name)
		}
	}
	return ClusterReport{Report: rep, Scope: scopeCluster, Replicas: names, Missing: missing}, nil
}

// mergeReports adds b's routes into a: counts summed per route, top paths
// summed per path and kind, noise summed per path.
func mergeReports(a, b report.Report) report.Report {
	idx := map[string]int{}
	for i, rr := range a.Routes {
		idx[rr.Route] = i
	}
	for _, rr := range b.Routes {
		i, ok := idx[rr.Route]
		if !ok {
			idx[rr.Route] = len(a.Routes)
			a.Routes = append(a.Routes, rr)
			continue
		}
		a.Routes[i] = mergeRoute(a.Routes[i], rr)
	}
	a.Overall = report.Overall{}
	for _, rr := range a.Routes {
		a.Overall.Compared += rr.Compared
		a.Overall.Equal += rr.Equal
		a.Overall.Different += rr.Different
		a.Overall.NoiseOnly += rr.NoiseOnly
	}
	a.Overall.MatchRate = rate(a.Overall.Equal+a.Overall.NoiseOnly, a.Overall.Compared)
	return a
}

// mergeRoute sums two replicas' reports of one route.
func mergeRoute(a, b report.RouteReport) report.RouteReport {
	a.Stage = cmp.Or(a.Stage, b.Stage)
	a.Records += b.Records
	a.Compared += b.Compared
	a.Equal += b.Equal
	a.Different += b.Different
	a.NoiseOnly += b.NoiseOnly
	a.DiffErrors += b.DiffErrors
	a.MatchRate = rate(a.Equal+a.NoiseOnly, a.Compared)
	a.LegacyErrors = addErrors(a.LegacyErrors, b.LegacyErrors)
	a.ServiceErrors = addErrors(a.ServiceErrors, b.ServiceErrors)
	a.LegacyLatency = mergeLatency(a.LegacyLatency, b.LegacyLatency)
	a.ServiceLatency = mergeLatency(a.ServiceLatency, b.ServiceLatency)
	a.TopPaths = mergePaths(a.TopPaths, b.TopPaths)
	a.Noise = mergeNoise(a.Noise, b.Noise)
	a.Shadow = mergeShadow(a.Shadow, b.Shadow)
	if a.FirstSeen.IsZero() || (!b.FirstSeen.IsZero() && b.FirstSeen.Before(a.FirstSeen)) {
		a.FirstSeen = b.FirstSeen
	}
	if b.LastSeen.After(a.LastSeen) {
		a.LastSeen = b.LastSeen
	}
	return a
}

// rate is matched/compared, 0 when nothing was compared.
func rate(matched, compared uint64) float64 {
	if compared == 0 {
		return 0
	}
	return float64(matched) / float64(compared)
}

func addErrors(a, b report.ErrorCounts) report.ErrorCounts {
	return report.ErrorCounts{Status5xx: a.Status5xx + b.Status5xx, Timeout: a.Timeout + b.Timeout,
		Refused: a.Refused + b.Refused, Other: a.Other + b.Other}
}

// mergeLatency sums the samples; the merged p50 is the sample-weighted
// mean of the replicas' p50s and the p99 the highest p99 (an upper
// bound): replicas publish quantiles, not their histograms.
func mergeLatency(a, b report.Latency) report.Latency {
	n := a.Samples + b.Samples
	if n == 0 {
		return report.Latency{}
	}
	p50 := (a.P50ms*float64(a.Samples) + b.P50ms*float64(b.Samples)) / float64(n)
	return report.Latency{Samples: n, P50ms: float64(int64(p50*1000+0.5)) / 1000, P99ms: max(a.P99ms, b.P99ms)}
}

// topPaths is how many differing paths a merged route lists, as report's.
const topPaths = 20

// mergePaths sums the counts per (path, kind); the example is the one of
// the replica that counted most there.
func mergePaths(a, b []report.PathStat) []report.PathStat {
	out := slices.Clone(a)
	for _, p := range b {
		i := slices.IndexFunc(out, func(o report.PathStat) bool { return o.Path == p.Path && o.Kind == p.Kind })
		if i < 0 {
			out = append(out, p)
			continue
		}
		if p.Count > out[i].Count {
			out[i].Example = p.Example
		}
		out[i].Count += p.Count
		out[i].Noise = out[i].Noise || p.Noise
	}
	slices.SortStableFunc(out, func(x, y report.PathStat) int { return cmp.Compare(y.Count, x.Count) })
	return out[:min(len(out), topPaths)]
}

// mergeNoise sums the learned noise counts per path.
func mergeNoise(a, b []report.NoisePath) []report.NoisePath {
	out := slices.Clone(a)
	for _, n := range b {
		if i := slices.IndexFunc(out, func(o report.NoisePath) bool { return o.Path == n.Path }); i >= 0 {
			out[i].Count += n.Count
		} else {
			out = append(out, n)
		}
	}
	return out
}

func mergeShadow(a, b report.ShadowCounts) report.ShadowCounts {
	return report.ShadowCounts{Sent: a.Sent + b.Sent, Dropped: addMaps(a.Dropped, b.Dropped), Skipped: addMaps(a.Skipped, b.Skipped)}
}

func addMaps(a, b map[string]uint64) map[string]uint64 {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make(map[string]uint64, len(a)+len(b))
	for k, v := range a {
		out[k] += v
	}
	for k, v := range b {
		out[k] += v
	}
	return out
}

// ClusterSummary is a stored comparison and the replica that holds it
// (its id is that replica's: GET /admin/diffs/{id} there).
type ClusterSummary struct {
	report.Summary
	Replica string `json:"replica,omitempty"`
}

// ClusterDiffs lists comparisons of every replica that answered, newest
// first.
type ClusterDiffs struct {
	Diffs    []ClusterSummary `json:"diffs"`
	Scope    string           `json:"scope"`
	Replicas []string         `json:"replicas"`
	Missing  []Missing        `json:"missing"`
}

// clusterDiffs merges the newest limit comparisons over the cluster.
func (s *server) clusterDiffs(r *http.Request, route string, limit int) (ClusterDiffs, error) {
	self, peers, err := s.peers(r.Context())
	if err != nil {
		return ClusterDiffs{}, err
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if route != "" {
		q.Set("route", route)
	}
	got, missing := decodeAnswers[struct {
		Diffs []report.Summary `json:"diffs"`
	}](s.fanOut(r, peers, "/admin/diffs", q))
	out := ClusterDiffs{Diffs: []ClusterSummary{}, Scope: scopeCluster, Replicas: []string{self}, Missing: missing}
	add := func(name string, ds []report.Summary) {
		for _, d := range ds {
			out.Diffs = append(out.Diffs, ClusterSummary{Summary: d, Replica: name})
		}
	}
	add(self, s.Reports.Recent(route, limit))
	for _, p := range peers {
		if a, ok := got[p.Name]; ok {
			add(p.Name, a.Diffs)
			out.Replicas = append(out.Replicas, p.Name)
		}
	}
	slices.SortStableFunc(out.Diffs, func(x, y ClusterSummary) int { return y.Time.Compare(x.Time) })
	out.Diffs = out.Diffs[:min(len(out.Diffs), limit)]
	return out, nil
}
