// Package sandboxtest is the project's own test harness: a thin layer over
// the public package github.com/provider-sandbox/provider-sandbox/sandboxtest
// (so every run of the project's tests exercises it) that adds what the
// project's tests need and users do not: the in-process *sandbox.Server,
// raw requests with their status and bytes, and the event stream.
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
//
// The harness is always in process, whatever SANDBOX_URL says: the
// project's tests own the whole server (its default namespace, its limits).
package sandboxtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sbhook"
	"github.com/provider-sandbox/provider-sandbox/internal/store"
	public "github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// Harness is a running sandbox on a loopback httptest.Server.
type Harness struct {
	T testing.TB
	// Sandbox is the public package's view of the same sandbox (journal,
	// state, clock, faults, credentials); nil for a harness built as a
	// literal around a server of the test's own.
	Sandbox *public.Sandbox
	Server  *sandbox.Server
	HTTP    *httptest.Server
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Client sends the harness's requests; Do and Send check the answers
	// themselves, so it is a plain client.
	Client *http.Client
}

// New starts a sandbox with a scenario given as YAML text; "" means the
// embedded default scenario. The sandbox is closed when the test ends.
func New(t testing.TB, scenarioYAML string) *Harness {
	t.Helper()
	return NewWithConfig(t, scenarioYAML, nil)
}

// NewFromFile starts a sandbox with a scenario file.
func NewFromFile(t testing.TB, path string) *Harness {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading scenario: %v", err)
	}
	return newHarness(t, path, data, true, nil)
}

// NewFromBytes starts a sandbox with a named scenario document (nil: the
// embedded default).
func NewFromBytes(t testing.TB, name string, data []byte) *Harness {
	t.Helper()
	return newHarness(t, name, data, false, nil)
}

// NewWithConfig is New with settings of the command line's kind (journal
// limits, namespace limits) changed by configure before the sandbox starts.
func NewWithConfig(t testing.TB, scenarioYAML string, configure func(*sandbox.Config)) *Harness {
	t.Helper()
	if scenarioYAML == "" {
		return newHarness(t, "default.yaml", nil, false, configure)
	}
	return newHarness(t, "test scenario", []byte(scenarioYAML), false, configure)
}

// NewOnDisk starts a sandbox whose data directory is dir (--data-dir).
// The sandbox is closed when the test ends; kill drops it sooner, the way
// kill -9 would (connections cut, the store closed), leaving what reached
// the disk for the next NewOnDisk on dir.
func NewOnDisk(t testing.TB, dir, scenarioYAML string) (h *Harness, kill func()) {
	t.Helper()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatalf("opening the data directory: %v", err)
	}
	t.Cleanup(func() { db.Close() }) // after the sandbox's own cleanup; a second Close is a no-op
	h = NewWithConfig(t, scenarioYAML, func(c *sandbox.Config) { c.Store = db })
	return h, func() {
		h.HTTP.CloseClientConnections()
		h.HTTP.Close()
		db.Close()
	}
}

func newHarness(t testing.TB, name string, data []byte, fromFile bool, configure func(*sandbox.Config)) *Harness {
	t.Helper()
	in := sbhook.NewInProcess(t, name, data, fromFile, configure)
	return &Harness{T: t, Sandbox: in.Sandbox.(*public.Sandbox), Server: in.Server, HTTP: in.HTTP,
		URL: in.HTTP.URL, Client: in.HTTP.Client()}
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
	matched, err := sbhook.CheckResponse(h.checkable(req), reqBody, resp, data)
	res.Matched = matched
	if err != nil {
		h.T.Errorf("%v", err)
	}
	return res
}

// Host sends the request with this Host header (a provider host, with
// host routing on: docs/hosts.md), whatever address it is sent to.
func Host(name string) Option {
	return func(r *http.Request) { r.Host = name }
}

// checkable is req as the answer checker needs it: a request the server
// routes by its Host header gets the path it maps to under the mounts, so
// that its answer is checked against the provider's document too.
func (h *Harness) checkable(req *http.Request) *http.Request {
	if h.Server == nil {
		return req
	}
	p, ok := h.Server.RoutedPath(req)
	if !ok {
		return req
	}
	c := req.Clone(req.Context())
	u := *req.URL
	u.Path, u.RawPath = p, ""
	c.URL = &u
	return c
}

