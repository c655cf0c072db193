// Package sandboxtest runs a sandbox inside a test and checks every provider
// response it returns against the provider's OpenAPI document.
//
// Typical use:
//
//	h := sandboxtest.New(t, "")                 // embedded default scenario
//	res := h.Do("POST", "/centili/...", sandboxtest.JSONBody(req), sandboxtest.Header("token", tok))
//	res.WantStatus(200)
//	var tx Transaction
//	res.JSON(&tx)
//
// Do fails the test when a response that was routed to an operation does not
// match the spec (undocumented status, wrong header or body shape). Inside a
// subtest, use h.With(t) so that failures are reported on the subtest.
package sandboxtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// Harness is a running sandbox on a loopback httptest.Server.
type Harness struct {
	T      testing.TB
	Server *sandbox.Server
	HTTP   *httptest.Server
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL    string
	Client *http.Client
}

// New starts a sandbox with a scenario given as YAML text; "" means the
// embedded default scenario. The sandbox is closed when the test ends.
func New(t testing.TB, scenarioYAML string) *Harness {
	t.Helper()
	name, data := "default.yaml", scenarios.Default()
	if scenarioYAML != "" {
		name, data = "test scenario", []byte(scenarioYAML)
	}
	return NewFromBytes(t, name, data)
}

// NewFromFile starts a sandbox with a scenario file.
func NewFromFile(t testing.TB, path string) *Harness {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading scenario: %v", err)
	}
	return NewFromBytes(t, path, data)
}

// NewFromBytes starts a sandbox with a named scenario document.
func NewFromBytes(t testing.TB, name string, data []byte) *Harness {
	t.Helper()
	sc, probs := sandbox.LoadScenario(name, data)
	if len(probs) > 0 {
		t.Fatalf("scenario %s is invalid:\n%s", name, probs.Error())
	}
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, Library: scenarios.FS})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &Harness{T: t, Server: srv, HTTP: hs, URL: hs.URL, Client: hs.Client()}
}

// With returns the harness reporting to t, for use inside a subtest: a
// failure then marks the subtest that saw it, not the test that built the
// harness. The sandbox is shared.
func (h *Harness) With(t testing.TB) *Harness {
	c := *h
	c.T = t
	return &c
}

// Option changes a request before it is sent.
type Option func(*http.Request)

// Header sets a request header.
func Header(key, value string) Option {
	return func(r *http.Request) { r.Header.Set(key, value) }
}

// Bearer sets Authorization: Bearer <token>.
func Bearer(token string) Option { return Header("Authorization", "Bearer "+token) }

// Body is a request body with its content type.
type Body struct {
	ContentType string
	Data        []byte
}

// JSONBody encodes v as an application/json body; a string or []byte is sent as is.
func JSONBody(v any) *Body {
	switch b := v.(type) {
	case string:
		return &Body{"application/json", []byte(b)}
	case []byte:
		return &Body{"application/json", b}
	}
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &Body{"application/json", data}
}

// FormBody is an application/x-www-form-urlencoded body.
func FormBody(v url.Values) *Body {
	return &Body{"application/x-www-form-urlencoded", []byte(v.Encode())}
}

// RawBody sends bytes with the given content type ("" sends none).
func RawBody(contentType string, data []byte) *Body { return &Body{contentType, data} }

// Response is a received response, body read in full.
type Response struct {
	t      testing.TB
	Status int
	Header http.Header
	Body   []byte
	// Matched reports whether the request was routed to a spec operation
	// (and so the response was validated against the spec).
	Matched bool
}

// Do sends a request to the sandbox (path relative to its root, query
// included) and validates the response against the spec.
func (h *Harness) Do(method, path string, body *Body, opts ...Option) *Response {
	h.T.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body.Data)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.T.Fatalf("building request: %v", err)
	}
	if body != nil && body.ContentType != "" {
		req.Header.Set("Content-Type", body.ContentType)
	}
	for _, o := range opts {
		o(req)
	}
	return h.Send(req)
}

// Send sends a prepared request (its URL must point at the harness) and
// validates the response against the spec.
func (h *Harness) Send(req *http.Request) *Response {
	h.T.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.T.Fatalf("reading response: %v", err)
	}
	res := &Response{t: h.T, Status: resp.StatusCode, Header: resp.Header, Body: data}
	{
		if resp.Header.Get(sandbox.HeaderRequestID) == "" {
			h.T.Errorf("%s %s: response has no %s header", req.Method, req.URL.Path, sandbox.HeaderRequestID)
		}
		if strings.HasSuffix(resp.Header.Get(sandbox.HeaderFault), "; literal") {
			return res // a fault rule's literal answer is not the provider's
		}
		check := req.Clone(req.Context())
		check.Body = io.NopCloser(bytes.NewReader(reqBody))
		matched, err := h.Server.CheckResponse(check, resp.StatusCode, resp.Header, data)
		res.Matched = matched
		if err != nil {
			h.T.Errorf("response does not match the spec: %v\nbody: %s", err, truncate(data))
		}
	}
	return res
}

// Admin calls the admin API of a namespace ("" = default) and decodes JSON into out (if not nil).
func (h *Harness) Admin(method, namespace, path string, body any, out any) int {
	h.T.Helper()
	prefix := ""
	if namespace != "" {
		prefix = "/ns/" + namespace
	}
	var b *Body
	if body != nil {
		b = JSONBody(body)
	}
	res := h.Do(method, prefix+"/__sandbox"+path, b)
	if out != nil && len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, out); err != nil {
			h.T.Fatalf("admin %s %s: decoding %s: %v", method, path, truncate(res.Body), err)
		}
	}
	return res.Status
}

// WantStatus fails the test unless the status is want.
func (r *Response) WantStatus(want int) *Response {
	r.t.Helper()
	if r.Status != want {
		r.t.Fatalf("status = %d, want %d; body: %s", r.Status, want, truncate(r.Body))
	}
	return r
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("decoding body %s: %v", truncate(r.Body), err)
	}
}

// WantJSON fails unless the body is JSON equal (semantically) to want.
func (r *Response) WantJSON(want string) {
	r.t.Helper()
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		r.t.Fatalf("body is not JSON: %s", truncate(r.Body))
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		r.t.Fatalf("want is not JSON: %v", err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		r.t.Fatalf("body mismatch\n got: %s\nwant: %s", g, e)
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
