package demo

import (
	"fmt"
	"html/template"
	"net/http"
)

// The order page is the demo's server-rendered HTML: both backends render
// it with a fresh CSRF token, a cache-busting asset version and the time,
// which noise learning must learn, and the orders service writes the
// total one visible way differently ("€42.50" for the monolith's
// "42.50 EUR"), which the page comparison must find. The service's
// markup also differs in ways that do not count: attribute order, quote
// style and indentation.

// orderPageData fills both order page templates.
type orderPageData struct {
	ID        int
	Status    string
	Total     string
	Items     []pageItem
	CSRF      string
	Asset     string
	Generated string
}

// pageItem is one line of the order page.
type pageItem struct {
	Qty   int
	Title string
	Price string
}

// monolithOrderPage is the monolith's order page.
var monolithOrderPage = template.Must(template.New("order").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Order {{.ID}}</title>
<link rel="stylesheet" href="/static/shop.css?v={{.Asset}}">
</head><body>
<main id="order">
<h1>Order {{.ID}}</h1>
<dl class="summary"><dt>Status</dt><dd class="status">{{.Status}}</dd><dt>Total</dt><dd class="total">{{.Total}}</dd></dl>
<ul class="items">{{range .Items}}<li>{{.Qty}} × {{.Title}} at {{.Price}}</li>{{end}}</ul>
<form id="cancel" method="post" action="/orders/{{.ID}}/cancel"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>Cancel order</button></form>
</main>
<footer>Generated at <time>{{.Generated}}</time></footer>
</body></html>
`))

// serviceOrderPage is the orders service's order page: the same document
// written by another template engine.
var serviceOrderPage = template.Must(template.New("order").Parse(`<!doctype html>
<html>
  <head>
    <meta charset='utf-8'>
    <title>Order {{.ID}}</title>
    <link href='/static/shop.css?v={{.Asset}}' rel='stylesheet'>
  </head>
  <body>
    <main id='order'>
      <h1>Order {{.ID}}</h1>
      <dl class='summary'>
        <dt>Status</dt><dd class='status'>{{.Status}}</dd>
        <dt>Total</dt><dd class='total'>{{.Total}}</dd>
      </dl>
      <ul class='items'>
        {{- range .Items}}
        <li>{{.Qty}} × {{.Title}} at {{.Price}}</li>
        {{- end}}
      </ul>
      <form action='/orders/{{.ID}}/cancel' method='post' id='cancel'>
        <input value='{{.CSRF}}' name='csrf' type='hidden'>
        <button>Cancel order</button>
      </form>
    </main>
    <footer>Generated at <time>{{.Generated}}</time></footer>
  </body>
</html>
`))

// orderPage serves GET /orders/{id} from store with tmpl, writing the
// total with total.
func orderPage(store *orderStore, tmpl *template.Template, total func(int64) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "order")
		if !ok {
			return
		}
		o, ok := store.get(id)
		if !ok {
			writeError(w, http.StatusNotFound, "order not found")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = tmpl.Execute(w, pageData(o, total))
	}
}

// pageData fills the order page for o.
func pageData(o order, total func(int64) string) orderPageData {
	d := orderPageData{ID: o.ID, Status: o.Status, Total: total(o.TotalCents),
		CSRF: newRequestID() + newRequestID(), Asset: newRequestID()[:8], Generated: nowStamp()}
	for _, it := range o.Items {
		title := fmt.Sprintf("product %d", it.ProductID)
		if p, ok := findProduct(it.ProductID); ok {
			title = p.Title
		}
		d.Items = append(d.Items, pageItem{Qty: it.Qty, Title: title, Price: monolithTotal(it.PriceCents)})
	}
	return d
}

// monolithTotal is how the monolith writes an amount: "42.50 EUR".
func monolithTotal(cents int64) string {
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency)
}

// serviceTotal is how the orders service writes an amount: "€42.50".
func serviceTotal(cents int64) string {
	return fmt.Sprintf("€%d.%02d", cents/100, cents%100)
}
