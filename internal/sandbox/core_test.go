package sandbox_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

func TestPipeline(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)

	tests := []struct {
		name       string
		method     string
		path       string
		body       *sandboxtest.Body
		opts       []sandboxtest.Option
		wantStatus int
		wantBody   string // exact JSON, when set
		wantHeader map[string]string
	}{
		{name: "created", method: "POST", path: "/echo/items", body: sandboxtest.JSONBody(`{"name":"a","qty":2}`),
			wantStatus: 201, wantBody: `{"id":1,"name":"a","qty":2,"at":"2026-01-02T03:04:05Z"}`},
		{name: "unknown path gets provider 404 and a hint", method: "GET", path: "/echo/itemz",
			wantStatus: 404, wantBody: `{"error":"no operation matches GET /itemz","kind":1}`,
			wantHeader: map[string]string{"X-Sandbox-Hint": "did you mean GET /items?"}},
		{name: "hint picks the nearest path", method: "POST", path: "/echo/item",
			wantStatus: 404, wantHeader: map[string]string{"X-Sandbox-Hint": "did you mean POST /items?"}},
		{name: "hint fills path parameters", method: "GET", path: "/echo/itemz/7",
			wantStatus: 404, wantHeader: map[string]string{"X-Sandbox-Hint": "did you mean GET /items/{id}?"}},
		{name: "HEAD is served by the GET operation", method: "HEAD", path: "/echo/items", wantStatus: 200},
		{name: "undecodable query is a decode error, not a missing parameter", method: "GET", path: "/echo/items?limit=%zz",
			wantStatus: 400, wantBody: `{"error":"the query string cannot be decoded: invalid URL escape \"%zz\"","kind":4,"fields":[{"in":"query","reason":"the query string cannot be decoded: invalid URL escape \"%zz\"","rule":"decode"}]}`},
		{name: "wrong method gets provider 405 with Allow", method: "DELETE", path: "/echo/items",
			wantStatus: 405, wantBody: `{"error":"The DELETE method is not supported for this route.","kind":2}`,
			wantHeader: map[string]string{"Allow": "GET, POST"}},
		{name: "GET on a POST-only path is 405, not 404", method: "GET", path: "/echo/raw",
			wantStatus: 405, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "missing required field", method: "POST", path: "/echo/items", body: sandboxtest.JSONBody(`{"name":"a"}`),
			wantStatus: 400},
		{name: "wrong type", method: "POST", path: "/echo/items", body: sandboxtest.JSONBody(`{"name":"a","qty":"2"}`),
			wantStatus: 400},
		{name: "malformed JSON", method: "POST", path: "/echo/items", body: sandboxtest.JSONBody(`{"name":`),
			wantStatus: 400},
		{name: "query out of range", method: "GET", path: "/echo/items?limit=99",
			wantStatus: 400},
		{name: "path parameter of wrong type", method: "GET", path: "/echo/items/abc",
			wantStatus: 400},
		{name: "body over the provider limit", method: "POST", path: "/echo/items",
			body:       sandboxtest.JSONBody(`{"name":"` + strings.Repeat("x", 300) + `","qty":1}`),
			wantStatus: 413, wantBody: `{"error":"request body exceeds the limit of 256 bytes","kind":3}`},
		{name: "guard answers before validation", method: "POST", path: "/echo/items", body: sandboxtest.JSONBody(`{}`),
			opts: []sandboxtest.Option{sandboxtest.Header("X-Block", "1")}, wantStatus: 403, wantBody: `{"error":"blocked by guard","kind":403}`},
		{name: "panic becomes provider 500", method: "GET", path: "/echo/panic",
			wantStatus: 500, wantBody: `{"error":"boom in panics","kind":5}`},
		{name: "body validation left to the handler", method: "POST", path: "/echo/raw", body: sandboxtest.JSONBody(`{"x":1}`),
			wantStatus: 200, wantBody: `{"bytes":7}`},
		{name: "unknown mount is a sandbox 404", method: "GET", path: "/nope/x", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.With(t).Do(tc.method, tc.path, tc.body, tc.opts...)
			res.WantStatus(tc.wantStatus)
			if tc.wantBody != "" {
				res.WantJSON(tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestValidationErrorsNameEveryField(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	res := h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"","qty":0,"extra":true}`)).WantStatus(400)
	var e echoError
	res.JSON(&e)
	fields := map[string]string{}
	for _, f := range e.Fields {
		if f.In != "body" {
			t.Errorf("field %+v: in = %q, want body", f, f.In)
		}
		fields[f.Field] = f.Rule
	}
	for field, rule := range map[string]string{"name": "minLength", "qty": "minimum", "extra": "additionalProperties"} {
		if fields[field] != rule {
			t.Errorf("field %q: rule = %q, want %q (all: %+v)", field, fields[field], rule, e.Fields)
		}
	}
	res = h.Do("GET", "/echo/items?limit=0", nil).WantStatus(400)
	res.JSON(&e)
	if len(e.Fields) != 1 || e.Fields[0].In != "query" || e.Fields[0].Field != "limit" {
		t.Errorf("query error: fields = %+v", e.Fields)
	}
	res = h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"qty":1}`)).WantStatus(400)
	res.JSON(&e)
	if len(e.Fields) != 1 || e.Fields[0].Field != "name" || e.Fields[0].Rule != "required" {
		t.Errorf("missing name: fields = %+v", e.Fields)
	}
}

func TestJournalRecordsEveryExchange(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	ok := h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":2}`)).WantStatus(201)
	bad := h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":"x"}`)).WantStatus(400)
	h.Do("GET", "/echo/items", nil).WantStatus(200)

	var all []journal.Entry
	if st := h.Admin("GET", "", "/requests", nil, &all); st != 200 {
		t.Fatalf("GET /requests = %d", st)
	}
	if len(all) != 3 {
		t.Fatalf("journal has %d entries, want 3", len(all))
	}
	if all[0].Operation != "listItems" || all[2].Operation != "createItem" {
		t.Errorf("journal not newest first: %s, %s", all[0].Operation, all[2].Operation)
	}
	first := all[2]
	if first.ID != ok.Header.Get(sandbox.HeaderRequestID) {
		t.Errorf("entry id %q != response header %q", first.ID, ok.Header.Get(sandbox.HeaderRequestID))
	}
	if first.Request.Body != `{"name":"a","qty":2}` || first.Response.Status != 201 || first.Namespace != "default" || first.Provider != "echo" {
		t.Errorf("entry = %+v", first)
	}
	if !strings.Contains(first.Response.Body, `"qty":2`) || first.Request.Header.Get("Content-Type") != "application/json" {
		t.Errorf("entry bodies/headers not recorded: %+v", first)
	}
	if !first.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("entry time %v is not the sandbox clock", first.Time)
	}

	var failed []journal.Entry
	h.Admin("GET", "", "/requests?status=400&operation=createItem&provider=echo", nil, &failed)
	if len(failed) != 1 || failed[0].ID != bad.Header.Get(sandbox.HeaderRequestID) {
		t.Fatalf("filter status=400 gave %d entries", len(failed))
	}
	if !strings.Contains(failed[0].Validation, "qty") {
		t.Errorf("validation detail missing from journal: %q", failed[0].Validation)
	}
	var since []journal.Entry
	h.Admin("GET", "", "/requests?since=2026-01-02T03:04:06Z", nil, &since)
	if len(since) != 0 {
		t.Errorf("since after the clock gave %d entries", len(since))
	}
	for _, q := range []string{"status=abc", "since=yesterday", "limit=0", "color=red"} {
		if st := h.Admin("GET", "", "/requests?"+q, nil, nil); st != 400 {
			t.Errorf("GET /requests?%s = %d, want 400", q, st)
		}
	}
	if st := h.Admin("DELETE", "", "/requests", nil, nil); st != 204 {
		t.Fatalf("DELETE /requests = %d", st)
	}
	h.Admin("GET", "", "/requests", nil, &all)
	if len(all) != 0 {
		t.Errorf("journal not cleared: %d", len(all))
	}
}

