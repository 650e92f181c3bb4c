package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Access log formats ReadLog understands.
const (
	FormatAuto     = "auto"     // detected from the first line
	FormatCombined = "combined" // nginx/Apache combined; common is read by the same parser
	FormatCommon   = "common"
	FormatJSON     = "json" // one JSON object per line
)

// maxLineBytes bounds one log line; longer lines are skipped and counted.
const maxLineBytes = 64 << 10

// progressEvery is how many bytes pass between progress calls.
const progressEvery = 1 << 20

// LogStats tells what ReadLog read.
type LogStats struct {
	Format  string `json:"format"`
	Lines   int64  `json:"lines"`
	Parsed  int64  `json:"parsed"`
	Skipped int64  `json:"skipped"` // blank, malformed or too long
	Bytes   int64  `json:"bytes"`
	// FirstBad is the first line that could not be read, for the error
	// message of a file in an unexpected format.
	FirstBad string `json:"first_bad,omitempty"`
}

// ReadLog streams an access log into a new Inventory. format is auto,
// combined, common or json; progress (may be nil) is called with the bytes
// read so far about every MiB and at the end. Memory stays bounded by the
// inventory's bound and one line buffer, whatever the log's size.
func ReadLog(r io.Reader, format string, progress func(bytes int64)) (*Inventory, LogStats, error) {
	inv := New(Options{})
	st, err := inv.ReadLog(r, format, progress)
	return inv, st, err
}

// ReadLog streams an access log into inv (see the package function).
func (inv *Inventory) ReadLog(r io.Reader, format string, progress func(bytes int64)) (LogStats, error) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	st := LogStats{Format: format}
	if format == "" || format == FormatAuto {
		head, _ := br.Peek(4096)
		st.Format = detectFormat(head)
	}
	parse, err := parserFor(st.Format)
	if err != nil {
		return st, err
	}
	var cache timeCache
	var next int64 = progressEvery
	for {
		line, err := br.ReadSlice('\n')
		st.Bytes += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			st.Lines++
			st.Skipped++
			st.Bytes += discardLine(br)
			continue
		}
		if len(line) > 0 {
			st.Lines++
			inv.readLine(line, parse, &cache, &st)
		}
		if progress != nil && st.Bytes >= next {
			progress(st.Bytes)
			next = st.Bytes + progressEvery
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("reading access log after %d lines: %w", st.Lines, err)
		}
	}
	if progress != nil {
		progress(st.Bytes)
	}
	return st, nil
}

func (inv *Inventory) readLine(line []byte, parse lineParser, cache *timeCache, st *LogStats) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		st.Skipped++
		return
	}
	s, ok := parse(line, cache)
	if !ok {
		st.Skipped++
		if st.FirstBad == "" {
			st.FirstBad = string(line[:min(len(line), 200)])
		}
		return
	}
	st.Parsed++
	inv.Observe(s)
}

// discardLine skips the rest of an over-long line, returning its bytes.
func discardLine(br *bufio.Reader) int64 {
	var n int64
	for {
		b, err := br.ReadSlice('\n')
		n += int64(len(b))
		if !errors.Is(err, bufio.ErrBufferFull) {
			return n
		}
	}
}

// detectFormat looks at the first non-blank line.
func detectFormat(head []byte) string {
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 0 && head[0] == '{' {
		return FormatJSON
	}
	return FormatCombined
}

type lineParser func(line []byte, cache *timeCache) (Sample, bool)

func parserFor(format string) (lineParser, error) {
	switch format {
	case FormatCombined, FormatCommon:
		return parseCombined, nil
	case FormatJSON:
		return parseJSON, nil
	}
	return nil, fmt.Errorf("access log format %q: want auto, combined, common or json", format)
}

// timeCache remembers the last parsed timestamp: log lines share seconds.
type timeCache struct {
	raw []byte
	t   time.Time
}

const clfTime = "02/Jan/2006:15:04:05 -0700"

func (c *timeCache) parse(raw []byte, layout string) time.Time {
	if bytes.Equal(raw, c.raw) {
		return c.t
	}
	t, err := time.Parse(layout, string(raw))
	if err != nil {
		return time.Time{}
	}
	c.raw = append(c.raw[:0], raw...)
	c.t = t
	return t
}

