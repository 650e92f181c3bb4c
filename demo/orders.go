package demo

import (
	"net/http"
	"slices"
)

// buggyOrderID is the order whose currency is misreported while the bug is on.
const buggyOrderID = 1003

// serviceItem is the orders service's JSON shape of an order line.
type serviceItem struct {
	ProductID int     `json:"product_id"`
	Qty       int     `json:"qty"`
	Price     float64 `json:"price"`
}

// serviceOrder is the orders service's JSON shape of an order. Compared with
// monolithOrder, "status" is renamed "state" and "total_cents" is added.
type serviceOrder struct {
	ID         int           `json:"id"`
	UserID     int           `json:"user_id"`
	State      string        `json:"state"`
	Items      []serviceItem `json:"items"`
	Total      float64       `json:"total"`
	TotalCents int64         `json:"total_cents"`
	Currency   string        `json:"currency"`
	CreatedAt  string        `json:"created_at"`
	RequestID  string        `json:"request_id,omitempty"`
	ServedAt   string        `json:"served_at,omitempty"`
}

// serviceOrderList is the body of the orders service's GET /api/orders.
type serviceOrderList struct {
	Orders []serviceOrder `json:"orders"`
}

// ordersService serves the extracted orders microservice.
type ordersService struct {
	orders *orderStore
	faults *Faults
}

// NewOrders returns the extracted orders microservice with default faults:
// no latency, healthy, and the currency bug on order 1003 switched on.
func NewOrders() http.Handler {
	return NewOrdersWithFaults(&Faults{})
}

// NewOrdersWithFaults returns the extracted orders microservice, controlled
// at runtime by f (nil means defaults). It serves GET /api/orders (optional
// ?user=ID), GET /api/orders/{id}, POST /api/orders, the HTML order page
// GET /orders/{id} (its total written "€42.50") and GET /healthz from
// its own fresh in-memory copy of the seed orders, and marks every response
// with X-Served-By: orders. Its order JSON deliberately differs from the
// monolith's: "state" replaces "status", "total_cents" is added, items are
// sorted by product_id descending and, while the bug is on, order 1003
// reports currency "USD".
func NewOrdersWithFaults(f *Faults) http.Handler {
	s := &ordersService{orders: newOrderStore(), faults: f}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders", s.listOrders)
	mux.HandleFunc("GET /api/orders/{id}", s.getOrder)
	mux.HandleFunc("POST /api/orders", s.createOrder)
	mux.HandleFunc("GET /orders/{id}", orderPage(s.orders, serviceOrderPage, serviceTotal))
	mux.HandleFunc("GET /healthz", healthz)
	return servedBy("orders", f.inject(mux))
}

func (s *ordersService) listOrders(w http.ResponseWriter, r *http.Request) {
	userID, ok := userFilter(w, r)
	if !ok {
		return
	}
	list := s.orders.list(userID)
	views := make([]serviceOrder, 0, len(list))
	for _, o := range list {
		views = append(views, toServiceOrder(o))
	}
	writeJSON(w, http.StatusOK, serviceOrderList{views})
}

func (s *ordersService) getOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "order")
	if !ok {
		return
	}
	o, ok := s.orders.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "order not found")
		return
	}
	v := stampService(toServiceOrder(o))
	if o.ID == buggyOrderID && s.faults.state().bug {
		v.Currency = "USD" // the deliberate bug
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *ordersService) createOrder(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decodeBody(w, r, &req) {
		return
	}
	o, err := s.orders.create(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, stampService(toServiceOrder(o)))
}

// toServiceOrder renders o in the orders service's shape (items descending).
func toServiceOrder(o order) serviceOrder {
	items := make([]serviceItem, 0, len(o.Items))
	for _, it := range slices.Backward(o.Items) {
		items = append(items, serviceItem{it.ProductID, it.Qty, euros(it.PriceCents)})
	}
	return serviceOrder{
		ID:         o.ID,
		UserID:     o.UserID,
		State:      o.Status,
		Items:      items,
		Total:      euros(o.TotalCents),
		TotalCents: o.TotalCents,
		Currency:   o.Currency,
		CreatedAt:  o.CreatedAt,
	}
}

// stampService adds the per-response request_id and served_at noise.
func stampService(v serviceOrder) serviceOrder {
	v.RequestID = newRequestID()
	v.ServedAt = nowStamp()
	return v
}
