package demo

// product is a catalog entry; prices are kept in cents to avoid float drift.
type product struct {
	ID         int
	Title      string
	Author     string
	PriceCents int64
	Tags       []string
	Stock      int
}

// productView is the JSON shape of a product.
type productView struct {
	ID       int      `json:"id"`
	Title    string   `json:"title"`
	Author   string   `json:"author"`
	Price    float64  `json:"price"`
	Currency string   `json:"currency"`
	Tags     []string `json:"tags"`
	Stock    int      `json:"stock"`
}

// user is a registered customer; it is also its own JSON shape.
type user struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	MemberSince string `json:"member_since"`
}

// currency is the shop's only currency.
const currency = "EUR"

// products is the fixed, read-only catalog, ordered by id.
var products = []product{
	{1, "Working Effectively with Legacy Code", "Michael Feathers", 1250, []string{"legacy", "refactoring"}, 3},
	{2, "Refactoring", "Martin Fowler", 3990, []string{"refactoring", "patterns"}, 5},
	{3, "Building Microservices", "Sam Newman", 4400, []string{"microservices", "architecture"}, 7},
	{4, "Monolith to Microservices", "Sam Newman", 3550, []string{"microservices", "migration"}, 2},
	{5, "Domain-Driven Design", "Eric Evans", 5425, []string{"ddd", "architecture"}, 0},
	{6, "Release It!", "Michael T. Nygard", 2999, []string{"operations", "resilience"}, 4},
}

// users is the fixed, read-only set of customers, ordered by id.
var users = []user{
	{1, "Ada Lovelace", "ada@example.com", "2019-03-14"},
	{2, "Grace Hopper", "grace@example.com", "2019-11-02"},
	{3, "Alan Turing", "alan@example.com", "2020-06-23"},
}

// findProduct looks a product up by id.
func findProduct(id int) (product, bool) {
	for _, p := range products {
		if p.ID == id {
			return p, true
		}
	}
	return product{}, false
}

// findUser looks a user up by id.
func findUser(id int) (user, bool) {
	for _, u := range users {
		if u.ID == id {
			return u, true
		}
	}
	return user{}, false
}

// view renders p as its JSON shape.
func (p product) view() productView {
	return productView{
		ID:       p.ID,
		Title:    p.Title,
		Author:   p.Author,
		Price:    euros(p.PriceCents),
		Currency: currency,
		Tags:     append([]string(nil), p.Tags...),
		Stock:    p.Stock,
	}
}
