// Command jsongen writes json/<name>.json for every specs/*.yaml document
// and json/index, which maps each YAML file's SHA-256 to its JSON form.
//
// Why: parsing YAML is half of what loading an OpenAPI document costs, and
// loading the four provider documents is most of the sandbox's start-up
// time. The JSON is produced by the same loader the sandbox uses (load the
// YAML, marshal the document), so loading it gives the same document.
// The sandbox uses a JSON form only when the YAML's hash matches, so a
// stale file costs start-up time, never correctness; a test in specs/
// fails until `go generate ./specs` has been run.
//
// Usage (from specs/): go run ./jsongen
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/provider-sandbox/provider-sandbox/specs"
)

func main() {
	files, index, err := specs.GenerateJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsongen:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll("json", 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "jsongen:", err)
		os.Exit(1)
	}
	old, _ := filepath.Glob("json/*.json")
	for _, f := range old {
		os.Remove(f)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join("json", name), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "jsongen:", err)
			os.Exit(1)
		}
	}
	if err := os.WriteFile(filepath.Join("json", "index"), index, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "jsongen:", err)
		os.Exit(1)
	}
}
