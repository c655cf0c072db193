package scenario

import (
	"strings"
	"testing"
)

// realmCfg validates its realm, so a section can hold a type error and an
// unrelated validation problem at once.
type realmCfg struct {
	Realm string    `yaml:"realm"`
	Pools []poolCfg `yaml:"pools"`
}

func (c *realmCfg) Validate() []Problem {
	out := []Problem{}
	if c.Realm == "" {
		out = append(out, Problemf("realm", "e.g. api", "realm is missing"))
	}
	for i, p := range c.Pools {
		if p.Total <= 0 {
			out = append(out, Problemf("pools["+itoa(i)+"].totalAmount", "MB", "totalAmount must be positive"))
		}
	}
	return out
}

// TestDecodeSectionReportsEverythingInOnePass: a type error does not hide
// an unrelated validation problem, and a validation problem that only
// follows from the type error (the field kept its zero value) is dropped.
func TestDecodeSectionReportsEverythingInOnePass(t *testing.T) {
	t.Parallel()
	src := "version: 1\nsec:\n  realm: \"\"\n  pools:\n    - {operator: FR, totalAmount: lots}\n"
	f, probs := Parse("s.yaml", []byte(src))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	got := f.DecodeSection("sec", &realmCfg{}).Error()
	want := strings.Join([]string{
		`s.yaml:5: sec.pools[0].totalAmount: "lots" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`,
		`s.yaml:3: sec.realm: realm is missing (hint: e.g. api)`,
	}, "\n")
	if got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestDecodeValue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, body, want string }{
		{"ok", `{"operator":"FR","totalAmount":5}`, ``},
		{"type error names its field on a one-line body", `{"operator":"FR","totalAmount":"5x"}`,
			`body:1: totalAmount: "5x" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`},
		{"unknown key", "{\"operator\":\"FR\",\n\"total\":5}",
			`body:2: total: unknown key "total" (hint: did you mean "totalAmount"?)`},
		{"not an object", `"FR"`, `body:1: expected a JSON object (hint: send a JSON object of fields, e.g. {"name": "value"})`},
		{"empty", ``, `body: the body is empty (hint: send a JSON object)`},
		{"syntax", `{"operator":`, `body:1: not valid YAML or JSON: line 1: did not find expected node content (hint: check indentation (spaces, not tabs) and quoting around this line)`},
	} {
		var p poolCfg
		if got := DecodeValue("body", []byte(c.body), &p).Error(); got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}

func TestSuggestOneOf(t *testing.T) {
	t.Parallel()
	known := []string{"FR_ORANGE", "AT_A1"}
	for got, want := range map[string]string{
		"FR_ORANGES": `did you mean "FR_ORANGE"?`,
		"at_a1":      `did you mean "AT_A1"?`,
		"DE_TMOBILE": "use one of: FR_ORANGE, AT_A1",
	} {
		if s := SuggestOneOf(got, known); s != want {
			t.Errorf("SuggestOneOf(%q) = %q, want %q", got, s, want)
		}
	}
	if s := SuggestOneOf("x", nil); s != "none is defined" {
		t.Errorf("empty set: %q", s)
	}
}

// stepCfg has a duration after another field, as a Netfinity path step
// ({code: 301, after: 1s}) does.
type stepCfg struct {
	Code  int      `yaml:"code"`
	After Duration `yaml:"after"`
}

// TestTypeErrorNamesTheFieldInAFlowMapping: on a one-line mapping the
// problem names the field whose value is wrong, also when the error comes
// from the duration decoder (which quotes the value Go-style) and when
// yaml.v3 cuts a long value short.
func TestTypeErrorNamesTheFieldInAFlowMapping(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, body, want string }{
		{"duration", `{code: 301, after: soon}`,
			`body:1: after: "soon" is not a duration such as 3s or 10m (hint: a number and a unit: 500ms, 90s, 10m or 1h30m)`},
		{"long value", `{after: 1s, code: "two hundred and one"}`,
			"body:1: code: \"two hun...\" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)"},
	} {
		var s stepCfg
		if got := DecodeValue("body", []byte(c.body), &s).Error(); got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}
