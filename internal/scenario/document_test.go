package scenario

import (
	"reflect"
	"testing"
)

func TestDecodeDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      Problems
	}{
		{"one-line JSON: field paths, no lines", `{"realm":"api","pools":[{"operator":"FR","totalAmont":1}],"flags":{"strict":"maybe"}}`, Problems{
			{Path: "flags.strict", Message: `"maybe" is a string, expected true or false`, Hint: "use true or false"},
			{Path: "pools[0].totalAmont", Message: `unknown key "totalAmont"`, Hint: `did you mean "totalAmount"?`},
		}},
		{"YAML keeps its lines", "realm: api\nrelm: x\n", Problems{
			{Line: 2, Path: "relm", Message: `unknown key "relm"`, Hint: `did you mean "realm"?`},
		}},
		{"not an object", `[1,2]`, Problems{
			{Message: "expected a JSON object (a mapping of keys to values)", Hint: "send one object, not a list or a single value"},
		}},
		{"empty", ``, Problems{{Message: "the body is empty", Hint: "send one JSON object"}}},
		{"good", `{"realm":"api"}`, nil},
		{"a key given three times: one problem, and the rest still decodes", `{"realm":"a","realm":"b","realm":"c","flags":{"strict":"maybe"}}`, Problems{
			{Path: "realm", Message: `key "realm" is given 3 times in the same mapping`, Hint: "give it once: remove the repeats, or merge their values into one"},
			{Path: "flags.strict", Message: `"maybe" is a string, expected true or false`, Hint: "use true or false"},
		}},
		{"a repeated key in YAML points at the first repeat", "realm: a\npools:\n  - operator: FR\n    operator: AT\n", Problems{
			{Line: 4, Path: "pools[0].operator", Message: `key "operator" is given 2 times in the same mapping`, Hint: "give it once: remove the repeats, or merge their values into one"},
		}},
		{"a list where a mapping goes names the key, not its first item", "flags:\n  - strict\n", Problems{
			{Line: 2, Path: "flags", Message: "found a list, expected a mapping with the keys strict", Hint: "write a mapping: `key: value` lines indented under it, or {key: value} on one line"},
		}},
		{"a mapping where text goes", "realm:\n  name: api\n", Problems{
			{Line: 2, Path: "realm", Message: "found a mapping, expected a single value (text)", Hint: "write one value here, not a list or a mapping; quote it if it contains `: ` or ` #` or starts with [ or {"},
		}},
		{"good, with a comment and blank lines after it", "{\"realm\":\"api\"} # the realm\n\n", nil},
		{"good, with an explicit document end", "realm: api\n...\n", nil},
		{"trailing text after the object", `{"realm":"api"} garbage`, Problems{
			{Message: "unexpected content after the end of the first document; only one JSON object or YAML document is accepted", Hint: "send one JSON object and nothing after it"},
		}},
		{"a second JSON object", `{"realm":"api"}{"realm":"x"}`, Problems{
			{Message: "unexpected content after the end of the first document; only one JSON object or YAML document is accepted", Hint: "send one JSON object and nothing after it"},
		}},
		{"a second YAML document", "realm: api\n---\nrealm: other\n", Problems{
			{Line: 2, Message: "a second YAML document starts at this `---` line; only one document is accepted", Hint: "send one JSON object and nothing after it; remove the `---` line and what follows it, or merge the two"},
		}},
		{"an empty second YAML document", "realm: api\n---\n", Problems{
			{Line: 2, Message: "a second YAML document starts at this `---` line; only one document is accepted", Hint: "send one JSON object and nothing after it; remove the `---` line and what follows it, or merge the two"},
		}},
		{"text after an explicit document end", "realm: api\n...\nmore\n", Problems{
			{Line: 2, Message: "unexpected content after the end of the first document; only one JSON object or YAML document is accepted", Hint: "send one JSON object and nothing after it"},
		}},
	}
	for _, tc := range tests {
		var cfg sectionCfg
		got := DecodeDocument("", []byte(tc.src), &cfg)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.name, got, tc.want)
		}
	}
}
