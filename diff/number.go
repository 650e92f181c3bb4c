package diff

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
)

// maxTolExp bounds the decimal exponent of numbers Tolerance applies to,
// so a hostile "1e999999" cannot make big.Rat build a huge power of ten.
const maxTolExp = 1000

// numbersEqual is number equality: exact rational equality, widened by the
// Tolerance. It is symmetric.
func (r *Rules) numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	var ab, bb [64]byte
	ca := appendCanonNumber(ab[:0], string(a))
	cb := appendCanonNumber(bb[:0], string(b))
	if bytes.Equal(ca, cb) {
		return true
	}
	return r.tol.within(ca, cb)
}

// appendCanonNumber appends the canonical form of a JSON number literal:
// "0", or an optional "-", the significant digits without leading or
// trailing zeros, "e" and the decimal exponent ("-15e-1" for -1.50). Two
// literals denote the same rational iff their canonical forms are equal.
func appendCanonNumber(buf []byte, s string) []byte {
	start := len(buf)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
		buf = append(buf, '-')
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := len(buf)
	buf = append(append(buf, whole...), frac...)
	buf = trimLeadingZeros(buf, digits)
	trailing := 0
	for len(buf) > digits && buf[len(buf)-1] == '0' {
		buf, trailing = buf[:len(buf)-1], trailing+1
	}
	if len(buf) == digits {
		return append(buf[:start], '0')
	}
	return appendExponent(append(buf, 'e'), exp, trailing-len(frac))
}

// trimLeadingZeros removes the zeros at buf[from:]'s start.
func trimLeadingZeros(buf []byte, from int) []byte {
	n := 0
	for from+n < len(buf) && buf[from+n] == '0' {
		n++
	}
	copy(buf[from:], buf[from+n:])
	return buf[:len(buf)-n]
}

// appendExponent appends exp (a literal exponent, maybe signed, maybe
// empty) plus adj, exactly, even when exp overflows int64.
func appendExponent(buf []byte, exp string, adj int) []byte {
	exp = strings.TrimPrefix(exp, "+")
	if exp == "" {
		exp = "0"
	}
	if len(exp) <= 16 {
		if e, err := strconv.ParseInt(exp, 10, 64); err == nil {
			return strconv.AppendInt(buf, e+int64(adj), 10)
		}
	}
	e, ok := new(big.Int).SetString(exp, 10)
	if !ok {
		return append(buf, exp...) // not from the decoder; keep as is
	}
	return e.Add(e, big.NewInt(int64(adj))).Append(buf, 10)
}

// within reports whether two canonical numbers are within the tolerance.
func (t tolerance) within(ca, cb []byte) bool {
	if t.abs == nil && t.rel == nil {
		return false
	}
	x, okx := canonRat(ca)
	y, oky := canonRat(cb)
	if !okx || !oky {
		return false
	}
	d := new(big.Rat).Sub(x, y)
	d.Abs(d)
	if t.abs != nil && d.Cmp(t.abs) <= 0 {
		return true
	}
	if t.rel == nil {
		return false
	}
	m := new(big.Rat).Abs(x)
	if ay := new(big.Rat).Abs(y); ay.Cmp(m) > 0 {
		m = ay
	}
	return d.Cmp(m.Mul(m, t.rel)) <= 0
}

// canonRat parses a canonical number whose exponent is within maxTolExp.
func canonRat(c []byte) (*big.Rat, bool) {
	s := string(c)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxTolExp || e < -maxTolExp {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}
