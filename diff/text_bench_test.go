package diff

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// plant writes the units of a legacy body to l and to s, the service's,
// with five of them changed by change and one left out, spread evenly.
func plant(l, s *strings.Builder, units []string, change func(string) string) {
	n := len(units)
	for i, u := range units {
		l.WriteString(u)
		switch {
		case isTenth(i, n):
			s.WriteString(change(u))
		case i == n*6/10:
		default:
			s.WriteString(u)
		}
	}
}

// isTenth reports whether i is the first unit of an odd tenth of n.
func isTenth(i, n int) bool {
	for k := 1; k < 10; k += 2 {
		if i == n*k/10 {
			return true
		}
	}
	return false
}

// textPair is a text body of about size bytes and a copy with five
// lines changed and one removed, spread over it.
func textPair(size int) (legacy, service []byte) {
	var units []string
	for i, n := 0, 0; n < size; i++ {
		units = append(units, fmt.Sprintf("row %06d: sku=SKU-%05d qty=%d price=%d.99\n", i, i, 1+i%3, 10+i%90))
		n += len(units[i])
	}
	var l, s strings.Builder
	plant(&l, &s, units, func(u string) string { return strings.Replace(u, "qty", "QTY", 1) })
	return []byte(l.String()), []byte(s.String())
}

// xmlPair is an XML order of about size bytes and a copy with five
// quantities changed and one item removed, spread over it.
func xmlPair(size int) (legacy, service []byte) {
	var units []string
	for i, n := 0, 0; n < size; i++ {
		units = append(units, fmt.Sprintf("  <item sku=\"SKU-%05d\" qty=\"%d\">\n    <name>Product %d</name>\n    <price currency=\"EUR\">%d.99</price>\n  </item>\n",
			i, 1+i%3, i, 10+i%90))
		n += len(units[i])
	}
	var l, s strings.Builder
	l.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<order xmlns=\"urn:shop\" id=\"42\">\n")
	s.WriteString(`<?xml version="1.0"?>` + "\n<order id=\"42\" xmlns=\"urn:shop\">\n")
	plant(&l, &s, units, func(u string) string { return strings.Replace(u, "qty=\"", "qty=\"9", 1) })
	l.WriteString("</order>\n")
	s.WriteString("</order>\n")
	return []byte(l.String()), []byte(s.String())
}

// benchCompare benchmarks Compare of a pair sent as contentType.
func benchCompare(b *testing.B, contentType string, l, s []byte) {
	legacy, service := resp(string(l), "Content-Type", contentType), resp(string(s), "Content-Type", contentType)
	if res := Compare(legacy, service, nil); res.Verdict != VerdictDifferent || len(res.Differences) != 6 {
		b.Fatalf("verdict %s, %d differences (%+v); want different, 6", res.Verdict, len(res.Differences), res.Differences)
	}
	b.SetBytes(int64(len(l)))
	b.ReportAllocs()
	for b.Loop() {
		Compare(legacy, service, nil)
	}
}

func BenchmarkCompareXML4KB(b *testing.B) {
	l, s := xmlPair(4 << 10)
	benchCompare(b, "application/xml", l, s)
}

func BenchmarkCompareText4KB(b *testing.B) {
	l, s := textPair(4 << 10)
	benchCompare(b, "text/plain", l, s)
}

func BenchmarkCompareScaling(b *testing.B) {
	for _, size := range []int{16 << 10, 160 << 10, 400 << 10} {
		b.Run(fmt.Sprintf("xml-%dKB", size>>10), func(b *testing.B) {
			l, s := xmlPair(size)
			benchCompare(b, "application/xml", l, s)
		})
		b.Run(fmt.Sprintf("text-%dKB", size>>10), func(b *testing.B) {
			l, s := textPair(size)
			benchCompare(b, "text/plain", l, s)
		})
	}
}

// TestTextAndXMLCostNearLinear checks that ten times the body costs at
// most twelve times the time (best of five runs of each size, at sizes
// that fit in cache, so that the ratio measures the algorithm). The
// machine is shared, so a ratio over the bound is measured again, up to
// three times in all: quadratic work would be over it every time.
func TestTextAndXMLCostNearLinear(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("timing says nothing under the race detector or -short")
	}
	for _, tc := range []struct {
		kind string
		ct   string
		pair func(int) ([]byte, []byte)
	}{
		{"text", "text/plain", textPair},
		{"xml", "application/xml", xmlPair},
	} {
		var ratio float64
		for try := 1; try <= 3; try++ {
			small, large := bestNsPerOp(tc.ct, tc.pair, 16<<10), bestNsPerOp(tc.ct, tc.pair, 160<<10)
			ratio = float64(large) / float64(small)
			t.Logf("%s, try %d: 16 KB %d ns/op, 160 KB %d ns/op, ratio %.1f", tc.kind, try, small, large, ratio)
			if ratio <= 12 {
				break
			}
		}
		if ratio > 12 {
			t.Errorf("%s: ten times the body costs %.1f times the time, over 12", tc.kind, ratio)
		}
	}
}

// bestNsPerOp is the best ns/op of five timed rounds of Compare on a
// pair of about size bytes, each round comparing about 2 MB.
func bestNsPerOp(contentType string, pair func(int) ([]byte, []byte), size int) int64 {
	l, s := pair(size)
	legacy, service := resp(string(l), "Content-Type", contentType), resp(string(s), "Content-Type", contentType)
	n := max(1, (2<<20)/size)
	best := int64(-1)
	for range 5 {
		start := time.Now()
		for range n {
			Compare(legacy, service, nil)
		}
		if ns := time.Since(start).Nanoseconds() / int64(n); best < 0 || ns < best {
			best = ns
		}
	}
	return best
}