func TestNamespacesAreIsolated(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	h.Do("POST", "/ns/job-1/echo/items", sandboxtest.JSONBody(`{"name":"one","qty":1}`)).WantStatus(201)
	h.Do("POST", "/ns/job-1/echo/items", sandboxtest.JSONBody(`{"name":"two","qty":1}`)).WantStatus(201)
	h.Do("POST", "/ns/job-2/echo/items", sandboxtest.JSONBody(`{"name":"three","qty":1}`)).WantStatus(201)

	var items []map[string]any
	h.Do("GET", "/ns/job-1/echo/items", nil).WantStatus(200).JSON(&items)
	if len(items) != 2 {
		t.Errorf("job-1 has %d items, want 2", len(items))
	}
	h.Do("GET", "/ns/job-2/echo/items", nil).WantStatus(200).JSON(&items)
	if len(items) != 1 {
		t.Errorf("job-2 has %d items, want 1", len(items))
	}
	h.Do("GET", "/echo/items", nil).WantStatus(200).JSON(&items)
	if len(items) != 0 {
		t.Errorf("default has %d items, want 0", len(items))
	}
	// Clocks are per namespace.
	h.Admin("POST", "job-1", "/clock", map[string]string{"advance": "1h"}, nil)
	var c1, c2 struct{ Now time.Time }
	h.Admin("GET", "job-1", "/clock", nil, &c1)
	h.Admin("GET", "job-2", "/clock", nil, &c2)
	if c1.Now.Sub(c2.Now) != time.Hour {
		t.Errorf("job-1 clock %v, job-2 clock %v: want 1h apart", c1.Now, c2.Now)
	}
	// Journals are per namespace.
	var j []journal.Entry
	h.Admin("GET", "job-2", "/requests", nil, &j)
	if len(j) != 2 || j[0].Namespace != "job-2" {
		t.Errorf("job-2 journal: %d entries", len(j))
	}
	// URLs handed out carry the namespace prefix.
	var got map[string]any
	h.Do("GET", "/ns/job-1/echo/items/5", nil).WantStatus(200).JSON(&got)
	if got["base"] != h.URL+"/ns/job-1/echo" {
		t.Errorf("base URL = %v", got["base"])
	}
}

