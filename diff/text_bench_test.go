package diff

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
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
// most 12 times the allocations and allocated bytes, for text and XML.
// These do not depend on the machine's load; the time ratio is a
// benchmark figure (BenchmarkCompareText*, BenchmarkCompareXML*), never
// asserted in a test.
func TestTextAndXMLCostNearLinear(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("cost measure: not under the race detector or -short")
	}
	for _, tc := range []struct {
		kind string
		ct   string
		pair func(int) ([]byte, []byte)
	}{
		{"text", "text/plain", textPair},
		{"xml", "application/xml", xmlPair},
	} {
		cost := func(size int) (allocs float64, bytes uint64) {
			l, s := tc.pair(size)
			legacy, service := resp(string(l), "Content-Type", tc.ct), resp(string(s), "Content-Type", tc.ct)
			allocs = testing.AllocsPerRun(2, func() { Compare(legacy, service, nil) })
			return allocs, allocatedBy(func() { Compare(legacy, service, nil) })
		}
		sa, sb := cost(16 << 10)
		la, lb := cost(160 << 10)
		ra, rb := la/sa, float64(lb)/float64(sb)
		t.Logf("%s: 16 KB → 160 KB: allocations %.1fx, bytes %.1fx", tc.kind, ra, rb)
		if ra > 12 || rb > 12 {
			t.Errorf("%s: ten times the body costs %.1fx the allocations and %.1fx the bytes, over 12", tc.kind, ra, rb)
		}
	}
}

// allocatedBy is the bytes f allocates (the least of three runs).
func allocatedBy(f func()) uint64 {
	var least uint64
	for i := range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; i == 0 || n < least {
			least = n
		}
	}
	return least
}
