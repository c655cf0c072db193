package verify

import (
	"testing"
	"time"
)

// TestNormalizeTwice: the admin API normalizes before Run does it again;
// the second pass must not change what the first settled.
func TestNormalizeTwice(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   Options
	}{
		{"no look-back", Options{BaseURL: "http://x/", Now: now, Lookback: -time.Hour}},
		{"defaults", Options{BaseURL: "http://x", Now: now}},
		{"explicit", Options{BaseURL: "http://x", Now: now, From: now.Add(-3 * time.Hour), To: now, Window: time.Hour, Format: "json", Lookback: time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			once := tc.in
			if err := once.Normalize(); err != nil {
				t.Fatal(err)
			}
			twice := once
			if err := twice.Normalize(); err != nil {
				t.Fatal(err)
			}
			if once.Lookback != twice.Lookback || once.From != twice.From || once.To != twice.To ||
				once.Window != twice.Window || once.BaseURL != twice.BaseURL || once.Format != twice.Format {
				t.Errorf("normalized twice %+v, once %+v", twice, once)
			}
			if tc.in.Lookback < 0 && twice.Lookback > 0 {
				t.Errorf("a disabled look-back became %s", twice.Lookback)
			}
		})
	}
}
