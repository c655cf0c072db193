// Package postman holds the Postman collection and environment of the
// default scenario for a sandbox on http://127.0.0.1:8080, generated from
// specs/ by internal/postman (see docs/ci.md). A running sandbox answers the
// same collection for any namespace and URL at GET /__sandbox/postman.
//
// After changing a spec or the default scenario, run `go generate
// ./postman`; TestCommittedFilesAreCurrent fails until the files match.
package postman

//go:generate go run ./gen

import (
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// The committed files, in this folder.
const (
	CollectionFile  = "provider-sandbox.postman_collection.json"
	EnvironmentFile = "sandbox.postman_environment.json"
)

// BaseURL is the committed files' baseUrl: where `go run ./cmd/sandbox`
// listens.
const BaseURL = "http://127.0.0.1:8080"

// Generate builds the committed files' content.
func Generate() (collection, environment []byte, err error) {
	sc, probs := sandbox.LoadScenario("default.yaml", scenarios.Default())
	if len(probs) > 0 {
		return nil, nil, probs
	}
	return sandbox.PostmanJSON(sc, BaseURL)
}
