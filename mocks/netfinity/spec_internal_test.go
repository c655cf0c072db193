package netfinity

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/specs"
)

// TestSpecPatternsMatchValidation: what the spec's msisdn and text patterns
// accept, the Laravel-style validation accepts (in the default country),
// and the text pattern covers the whole GSM 03.38 alphabet and nothing else.
func TestSpecPatternsMatchValidation(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("netfinity.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["SendRequest"].Value.Properties
	msisdn := regexp.MustCompile(props["msisdn"].Value.Pattern)
	text := regexp.MustCompile(props["text"].Value.Pattern)
	for r, w := range gsmWidth {
		if want := r != ' ' && r != '\n' && r != '\r'; text.MatchString(string(r)) != want {
			t.Errorf("text pattern on GSM %q (width %d) = %v, want %v", r, w, !want, want)
		}
	}
	for _, bad := range []string{"", " ", "\n \r", "ü€ ✓", "tab\there", "😀"} {
		if text.MatchString(bad) {
			t.Errorf("text pattern accepts %q, which validation refuses", bad)
		}
	}
	tests := []struct {
		msisdn, text string
		match        bool
	}{
		{"359881234567", "test 1", true},
		{"+359881234567", " {trimmed} ", true},
		{"00359881234567", "€[]^~|\\\f", true},
		{"12345678", "@", true},
		{"12345678901234567890", "x", true},
		{"1234567", "x", false},
		{"123456789012345678901", "x", false},
		{"0881234567", "x", false}, // national: valid, but only for the scenario's country code
		{"+0123456789", "x", false},
	}
	for _, tc := range tests {
		if got := msisdn.MatchString(tc.msisdn); got != tc.match {
			t.Errorf("msisdn pattern on %q = %v, want %v", tc.msisdn, got, tc.match)
		}
		if !tc.match || !text.MatchString(tc.text) {
			continue
		}
		body, _ := json.Marshal(map[string]string{"msisdn": tc.msisdn, "text": tc.text})
		if _, errs, ok := decodeSend(body, "359"); !ok || len(errs) > 0 {
			t.Errorf("spec accepts %s, validation refuses it: %v", body, errs)
		}
	}
}
