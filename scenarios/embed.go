// Package scenarios embeds the scenario library, so `go run ./cmd/sandbox`
// starts with default.yaml and every shipped scenario can be loaded by name.
package scenarios

import "embed"

// FS holds every *.yaml scenario of this folder.
//
//go:embed *.yaml
var FS embed.FS

// DefaultName is the scenario the sandbox starts with when no --scenario is given.
const DefaultName = "default.yaml"

// Default returns the embedded default scenario.
func Default() []byte {
	b, err := FS.ReadFile(DefaultName)
	if err != nil {
		panic("scenarios: " + err.Error())
	}
	return b
}
