package sandboxtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
)

// Request is one exchange the sandbox received and answered, from its
// journal (GET /__sandbox/requests).
type Request struct {
	ID        string    // the X-Sandbox-Request-Id the answer carried
	Time      time.Time // sandbox time of arrival
	Namespace string
	Provider  string
	Operation string // the operationId it was routed to; empty when none matched
	Method    string
	// Path is relative to URL(), e.g. /centili/datagifting/v1/service/transaction,
	// in process as with SANDBOX_URL.
	Path   string
	Query  string // the raw query string
	Header http.Header
	// Body is the request body, at most the sandbox's --journal-body-bytes
	// (4 KiB by default); BodyTruncated says it was cut.
	Body          []byte
	BodyTruncated bool
	Response      Response
	Latency       time.Duration
	// Faults are the ids of the fault rules applied to it.
	Faults []string
	// Validation says why the sandbox refused the request, when its
	// document did.
	Validation string
}

// Response is the journal's record of an answer.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
}

// DecodeBody decodes the request body as JSON into v.
func (r Request) DecodeBody(v any) error { return json.Unmarshal(r.Body, v) }

// String is a one-line summary for failure messages.
func (r Request) String() string {
	op := r.Operation
	if op == "" {
		op = "(no operation)"
	}
	return fmt.Sprintf("%s %s %s → %d [%s %s]", r.ID, r.Method, r.Path, r.Response.Status, r.Provider, op)
}

// RequestFilter selects journal entries; every field given must match.
// Provider, Operation, Method, Path, Status, StatusClass, Since and Limit
// are the journal's own filters (applied by the sandbox); BodyContains,
// BodyFields and Match are applied here, to what the journal kept of each
// body.
type RequestFilter struct {
	Provider  string // e.g. centili
	Operation string // an operationId, e.g. assignData
	Method    string
	// Path is a prefix of the path below the provider's mount, e.g.
	// /datagifting/v1/.
	Path string
	// Status is the answer's exact status; StatusClass a class: 5 for 5xx.
	Status      int
	StatusClass int
	// Since keeps entries that arrived at or after it (sandbox time).
	Since time.Time
	// Limit keeps the newest Limit entries before the filters applied here.
	Limit int

	// BodyContains is text the request body must contain.
	BodyContains string
	// BodyFields maps dotted JSON paths of the request body (msisdn,
	// items.0.amount) to the value's text: a string as it is, a number or a
	// boolean as JSON writes it. A path into an array may start with the
	// index (0.msisdn for a batch).
	BodyFields map[string]string
	// Match, when set, must also accept the entry.
	Match func(Request) bool
}