func TestNamespaceNamesAreValidated(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	for _, name := range []string{"-x", ".x", "a%2Fb", strings.Repeat("a", 65), "a%20b", "ü"} {
		res := h.Do("GET", "/ns/"+name+"/echo/items", nil)
		if res.Status != 400 || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("namespace %q: status %d %s", name, res.Status, res.Header.Get("Content-Type"))
		}
	}
	for _, name := range []string{"a", "A.b_c-9", strings.Repeat("z", 64)} {
		h.Do("GET", "/ns/"+name+"/echo/items", nil).WantStatus(200)
	}
}

func TestNamespaceLimitAndIdleEviction(t *testing.T) {
	t.Parallel()
	sc, probs := sandbox.LoadScenario("t", []byte(echoScenario))
	if probs != nil {
		t.Fatal(probs)
	}
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, MaxNamespaces: 2, NamespaceIdle: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The limit counts the namespaces users create; default is not one.
	for _, n := range []string{"a", "b"} {
		if _, err := srv.Namespace(n); err != nil {
			t.Fatalf("namespace %s: %v", n, err)
		}
	}
	// Full (a, b): a third fails while the others are in use.
	if _, err := srv.Namespace("c"); err == nil {
		t.Fatal("third namespace created beyond the limit of 2")
	}
	// Once idle, they make room; default is never evicted.
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := srv.Namespace("c"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle namespaces were not evicted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	names := strings.Join(srv.NamespaceNames(), ",")
	if !strings.Contains(names, "default") || !strings.Contains(names, "c") {
		t.Errorf("namespaces after eviction: %s", names)
	}
}

func TestBusyNamespacesAreNotEvicted(t *testing.T) {
	t.Parallel()
	sc, probs := sandbox.LoadScenario("t", []byte(echoScenario+"  busy: true\n"))
	if probs != nil {
		t.Fatal(probs)
	}
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, NamespaceIdle: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.Namespace("pending-work"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if n := srv.EvictIdle(); n != 0 {
		t.Fatalf("evicted %d busy namespaces", n)
	}
	if !strings.Contains(strings.Join(srv.NamespaceNames(), ","), "pending-work") {
		t.Fatal("busy namespace is gone")
	}
}

func TestAdminClock(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	type clk struct {
		Now    time.Time `json:"now"`
		Frozen bool      `json:"frozen"`
	}
	var c clk
	h.Admin("GET", "", "/clock", nil, &c)
	if !c.Frozen || !c.Now.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("initial clock %+v", c)
	}
	h.Admin("POST", "", "/clock", map[string]string{"advance": "90s"}, &c)
	if !c.Now.Equal(time.Date(2026, 1, 2, 3, 5, 35, 0, time.UTC)) {
		t.Errorf("after advance: %v", c.Now)
	}
	h.Admin("POST", "", "/clock", map[string]string{"set": "2030-05-06T07:08:09Z"}, &c)
	if !c.Now.Equal(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("after set: %v", c.Now)
	}
	h.Admin("POST", "", "/clock", map[string]bool{"frozen": false}, &c)
	if c.Frozen {
		t.Errorf("still frozen")
	}
	for _, body := range []string{`{"advance":"soon"}`, `{"advance":"-5s"}`, `{"set":"yesterday"}`, `{}`, `{"sett":"x"}`, `[`, `{"set":"2030-05-06T07:08:09Z","advance":"1s"}`} {
		res := h.Do("POST", "/__sandbox/clock", sandboxtest.JSONBody(body))
		if res.Status != 400 || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("POST /clock %s = %d %s", body, res.Status, res.Body)
		}
	}
}

