// Package sbhook connects the project's own test harness
// (internal/sandboxtest) to the public sandboxtest package without making
// the connection part of the public API: only this module can import it.
//
// The public package fills the variables from its init function; the
// harness calls them. They use plain types (any for the *sandboxtest.Sandbox)
// because this package must not import sandboxtest, which imports it.
package sbhook

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

var (
	// NewInProcess starts an in-process sandbox whatever SANDBOX_URL says,
	// from a named scenario document (nil: the embedded default). The
	// project's own tests reach into the server (ages, stream settings),
	// which a shared sandbox cannot offer. configure, when not nil, changes
	// the command line's kind of settings (journal and namespace limits)
	// before the server starts. fromFile says the document was read from
	// the file scenarioName names, so that its `snapshot:` key is read
	// relative to it.
	NewInProcess func(t testing.TB, scenarioName string, scenario []byte, fromFile bool, configure func(*sandbox.Config)) InProcess

	// CheckResponse is the check sandboxtest's HTTP client runs on every
	// answer (the request id, then the OpenAPI document); the harness's Do
	// and Send run the same one. reqBody is the request's body as sent.
	CheckResponse func(req *http.Request, reqBody []byte, resp *http.Response, body []byte) (matched bool, err error)
)

// InProcess is an in-process sandbox as the harness needs it.
type InProcess struct {
	Sandbox any // *sandboxtest.Sandbox
	Server  *sandbox.Server
	HTTP    *httptest.Server
}