// CheckingTransport wraps next so that every answer of this sandbox is
// checked against its OpenAPI document, as Do checks it, however the
// request reached it: for clients configured with the providers' real URLs
// (a Transport whose DialContext reaches the harness for any address).
// A mismatch fails the test.
func (h *Harness) CheckingTransport(next http.RoundTripper) http.RoundTripper {
	return checkingTransport{h: h, next: next}
}

type checkingTransport struct {
	h    *Harness
	next http.RoundTripper
}

func (c checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// The body as sent, from a copy: clients of the production URLs
	// (x/oauth2, http.NewRequest with a strings.Reader) set GetBody.
	var reqBody []byte
	if req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(b)
		}
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	check := req
	if req.Host == "" {
		check = req.Clone(req.Context())
		check.Host = req.URL.Host
	}
	if _, err := sbhook.CheckResponse(c.h.checkable(check), reqBody, resp, body); err != nil {
		c.h.T.Errorf("%v", err)
	}
	return resp, nil
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

// Snapshot saves a namespace ("" = default) with GET /__sandbox/snapshot
// (?journal=true with withJournal) and returns the file, failing the test
// unless it is a 200.
func (h *Harness) Snapshot(namespace string, withJournal bool) []byte {
	h.T.Helper()
	path := "/__sandbox/snapshot"
	if namespace != "" {
		path = "/ns/" + namespace + path
	}
	if withJournal {
		path += "?journal=true"
	}
	return h.Do("GET", path, nil).WantStatus(200).Body
}

// Restore PUTs a snapshot file into a namespace ("" = default).
func (h *Harness) Restore(namespace string, snapshot []byte) *Response {
	h.T.Helper()
	path := "/__sandbox/snapshot"
	if namespace != "" {
		path = "/ns/" + namespace + path
	}
	return h.Do("PUT", path, RawBody("application/json", snapshot))
}

