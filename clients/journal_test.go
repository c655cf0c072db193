package clients

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all" // the providers' documents
)

// checkJournal holds every answer the libraries got, in every namespace,
// to its provider's OpenAPI document, the check sandboxtest's HTTP client
// makes on each answer a Go test receives: these answers went to Node and
// Python, so they are checked afterwards, from the journal (whose secrets
// are replaced by marks of the same JSON type). It returns one line per
// answer that does not match, naming the library by its User-Agent; an
// answer of a provider operation that matches no operation, or whose body
// the journal cut, is a problem too, so that nothing goes unchecked.
func checkJournal() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root, err := adminclient.NewClientWithResponses(sb.base + "/__sandbox")
	if err != nil {
		return []string{err.Error()}
	}
	nss, err := root.ListNamespacesWithResponse(ctx)
	if err != nil || nss.JSON200 == nil {
		return []string{fmt.Sprintf("GET /__sandbox/namespaces: %v", err)}
	}
	var problems []string
	for _, ns := range append([]string{""}, nss.JSON200.Namespaces...) {
		prefix := ""
		if ns != "" && ns != "default" {
			prefix = "/ns/" + ns
		} else if ns == "default" {
			continue // the "" pass reads it
		}
		ac, err := adminclient.NewClientWithResponses(sb.base + prefix + "/__sandbox")
		if err != nil {
			return []string{err.Error()}
		}
		res, err := ac.ListRequestsWithResponse(ctx, &adminclient.ListRequestsParams{})
		if err != nil || res.JSON200 == nil {
			return append(problems, fmt.Sprintf("GET %s/__sandbox/requests: %v", prefix, err))
		}
		if res.HTTPResponse.Header.Get("Link") != "" {
			problems = append(problems, prefix+": more than one page of journal entries; only the newest 1000 were checked")
		}
		for _, e := range *res.JSON200 {
			if p := checkEntry(e); p != "" {
				problems = append(problems, p)
			}
		}
	}
	return problems
}

// checkEntry is checkJournal's verdict on one exchange: "" when it matches.
func checkEntry(e adminclient.Entry) string {
	req, res := e.Request, e.Response
	what := fmt.Sprintf("%s %s %s (%s)", e.ID, deref(req.Method), deref(req.Path), userAgent(req))
	if deref(req.Truncated) || deref(res.Truncated) {
		return what + ": body cut in the journal, not checked"
	}
	u := &url.URL{Path: deref(req.Path), RawQuery: deref(req.Query)}
	r, err := http.NewRequest(deref(req.Method), sb.base+u.String(), strings.NewReader(req.Body))
	if err != nil {
		return what + ": " + err.Error()
	}
	r.Header = http.Header(deref(req.Headers))
	matched, err := sandbox.CheckResponse(r, deref(res.Status), http.Header(deref(res.Headers)), []byte(res.Body))
	switch {
	case err != nil:
		return fmt.Sprintf("%s: %v\n  body: %s", what, err, res.Body)
	case deref(e.Provider) != "" && deref(e.Operation) != "" && !matched:
		return fmt.Sprintf("%s: operation %s, but its answer matched no operation of the documents", what, deref(e.Operation))
	}
	return ""
}

func userAgent(m adminclient.Message) string {
	if h := deref(m.Headers); len(h["User-Agent"]) > 0 {
		return h["User-Agent"][0]
	}
	return "no User-Agent"
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// TestCheckEntry: the journal check passes an answer that matches its
// document and reports one that does not, or that it could not check.
func TestCheckEntry(t *testing.T) {
	t.Parallel()
	entry := func(status int, body string, truncated bool) adminclient.Entry {
		return adminclient.Entry{ID: "req_1", Provider: ptr("centili"), Operation: ptr("keycloakToken"),
			Request: adminclient.Message{Method: ptr("POST"), Path: ptr("/centili/realms/api/protocol/openid-connect/token"),
				Headers: &map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}, "User-Agent": {"node"}},
				Body:    "grant_type=password&client_id=datagifting&username=u&password=p"},
			Response: adminclient.Message{Status: ptr(status), Truncated: ptr(truncated),
				Headers: &map[string][]string{"Content-Type": {"application/json"}, "X-Sandbox-Request-Id": {"req_1"}}, Body: body}}
	}
	for _, c := range []struct {
		name  string
		entry adminclient.Entry
		want  string // "" or a part of the problem
	}{
		{"matches", entry(401, `{"error":"invalid_grant","error_description":"Invalid user credentials"}`, false), ""},
		{"a required field missing", entry(401, `{"error_description":"Invalid user credentials"}`, false), `property "error" is missing`},
		{"cut", entry(401, `{"error":"inv`, true), "body cut in the journal, not checked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := checkEntry(c.entry)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) || (got != "" && !strings.Contains(got, "(node)")) {
				t.Errorf("checkEntry = %q, want %q", got, c.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
