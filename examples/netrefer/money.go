package netrefer

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in ten-thousandths of the currency unit (NetRefer takes
// at most four fractional digits). It is written to JSON as an exact decimal
// number: a float such as 12345 * 0.0001 prints as 1.2345000000000002, which
// NetRefer refuses (DI-1004).
type Money int64

// ParseMoney reads a decimal such as "10.5" or "-0.0001".
func ParseMoney(s string) (Money, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" || len(frac) > 4 || strings.ContainsAny(whole+frac, "+-") {
		return 0, fmt.Errorf("netrefer: %q is not a decimal with at most 4 fractional digits", s)
	}
	frac += strings.Repeat("0", 4-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("netrefer: %q is not a decimal with at most 4 fractional digits", s)
	}
	if neg {
		n = -n
	}
	return Money(n), nil
}

// MustMoney is ParseMoney for constants; it panics on a malformed amount.
func MustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// String writes m as a decimal without trailing zeros: 10.5, 0.0001, 3.
func (m Money) String() string {
	n := int64(m)
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	s := fmt.Sprintf("%s%d.%04d", sign, n/10000, n%10000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// MarshalJSON writes m as a JSON number, exactly.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON reads a JSON number with at most four fractional digits.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
