// Package adminclient is a Go client for the sandbox's admin API
// (/__sandbox, described by specs/admin.yaml): the journal, provider state,
// callbacks, the clock, fault rules, scenarios and namespaces, with a typed
// answer per documented status.
//
// The operations and types in client.gen.go are generated from that document
// (see generate.go), so the client follows the server: a test calls every
// operation against a real sandbox and decodes each answer. New adds what
// the generator cannot know: where the admin API lives under a sandbox or
// namespace URL. Each operation has a method returning the raw
// *http.Response (on ClientInterface) and one, named ...WithResponse, whose
// answer holds the decoded body of the status that came back:
//
//	c, err := adminclient.New("http://127.0.0.1:8080/ns/ci-42")
//	if err != nil { ... }
//	res, err := c.ListRequestsWithResponse(ctx, &adminclient.ListRequestsParams{Provider: new("centili")})
//	if err != nil { ... }
//	if res.JSON200 == nil { return adminclient.ProblemOf(res.HTTPResponse, res.Body) }
//	for _, e := range *res.JSON200 { fmt.Println(e.ID, *e.Operation, *e.Response.Status) }
//
// Errors are RFC 7807 problem documents: ProblemOf reads one from any answer.
package adminclient

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// AdminPath is where the admin API lives under a sandbox's or a namespace's base URL.
const AdminPath = "/__sandbox"

// New returns a client for the admin API of the sandbox or namespace at
// baseURL: the sandbox root (http://127.0.0.1:8080), where the admin API acts
// on namespace default, or a namespace root (http://127.0.0.1:8080/ns/ci-42),
// where it acts on that namespace (created on first use). A baseURL that
// already ends in /__sandbox is taken as is. Options are the generated ones:
// WithHTTPClient (timeouts, a test server's client) and WithRequestEditorFn
// (for example to add the --admin-token of a protected sandbox).
func New(baseURL string, opts ...ClientOption) (*ClientWithResponses, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("adminclient: base URL %q is not an http(s) URL such as http://127.0.0.1:8080", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("adminclient: base URL %q has a query or fragment; give the sandbox's or namespace's root", baseURL)
	}
	root := strings.TrimRight(u.String(), "/")
	root = strings.TrimSuffix(root, AdminPath)
	return NewClientWithResponses(root+AdminPath+"/", opts...)
}

// TokenEnv is the environment variable that holds a sandbox's admin token
// (its --admin-token): the CLI and sandboxtest send it when it is set.
const TokenEnv = "SANDBOX_ADMIN_TOKEN"

// WithAdminToken sends token as "Authorization: Bearer <token>" on every
// call, for a sandbox started with --admin-token; "" sends nothing.
func WithAdminToken(token string) ClientOption {
	return WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	})
}

// ProblemOf returns the RFC 7807 problem an admin answer carries, or nil
// when the answer is not one (a success, or a body from something other
// than the sandbox). Pass a generated response's HTTPResponse and Body.
func ProblemOf(resp *http.Response, body []byte) *Problem {
	if resp == nil {
		return nil
	}
	if ct, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || ct != "application/problem+json" {
		return nil
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Status == 0 {
		return nil
	}
	return &p
}

// Error makes a *Problem an error: "<status> <title>: <detail>", then each
// located problem on a line of its own ("file:line: path: message (hint)").
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != nil && *p.Detail != "" {
		b.WriteString(": " + *p.Detail)
	}
	if p.Problems != nil {
		for _, it := range *p.Problems {
			b.WriteString("\n  ")
			if it.File != nil && *it.File != "" {
				b.WriteString(*it.File)
				if it.Line != nil && *it.Line > 0 {
					fmt.Fprintf(&b, ":%d", *it.Line)
				}
				b.WriteString(": ")
			}
			if it.Path != nil && *it.Path != "" {
				b.WriteString(*it.Path + ": ")
			}
			b.WriteString(it.Message)
			if it.Hint != nil && *it.Hint != "" {
				b.WriteString(" (" + *it.Hint + ")")
			}
		}
	}
	return b.String()
}
