package sandbox

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestAdminRoutesAndFiltersAreDocumented keeps specs/admin.yaml and the code
// in step: every core admin route is an operation of the document, and the
// query parameters GET /requests and GET /callbacks accept (and check) are
// exactly the ones it describes. A filter added in code but not in the spec,
// or the other way round, fails here.
func TestAdminRoutesAndFiltersAreDocumented(t *testing.T) {
	t.Parallel()
	am, err := adminSpec()
	if err != nil {
		t.Fatal(err)
	}
	byRoute := map[string]*operation{}
	for _, op := range am.ops {
		byRoute[op.method+" "+op.path] = op
	}
	s := &Server{}
	for _, rt := range s.Routes() {
		if byRoute[rt.method+" "+rt.path] == nil {
			t.Errorf("%s %s is not in specs/admin.yaml", rt.method, rt.path)
		}
	}
	for _, tc := range []struct {
		route  string
		params []string
	}{
		{"GET /requests", requestsParams},
		{"GET /callbacks", callbacksParams},
	} {
		op := byRoute[tc.route]
		if op == nil {
			t.Errorf("%s missing from specs/admin.yaml", tc.route)
			continue
		}
		var documented []string
		for _, p := range op.route.Operation.Parameters {
			if p.Value.In == "query" {
				documented = append(documented, p.Value.Name)
			}
		}
		if !slices.Equal(documented, tc.params) {
			t.Errorf("%s: specs/admin.yaml documents %v, the code accepts %v", tc.route, documented, tc.params)
		}
	}
}

// TestTooManyNamespacesIsDocumented: every admin route that creates its
// namespace on first use can answer 503 "Too many namespaces", and the spec
// says so with the Retry-After header the answer always carries; the two
// routes that never create a namespace do not list it.
func TestTooManyNamespacesIsDocumented(t *testing.T) {
	t.Parallel()
	am, err := adminSpec()
	if err != nil {
		t.Fatal(err)
	}
	byRoute := map[string]*operation{}
	for _, op := range am.ops {
		byRoute[op.method+" "+op.path] = op
	}
	s := &Server{}
	for _, rt := range s.Routes() {
		name := rt.method + " " + rt.path
		op := byRoute[name]
		if op == nil {
			t.Errorf("%s is not in specs/admin.yaml", name)
			continue
		}
		resp := op.route.Operation.Responses.Value("503")
		if globalAdminRoutes[name] {
			if resp != nil {
				t.Errorf("%s never creates a namespace, yet documents a 503", name)
			}
			continue
		}
		if resp == nil || resp.Value == nil {
			t.Errorf("%s: no 503 in specs/admin.yaml", name)
			continue
		}
		h := resp.Value.Headers["Retry-After"]
		if h == nil || h.Value == nil || !h.Value.Required {
			t.Errorf("%s: the 503 does not document a required Retry-After header", name)
		}
		if resp.Value.Content.Get("application/problem+json") == nil {
			t.Errorf("%s: the 503 is not a problem document", name)
		}
	}
}

// TestAdminCallOnDeletedNamespace: a reset or scenario load that found its
// namespace just before DELETE (or idle eviction) closed it answers a 404
// that says what happened, not a 500 "no such namespace". The race is
// reproduced by handing the handler the namespace after deleting it.
func TestAdminCallOnDeletedNamespace(t *testing.T) {
	t.Parallel()
	sc, probs := LoadScenario("t", []byte("version: 1\nname: t\n"))
	if probs != nil {
		t.Fatal(probs)
	}
	s, err := New(Config{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const want = `{"type":"about:blank","title":"Namespace deleted","status":404,"detail":"namespace \"job\" was deleted or evicted while this request was being handled; nothing was changed; send the request again to start a fresh namespace"}`
	for _, tc := range []struct {
		name   string
		method string
		body   string
		handle func(*adminCall)
	}{
		{"POST /reset", "POST", "", s.postReset},
		{"PUT /scenario", "PUT", "version: 1\nname: other\n", s.putScenario},
	} {
		ns, err := s.Namespace("job")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteNamespace("job"); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		tc.handle(&adminCall{w: rec, r: httptest.NewRequest(tc.method, "/__sandbox"+tc.name[strings.Index(tc.name, " ")+1:], strings.NewReader(tc.body)), ns: ns, prefix: "/ns/job"})
		if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" || rec.Body.String() != want {
			t.Errorf("%s: %d %s %s", tc.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}
