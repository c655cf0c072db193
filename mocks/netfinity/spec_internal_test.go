package netfinity

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/specs"
)

// sendSchemas returns the spec's SendRequest member schemas and their
// descriptions, by member name.
func sendSchemas(t *testing.T) map[string]*openapi3.Schema {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("netfinity.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*openapi3.Schema{}
	for name, ref := range doc.Components.Schemas["SendRequest"].Value.Properties {
		out[name] = ref.Value
	}
	return out
}

// handlerAccepts reports whether the handler's validation, in a scenario
// with country code cc, accepts v as the member field of a send request
// whose other members are valid.
func handlerAccepts(t *testing.T, field string, v any, cc string) bool {
	t.Helper()
	body := map[string]any{"msisdn": "359881234567", "text": "x"}
	body[field] = v
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	_, errs, ok := decodeSend(b, cc)
	if !ok {
		t.Fatalf("decodeSend refuses %s as JSON", b)
	}
	return len(errs[field]) == 0
}

// schemaAccepts reports whether the spec's schema for field accepts v
// (after a JSON round trip, as a validator sees it).
func schemaAccepts(t *testing.T, s *openapi3.Schema, v any) bool {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	return s.VisitJSON(decoded) == nil
}

// exception says why the handler may accept v although the schema refuses
// it ("" when it may not): the forms the spec's descriptions list, and only
// those.
func exception(field string, v any) string {
	if _, isNumber := v.(json.Number); isNumber && field != "text" {
		return "JSON integer"
	}
	if s, isString := v.(string); isString && field == "msisdn" {
		if s = strings.Trim(s, phpTrimSet); strings.HasPrefix(s, "0") && !strings.HasPrefix(s, "00") {
			return "national number"
		}
	}
	return ""
}

// checkAgreement holds the schema to the handler for one value: what the
// handler accepts the schema accepts, unless it is a listed exception, and
// what the schema accepts the handler accepts in any country.
func checkAgreement(t *testing.T, schemas map[string]*openapi3.Schema, field string, v any) (handler, schema bool) {
	t.Helper()
	handler = handlerAccepts(t, field, v, "359")
	schema = schemaAccepts(t, schemas[field], v)
	switch {
	case handler && !schema && exception(field, v) == "":
		t.Errorf("%s %q: the handler accepts it, the schema refuses it", field, v)
	case schema && !handler:
		t.Errorf("%s %q: the schema accepts it, the handler refuses it", field, v)
	case schema:
		for _, cc := range []string{"1", "44", "1684"} {
			if !handlerAccepts(t, field, v, cc) {
				t.Errorf("%s %q: the schema accepts it, the handler refuses it with country code %s", field, v, cc)
			}
		}
	}
	return handler, schema
}

// TestSpecPatternsMatchValidation: for every sample, the spec's SendRequest
// schema and the handler's Laravel-style validation give the same verdict,
// except for the forms the descriptions list (national msisdns, JSON
// integers), which the handler accepts and the schema leaves out.
func TestSpecPatternsMatchValidation(t *testing.T) {
	t.Parallel()
	schemas := sendSchemas(t)
	for field, listed := range map[string][]string{"msisdn": {"national number", "JSON integer"}, "id": {"JSON integer"}} {
		desc := strings.Join(strings.Fields(schemas[field].Description), " ")
		for _, l := range listed {
			if !strings.Contains(desc, l) {
				t.Errorf("%s description does not list the exception %q:\n%s", field, l, schemas[field].Description)
			}
		}
	}

	tests := []struct {
		field           string
		value           any
		handler, schema bool
	}{
		{"msisdn", "359881234567", true, true},
		{"msisdn", "+359881234567", true, true},
		{"msisdn", "00359881234567", true, true},
		{"msisdn", " 359881234567 ", true, true},
		{"msisdn", "\t+359881234567\n", true, true},
		{"msisdn", "\x00359881234567\x0B", true, true},
		{"msisdn", "+0123456789", true, true},
		{"msisdn", "000123456789", true, true},
		{"msisdn", "12345678", true, true},
		{"msisdn", "12345678901234567890", true, true},
		{"msisdn", "1234567", false, false},
		{"msisdn", "123456789012345678901", false, false},
		{"msisdn", "+1234567", false, false},
		{"msisdn", "3598812 34567", false, false},
		{"msisdn", "+ 359881234567", false, false},
		{"msisdn", "++359881234567", false, false},
		{"msisdn", "\f359881234567", false, false}, // form feed is not trimmed
		{"msisdn", "", false, false},
		{"msisdn", "   ", false, false},
		{"msisdn", nil, false, false},
		{"msisdn", "0881234567", true, false},                // national: 359 881234567
		{"msisdn", " 0881234567 ", true, false},              // national, padded
		{"msisdn", json.Number("359881234567"), true, false}, // JSON integer
		{"msisdn", json.Number("3.59881234567e11"), false, false},
		{"text", "test 1", true, true},
		{"text", " {trimmed} ", true, true},
		{"text", "\ttabbed\t", true, true},
		{"text", "\x00 nul and vt \x0B", true, true},
		{"text", "€[]^~|\\\f", true, true},
		{"text", "\f", true, true}, // form feed is GSM and not trimmed
		{"text", "line\nbreak\r\n", true, true},
		{"text", "@", true, true},
		{"text", "", false, false},
		{"text", " ", false, false},
		{"text", "\n \r\t", false, false},
		{"text", "tab\there", false, false},
		{"text", "ü€ ✓", false, false},
		{"text", "😀", false, false},
		{"text", json.Number("12"), false, false},
		{"id", "123", true, true},
		{"id", "abcXYZ09", true, true},
		{"id", " ab1\t", true, true},
		{"id", "", true, true},   // no id
		{"id", "  ", true, true}, // no id
		{"id", nil, true, true},  // no id
		{"id", "a b", false, false},
		{"id", "a-b", false, false},
		{"id", "ü", false, false},
		{"id", json.Number("123"), true, false}, // JSON integer
		{"id", json.Number("1.5"), false, false},
	}
	for _, tc := range tests {
		handler, schema := checkAgreement(t, schemas, tc.field, tc.value)
		if handler != tc.handler || schema != tc.schema {
			t.Errorf("%s %q: handler accepts %v, schema accepts %v; want %v and %v", tc.field, tc.value, handler, schema, tc.handler, tc.schema)
		}
	}

	// The text schema covers the whole GSM 03.38 alphabet, one character
	// at a time, and nothing else: every character but the trimmed blanks
	// is a valid text alone.
	for r, w := range gsmWidth {
		want := r != ' ' && r != '\n' && r != '\r'
		if got := schemaAccepts(t, schemas["text"], string(r)); got != want {
			t.Errorf("text schema on GSM %q (width %d) = %v, want %v", r, w, got, want)
		}
		checkAgreement(t, schemas, "text", string(r))
	}
}

// TestSpecPatternsMatchValidationRandom draws seeded random strings from the
// characters each rule is sensitive to (digits, prefixes, the trimmed
// blanks, GSM and non-GSM characters) and holds schema and handler to the
// same verdict on each, as in TestSpecPatternsMatchValidation.
func TestSpecPatternsMatchValidationRandom(t *testing.T) {
	t.Parallel()
	schemas := sendSchemas(t)
	alphabets := map[string][]string{
		"msisdn": {"0", "1", "3", "5", "9", "00", "+", " ", "\t", "\n", "\r", "\x00", "\x0B", "\f", "-", "a", "12345678"},
		"text":   {"a", "Z", "0", "@", "€", "{", "\f", " ", "\t", "\n", "\r", "\x00", "\x0B", "ü", "✓", "😀", "é"},
		"id":     {"a", "Z", "0", "9", " ", "\t", "\n", "\r", "\x00", "\x0B", "\f", "-", "_", "ü"},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for field, alphabet := range alphabets {
		seen := map[[2]bool]int{}
		for range 3000 {
			var b strings.Builder
			for n := rng.IntN(8); n > 0; n-- {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			handler, schema := checkAgreement(t, schemas, field, b.String())
			seen[[2]bool{handler, schema}]++
		}
		// Both verdicts must occur, or the draws proved nothing.
		if seen[[2]bool{true, true}] == 0 || seen[[2]bool{false, false}] == 0 {
			t.Errorf("%s: draws gave verdicts %v; want both accepted and refused values", field, seen)
		}
	}
}
