package diff

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// orderDoc is a realistic order document with n line items.
func orderDoc(n int) map[string]any {
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{
			"id": 1000 + i, "sku": fmt.Sprintf("SKU-%05d", i), "name": fmt.Sprintf("Product %d", i),
			"qty": 1 + i%3, "unit_price": 9.99 + float64(i), "currency": "EUR",
			"tags":       []any{"new", "promo", fmt.Sprintf("cat-%d", i%7)},
			"attributes": map[string]any{"color": "blue", "size": "M", "weight_g": 250 + i},
			"updated_at": "2024-05-01T10:00:00Z",
		}
	}
	return map[string]any{
		"id": "ord_8f3a2c", "status": "paid", "created_at": "2024-05-01T09:58:12Z",
		"customer": map[string]any{"id": 42, "email": "ann@example.com", "name": "Ann Lee",
			"address": map[string]any{"street": "1 Main St", "city": "Lyon", "zip": "69001", "country": "FR"}},
		"items":    items,
		"shipping": map[string]any{"method": "express", "cost": 4.9, "eta_days": 2},
		"totals":   map[string]any{"subtotal": 123.45, "tax": 24.69, "total": 153.04},
	}
}

// orderPair returns an order document of about size bytes and a copy
// with 5 differences.
func orderPair(tb testing.TB, size int) (legacy, service []byte) {
	n := 1
	for ; ; n++ {
		if b, _ := json.Marshal(orderDoc(n)); len(b) >= size || n > 10000 {
			break
		}
	}
	l, s := orderDoc(n), orderDoc(n)
	s["status"] = "PAID"                              // changed
	s["totals"].(map[string]any)["total"] = "153.04"  // type
	s["shipping"].(map[string]any)["carrier"] = "dhl" // extra
	delete(s["customer"].(map[string]any), "name")    // missing
	last := s["items"].([]any)[n-1].(map[string]any)
	last["unit_price"] = last["unit_price"].(float64) + 1 // changed, deep
	lb, err := json.Marshal(l)
	if err != nil {
		tb.Fatal(err)
	}
	sb, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	return lb, sb
}

func BenchmarkCompare(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 64 << 10} {
		l, s := orderPair(b, size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(l) + len(s)))
			for b.Loop() {
				if r := Compare(js(string(l)), js(string(s)), nil); len(r.Differences) != 5 {
					b.Fatalf("got %d differences: %v", len(r.Differences), r.Differences)
				}
			}
		})
	}
}

func BenchmarkNaiveCmpDiff(b *testing.B) {
	l, s := orderPair(b, 4<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(l) + len(s)))
	for b.Loop() {
		var x, y map[string]any
		if err := json.Unmarshal(l, &x); err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(s, &y); err != nil {
			b.Fatal(err)
		}
		if cmp.Diff(x, y) == "" {
			b.Fatal("no diff")
		}
	}
}
