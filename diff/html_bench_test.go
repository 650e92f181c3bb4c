package diff

import (
	"fmt"
	"strings"
	"testing"
)

// shopPage is a realistic product listing of about size bytes:
// head with style, nav, sections of 20 products each with image, title,
// description, price and a cart form, and a footer. The variant changes
// one price, drops one product and has another footer time.
func shopPage(size int, variant bool) string {
	var b strings.Builder
	stamp := "10:01:02"
	if variant {
		stamp = "10:01:07"
	}
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Shop &ndash; All products</title>
<link rel="stylesheet" href="/static/site.css"><style>.card{border:1px solid #ccc}.price{font-weight:bold}</style></head>
<body class="listing"><header id="top"><nav><a href="/">Home</a> <a href="/products" class="active">Products</a> <a href="/cart">Cart (0)</a></nav></header>
<main id="content">
`)
	var one strings.Builder
	writeProduct(&one, 0, false)
	n := max(size-b.Len(), 0)/one.Len() + 1
	for p := range n {
		if p%20 == 0 {
			if p > 0 {
				b.WriteString("</ul></section>\n")
			}
			fmt.Fprintf(&b, "<section class=\"category\"><h2>Category %d</h2>\n<ul class=\"products\">\n", p/20)
		}
		writeProduct(&b, p, variant)
	}
	fmt.Fprintf(&b, "</ul></section>\n</main>\n<footer>Rendered at %s by web-3</footer>\n<script>window.shop={\"v\":1}</script>\n</body></html>\n", stamp)
	return b.String()
}

// writeProduct writes product p; the variant drops product 13 and
// changes the price of product 7.
func writeProduct(b *strings.Builder, p int, variant bool) {
	if variant && p == 13 {
		return
	}
	cents := 100 + p*37%9000
	if variant && p == 7 {
		cents++
	}
	fmt.Fprintf(b, `  <li class="product card" data-sku="SKU-%05d">
    <a href="/p/%d"><img src="/img/%d.jpg" alt="Product %d" width="120" height="120"></a>
    <h3 class="title">Product %d &ndash; %s</h3>
    <p class="desc">A fine %s, made to last &amp; shipped within %d days.</p>
    <span class="price">%d.%02d&nbsp;&euro;</span>
    <form method="post" action="/cart"><input type="hidden" name="sku" value="SKU-%05d"><button type="submit">Add to cart</button></form>
  </li>
`, p, p, p, p, p, colors[p%len(colors)], colors[(p+3)%len(colors)], 1+p%5, cents/100, cents%100, p)
}

// colors vary the product texts.
var colors = []string{"red", "green", "blue", "amber", "violet", "teal", "ochre"}

// benchmarkCompareHTML compares a page pair of about size bytes.
func benchmarkCompareHTML(b *testing.B, size int) {
	l, s := page(shopPage(size, false)), page(shopPage(size, true))
	if got := Compare(l, s, nil); len(got.Differences) != 3 {
		b.Fatalf("want 3 differences, got %+v", got.Differences)
	}
	b.SetBytes(int64(len(l.Body)))
	b.ReportAllocs()
	for b.Loop() {
		Compare(l, s, nil)
	}
}

// BenchmarkCompareHTML50KB compares a 50 KB shop page pair.
func BenchmarkCompareHTML50KB(b *testing.B) { benchmarkCompareHTML(b, 50<<10) }

// BenchmarkCompareHTML500KB compares a 500 KB shop page pair.
func BenchmarkCompareHTML500KB(b *testing.B) { benchmarkCompareHTML(b, 500<<10) }

func TestShopPageDifferences(t *testing.T) {
	got := Compare(page(shopPage(50<<10, false)), page(shopPage(50<<10, true)), nil)
	want := []want{
		{"footer::text", KindChanged, "Rendered at 10:01:02 by web-3", "Rendered at 10:01:07 by web-3"},
		{"main#content > section.category:nth-of-type(1) > ul.products > li.card.product:nth-of-type(14)", KindMissing, "", ""},
		{"main#content > section.category:nth-of-type(1) > ul.products > li.card.product:nth-of-type(8) > span.price::text",
			KindChanged, "3.59\u00a0€", "3.60\u00a0€"},
	}
	g := wants(got.Differences)
	if len(g) == 3 {
		g[1].Legacy = "" // the rendered item, checked below
	}
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("differences\n got %+v\nwant %+v", g, want)
	}
	if !strings.HasPrefix(got.Differences[1].Legacy, `<li class="product card" data-sku="SKU-00013">`) {
		t.Errorf("missing item rendered as %q", got.Differences[1].Legacy)
	}
}
