package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// An event stream is text: checked as a string against specs/admin.yaml
// like text/plain (kin-openapi knows no decoder for it otherwise, and would
// call every GET /events answer invalid).
func init() { openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder) }

// CheckResponse validates a response against the OpenAPI document of the
// operation the request was routed to: its status must be documented, and
// its headers and body must match the schema. It is what the test helpers
// call on every response a test receives. Requests that match no operation
// (404/405 from the core) are not checked against a spec; it reports
// matched=false for them. Admin responses are checked against
// specs/admin.yaml.
//
// It needs no Server: the documents are the registered providers' own,
// compiled once per process, so a test can check the answers of a sandbox
// running in another process (sandboxtest with SANDBOX_URL). req.URL.Path
// must be the sandbox's own path (/ns/{name}/{mount}/... or /{mount}/...).
func CheckResponse(req *http.Request, status int, header http.Header, body []byte) (matched bool, err error) {
	m, rel, ok := checkTarget(req)
	if !ok {
		return false, nil
	}
	op, params, rerr := m.match(req, rel)
	if rerr != nil {
		return false, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: op.route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return true, fmt.Errorf("%s %s → %d does not match operation %s: %w", req.Method, req.URL.Path, status, op.id, err)
	}
	return true, nil
}

// CheckResponse is the package-level CheckResponse; the documents do not
// depend on the server's state.
func (s *Server) CheckResponse(req *http.Request, status int, header http.Header, body []byte) (matched bool, err error) {
	return CheckResponse(req, status, header, body)
}

// checkTarget finds the compiled document a request's path points at (a
// provider's, or the admin API's) and the path below its mount. A
// compilation error reads as no document: New has refused that spec already.
func checkTarget(req *http.Request) (*mount, string, bool) {
	t, ok := parseTarget(req.URL)
	if !ok {
		return nil, "", false
	}
	if t.mount == adminMountName {
		am, err := adminSpec()
		return am, t.rel, err == nil
	}
	p, ok := Lookup(t.mount)
	if !ok && t.resolveAlias() {
		p, ok = Lookup(t.mount)
	}
	if !ok {
		return nil, "", false
	}
	m, err := compiled(p)
	return m, t.rel, err == nil
}

// CheckRequest validates a request against the OpenAPI document of the
// operation it routes to (for admin requests, specs/admin.yaml), so a test
// can hold a body the server accepts to what the document promises
// clients. A request that matches no operation is an error.
func (s *Server) CheckRequest(req *http.Request) error {
	t, ok := parseTarget(req.URL)
	if !ok {
		return fmt.Errorf("%s %s: not a sandbox path", req.Method, req.URL.Path)
	}
	m, rel, ok := checkTarget(req)
	if !ok {
		return fmt.Errorf("%s %s: no mount %q", req.Method, req.URL.Path, t.mount)
	}
	op, params, err := m.match(req, rel)
	if err != nil {
		return fmt.Errorf("%s %s: no operation: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: op.route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s does not match operation %s: %w", req.Method, req.URL.Path, op.id, err)
	}
	return nil
}
