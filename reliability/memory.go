package reliability

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// reportMaxBytes is reports.max_bytes in the memory scenarios.
	reportMaxBytes = 16 << 20
	// heapSlack is the stated constant over reports.max_bytes the heap
	// after GC may use: the process itself, pools, metrics, timelines.
	heapSlack = 64 << 20
	// bombRSSLimit bounds the peak RSS while decoding gzip bombs.
	bombRSSLimit = 512 << 20
)

// blob returns n bytes that differ with seed.
func blob(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte((i*7+int(seed))%26)
	}
	return b
}

// storedMemory runs many comparisons of 1 MiB bodies, then gzip bombs
// from the candidate, and reads strangler's heap after GC and its RSS.
func storedMemory(ctx context.Context, e *Env) []Row {
	const name = "stored results memory"
	legacyBody, candBody := blob(1<<20, 1), blob(1<<20, 2)
	n := pick(e, 150, 20000)
	rows := []Row{memoryRun(ctx, e, name, n, func(w http.ResponseWriter) { _, _ = w.Write(legacyBody) },
		func(w http.ResponseWriter) { _, _ = w.Write(candBody) },
		fmt.Sprintf(": heap after GC after %d comparisons of 1 MiB bodies", n))}
	bomb, inflated, err := gzipBomb(900 << 10) // under diff.max_body (1 MiB), so it is captured whole
	if err != nil {
		return append(rows, failed(name, "1", err)...)
	}
	bombs := pick(e, 20, 200)
	rows = append(rows, memoryRun(ctx, e, name, bombs,
		func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(bomb)
		},
		fmt.Sprintf(": heap after GC and peak RSS after %d gzip bombs (%d KiB → %d MiB) from the candidate",
			bombs, len(bomb)>>10, inflated>>20)))
	return rows
}

// gzipBomb returns one gzip member of about wire bytes that inflates to
// about 1,000 times as many zero bytes. It repeats the deflate blocks of 1
// MiB of zeros (byte-aligned by a sync flush; their back references only
// ever point at zeros) and ends with an empty final block. The trailer's
// CRC is not computed: a reader that checks it has inflated everything
// already, which is what the bomb is about.
func gzipBomb(wire int) (bomb []byte, inflated int64, err error) {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, 0, fmt.Errorf("gzip bomb: %w", err)
	}
	if _, err := fw.Write(make([]byte, 1<<20)); err != nil {
		return nil, 0, fmt.Errorf("gzip bomb: %w", err)
	}
	if err := fw.Flush(); err != nil {
		return nil, 0, fmt.Errorf("gzip bomb: %w", err)
	}
	blocks := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := fw.Close(); err != nil {
		return nil, 0, fmt.Errorf("gzip bomb: %w", err)
	}
	final := buf.Bytes()
	n := max(1, wire/len(blocks))
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	out = append(out, bytes.Repeat(blocks, n)...)
	out = append(out, final...)
	inflated = int64(n) << 20
	out = binary.LittleEndian.AppendUint32(out, 0) // CRC-32, not computed
	out = binary.LittleEndian.AppendUint32(out, uint32(inflated))
	return out, inflated, nil
}

// memoryRun mirrors n GETs of a shadow route whose sides answer with
// legacy and candidate, waits for the comparisons, and reads the heap.
func memoryRun(ctx context.Context, e *Env, name string, n int, legacy, candidate func(http.ResponseWriter), what string) Row {
	row := Row{Scenario: name + what, Defect: "1",
		Threshold: fmt.Sprintf("heap ≤ reports.max_bytes %d MiB + %d MiB", reportMaxBytes>>20, heapSlack>>20)}
	l, stopL := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		legacy(w)
	}))
	defer stopL()
	c, stopC := httpBackend(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		candidate(w)
	}))
	defer stopC()
	body := fmt.Sprintf("legacy: {url: %q}\nservices:\n  svc: {url: %q}\nreports: {max_bytes: %d}\nroutes:\n"+
		"  - {name: big, match: {prefix: /big/}, service: svc, stage: shadow}\n", l.URL, c.URL, reportMaxBytes)
	p, err := e.Start("memory", body)
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	defer p.Stop()
	sendBounded(ctx, p.URL()+"/big/", n, 4)
	compared := waitCompared(p, n, 60*time.Second)
	heap, err := heapAfterGC(p)
	if err != nil {
		row.Figure = "could not run: " + err.Error()
		return row
	}
	rss, hwm := procMemory(p.Pid())
	row.Figure = fmt.Sprintf("heap %d MiB after GC, RSS %d MiB, peak RSS %d MiB (%d comparisons counted)", heap>>20, rss>>20, hwm>>20, compared)
	row.Pass = heap <= reportMaxBytes+heapSlack
	if strings.Contains(what, "bomb") {
		row.Threshold += fmt.Sprintf(", peak RSS ≤ %d MiB", bombRSSLimit>>20)
		row.Pass = row.Pass && hwm <= bombRSSLimit
	}
	return row
}

// sendBounded sends n GETs to base+i over conc connections.
func sendBounded(ctx context.Context, base string, n, conc int) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	for range conc {
		wg.Go(func() {
			for i := range jobs {
				resp, err := client.Get(base + strconv.Itoa(i))
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// waitCompared waits until the mirrored copies are accounted for (sent,
// failed, skipped or dropped) or d passes; it returns the count.
func waitCompared(p *Proc, n int, d time.Duration) int {
	deadline := time.Now().Add(d)
	last, stable := -1, 0
	for time.Now().Before(deadline) {
		_, m, err := p.AdminGet("/metrics")
		if err != nil {
			return last
		}
		total := 0
		for _, mm := range regexp.MustCompile(`(?m)^strangler_comparisons_total\{[^}]*\} ([0-9.e+]+)$`).FindAllStringSubmatch(m, -1) {
			v, _ := strconv.ParseFloat(mm[1], 64)
			total += int(v)
		}
		if total >= n {
			return total
		}
		if total == last {
			stable++
			if stable >= 20 { // 2 s without progress: the rest was dropped
				return total
			}
		} else {
			stable = 0
		}
		last = total
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

var heapAllocRe = regexp.MustCompile(`# HeapAlloc = (\d+)`)

// heapAfterGC forces a GC through the admin profiler and reads HeapAlloc.
func heapAfterGC(p *Proc) (int64, error) {
	code, body, err := p.AdminGet("/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	m := heapAllocRe.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		return 0, fmt.Errorf("/debug/pprof/heap answered %d without HeapAlloc: %.200s", code, body)
	}
	return strconv.ParseInt(m[1], 10, 64)
}

// procMemory reads VmRSS and VmHWM (bytes) of pid.
func procMemory(pid int) (rss, hwm int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			hwm = v << 10
		}
	}
	return rss, hwm
}
