package routing

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
)

// Buckets is the number of canary buckets: a percent has a resolution of
// 0.01 (one bucket).
const Buckets = 10000

// Bucket maps (route, key) to one of Buckets buckets. It is a pure
// function of its inputs, so every replica, restart and reload agrees.
// FNV-1a 64 over route, a zero byte and key, then a splitmix64 finalizer
// to spread short keys evenly.
func Bucket(route, key string) uint32 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(route); i++ {
		h = (h ^ uint64(route[i])) * prime
	}
	h *= prime // a zero byte separates route from key
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return uint32(h % Buckets)
}

// Threshold converts a percent (0..100) to a bucket bound: a key is in the
// canary iff its bucket < Threshold(percent). 0 and 100 are exact, and a
// higher percent never excludes a key a lower one included.
func Threshold(percent float64) uint32 {
	switch {
	case !(percent > 0): // also NaN
		return 0
	case percent >= 100:
		return Buckets
	}
	return uint32(math.Round(percent * Buckets / 100))
}

// InCanary reports whether key is served by the service at percent.
func InCanary(route, key string, percent float64) bool {
	return Bucket(route, key) < Threshold(percent)
}

// stickyKind says where a route reads its sticky key.
type stickyKind uint8

const (
	stickyIP stickyKind = iota
	stickyHeader
	stickyCookie
)

// sticky is a parsed sticky spec: header:NAME, cookie:NAME or ip.
type sticky struct {
	kind stickyKind
	name string
}

func parseSticky(spec string) (sticky, error) {
	if spec == "" || spec == "ip" {
		return sticky{kind: stickyIP}, nil
	}
	kind, name, ok := strings.Cut(spec, ":")
	if ok && name != "" {
		switch kind {
		case "header":
			return sticky{kind: stickyHeader, name: http.CanonicalHeaderKey(name)}, nil
		case "cookie":
			return sticky{kind: stickyCookie, name: name}, nil
		}
	}
	return sticky{}, fmt.Errorf("malformed sticky %q: want header:NAME, cookie:NAME or ip", spec)
}

// key returns the request's sticky key. A missing or empty header or
// cookie falls back to the client IP, so a user without the key still
// lands on one side consistently.
func (s sticky) key(r *http.Request, clientIP func(*http.Request) string) string {
	switch s.kind {
	case stickyHeader:
		if v := r.Header.Get(s.name); v != "" {
			return v
		}
	case stickyCookie:
		if c, err := r.Cookie(s.name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return clientIP(r)
}

// RemoteIP returns the host part of r.RemoteAddr: the default client IP.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