// Raw writes raw bytes as a request on a new connection and reads one
// response, for requests net/http's client will not send (HTTP/1.0
// without Host, control characters in a header). The response is not
// checked against a spec.
func (h *Harness) Raw(request string) (*http.Response, []byte) {
	h.T.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		h.T.Fatalf("raw request: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(request)); err != nil {
		h.T.Fatalf("raw request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		h.T.Fatalf("raw request %q: reading the response: %v", truncate([]byte(request)), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.T.Fatalf("raw request: reading the body: %v", err)
	}
	return resp, body
}

// Namespaces lists the live namespaces (GET /__sandbox/namespaces), sorted.
func (h *Harness) Namespaces() []string {
	h.T.Helper()
	var out struct {
		Namespaces []string `json:"namespaces"`
	}
	if st := h.Admin("GET", "", "/namespaces", nil, &out); st != 200 {
		h.T.Fatalf("GET /__sandbox/namespaces: %d", st)
	}
	sort.Strings(out.Namespaces)
	return out.Namespaces
}

// ProviderState returns a provider's live state in a namespace of the
// in-process server ("" is the default one), for the tests that reach
// into it (a provider's Durable or Persistent methods).
func (h *Harness) ProviderState(namespace, provider string) any {
	h.T.Helper()
	if namespace == "" {
		namespace = "default"
	}
	ns, err := h.Server.Namespace(namespace)
	if err != nil {
		h.T.Fatalf("namespace %q: %v", namespace, err)
	}
	st, ok := ns.State(provider)
	if !ok {
		h.T.Fatalf("namespace %q has no %s state", namespace, provider)
	}
	return st
}

// SavedState is a provider's part of a namespace snapshot, as its
// SaveState returns it.
func (h *Harness) SavedState(namespace, provider string) []byte {
	h.T.Helper()
	st, ok := h.ProviderState(namespace, provider).(sandbox.Persistent)
	if !ok {
		h.T.Fatalf("the %s state is not Persistent", provider)
	}
	raw, err := st.SaveState()
	if err != nil {
		h.T.Fatalf("%s SaveState: %v", provider, err)
	}
	return raw
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

// truncate shortens a body for a failure message.
func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// Event is one Server-Sent Event received from GET /__sandbox/events.
type Event struct {
	Name string
	Data json.RawMessage
}

// EventStream is an open GET /__sandbox/events on a real socket. Events are
// read in the background and queued; Next takes them in order.
type EventStream struct {
	t        testing.TB
	Header   http.Header
	body     io.ReadCloser
	events   chan Event
	comments chan string
	done     chan struct{}
	err      error // why reading stopped, once done is closed
}

// Events opens the event stream of a namespace ("" = default), checks its
// status and headers against specs/admin.yaml, and closes it when the test
// ends.
func (h *Harness) Events(namespace string) *EventStream {
	h.T.Helper()
	prefix := ""
	if namespace != "" {
		prefix = "/ns/" + namespace
	}
	req, err := http.NewRequest("GET", h.URL+prefix+"/__sandbox/events", nil)
	if err != nil {
		h.T.Fatalf("building request: %v", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := h.Client.Do(req)
	if err != nil {
		h.T.Fatalf("GET %s: %v", req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h.T.Fatalf("GET %s: status %d: %s", req.URL.Path, resp.StatusCode, truncate(data))
	}
	if _, err := sbhook.CheckResponse(req, nil, resp, nil); err != nil {
		h.T.Errorf("event stream: %v", err)
	}
	s := &EventStream{t: h.T, Header: resp.Header, body: resp.Body,
		events: make(chan Event, 1<<16), comments: make(chan string, 1<<10), done: make(chan struct{})}
	go s.read()
	h.T.Cleanup(s.Close)
	return s
}

// read parses the text/event-stream format (event, data and comment lines;
// a blank line ends an event).
func (s *EventStream) read() {
	defer close(s.done)
	br := bufio.NewReader(s.body)
	var ev Event
	var data []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.err = err
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.Name != "" || data != nil {
				ev.Data = data
				s.events <- ev
			}
			ev, data = Event{}, nil
		case strings.HasPrefix(line, ":"):
			select {
			case s.comments <- strings.TrimSpace(line[1:]):
			default:
			}
		case strings.HasPrefix(line, "event: "):
			ev.Name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):]...)
		default:
			s.err = fmt.Errorf("unexpected line %q in the event stream", line)
			return
		}
	}
}

// streamWait bounds every wait for the stream: a test fails rather than
// hangs when an event never comes. It is not a latency promise.
const streamWait = 10 * time.Second

// Next returns the next event, failing the test if none comes or the
// stream ends.
func (s *EventStream) Next() Event {
	s.t.Helper()
	select {
	case ev := <-s.events:
		return ev
	default:
	}
	select {
	case ev := <-s.events:
		return ev
	case <-s.done:
		select {
		case ev := <-s.events:
			return ev
		default:
		}
		s.t.Fatalf("event stream ended: %v", s.err)
	case <-time.After(streamWait):
		s.t.Fatalf("no event within %s", streamWait)
	}
	return Event{}
}

// NextNamed returns the next event with the given name, failing the test
// if another event comes first.
func (s *EventStream) NextNamed(name string) Event {
	s.t.Helper()
	ev := s.Next()
	if ev.Name != name {
		s.t.Fatalf("next event is %q (%s), want %q", ev.Name, ev.Data, name)
	}
	return ev
}

// Comment returns the next comment line (": keepalive" reads "keepalive").
func (s *EventStream) Comment() string {
	s.t.Helper()
	select {
	case c := <-s.comments:
		return c
	case <-time.After(streamWait):
		s.t.Fatalf("no comment within %s", streamWait)
	}
	return ""
}

// Pending returns how many events have arrived and not been taken yet.
func (s *EventStream) Pending() int { return len(s.events) }

// Ended waits for the server to end the stream and reports whether it did
// within the wait.
func (s *EventStream) Ended() bool {
	select {
	case <-s.done:
		return true
	case <-time.After(streamWait):
		return false
	}
}

// Close disconnects and waits for the reader to stop.
func (s *EventStream) Close() {
	s.body.Close()
	<-s.done
}