func TestAdminScenarioAndReset(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":2}`)).WantStatus(201)

	var snap struct {
		Greeting string `json:"greeting"`
		Items    []any  `json:"items"`
	}
	h.Admin("GET", "", "/state/echo", nil, &snap)
	if snap.Greeting != "hi" || len(snap.Items) != 1 {
		t.Fatalf("state = %+v", snap)
	}
	var got map[string]any
	h.Admin("GET", "", "/scenario", nil, &got)
	if got["name"] != "echo-test" || got["echo"].(map[string]any)["greeting"] != "hi" {
		t.Errorf("GET /scenario = %v", got)
	}
	if st := h.Admin("POST", "", "/reset", nil, nil); st != 200 {
		t.Fatalf("reset = %d", st)
	}
	h.Admin("GET", "", "/state/echo", nil, &snap)
	if len(snap.Items) != 0 {
		t.Errorf("reset kept %d items", len(snap.Items))
	}

	// An invalid scenario is refused with every problem located, and nothing changes.
	bad := "version: 1\nname: bad\nclock:\n  strat: now\necho:\n  greeting: 5\n  limit: -1\n  colour: red\nfoo: 1\n"
	res := h.Do("PUT", "/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(bad))).WantStatus(400)
	var p struct {
		Problems []struct {
			Line    int    `json:"line"`
			Path    string `json:"path"`
			Message string `json:"message"`
			Hint    string `json:"hint"`
		} `json:"problems"`
	}
	res.JSON(&p)
	want := map[string]int{"clock.strat": 4, "echo.colour": 8, "foo": 9}
	for _, pr := range p.Problems {
		if line, ok := want[pr.Path]; ok {
			if pr.Line != line {
				t.Errorf("%s: line %d, want %d", pr.Path, pr.Line, line)
			}
			delete(want, pr.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("problems not reported: %v (got %+v)", want, p.Problems)
	}
	if p.Problems[0].Hint != `did you mean "start"?` {
		t.Errorf("hint for clock.strat = %q", p.Problems[0].Hint)
	}
	h.Admin("GET", "", "/scenario", nil, &got)
	if got["name"] != "echo-test" {
		t.Errorf("invalid scenario replaced the running one")
	}

	// A namespace-scoped PUT changes only that namespace; a bare PUT changes the template.
	good := "version: 1\nname: other\necho:\n  greeting: bonjour\n"
	h.Do("PUT", "/ns/solo/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(good))).WantStatus(200)
	h.Admin("GET", "solo", "/scenario", nil, &got)
	if got["name"] != "other" {
		t.Errorf("namespace scenario = %v", got["name"])
	}
	h.Admin("GET", "fresh", "/scenario", nil, &got)
	if got["name"] != "echo-test" {
		t.Errorf("namespace PUT leaked into the template: %v", got["name"])
	}
	h.Do("PUT", "/__sandbox/scenario", sandboxtest.RawBody("application/json", []byte(`{"version":1,"name":"json-one","echo":{"greeting":"hey"}}`))).WantStatus(200)
	h.Admin("GET", "fresher", "/scenario", nil, &got)
	if got["name"] != "json-one" {
		t.Errorf("bare PUT did not become the template: %v", got["name"])
	}
}

func TestAdminMisc(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	var health map[string]any
	if h.Admin("GET", "", "/health", nil, &health) != 200 || health["status"] != "ok" {
		t.Errorf("health = %v", health)
	}
	if h.Admin("GET", "", "/version", nil, nil) != 200 {
		t.Error("version")
	}
	res := h.Do("GET", "/__sandbox/specs/echo", nil).WantStatus(200)
	if !strings.Contains(string(res.Body), "operationId: createItem") {
		t.Error("spec not served verbatim")
	}
	var doc map[string]any
	h.Do("GET", "/__sandbox/specs/echo?format=json", nil).WantStatus(200).JSON(&doc)
	if doc["openapi"] != "3.0.3" {
		t.Errorf("json spec: %v", doc["openapi"])
	}
	// The admin API has its own document, and the harness checks admin
	// answers against it.
	res = h.Do("GET", "/__sandbox/specs/admin", nil).WantStatus(200)
	if !strings.Contains(string(res.Body), "operationId: postClock") {
		t.Error("admin spec not served")
	}
	if res = h.Do("GET", "/__sandbox/clock", nil); !res.Matched {
		t.Error("admin response was not checked against specs/admin.yaml")
	}
	for _, path := range []string{"/__sandbox/specs/nope", "/__sandbox/state/nope", "/__sandbox/unknown", "/__sandbox/requests/req_missing"} {
		res := h.Do("GET", path, nil)
		if res.Status != 404 || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s = %d %s", path, res.Status, res.Header.Get("Content-Type"))
		}
	}
	if res := h.Do("PATCH", "/__sandbox/clock", nil); res.Status != 405 {
		t.Errorf("PATCH /clock = %d", res.Status)
	}
	big := strings.Repeat("#", sandbox.MaxScenarioBytes+10)
	if res := h.Do("PUT", "/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(big))); res.Status != 413 {
		t.Errorf("huge scenario = %d", res.Status)
	}
	for _, body := range []string{"{", "\t- x", "version: [1"} {
		if res := h.Do("PUT", "/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(body))); res.Status != 400 {
			t.Errorf("malformed scenario %q = %d", body, res.Status)
		}
	}
}

func TestConcurrentRequestsAndResets(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				ns := fmt.Sprintf("/ns/c%d", g%3)
				req, _ := http.NewRequest("POST", h.URL+ns+"/echo/items", strings.NewReader(`{"name":"x","qty":1}`))
				req.Header.Set("Content-Type", "application/json")
				resp, err := h.Client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 201 {
					t.Errorf("status %d", resp.StatusCode)
				}
				if i%10 == 0 {
					r2, _ := http.NewRequest("POST", h.URL+ns+"/__sandbox/reset", nil)
					if resp, err := h.Client.Do(r2); err == nil {
						resp.Body.Close()
					}
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestStartupFailsForOperationWithoutHandler(t *testing.T) {
	t.Parallel()
	err := sandbox.CheckProvider(&sandbox.Provider{
		Name: "half", Spec: []byte(`openapi: 3.0.3
info: {title: half, version: "1"}
paths:
  /a:
    get:
      operationId: getA
      responses: {"200": {description: ok}}
  /b:
    get:
      operationId: getB
      responses: {"200": {description: ok}}
`),
		Operations: map[string]sandbox.Handler{"getA": func(*sandbox.Call) {}},
	})
	if err == nil || !strings.Contains(err.Error(), "operations without a handler: getB") {
		t.Fatalf("err = %v", err)
	}
}
