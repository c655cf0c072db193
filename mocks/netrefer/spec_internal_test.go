package netrefer

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/specs"
)

// TestSpecEventSchemasMatchHandler: specs/netrefer.yaml says exactly what the
// event decoder enforces, so a client or fuzzer built from it sends events
// the server takes: per event type the members (and no others), the
// required ones, the eventType value, and the ISO code lists.
func TestSpecEventSchemasMatchHandler(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("netrefer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	names := func(fs fieldSet) []string {
		var out []string
		for f := field(0); f < numFields; f++ {
			if fs.has(f) {
				out = append(out, fieldNames[f])
			}
		}
		sort.Strings(out)
		return out
	}
	for k := kRegistration; k <= kDepositCorrection; k++ {
		s := schemas[k.String()].Value
		var props []string
		for n := range s.Properties {
			props = append(props, n)
		}
		sort.Strings(props)
		req := append([]string(nil), s.Required...)
		sort.Strings(req)
		if got, want := strings.Join(props, ","), strings.Join(names(allowedFields[k]), ","); got != want {
			t.Errorf("%s properties = %s, handler allows %s", k, got, want)
		}
		if got, want := strings.Join(req, ","), strings.Join(names(requiredFields[k]), ","); got != want {
			t.Errorf("%s required = %s, handler requires %s", k, got, want)
		}
		if ap := s.AdditionalProperties.Has; ap == nil || *ap {
			t.Errorf("%s allows additional properties; the handler rejects them (DI-1016)", k)
		}
		if e := s.Properties["eventType"].Value.Enum; len(e) != 1 || e[0] != k.String() {
			t.Errorf("%s eventType enum = %v, want [%s]", k, e, k)
		}
	}
	for name, set := range map[string]map[string]bool{"Currency": currencies, "CountryCode": countries} {
		enum := schemas[name].Value.Enum
		if len(enum) != len(set) {
			t.Errorf("%s enum has %d codes, the handler %d", name, len(enum), len(set))
		}
		for _, v := range enum {
			if !set[v.(string)] {
				t.Errorf("%s enum has %v, which the handler refuses", name, v)
			}
		}
	}
	// Both directions: what the pattern accepts the handler takes, and
	// what the handler takes (docs/netrefer.md: Z or +00:00) the schema
	// accepts, so a validating client generated from it sends it.
	dt := schemas["DateTime"].Value
	re := regexp.MustCompile(dt.Pattern)
	for in, ok := range map[string]bool{"2026-11-22T10:15:00Z": true, "2026-11-22T10:15:00.123456789Z": true,
		"2026-11-22T10:15:00+00:00": true, "2026-11-22T10:15:00-00:00": true, "2026-11-22T10:15:00.1234567891Z": true,
		"2026-11-22T10:15:00+01:00": false, "2026-11-22 10:15:00Z": false, "2026-11-22T10:15:00": false} {
		if re.MatchString(in) != ok {
			t.Errorf("DateTime pattern on %q = %v, want %v", in, !ok, ok)
		}
		e := &event{}
		e.dateTime(fTimestamp, []byte(`"`+in+`"`))
		if handler := len(e.errs) == 0; handler != ok {
			t.Errorf("handler on %q accepts = %v, the pattern says %v: %v", in, handler, ok, e.errs)
		}
		if err := dt.VisitJSON(in); ok && err != nil {
			t.Errorf("DateTime schema refuses %q, which the handler takes: %v", in, err)
		}
	}
	// A method name of any length is taken (unknown names become Other).
	long := strings.Repeat("m", 200)
	e := &event{}
	if e.method(fDepositMethod, []byte(`"`+long+`"`)); len(e.errs) > 0 {
		t.Fatalf("handler refuses a long method name: %v", e.errs)
	}
	if err := schemas["Method"].Value.VisitJSON(long); err != nil {
		t.Errorf("Method schema refuses a %d-character name the handler takes: %v", len(long), err)
	}
}
