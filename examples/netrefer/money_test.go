package netrefer_test

import (
	"encoding/json"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/examples/netrefer"
)

func TestMoneyIsWrittenExactly(t *testing.T) {
	for _, tc := range []struct{ in, json string }{
		{"1.2345", "1.2345"}, // 12345 * 0.0001 as a float64 prints 1.2345000000000002
		{"10.5", "10.5"},
		{"10.50", "10.5"},
		{"3", "3"},
		{"0.0001", "0.0001"},
		{"-7.25", "-7.25"},
		{"999999999999.9999", "999999999999.9999"},
	} {
		m, err := netrefer.ParseMoney(tc.in)
		if err != nil {
			t.Errorf("ParseMoney(%q): %v", tc.in, err)
			continue
		}
		b, _ := json.Marshal(struct {
			A netrefer.Money `json:"a"`
		}{m})
		if want := `{"a":` + tc.json + `}`; string(b) != want {
			t.Errorf("%q marshals as %s, want %s", tc.in, b, want)
		}
		var back netrefer.Money
		if err := json.Unmarshal([]byte(tc.json), &back); err != nil || back != m {
			t.Errorf("%s unmarshals to %v (%v), want %v", tc.json, back, err, m)
		}
	}
}

func TestMoneyRefusesWhatNetReferWould(t *testing.T) {
	for _, in := range []string{"1.23456", "", ".5", "1e3", "--1", "1.-5", "abc"} {
		if m, err := netrefer.ParseMoney(in); err == nil {
			t.Errorf("ParseMoney(%q) = %v, want an error", in, m)
		}
	}
}
