package mergepatch_test

import (
	"encoding/json"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/mergepatch"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return v
}

// TestApplyRFC7396Examples runs the test cases of RFC 7396 Appendix A, plus
// the nested merge a scenario patch relies on.
func TestApplyRFC7396Examples(t *testing.T) {
	t.Parallel()
	cases := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		// Nested objects merge, arrays replace whole.
		{`{"clock":{"start":"x","frozen":false},"seed":1,"t":[1,2,3]}`, `{"clock":{"frozen":true},"t":[4]}`,
			`{"clock":{"start":"x","frozen":true},"seed":1,"t":[4]}`},
	}
	for _, c := range cases {
		target := decode(t, c.target)
		before, _ := json.Marshal(target)
		got, _ := json.Marshal(mergepatch.Apply(target, decode(t, c.patch)))
		want, _ := json.Marshal(decode(t, c.want))
		if string(got) != string(want) {
			t.Errorf("Apply(%s, %s) = %s, want %s", c.target, c.patch, got, want)
		}
		if after, _ := json.Marshal(target); string(after) != string(before) {
			t.Errorf("Apply modified its target: %s became %s", before, after)
		}
	}
}
