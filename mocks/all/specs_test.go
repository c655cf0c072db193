package all_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestServedSpecsHaveNoFormatArtefacts: users generate clients and fuzzers
// from the documents served at /__sandbox/specs/{provider}; a Go format
// verb run over their text once left "%!)(MISSING)" in InTarget's. Every
// served document, YAML and JSON, is free of fmt's error markers.
func TestServedSpecsHaveNoFormatArtefacts(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	var list []struct {
		Name string `json:"name"`
	}
	res := h.Do("GET", "/__sandbox/specs", nil).WantStatus(200)
	res.JSON(&list)
	names := []string{"admin"}
	for _, p := range list {
		names = append(names, p.Name)
	}
	if len(names) < 5 {
		t.Fatalf("GET /__sandbox/specs listed %v, want every provider", names)
	}
	for _, name := range names {
		for _, format := range []string{"yaml", "json"} {
			body := h.Do("GET", "/__sandbox/specs/"+name+"?format="+format, nil).WantStatus(200).Body
			if format == "json" && !json.Valid(body) {
				t.Errorf("%s (%s): not JSON", name, format)
			}
			text := string(body)
			for _, marker := range []string{"%!", "(MISSING)", "(EXTRA ", "(BADINDEX)"} {
				if i := strings.Index(text, marker); i >= 0 {
					lo, hi := max(0, i-60), min(len(text), i+40)
					t.Errorf("%s (%s) contains %q: …%s…", name, format, marker, text[lo:hi])
				}
			}
		}
	}
}