// parseCombined reads the common and combined log formats:
//
//	host ident user [time] "METHOD target PROTO" status bytes ["referer" "agent"] [request_time]
//
// A trailing number after the last quoted field is the request time: with
// a decimal point in seconds (nginx $request_time, also as rt=0.123), as an
// integer in microseconds (Apache %D).
func parseCombined(line []byte, cache *timeCache) (Sample, bool) {
	s := Sample{Latency: -1, Bytes: -1}
	lb, rb := bytes.IndexByte(line, '['), bytes.IndexByte(line, ']')
	if lb < 0 || rb < lb {
		return s, false
	}
	s.Time = cache.parse(line[lb+1:rb], clfTime)
	rest := line[rb+1:]
	q1 := bytes.IndexByte(rest, '"')
	if q1 < 0 {
		return s, false
	}
	q2 := bytes.IndexByte(rest[q1+1:], '"')
	if q2 < 0 {
		return s, false
	}
	req := rest[q1+1 : q1+1+q2]
	method, target, ok := splitRequest(req)
	if !ok {
		return s, false
	}
	s.Method, s.Path = method, target
	fields := bytes.Fields(rest[q1+2+q2:])
	if len(fields) < 1 {
		return s, false
	}
	st, err := strconv.Atoi(string(fields[0]))
	if err != nil {
		return s, false
	}
	s.Status = st
	if len(fields) > 1 {
		if n, err := strconv.ParseInt(string(fields[1]), 10, 64); err == nil {
			s.Bytes = n
		}
	}
	s.Latency = trailingLatency(line)
	return s, true
}

// splitRequest splits "GET /path HTTP/1.1" into method and path.
func splitRequest(req []byte) (method, path string, ok bool) {
	sp := bytes.IndexByte(req, ' ')
	if sp <= 0 {
		return "", "", false
	}
	target := req[sp+1:]
	if sp2 := bytes.LastIndexByte(target, ' '); sp2 >= 0 {
		target = target[:sp2]
	}
	if len(target) == 0 {
		return "", "", false
	}
	return internMethod(string(req[:sp])), targetPath(string(target)), true
}

// targetPath reduces a request target to its path: an absolute URL loses
// its scheme and host, the query is dropped.
func targetPath(t string) string {
	if i := strings.Index(t, "://"); i >= 0 && i < 10 {
		t = t[i+3:]
		if j := strings.IndexByte(t, '/'); j >= 0 {
			t = t[j:]
		} else {
			t = "/"
		}
	}
	return trimQuery(t)
}

// trailingLatency reads a request time after the last quoted field.
func trailingLatency(line []byte) time.Duration {
	q := bytes.LastIndexByte(line, '"')
	tail := bytes.TrimSpace(line[q+1:])
	if q < 0 || len(tail) == 0 {
		return -1
	}
	if sp := bytes.LastIndexByte(tail, ' '); sp >= 0 {
		tail = tail[sp+1:]
	}
	if i := bytes.IndexByte(tail, '='); i >= 0 {
		tail = tail[i+1:]
	}
	f, err := strconv.ParseFloat(string(tail), 64)
	if err != nil || f < 0 {
		return -1
	}
	if bytes.IndexByte(tail, '.') >= 0 {
		return time.Duration(f * float64(time.Second))
	}
	return time.Duration(f) * time.Microsecond
}

