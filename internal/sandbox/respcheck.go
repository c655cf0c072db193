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
// its headers and body must match the schema. It is what the test helper
// calls on every response a test receives. Requests that match no operation
// (404/405 from the core) are not checked against a spec; it reports
// matched=false for them. Admin responses are checked against
// specs/admin.yaml.
func (s *Server) CheckResponse(req *http.Request, status int, header http.Header, body []byte) (matched bool, err error) {
	t, ok := parseTarget(req.URL)
	if !ok {
		return false, nil
	}
	m, ok := s.mounts[t.mount]
	if t.mount == adminMountName {
		am, err := adminSpec()
		if err != nil {
			return false, err
		}
		m, ok = am, true
	}
	if !ok {
		return false, nil
	}
	op, params, rerr := m.match(req, t.rel)
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

// CheckRequest validates a request against the OpenAPI document of the
// operation it routes to (for admin requests, specs/admin.yaml), so a test
// can hold a body the server accepts to what the document promises
// clients. A request that matches no operation is an error.
func (s *Server) CheckRequest(req *http.Request) error {
	t, ok := parseTarget(req.URL)
	if !ok {
		return fmt.Errorf("%s %s: not a sandbox path", req.Method, req.URL.Path)
	}
	m, ok := s.mounts[t.mount]
	if t.mount == adminMountName {
		am, err := adminSpec()
		if err != nil {
			return err
		}
		m, ok = am, true
	}
	if !ok {
		return fmt.Errorf("%s %s: no mount %q", req.Method, req.URL.Path, t.mount)
	}
	op, params, err := m.match(req, t.rel)
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
