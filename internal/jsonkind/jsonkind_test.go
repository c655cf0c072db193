package jsonkind

import "testing"

func TestOf(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"": "nothing", `"x"`: "a string", `{}`: "an object", `[1]`: "an array",
		"true": "a boolean", "false": "a boolean", "null": "null", "-1.5e3": "a number",
	} {
		if got := Of([]byte(raw)); got != want {
			t.Errorf("Of(%q) = %q, want %q", raw, got, want)
		}
	}
}
