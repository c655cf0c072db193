// Package brokenspec_test registers a provider whose OpenAPI document is
// invalid, in a package of its own so that no other test shares the
// registry with it. It proves that start-up checks every spec before the
// server can answer anything: New fails, and there is no handler to serve.
package brokenspec_test

import (
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

func init() {
	sandbox.Register(&sandbox.Provider{
		Name: "broken",
		// Parses, but is not valid OpenAPI: "integr" is no schema type.
		Spec: []byte(`openapi: 3.0.3
info: {title: broken, version: "1"}
paths:
  /a:
    get:
      operationId: getA
      parameters:
        - {name: n, in: query, schema: {type: integr}}
      responses: {"200": {description: ok}}
`),
		NewConfig:  func() any { return &struct{}{} },
		New:        func(sandbox.Env) (any, error) { return nil, nil },
		WriteError: func(*sandbox.Call, *sandbox.Error) {},
		Operations: map[string]sandbox.Handler{"getA": func(*sandbox.Call) {}},
	})
}

func TestBrokenSpecFailsStartup(t *testing.T) {
	sc, probs := sandbox.LoadScenario("t", []byte("version: 1\nname: t\n"))
	if len(probs) > 0 {
		t.Fatal(probs.Error())
	}
	srv, err := sandbox.New(sandbox.Config{Scenario: sc})
	if err == nil || srv != nil || !strings.Contains(err.Error(), "broken: spec is not valid OpenAPI") || !strings.Contains(err.Error(), "integr") {
		t.Fatalf("New = %v, %v; want the broken spec's error and no server", srv, err)
	}
}

// The pre-generated JSON forms are only a faster way to the same document:
// a spec that differs from the shipped one by a byte is loaded from its own
// YAML and validated, so an edit cannot hide behind a stale JSON form.
func TestEditedShippedSpecIsValidatedFromItsYAML(t *testing.T) {
	shipped := specs.Must("centili.yaml")
	if _, ok := specs.JSON(shipped); !ok {
		t.Fatal("the shipped centili.yaml has no JSON form: run go generate ./specs")
	}
	edited := []byte(strings.Replace(string(shipped), "openapi: 3.0.3", "openapi: 3.0.3\nx-edited: [", 1))
	if _, ok := specs.JSON(edited); ok {
		t.Fatal("an edited spec matched the shipped JSON form")
	}
	err := sandbox.CheckProvider(&sandbox.Provider{Name: "centili-edited", Spec: edited})
	if err == nil || !strings.Contains(err.Error(), "centili-edited: spec does not parse") {
		t.Fatalf("CheckProvider(edited) = %v", err)
	}
}
