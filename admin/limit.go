package admin

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// LoginLimit bounds failed admin logins per client IP with a token
// bucket: Burst failures at once, then one more per Every. A client whose
// bucket is empty gets 429 with Retry-After, without its token being
// checked, until a failure's worth has refilled. Only distinct wrong
// tokens count: a dashboard polling with one mistyped token is a single
// guess, not a brute force, and must not lock its operator out.
type LoginLimit struct {
	Burst int
	Every time.Duration
}

// Defaults of LoginLimit: 10 failures at once, then one every 6 s (10 a
// minute). A brute force of a 16-character token is hopeless at that pace.
const (
	DefaultLoginBurst = 10
	DefaultLoginEvery = 6 * time.Second
	// maxTrackedClients bounds the limiter's memory; past it, clients
	// whose bucket has refilled are forgotten, then arbitrary ones.
	maxTrackedClients = 10000
)

// loginLimiter tracks failed logins by client IP.
type loginLimiter struct {
	burst float64
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*bucket
}

// recentGuesses is how many of a client's latest wrong tokens (as
// hashes) are remembered so that repeating one costs nothing.
const recentGuesses = 8

// bucket holds a client's remaining failures as of at, and the hashes of
// its latest wrong tokens.
type bucket struct {
	tokens  float64
	at      time.Time
	guesses [recentGuesses][32]byte
	next    int // where the next guess is remembered
}

// seen reports whether guess is one of b's remembered wrong tokens.
func (b *bucket) seen(guess [32]byte) bool {
	for _, g := range b.guesses {
		if g == guess {
			return true
		}
	}
	return false
}

func newLoginLimiter(l LoginLimit) *loginLimiter {
	if l.Burst <= 0 {
		l.Burst = DefaultLoginBurst
	}
	if l.Every <= 0 {
		l.Every = DefaultLoginEvery
	}
	return &loginLimiter{burst: float64(l.Burst), every: l.Every, now: time.Now, clients: map[string]*bucket{}}
}

// wait returns how long ip must wait before its token is checked again;
// 0 means it may try now.
func (l *loginLimiter) wait(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[ip]
	if !ok {
		return 0
	}
	l.refill(b)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.every))
}

// fail takes one failure from ip's bucket for a wrong token it has not
// tried lately (guess is the token's hash) and reports whether the
// bucket is empty (the client is limited from now on).
func (l *loginLimiter) fail(ip string, guess [32]byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[ip]
	if !ok {
		l.makeRoom()
		b = &bucket{tokens: l.burst, at: l.now()}
		l.clients[ip] = b
	}
	l.refill(b)
	if !b.seen(guess) {
		b.tokens = max(b.tokens-1, 0)
		b.guesses[b.next] = guess
		b.next = (b.next + 1) % recentGuesses
	}
	return b.tokens < 1
}

func (l *loginLimiter) refill(b *bucket) {
	now := l.now()
	b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
}

// makeRoom forgets refilled clients, or any, when the map is full.
// Called with l.mu held.
func (l *loginLimiter) makeRoom() {
	if len(l.clients) < maxTrackedClients {
		return
	}
	for ip, b := range l.clients {
		if l.refill(b); b.tokens >= l.burst {
			delete(l.clients, ip)
		}
	}
	for ip := range l.clients {
		if len(l.clients) < maxTrackedClients {
			break
		}
		delete(l.clients, ip)
	}
}

// clientIP is the peer's address. The admin listener has no trusted
// proxies: behind one, all clients share its bucket.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooManyLogins is the 429 answer to a limited client.
func tooManyLogins(wait time.Duration) *Error {
	secs := int64(math.Ceil(wait.Seconds()))
	return &Error{Status: http.StatusTooManyRequests, RetryAfter: strconv.FormatInt(max(secs, 1), 10),
		Msg: "too many failed admin logins from this address; retry later"}
}
