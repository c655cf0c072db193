package specs_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/specs"
)

// The JSON forms the sandbox loads at start-up must be those of the YAML in
// this folder; a stale one would only cost start-up time (its hash no
// longer matches), but CI should say so.
func TestGeneratedJSONIsCurrent(t *testing.T) {
	t.Parallel()
	files, _, err := specs.GenerateJSON()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		yamlName := name[:len(name)-len(".json")] + ".yaml"
		got, ok := specs.JSON(specs.Must(yamlName))
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("specs/json/%s is missing or stale for specs/%s: run `go generate ./specs`", name, yamlName)
		}
	}
}

// The JSON form loads to the same document as the YAML.
func TestJSONLoadsTheSameDocument(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"centili.yaml", "netrefer.yaml", "admin.yaml", "intarget.yaml", "netfinity.yaml"} {
		j, ok := specs.JSON(specs.Must(name))
		if !ok {
			t.Fatalf("%s: no JSON form", name)
		}
		fromYAML, err1 := openapi3.NewLoader().LoadFromData(specs.Must(name))
		fromJSON, err2 := openapi3.NewLoader().LoadFromData(j)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		a, _ := json.Marshal(fromYAML)
		b, _ := json.Marshal(fromJSON)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the JSON form loads to a different document", name)
		}
	}
	if _, ok := specs.JSON([]byte("openapi: 3.0.3\n")); ok {
		t.Error("JSON answered for bytes that are not a document of this folder")
	}
}
