package sandboxtest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
)

// Admin returns a client for the admin API of the test's namespace (its
// journal, state, clock, faults, scenario, ...), for what the typed helpers
// do not cover. It sends through HTTPClient, so its answers are checked
// against the admin API's document too.
func (sb *Sandbox) Admin() *adminclient.ClientWithResponses { return sb.ac }

// newAdmin builds the admin clients once the sandbox's URLs are known.
func (sb *Sandbox) newAdmin() {
	sb.t.Helper()
	var err error
	// A shared sandbox may have been started with --admin-token: the
	// admin calls (only they) carry it from the environment.
	token := ""
	if sb.shared {
		token = os.Getenv(adminclient.TokenEnv)
	}
	opts := []adminclient.ClientOption{adminclient.WithHTTPClient(sb.client), adminclient.WithAdminToken(token)}
	if sb.ac, err = adminclient.New(sb.base, opts...); err != nil {
		sb.t.Fatalf("sandboxtest: %v", err)
	}
	if sb.rootAC, err = adminclient.New(sb.root, opts...); err != nil {
		sb.t.Fatalf("sandboxtest: %v", err)
	}
}

// ctx is the context of every admin call: not the test's own, which ends
// before the cleanups that delete a namespace run.
var ctx = context.Background()

// must fails the test unless an admin call reached the sandbox and got one
// of the wanted statuses; a refusal is worded from its RFC 7807 problem.
func (sb *Sandbox) must(what string, err error, resp *http.Response, body []byte, want ...int) {
	sb.t.Helper()
	if err != nil {
		sb.t.Fatalf("sandboxtest: %s: %v", what, err)
	}
	if !slices.Contains(want, resp.StatusCode) {
		msg := truncate(body)
		if p := adminclient.ProblemOf(resp, body); p != nil {
			msg = p.Error()
		}
		sb.t.Fatalf("sandboxtest: %s: status %d, want %v: %s", what, resp.StatusCode, want, msg)
	}
}

// decode reads an admin answer into one of this package's types: the
// generated types mirror the document (pointers for every optional field),
// these are written for tests.
func (sb *Sandbox) decode(what string, body []byte, out any) {
	sb.t.Helper()
	if err := json.Unmarshal(body, out); err != nil {
		sb.t.Fatalf("sandboxtest: %s: decoding %s: %v", what, truncate(body), err)
	}
}