// jsonLine lists the JSON field names read, by meaning.
type jsonLine struct {
	Method        string          `json:"method"`
	RequestMethod string          `json:"request_method"`
	Verb          string          `json:"verb"`
	Path          string          `json:"path"`
	URI           string          `json:"uri"`
	RequestURI    string          `json:"request_uri"`
	URL           string          `json:"url"`
	Request       string          `json:"request"`
	Status        json.RawMessage `json:"status"`
	StatusCode    json.RawMessage `json:"status_code"`
	Bytes         json.RawMessage `json:"bytes"`
	BodyBytes     json.RawMessage `json:"body_bytes_sent"`
	BytesSent     json.RawMessage `json:"bytes_sent"`
	Size          json.RawMessage `json:"size"`
	RequestTime   json.RawMessage `json:"request_time"`
	Duration      json.RawMessage `json:"duration"`
	Latency       json.RawMessage `json:"latency"`
	ResponseTime  json.RawMessage `json:"response_time"`
	DurationMS    json.RawMessage `json:"duration_ms"`
	LatencyMS     json.RawMessage `json:"latency_ms"`
	Time          json.RawMessage `json:"time"`
	Timestamp     json.RawMessage `json:"timestamp"`
	TimeISO       string          `json:"time_iso8601"`
	TimeLocal     string          `json:"time_local"`
	ContentType   string          `json:"content_type"`
	SentCT        string          `json:"sent_http_content_type"`
	Route         string          `json:"route"`
	Stage         string          `json:"stage"`
	ServedBy      string          `json:"served_by"`
}

// parseJSON reads one JSON object per line (field names: see jsonLine and
// docs/planning.md).
func parseJSON(line []byte, cache *timeCache) (Sample, bool) {
	s := Sample{Latency: -1, Bytes: -1}
	var j jsonLine
	if json.Unmarshal(line, &j) != nil {
		return s, false
	}
	s.Method = internMethod(strings.ToUpper(first(j.Method, j.RequestMethod, j.Verb)))
	path := first(j.Path, j.RequestURI, j.URI, j.URL)
	if path == "" && j.Request != "" {
		m, p, ok := splitRequest([]byte(j.Request))
		if ok {
			path = p
			if s.Method == "" {
				s.Method = m
			}
		}
	}
	if s.Method == "" || path == "" {
		return s, false
	}
	s.Path = targetPath(path)
	st, ok := jsonInt(firstRaw(j.Status, j.StatusCode))
	if !ok {
		return s, false
	}
	s.Status = int(st)
	if n, ok := jsonInt(firstRaw(j.Bytes, j.BodyBytes, j.BytesSent, j.Size)); ok {
		s.Bytes = n
	}
	s.Latency = jsonLatency(&j)
	s.Time = jsonTime(&j, cache)
	s.ContentType = first(j.ContentType, j.SentCT)
	s.Route, s.Stage = j.Route, j.Stage
	s.Service = j.ServedBy != "" && j.ServedBy != "legacy"
	return s, true
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstRaw(vals ...json.RawMessage) json.RawMessage {
	for _, v := range vals {
		if len(v) > 0 && string(v) != "null" {
			return v
		}
	}
	return nil
}

// jsonInt reads a number or a string holding one ("-" is unknown).
func jsonInt(raw json.RawMessage) (int64, bool) {
	s := strings.Trim(string(raw), `"`)
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		return int64(f), ferr == nil
	}
	return n, true
}

// jsonLatency: *_ms fields are milliseconds; request_time, duration,
// latency and response_time are seconds as a number, or a duration string
// with a unit ("12ms").
func jsonLatency(j *jsonLine) time.Duration {
	if raw := firstRaw(j.DurationMS, j.LatencyMS); raw != nil {
		if f, err := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Millisecond))
		}
	}
	raw := firstRaw(j.RequestTime, j.Duration, j.Latency, j.ResponseTime)
	if raw == nil {
		return -1
	}
	s := strings.Trim(string(raw), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second))
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d
	}
	return -1
}

func jsonTime(j *jsonLine, cache *timeCache) time.Time {
	if raw := firstRaw(j.Time, j.Timestamp); raw != nil {
		if raw[0] != '"' {
			return unixTime(string(raw))
		}
		return cache.parse(bytes.Trim(raw, `"`), time.RFC3339Nano)
	}
	if j.TimeISO != "" {
		return cache.parse([]byte(j.TimeISO), time.RFC3339Nano)
	}
	if j.TimeLocal != "" {
		return cache.parse([]byte(j.TimeLocal), clfTime)
	}
	return time.Time{}
}

// unixTime reads a Unix time in seconds, or milliseconds when it is too
// large to be seconds.
func unixTime(s string) time.Time {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}
	}
	if f > 1e11 {
		return time.UnixMilli(int64(f))
	}
	return time.Unix(0, int64(f*1e9))
}
