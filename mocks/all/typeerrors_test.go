package all_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// goNames matches what would betray a Go type in a message meant for a user
// editing a scenario: a package-qualified name (faults.Delay,
// time.Duration), a YAML tag (!!str), or Go's spelling of lists, maps and
// pointers.
var goNames = regexp.MustCompile(`\b[a-z][a-z0-9]*\.[A-Z][A-Za-z0-9]*\b|!!|\[\]|\bmap\[|\*[a-z]|interface \{|struct \{`)

// field is one key a scenario can hold, with the Go type it decodes into.
type field struct {
	path []any // map keys (string) and list indexes (int), from the top
	typ  reflect.Type
}

// fieldsOf lists every key reachable from t, going into structs (by their
// yaml keys), list items (index 0) and map values (key "k").
func fieldsOf(t reflect.Type, path []any, depth int, out *[]field) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 8 || t == reflect.TypeOf(yaml.Node{}) || t.Kind() == reflect.Interface {
		return
	}
	at := func(seg any) []any { return append(append([]any(nil), path...), seg) }
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if !sf.IsExported() || name == "-" {
				continue
			}
			if strings.Contains(opts, "inline") {
				if sf.Type.Kind() == reflect.Struct {
					fieldsOf(sf.Type, path, depth, out)
				}
				continue
			}
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			*out = append(*out, field{at(name), sf.Type})
			fieldsOf(sf.Type, at(name), depth+1, out)
		}
	case reflect.Slice, reflect.Array:
		*out = append(*out, field{at(0), t.Elem()})
		fieldsOf(t.Elem(), at(0), depth+1, out)
	case reflect.Map:
		*out = append(*out, field{at("k"), t.Elem()})
		fieldsOf(t.Elem(), at("k"), depth+1, out)
	}
}

// place builds the document that holds v at path.
func place(path []any, v any) any {
	if len(path) == 0 {
		return v
	}
	inner := place(path[1:], v)
	if _, isIndex := path[0].(int); isIndex {
		return []any{inner}
	}
	return map[string]any{path[0].(string): inner}
}

func dotted(path []any) string {
	var b strings.Builder
	for _, seg := range path {
		switch s := seg.(type) {
		case int:
			b.WriteString("[0]")
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		}
	}
	return b.String()
}

// wrongValues are values of the wrong kind for a key of type t.
func wrongValues(t reflect.Type) []any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	list, mapping := []any{1}, map[string]any{"wrong": 1}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return []any{"abc", list}
	case reflect.Slice, reflect.Array:
		return []any{"abc", mapping}
	case reflect.String:
		return []any{list, mapping}
	}
	return []any{"abc", list, mapping}
}

// TestTypeErrorsNameNoGoType puts a value of the wrong kind at every key of
// a full scenario (the common part, every provider's section, fault rules)
// and checks that each is reported at that key with a hint, and that no
// problem names a Go type: a user reads "expected a mapping {fixed: 2s} or
// {min: 1s, max: 3s}", never "expected faults.Delay".
func TestTypeErrorsNameNoGoType(t *testing.T) {
	t.Parallel()
	var fields []field
	fieldsOf(reflect.TypeOf(scenario.Scenario{}), nil, 0, &fields)
	for _, p := range sandbox.Providers() {
		fieldsOf(reflect.TypeOf(p.NewConfig()), []any{p.Name}, 1, &fields)
	}
	fieldsOf(reflect.TypeOf(faults.List{}), []any{"faults"}, 1, &fields)
	if len(fields) < 100 {
		t.Fatalf("only %d keys found; the walk is broken", len(fields))
	}
	cases := 0
	for _, f := range fields {
		if f.typ.Kind() == reflect.Interface || f.typ == reflect.TypeOf(yaml.Node{}) {
			continue
		}
		key := dotted(f.path)
		for _, v := range wrongValues(f.typ) {
			doc := place(f.path, v).(map[string]any)
			if key != "version" {
				doc["version"] = 1
			}
			data, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			cases++
			_, probs := sandbox.LoadScenario("sweep.yaml", data)
			var atKey bool
			for _, p := range probs {
				if goNames.MatchString(p.Message) || goNames.MatchString(p.Hint) {
					t.Errorf("%s = %v: problem names a Go type: %s", key, v, p)
				}
				if p.Path == key {
					atKey = true
					if p.Hint == "" {
						t.Errorf("%s = %v: no hint: %s", key, v, p)
					}
				}
			}
			if !atKey {
				t.Errorf("%s = %v: no problem at %s; got:\n%s\nfile:\n%s", key, v, key, probs, data)
			}
		}
	}
	t.Logf("%d keys, %d wrong values", len(fields), cases)
}
