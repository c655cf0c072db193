package netrefer

import (
	"errors"
	"fmt"
	"strconv"
)

// Money is an amount in ten-thousandths (NetRefer accepts at most four
// fractional digits), so totals after corrections are exact.
type Money int64

const (
	moneyScale = 10000
	// maxMoney bounds every amount: 999,999,999,999.9999 [sandbox].
	maxMoney Money = 999_999_999_999_9999
)

var (
	errMoneyPrecision = errors.New("has more than 4 fractional digits")
	errMoneyRange     = errors.New("is out of range (at most 999999999999.9999 in absolute value)")
	errMoneySyntax    = errors.New("is not a number")
)

// parseMoney reads a JSON number literal. Exponents are accepted as JSON
// allows them, as long as the value has at most four fractional digits.
func parseMoney(b []byte) (Money, error) {
	i, n := 0, len(b)
	neg := false
	if i < n && b[i] == '-' {
		neg = true
		i++
	}
	var digits []byte
	var buf [48]byte
	digits = buf[:0]
	frac := 0
	seenDigit, seenDot := false, false
	for ; i < n; i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			seenDigit = true
			if len(digits) > 40 {
				return 0, errMoneyRange
			}
			digits = append(digits, c)
			if seenDot {
				frac++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			goto exp
		}
	}
exp:
	if !seenDigit {
		return 0, errMoneySyntax
	}
	e := 0
	if i < n {
		if b[i] != 'e' && b[i] != 'E' {
			return 0, errMoneySyntax
		}
		v, err := strconv.Atoi(string(b[i+1:]))
		if err != nil || v > 40 || v < -40 {
			return 0, errMoneyRange
		}
		e = v
	}
	// value = digits * 10^(e-frac); we want units = value * 10^4.
	shift := e - frac + 4
	// Strip leading zeros, then drop trailing zeros while the value has
	// more than four fractional digits; any other digit there is an error.
	k := 0
	for k < len(digits)-1 && digits[k] == '0' {
		k++
	}
	digits = digits[k:]
	for shift < 0 {
		if digits[len(digits)-1] != '0' {
			return 0, errMoneyPrecision
		}
		digits = digits[:len(digits)-1]
		if len(digits) == 0 {
			digits = append(digits, '0')
		}
		shift++
	}
	if len(digits)+max(shift, 0) > 18 {
		return 0, errMoneyRange
	}
	var v int64
	for _, d := range digits {
		v = v*10 + int64(d-'0')
	}
	for ; shift > 0; shift-- {
		v *= 10
	}
	if Money(v) > maxMoney {
		return 0, errMoneyRange
	}
	if neg {
		v = -v
	}
	return Money(v), nil
}

// String renders the amount as a decimal without trailing zeros.
func (m Money) String() string {
	return string(m.appendTo(nil))
}

func (m Money) appendTo(b []byte) []byte {
	v := int64(m)
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/moneyScale, 10)
	f := v % moneyScale
	if f != 0 {
		s := strconv.FormatInt(f+moneyScale, 10)[1:] // 4 digits with leading zeros
		for len(s) > 0 && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		b = append(b, '.')
		b = append(b, s...)
	}
	return b
}

// MarshalJSON writes the amount as a JSON number.
func (m Money) MarshalJSON() ([]byte, error) { return m.appendTo(nil), nil }

// UnmarshalJSON reads a number as parseMoney does (a namespace snapshot).
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := parseMoney(b)
	if err != nil {
		return fmt.Errorf("amount %s %w", b, err)
	}
	*m = v
	return nil
}
