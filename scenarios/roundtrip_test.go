package scenarios_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestGetScenarioIsAcceptedByPut checks, for every shipped scenario, that
// the document GET /__sandbox/scenario returns is accepted by PUT unchanged
// and describes the same scenario: a GET after the PUT returns the same
// document, save for where it came from.
func TestGetScenarioIsAcceptedByPut(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.NewFromFile(t, file)
			first := h.Do("GET", "/__sandbox/scenario", nil).WantStatus(200).Body
			h.Do("PUT", "/__sandbox/scenario?name=round-trip", sandboxtest.RawBody("application/json", first)).
				WantStatus(200)
			second := h.Do("GET", "/__sandbox/scenario", nil).WantStatus(200).Body
			a, b := withoutSource(t, first, file), withoutSource(t, second, "round-trip")
			if a != b {
				t.Errorf("the scenario changed in the round trip:\nbefore: %s\nafter:  %s", a, b)
			}
			// An empty merge patch is the same round trip through PATCH.
			h.Do("PATCH", "/__sandbox/scenario", sandboxtest.RawBody("application/merge-patch+json", []byte(`{}`))).WantStatus(200)
			third := h.Do("GET", "/__sandbox/scenario", nil).WantStatus(200).Body
			if c := withoutSource(t, third, "round-trip (patched)"); c != a {
				t.Errorf("an empty merge patch changed the scenario:\nbefore: %s\nafter:  %s", a, c)
			}
		})
	}
}

// withoutSource checks the document's source and returns the rest,
// re-encoded canonically.
func withoutSource(t *testing.T, doc []byte, source string) string {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m["source"] != source {
		t.Errorf("source = %v, want %q", m["source"], source)
	}
	delete(m, "source")
	out, _ := json.Marshal(m)
	return string(out)
}
