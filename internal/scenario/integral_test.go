package scenario

import (
	"strings"
	"testing"
)

// countsCfg has the integer kinds scenario fields use, a duration (an
// int64 underneath that reads text) and a float that may hold a fraction.
type countsCfg struct {
	Seed    int64          `yaml:"seed"`
	Times   int            `yaml:"times"`
	Amounts []int64        `yaml:"amounts"`
	Limits  map[string]int `yaml:"limits"`
	After   Duration       `yaml:"after"`
	Share   float64        `yaml:"share"`
	Nested  *countsCfg     `yaml:"nested"`
}

// TestFractionalNumberIntoAnIntegerFieldIsRefused: yaml.v3 truncates 1.5
// into an int field without an error, so `addAmount: 1.5` would top up
// 1 MB and `totalAmount: 1.5` would silently become 1. Every decoder entry
// point (scenario files, provider sections, admin bodies) refuses it and
// names the field; a whole number written as a float (2.0, 1e3) is that
// number, and a float field keeps its fraction.
func TestFractionalNumberIntoAnIntegerFieldIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, body, want string }{
		{"flow mapping", `{times: 1.5, share: 0.25}`,
			`body:1: times: "1.5" is not a whole number (hint: this field counts whole units; use 1 or 2)`},
		{"JSON with every kind", `{"seed": 2.5, "amounts": [100, 0.5], "limits": {"a": -3.75}, "nested": {"times": 1e-3}}`,
			strings.Join([]string{
				`body:1: seed: "2.5" is not a whole number (hint: this field counts whole units; use 2 or 3)`,
				`body:1: amounts[1]: "0.5" is not a whole number (hint: this field counts whole units; use 0 or 1)`,
				`body:1: limits.a: "-3.75" is not a whole number (hint: this field counts whole units; use -4 or -3)`,
				`body:1: nested.times: "1e-3" is not a whole number (hint: this field counts whole units; use 0 or 1)`,
			}, "\n")},
		{"minus infinity", "times: -.inf\n", `body:1: times: "-.inf" is not a whole number (hint: this field counts whole units)`},
		{"whole floats are accepted", `{"times": 2.0, "seed": 1e3, "share": 1.5}`, ``},
		{"a duration is not a number", `{"after": "1.5s"}`, ``},
	} {
		var v countsCfg
		if got := DecodeValue("body", []byte(c.body), &v).Error(); got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
	}

	// A scenario file's common part and a provider section.
	f, probs := Parse("s.yaml", []byte("version: 1\nseed: 7.5\nsec:\n  pools:\n    - {operator: FR, totalAmount: 1.5}\n"))
	if got, want := probs.Error(), `s.yaml:2: seed: "7.5" is not a whole number (hint: this field counts whole units; use 7 or 8)`; got != want {
		t.Errorf("common part: %s\nwant %s", got, want)
	}
	want := `s.yaml:5: sec.pools[0].totalAmount: "1.5" is not a whole number (hint: this field counts whole units; use 1 or 2)`
	if got := f.DecodeSection("sec", &realmCfg{Realm: "api"}).Error(); got != want {
		t.Errorf("section: %s\nwant %s", got, want)
	}
	// An admin body (POST /__sandbox/faults): JSON has no useful lines.
	if got, want := DecodeDocument("", []byte(`{"times": 0.5}`), &countsCfg{}).Error(), `times: "0.5" is not a whole number (hint: this field counts whole units; use 0 or 1)`; got != want {
		t.Errorf("document: %s\nwant %s", got, want)
	}
}
