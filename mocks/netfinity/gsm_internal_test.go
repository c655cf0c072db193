package netfinity

import (
	"testing"
	"unicode/utf8"
)

// The GSM 03.38 default alphabet has 128 positions, one of them ESC.
func TestGSMTablesAreComplete(t *testing.T) {
	t.Parallel()
	seen := map[rune]bool{}
	for _, r := range gsmBasic {
		if seen[r] {
			t.Errorf("%q listed twice", r)
		}
		seen[r] = true
	}
	if n := utf8.RuneCountInString(gsmBasic); n != 127 {
		t.Errorf("basic set has %d characters, want 127 (128 minus ESC)", n)
	}
	for _, r := range "`\t\x00\x1bЖ😀" {
		if _, ok := gsmWidth[r]; ok {
			t.Errorf("%q must not be GSM", r)
		}
	}
	if n, bad := gsmSeptets("a€"); bad || n != 3 {
		t.Errorf("a€ = %d septets (bad %v), want 3", n, bad)
	}
}
