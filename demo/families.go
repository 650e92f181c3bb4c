package demo

import (
	"net/http"
	"strconv"
	"strings"
)

// More of the monolith's surface, not migrated in the demo, so that the
// migration planner (/admin/plan) has families to rank: reviews (read-only
// and the most requested), search, shipping rates (read-only), invoices
// (read-only, with a few monolith errors) and the cart (writes).

// review is one product review.
type review struct {
	ID        int    `json:"id"`
	ProductID int    `json:"product_id"`
	Stars     int    `json:"stars"`
	Text      string `json:"text"`
}

// reviewsOf are the fixed reviews of a product.
func reviewsOf(productID int) []review {
	out := make([]review, 0, 3)
	for i := range 3 {
		id := productID*10 + i
		out = append(out, review{ID: id, ProductID: productID, Stars: 3 + (id % 3),
			Text: "Review " + strconv.Itoa(id) + " of product " + strconv.Itoa(productID)})
	}
	return out
}

// registerFamilies adds the extra endpoint families to the monolith's mux.
func registerFamilies(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/reviews", listReviews)
	mux.HandleFunc("GET /api/reviews/{id}", getReview)
	mux.HandleFunc("GET /api/search", search)
	mux.HandleFunc("GET /api/shipping/rates", shippingRates)
	mux.HandleFunc("GET /api/invoices/{id}", getInvoice)
	mux.HandleFunc("POST /api/cart/items", addToCart)
}

func listReviews(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.URL.Query().Get("product"))
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "product: want a product id")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": reviewsOf(id)})
}

func getReview(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "review")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, reviewsOf(id / 10)[id%10%3])
}

func search(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(r.URL.Query().Get("q"))
	hits := []productView{}
	for _, p := range products {
		if q != "" && strings.Contains(strings.ToLower(p.Title), q) {
			hits = append(hits, p.view())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"query": q, "results": hits})
}

func shippingRates(w http.ResponseWriter, r *http.Request) {
	zip := r.URL.Query().Get("zip")
	writeJSON(w, http.StatusOK, map[string]any{"zip": zip, "standard": 4.9, "express": 12.5, "currency": currency})
}

// getInvoice fails for one invoice in ten, as an old report generator
// does: the planner shows the monolith's error rate on this family.
func getInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "invoice")
	if !ok {
		return
	}
	if id%10 == 0 {
		writeError(w, http.StatusInternalServerError, "invoice renderer failed")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "total": euros(int64(id) * 137 % 10000), "currency": currency})
}

func addToCart(w http.ResponseWriter, r *http.Request) {
	var item createItem
	if !decodeBody(w, r, &item) {
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"added": item})
}