// String words the filter for failure messages.
func (f RequestFilter) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("provider", f.Provider)
	add("operation", f.Operation)
	add("method", f.Method)
	add("path", f.Path)
	if f.Status != 0 {
		add("status", strconv.Itoa(f.Status))
	}
	if f.StatusClass != 0 {
		add("status", strconv.Itoa(f.StatusClass)+"xx")
	}
	if !f.Since.IsZero() {
		add("since", f.Since.Format(time.RFC3339Nano))
	}
	if f.Limit != 0 {
		add("limit", strconv.Itoa(f.Limit))
	}
	if f.BodyContains != "" {
		add("body contains", strconv.Quote(f.BodyContains))
	}
	keys := make([]string, 0, len(f.BodyFields))
	for k := range f.BodyFields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add("body."+k, strconv.Quote(f.BodyFields[k]))
	}
	if f.Match != nil {
		add("match", "func")
	}
	if len(parts) == 0 {
		return "{any request}"
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func (f RequestFilter) params() *adminclient.ListRequestsParams {
	p := &adminclient.ListRequestsParams{Provider: optList(f.Provider), Operation: optList(f.Operation),
		Method: optList(f.Method), Path: optList(f.Path), Limit: opt(f.Limit)}
	switch {
	case f.Status != 0:
		p.Status = optList(strconv.Itoa(f.Status))
	case f.StatusClass != 0:
		p.Status = optList(strconv.Itoa(f.StatusClass) + "xx")
	}
	if !f.Since.IsZero() {
		p.Since = &f.Since
	}
	return p
}

func (f RequestFilter) accepts(r Request) bool {
	if f.BodyContains != "" && !bytes.Contains(r.Body, []byte(f.BodyContains)) {
		return false
	}
	if len(f.BodyFields) > 0 {
		var doc any
		if json.Unmarshal(r.Body, &doc) != nil {
			return false
		}
		for path, want := range f.BodyFields {
			got, ok := fieldText(doc, path)
			if !ok || got != want {
				return false
			}
		}
	}
	return f.Match == nil || f.Match(r)
}

// fieldText finds a dotted path in a decoded JSON document and returns the
// value's text.
func fieldText(doc any, path string) (string, bool) {
	cur := doc
	for _, key := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[key]
			if !ok {
				return "", false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(v) {
				return "", false
			}
			cur = v[i]
		default:
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case map[string]any, []any:
		return "", false
	default:
		data, _ := json.Marshal(v)
		return string(data), true
	}
}

// Requests returns the journal entries the filter selects, oldest first.
// The journal holds the sandbox's --journal-size newest entries (10,000 by
// default) of the test's namespace: provider calls and nothing of the
// admin API.
func (sb *Sandbox) Requests(f RequestFilter) []Request {
	sb.t.Helper()
	// The journal answers a page at a time (newest first); without a Limit
	// every page is read, following the cursor its Link header gives.
	p := f.params()
	var entries []adminclient.Entry
	for {
		res, err := sb.ac.ListRequestsWithResponse(ctx, p)
		sb.must("reading the journal", err, res.HTTPResponse, res.Body, http.StatusOK)
		entries = append(entries, *res.JSON200...)
		next := nextCursor(res.HTTPResponse.Header.Get("Link"))
		if f.Limit != 0 || next == "" {
			break
		}
		p.Cursor = &next
	}
	out := make([]Request, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- { // the journal answers newest first
		if r := sb.request(entries[i]); f.accepts(r) {
			out = append(out, r)
		}
	}
	return out
}

// nextCursor reads the cursor of a Link header's rel="next" target, "" when
// there is no next page.
func nextCursor(link string) string {
	target, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	if !ok {
		return ""
	}
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	return u.Query().Get("cursor")
}

func (sb *Sandbox) request(e adminclient.Entry) Request {
	path := deref(e.Request.Path)
	if prefix := "/ns/" + e.Namespace; strings.HasPrefix(path, prefix+"/") && sb.base != sb.root {
		path = strings.TrimPrefix(path, prefix)
	}
	return Request{ID: e.ID, Time: e.Time, Namespace: e.Namespace, Provider: deref(e.Provider), Operation: deref(e.Operation),
		Method: deref(e.Request.Method), Path: path, Query: deref(e.Request.Query), Header: http.Header(deref(e.Request.Headers)),
		Body: []byte(e.Request.Body), BodyTruncated: deref(e.Request.Truncated),
		Response: Response{Status: deref(e.Response.Status), Header: http.Header(deref(e.Response.Headers)),
			Body: []byte(e.Response.Body), Truncated: deref(e.Response.Truncated)},
		Latency: time.Duration(e.LatencyMicros) * time.Microsecond, Faults: deref(e.Faults), Validation: deref(e.Validation)}
}

// ClearRequests empties the namespace's journal.
func (sb *Sandbox) ClearRequests() {
	sb.t.Helper()
	res, err := sb.ac.ClearRequestsWithResponse(ctx)
	sb.must("clearing the journal", err, res.HTTPResponse, res.Body, http.StatusNoContent)
}

// ExpectRequests starts an assertion on the journal entries the filter
// selects:
//
//	sb.ExpectRequests(sandboxtest.RequestFilter{
//		Provider: "centili", Operation: "assignData",
//		BodyFields: map[string]string{"msisdn": "33612345678"},
//	}).Once()
func (sb *Sandbox) ExpectRequests(f RequestFilter) *RequestAssertion {
	sb.t.Helper()
	return &RequestAssertion{sb: sb, filter: f, got: sb.Requests(f)}
}

// RequestAssertion checks how many journal entries a filter selected; a
// failed check fails the test (t.Errorf) with the filter and the entries.
type RequestAssertion struct {
	sb     *Sandbox
	filter RequestFilter
	got    []Request
}

// Count checks that exactly n entries matched and returns them.
func (a *RequestAssertion) Count(n int) []Request {
	a.sb.t.Helper()
	if len(a.got) != n {
		a.fail(fmt.Sprintf("exactly %d", n))
	}
	return a.got
}

// AtLeast checks that n or more entries matched and returns them.
func (a *RequestAssertion) AtLeast(n int) []Request {
	a.sb.t.Helper()
	if len(a.got) < n {
		a.fail(fmt.Sprintf("at least %d", n))
	}
	return a.got
}

// Once checks that exactly one entry matched and returns it (the zero
// Request when the check fails).
func (a *RequestAssertion) Once() Request {
	a.sb.t.Helper()
	if len(a.got) != 1 {
		a.fail("exactly 1")
		return Request{}
	}
	return a.got[0]
}

// None checks that no entry matched.
func (a *RequestAssertion) None() {
	a.sb.t.Helper()
	if len(a.got) != 0 {
		a.fail("no")
	}
}

func (a *RequestAssertion) fail(want string) {
	a.sb.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "sandboxtest: want %s request(s) matching %s, got %d", want, a.filter, len(a.got))
	for _, r := range a.got {
		b.WriteString("\n  " + r.String())
	}
	if len(a.got) == 0 {
		// What did arrive, to show a near miss (another msisdn, another operation).
		recent := a.sb.Requests(RequestFilter{Limit: 10})
		if len(recent) == 0 {
			b.WriteString("\nthe journal is empty")
		} else {
			b.WriteString("\nthe journal's newest entries:")
			for _, r := range recent {
				b.WriteString("\n  " + r.String())
			}
		}
	}
	a.sb.t.Errorf("%s", b.String())
}
