package demo

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Limits on order creation, to keep totals far from overflow.
const (
	maxItems = 100
	maxQty   = 1000
)

// item is one order line; its price is the unit price in cents.
type item struct {
	ProductID  int
	Qty        int
	PriceCents int64
}

// order is the stored form of an order, shared by both backends. Items are
// kept sorted by product id ascending and are never mutated after creation.
type order struct {
	ID         int
	UserID     int
	Status     string
	Items      []item
	TotalCents int64
	Currency   string
	CreatedAt  string
}

// createItem is one line of a POST /api/orders body.
type createItem struct {
	ProductID int `json:"product_id"`
	Qty       int `json:"qty"`
}

// createRequest is the body of POST /api/orders.
type createRequest struct {
	UserID int          `json:"user_id"`
	Items  []createItem `json:"items"`
}

// seedOrders returns a fresh copy of the fixed seed orders.
func seedOrders() []order {
	raw := []struct {
		id, user int
		status   string
		lines    []createItem
		created  string
	}{
		{1001, 1, "shipped", []createItem{{1, 2}}, "2024-01-15T10:30:00Z"},
		{1002, 2, "shipped", []createItem{{2, 1}, {3, 1}}, "2024-02-03T14:05:00Z"},
		{1003, 1, "delivered", []createItem{{4, 1}, {6, 2}}, "2024-03-21T09:12:00Z"},
		{1004, 3, "processing", []createItem{{5, 1}, {1, 1}, {2, 1}}, "2024-04-02T16:45:00Z"},
		{1005, 2, "cancelled", []createItem{{6, 1}}, "2024-04-18T08:00:00Z"},
	}
	out := make([]order, 0, len(raw))
	for _, s := range raw {
		items, total, err := priceItems(s.lines)
		if err != nil {
			panic("demo: bad seed order: " + err.Error())
		}
		out = append(out, order{s.id, s.user, s.status, items, total, currency, s.created})
	}
	return out
}

// priceItems validates order lines against the catalog and returns them
// priced, sorted by product id ascending, with the total in cents.
func priceItems(lines []createItem) ([]item, int64, error) {
	if len(lines) == 0 {
		return nil, 0, errors.New("items must not be empty")
	}
	if len(lines) > maxItems {
		return nil, 0, fmt.Errorf("at most %d items per order", maxItems)
	}
	items := make([]item, 0, len(lines))
	var total int64
	for i, l := range lines {
		p, ok := findProduct(l.ProductID)
		if !ok {
			return nil, 0, fmt.Errorf("items[%d]: unknown product %d", i, l.ProductID)
		}
		if l.Qty <= 0 || l.Qty > maxQty {
			return nil, 0, fmt.Errorf("items[%d]: qty must be between 1 and %d, got %d", i, maxQty, l.Qty)
		}
		items = append(items, item{p.ID, l.Qty, p.PriceCents})
		total += int64(l.Qty) * p.PriceCents
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.ProductID - b.ProductID })
	return items, total, nil
}

// orderStore is a concurrency-safe in-memory order table.
type orderStore struct {
	mu     sync.Mutex
	orders []order
	nextID int
}

// newOrderStore returns a store holding the seed orders.
func newOrderStore() *orderStore {
	seed := seedOrders()
	return &orderStore{orders: seed, nextID: seed[len(seed)-1].ID + 1}
}

// get returns the order with the given id.
func (s *orderStore) get(id int) (order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orders {
		if o.ID == id {
			return o, true
		}
	}
	return order{}, false
}

// list returns all orders in id order, only those of userID when non-zero.
func (s *orderStore) list(userID int) []order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]order, 0, len(s.orders))
	for _, o := range s.orders {
		if userID == 0 || o.UserID == userID {
			out = append(out, o)
		}
	}
	return out
}

// create validates req and stores a new pending order with the next id.
func (s *orderStore) create(req createRequest) (order, error) {
	if _, ok := findUser(req.UserID); !ok {
		return order{}, fmt.Errorf("unknown user %d", req.UserID)
	}
	items, total, err := priceItems(req.Items)
	if err != nil {
		return order{}, err
	}
	o := order{
		UserID:     req.UserID,
		Status:     "pending",
		Items:      items,
		TotalCents: total,
		Currency:   currency,
		CreatedAt:  time.Now().UTC().Format(time.RFC3339),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o.ID = s.nextID
	s.nextID++
	s.orders = append(s.orders, o)
	return o, nil
}
