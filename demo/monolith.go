package demo

import (
	"html/template"
	"net/http"
)

// monolithItem is the monolith's JSON shape of an order line.
type monolithItem struct {
	ProductID int     `json:"product_id"`
	Qty       int     `json:"qty"`
	Price     float64 `json:"price"`
}

// monolithOrder is the monolith's JSON shape of an order. RequestID and
// ServedAt are only set on single-order responses.
type monolithOrder struct {
	ID        int            `json:"id"`
	UserID    int            `json:"user_id"`
	Status    string         `json:"status"`
	Items     []monolithItem `json:"items"`
	Total     float64        `json:"total"`
	Currency  string         `json:"currency"`
	CreatedAt string         `json:"created_at"`
	RequestID string         `json:"request_id,omitempty"`
	ServedAt  string         `json:"served_at,omitempty"`
}

// monolithOrderList is the body of the monolith's GET /api/orders.
type monolithOrderList struct {
	Orders []monolithOrder `json:"orders"`
}

// productList is the body of GET /api/products.
type productList struct {
	Products    []productView `json:"products"`
	Count       int           `json:"count"`
	GeneratedAt string        `json:"generated_at"`
}

// indexPage is the monolith's home page.
var indexPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Bookshop (legacy monolith)</title></head>
<body>
<h1>Bookshop (legacy monolith)</h1>
<ul>
{{- range .}}
<li><a href="/api/products/{{.ID}}">{{.Title}}</a> by {{.Author}} ({{printf "%.2f" .Price}} {{.Currency}})</li>
{{- end}}
</ul>
<p><a href="/api/products">All products (JSON)</a> · <a href="/api/orders">All orders (JSON)</a></p>
</body></html>
`))

// monolith serves the legacy bookshop.
type monolith struct {
	orders *orderStore
}

// NewMonolith returns the legacy bookshop monolith: an HTML home page, the
// product, user and order JSON APIs, the HTML order page (/orders/{id}),
// reviews, search, shipping rates, invoices and the cart (not migrated:
// what the planner ranks) and /healthz, backed by its own fresh
// in-memory copy of the seed data. Every response carries
// X-Served-By: monolith.
func NewMonolith() http.Handler {
	m := &monolith{orders: newOrderStore()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", m.index)
	mux.HandleFunc("GET /api/products", m.listProducts)
	mux.HandleFunc("GET /api/products/{id}", m.getProduct)
	mux.HandleFunc("GET /api/users/{id}", m.getUser)
	mux.HandleFunc("GET /api/orders", m.listOrders)
	mux.HandleFunc("GET /api/orders/{id}", m.getOrder)
	mux.HandleFunc("POST /api/orders", m.createOrder)
	mux.HandleFunc("GET /orders/{id}", orderPage(m.orders, monolithOrderPage, monolithTotal))
	registerFamilies(mux)
	mux.HandleFunc("GET /healthz", healthz)
	return servedBy("monolith", mux)
}

func (m *monolith) index(w http.ResponseWriter, _ *http.Request) {
	views := make([]productView, 0, len(products))
	for _, p := range products {
		views = append(views, p.view())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexPage.Execute(w, views)
}

func (m *monolith) listProducts(w http.ResponseWriter, _ *http.Request) {
	views := make([]productView, 0, len(products))
	for _, p := range products {
		views = append(views, p.view())
	}
	writeJSON(w, http.StatusOK, productList{views, len(views), nowStamp()})
}

func (m *monolith) getProduct(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "product")
	if !ok {
		return
	}
	p, ok := findProduct(id)
	if !ok {
		writeError(w, http.StatusNotFound, "product not found")
		return
	}
	writeJSON(w, http.StatusOK, p.view())
}

func (m *monolith) getUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "user")
	if !ok {
		return
	}
	u, ok := findUser(id)
	if !ok {
		writeError(w, http.StatusNotFound, "user not found")
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (m *monolith) listOrders(w http.ResponseWriter, r *http.Request) {
	userID, ok := userFilter(w, r)
	if !ok {
		return
	}
	list := m.orders.list(userID)
	views := make([]monolithOrder, 0, len(list))
	for _, o := range list {
		views = append(views, toMonolithOrder(o))
	}
	writeJSON(w, http.StatusOK, monolithOrderList{views})
}

func (m *monolith) getOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "order")
	if !ok {
		return
	}
	o, ok := m.orders.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "order not found")
		return
	}
	writeJSON(w, http.StatusOK, stampMonolith(toMonolithOrder(o)))
}

func (m *monolith) createOrder(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decodeBody(w, r, &req) {
		return
	}
	o, err := m.orders.create(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, stampMonolith(toMonolithOrder(o)))
}

// toMonolithOrder renders o in the monolith's shape (items ascending).
func toMonolithOrder(o order) monolithOrder {
	items := make([]monolithItem, 0, len(o.Items))
	for _, it := range o.Items {
		items = append(items, monolithItem{it.ProductID, it.Qty, euros(it.PriceCents)})
	}
	return monolithOrder{
		ID:        o.ID,
		UserID:    o.UserID,
		Status:    o.Status,
		Items:     items,
		Total:     euros(o.TotalCents),
		Currency:  o.Currency,
		CreatedAt: o.CreatedAt,
	}
}

// stampMonolith adds the per-response request_id and served_at noise.
func stampMonolith(v monolithOrder) monolithOrder {
	v.RequestID = newRequestID()
	v.ServedAt = nowStamp()
	return v
}
