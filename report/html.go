package report

import (
	"html/template"
	"io"
	"time"
)

// WriteHTML writes r as one self-contained HTML page: inline CSS, no
// scripts, no external requests. html/template escapes every value.
func WriteHTML(w io.Writer, r Report) error {
	return pageTemplate.Execute(w, r)
}

// pageTemplate renders a Report.
var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"percent":   percent,
	"errors":    errorText,
	"latency":   latencyText,
	"shadow":    shadowText,
	"time":      timeText,
	"shorten":   shorten,
	"yesNo":     yesNo,
	"orDash":    orDash,
	"rfc3339":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"rateClass": rateClass,
}).Parse(pageHTML))

// goodMatchRate is the match rate the HTML page shows in green.
const goodMatchRate = 0.99

// rateClass is the CSS class of a match rate: muted when nothing was
// compared, good from goodMatchRate, bad below.
func rateClass(rate float64, compared uint64) string {
	switch {
	case compared == 0:
		return "muted"
	case rate >= goodMatchRate:
		return "good"
	}
	return "bad"
}

// pageHTML is the page; the style keeps it readable printed or on screen.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shadow comparison report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1f24; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
h3 { font-size: 1rem; margin-top: 1.2rem; }
table { border-collapse: collapse; margin: .5rem 0; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, monospace; font-size: .9em; word-break: break-all; }
.muted { color: #59636e; }
.good { color: #1a7f37; font-weight: 600; }
.bad { color: #cf222e; font-weight: 600; }
table.metrics { width: auto; }
tr.context pre { margin: 0; white-space: pre-wrap; word-break: break-all; font-size: .85em; max-height: 12rem; overflow: auto; }
</style>
</head>
<body>
<h1>Shadow comparison report</h1>
<p class="muted">Generated {{rfc3339 .GeneratedAt}}</p>
<p>Overall: {{.Overall.Compared}} compared, match rate
<span class="{{rateClass .Overall.MatchRate .Overall.Compared}}">{{percent .Overall.MatchRate .Overall.Compared}}</span>
(equal {{.Overall.Equal}}, noise-only {{.Overall.NoiseOnly}}, different {{.Overall.Different}}).</p>
{{range .Routes}}
<h2>Route <code>{{.Route}}</code></h2>
<table class="metrics">
<tr><th>Stage</th><td>{{orDash .Stage}}</td></tr>
<tr><th>Records</th><td class="num">{{.Records}}</td></tr>
<tr><th>Compared</th><td class="num">{{.Compared}}</td></tr>
<tr><th>Match rate</th><td class="num"><span class="{{rateClass .MatchRate .Compared}}">{{percent .MatchRate .Compared}}</span></td></tr>
<tr><th>Equal / noise-only / different</th><td class="num">{{.Equal}} / {{.NoiseOnly}} / {{.Different}}</td></tr>
<tr><th>Diff errors</th><td class="num">{{.DiffErrors}}</td></tr>
<tr><th>Legacy errors</th><td>{{errors .LegacyErrors}}</td></tr>
<tr><th>Service errors</th><td>{{errors .ServiceErrors}}</td></tr>
<tr><th>Legacy latency p50 / p99</th><td>{{latency .LegacyLatency}}</td></tr>
<tr><th>Service latency p50 / p99</th><td>{{latency .ServiceLatency}}</td></tr>
<tr><th>First seen</th><td>{{time .FirstSeen}}</td></tr>
<tr><th>Last seen</th><td>{{time .LastSeen}}</td></tr>
</table>
<h3>Top differing paths</h3>
{{if .TopPaths}}<table>
<tr><th>Path</th><th>Kind</th><th>Count</th><th>Noise</th><th>Legacy</th><th>Service</th><th>Result</th></tr>
{{range .TopPaths}}<tr><td><code>{{.Path}}</code></td><td>{{.Kind}}</td><td class="num">{{.Count}}</td><td>{{yesNo .Noise}}</td><td><code>{{shorten .Example.Legacy}}</code></td><td><code>{{shorten .Example.Service}}</code></td><td class="num">{{.Example.ResultID}}</td></tr>
{{with .Example.Excerpt}}<tr class="context"><td colspan="3" class="muted">in context</td><td colspan="2"><pre>{{.Legacy}}</pre></td><td colspan="2"><pre>{{.Service}}</pre></td></tr>
{{end}}{{end}}</table>{{else}}<p class="muted">None.</p>{{end}}
<h3>Learned noise</h3>
{{if .Noise}}<table>
<tr><th>Path</th><th>Count</th></tr>
{{range .Noise}}<tr><td><code>{{.Path}}</code></td><td class="num">{{.Count}}</td></tr>
{{end}}</table>{{else}}<p class="muted">None.</p>{{end}}
<h3>Shadow traffic</h3>
<p>{{shadow .Shadow}}</p>
{{else}}
<p class="muted">No routes.</p>
{{end}}
</body>
</html>
`
