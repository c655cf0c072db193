package sandbox_test

import (
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// harnessWith is sandboxtest.New with server settings (limits) of the test's
// choosing; every response is still checked against its spec.
func harnessWith(t *testing.T, cfg sandbox.Config) *sandboxtest.Harness {
	t.Helper()
	sc, probs := sandbox.LoadScenario("echo", []byte(echoScenario))
	if probs != nil {
		t.Fatal(probs)
	}
	cfg.Scenario = sc
	srv, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &sandboxtest.Harness{T: t, Server: srv, HTTP: hs, URL: hs.URL, Client: hs.Client()}
}

func TestDeleteNamespace(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	h.Do("POST", "/ns/job-1/echo/items", sandboxtest.JSONBody(`{"name":"kept?","qty":1}`)).WantStatus(201)
	h.Admin("POST", "job-1", "/clock", map[string]string{"advance": "1h"}, nil)
	if !slices.Contains(h.Namespaces(), "job-1") {
		t.Fatal("job-1 is not live after a request")
	}

	res := h.Do("DELETE", "/__sandbox/namespaces/job-1", nil).WantStatus(204)
	if len(res.Body) != 0 {
		t.Errorf("204 with a body: %q", res.Body)
	}
	if got := h.Namespaces(); slices.Contains(got, "job-1") {
		t.Errorf("job-1 still listed after DELETE: %v", got)
	}
	// The next request starts a fresh namespace: no items, clock back at
	// the scenario's start, empty journal (but for this request).
	var items []map[string]any
	h.Do("GET", "/ns/job-1/echo/items", nil).WantStatus(200).JSON(&items)
	if len(items) != 0 {
		t.Errorf("fresh namespace has %d items", len(items))
	}
	var clk struct{ Now time.Time }
	h.Admin("GET", "job-1", "/clock", nil, &clk)
	if want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !clk.Now.Equal(want) {
		t.Errorf("fresh clock %s, want %s", clk.Now, want)
	}
	var j []journal.Entry
	h.Admin("GET", "job-1", "/requests", nil, &j)
	if len(j) != 1 || j[0].Request.Method != "GET" {
		t.Errorf("fresh journal has %d entries", len(j))
	}

	tests := []struct {
		name, path string
		status     int
		body       string
	}{
		{"already deleted... and recreated, so delete again works", "/__sandbox/namespaces/job-1", 204, ""},
		{"not live", "/__sandbox/namespaces/job-1", 404,
			`{"type":"about:blank","title":"Not found","status":404,"detail":"no live namespace \"job-1\" (never used, already deleted or evicted); GET /__sandbox/namespaces lists the live ones"}`},
		{"default", "/__sandbox/namespaces/default", 409,
			`{"type":"about:blank","title":"Namespace cannot be deleted","status":409,"detail":"namespace \"default\" serves the bare URLs and cannot be deleted; use POST /__sandbox/reset to bring it back to the scenario's initial state"}`},
		{"under its own prefix, without creating it first", "/ns/ghost/__sandbox/namespaces/ghost", 404,
			`{"type":"about:blank","title":"Not found","status":404,"detail":"no live namespace \"ghost\" (never used, already deleted or evicted); GET /__sandbox/namespaces lists the live ones"}`},
	}
	for _, tc := range tests {
		res := h.Do("DELETE", tc.path, nil)
		if res.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, res.Status, tc.status, res.Body)
			continue
		}
		if !res.Matched {
			t.Errorf("%s: not checked against specs/admin.yaml", tc.name)
		}
		if tc.body != "" {
			res.WantJSON(tc.body)
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: Content-Type %q", tc.name, ct)
			}
		}
	}
	if got := h.Namespaces(); !slices.Equal(got, []string{"default"}) {
		t.Errorf("namespaces at the end: %v, want [default]", got)
	}
}

func TestRequestsThatRouteNowhereCreateNoNamespace(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	noMount := func(m string) string {
		return `{"type":"about:blank","title":"Not found","status":404,"detail":"no provider is mounted at /` + m + `; mounts: ` + registered("/", ", ") + `"}`
	}
	tests := []struct {
		method, path string
		status       int
		allow        string // the Allow header, for a 405
		body         string
	}{
		{"GET", "/ns/ghost/nosuchmount/x", 404, "", noMount("nosuchmount")},
		// A mount's path that is none of its operations: the provider's own
		// 404 (the echo provider's shape), still without a namespace.
		{"GET", "/ns/ghost/echo/nosuch", 404, "", `{"error":"no operation matches GET /nosuch","kind":1}`},
		{"GET", "/ns/ghost/__sandbox/nosuch", 404, "",
			`{"type":"about:blank","title":"Not found","status":404,"detail":"no admin endpoint GET /nosuch"}`},
		{"PUT", "/ns/ghost/__sandbox/clock", 405, "GET, POST",
			`{"type":"about:blank","title":"Method not allowed","status":405,"detail":"PUT is not allowed on /clock; allowed: GET, POST"}`},
		{"POST", "/ns/ghost/__sandbox/scenario", 405, "GET, PUT, PATCH",
			`{"type":"about:blank","title":"Method not allowed","status":405,"detail":"POST is not allowed on /scenario; allowed: GET, PUT, PATCH"}`},
		{"GET", "/ns/ghost/__sandbox/namespaces", 200, "",
			`{"idleEviction":"30m0s","max":256,"namespaces":["default"]}`},
		{"DELETE", "/ns/ghost/__sandbox/namespaces/ghost", 404, "",
			`{"type":"about:blank","title":"Not found","status":404,"detail":"no live namespace \"ghost\" (never used, already deleted or evicted); GET /__sandbox/namespaces lists the live ones"}`},
	}
	for _, tc := range tests {
		res := h.Do(tc.method, tc.path, nil)
		if res.Status != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.path, res.Status, tc.status, res.Body)
			continue
		}
		if got := res.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if ct, want := res.Header.Get("Content-Type"), "application/problem+json"; tc.status >= 400 && ct != want && !strings.HasPrefix(tc.path, "/ns/ghost/echo/") {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		h.With(t).Do(tc.method, tc.path, nil).WantJSON(tc.body)
	}
	// The namespace's landing page shows it from the template without
	// creating it.
	for _, path := range []string{"/ns/ghost/", "/ns/ghost"} {
		res := h.Do("GET", path, nil, sandboxtest.Header("Accept", "application/json"))
		if res.Status != 200 || !strings.Contains(string(res.Body), `"live": false`) {
			t.Errorf("GET %s: %d %s, want 200 with the landing page of a namespace that is not live", path, res.Status, res.Body)
		}
	}
	if got := h.Namespaces(); !slices.Equal(got, []string{"default"}) {
		t.Errorf("namespaces: %v, want [default]", got)
	}
}

func TestMaxNamespacesCountsUserNamespaces(t *testing.T) {
	t.Parallel()
	h := harnessWith(t, sandbox.Config{MaxNamespaces: 2, NamespaceIdle: time.Hour})
	h.Do("GET", "/ns/a/echo/items", nil).WantStatus(200)
	h.Do("GET", "/ns/b/echo/items", nil).WantStatus(200)
	// Asked through the admin API: the 503 is the sandbox's problem
	// document, not a provider answer.
	res := h.Do("GET", "/ns/c/__sandbox/health", nil).WantStatus(503)
	// a was last used a moment ago: it reaches the idle limit in just under
	// an hour, rounded up.
	if got := res.Header.Get("Retry-After"); got != "3600" {
		t.Errorf("Retry-After %q, want 3600", got)
	}
	res.WantJSON(`{"type":"about:blank","title":"Too many namespaces","status":503,"detail":"all 2 namespace slots are in use; the least recently used namespace without pending callbacks reaches the idle limit of 1h0m0s in 3600 s and can then be evicted; DELETE /__sandbox/namespaces/{name} frees a slot at once"}`)
	// The bare URLs (default) always work.
	h.Do("GET", "/echo/items", nil).WantStatus(200)
	h.Do("DELETE", "/__sandbox/namespaces/a", nil).WantStatus(204)
	h.Do("GET", "/ns/c/echo/items", nil).WantStatus(200)
	var out struct {
		Namespaces []string `json:"namespaces"`
		Max        int      `json:"max"`
	}
	h.Admin("GET", "", "/namespaces", nil, &out)
	if !slices.Equal(out.Namespaces, []string{"b", "c", "default"}) || out.Max != 2 {
		t.Errorf("namespaces %v max %d", out.Namespaces, out.Max)
	}
}

func TestRetryAfterFollowsTheOldestNamespace(t *testing.T) {
	t.Parallel()
	h := harnessWith(t, sandbox.Config{MaxNamespaces: 1, NamespaceIdle: 10 * time.Minute})
	h.Do("GET", "/ns/a/echo/items", nil).WantStatus(200)
	res := h.Do("GET", "/ns/b/__sandbox/health", nil).WantStatus(503)
	if got := res.Header.Get("Retry-After"); got != "600" {
		t.Errorf("Retry-After %q, want 600", got)
	}
}

// TestRetryAfterLeavesBusyNamespacesOut: a namespace with callbacks pending
// is never evicted, so the 503's Retry-After must not be based on it. With
// only busy namespaces there is no estimate: the answer says so and asks for
// a retry no sooner than the first of them could be evicted, and at least a
// minute later.
func TestRetryAfterLeavesBusyNamespacesOut(t *testing.T) {
	t.Parallel()
	const deleteHint = "DELETE /__sandbox/namespaces/{name} frees a slot at once"
	allBusy := func(slots, secs int) string {
		return "all " + strconv.Itoa(slots) + " namespace slots are in use by namespaces with callbacks pending, which are never evicted; " +
			"a slot frees up only once one of them has finished its callbacks (they follow its sandbox clock, so the sandbox cannot say when) " +
			"and has been idle for 1h0m0s; retry in " + strconv.Itoa(secs) + " s, or " + deleteHint
	}
	type ns struct {
		name string
		busy bool
		age  time.Duration // how long ago it was last used
	}
	tests := []struct {
		name       string
		spaces     []ns
		retryAfter string
		detail     string
	}{
		{"the oldest is busy: the estimate follows the idle one",
			[]ns{{"a", true, 50 * time.Minute}, {"b", false, 0}}, "3600",
			"all 2 namespace slots are in use (1 with callbacks pending, which are never evicted); the least recently used namespace without pending callbacks reaches the idle limit of 1h0m0s in 3600 s and can then be evicted; " + deleteHint},
		{"a busy namespace past the idle limit does not make it 1 s",
			[]ns{{"a", true, 2 * time.Hour}, {"b", false, 20 * time.Minute}}, "2400",
			"all 2 namespace slots are in use (1 with callbacks pending, which are never evicted); the least recently used namespace without pending callbacks reaches the idle limit of 1h0m0s in 2400 s and can then be evicted; " + deleteHint},
		{"all busy, past the idle limit: a minute",
			[]ns{{"a", true, 2 * time.Hour}}, "60", allBusy(1, 60)},
		{"all busy, not idle yet: until the first reaches the limit",
			[]ns{{"a", true, 30 * time.Minute}, {"b", true, 40 * time.Minute}}, "1200", allBusy(2, 1200)},
		{"all busy, idle limit under a minute away: still a minute",
			[]ns{{"a", true, 59*time.Minute + 30*time.Second}}, "60", allBusy(1, 60)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := harnessWith(t, sandbox.Config{MaxNamespaces: len(tc.spaces), NamespaceIdle: time.Hour})
			for _, n := range tc.spaces {
				if n.busy {
					h.Do("PUT", "/ns/"+n.name+"/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(echoScenario+"  busy: true\n"))).WantStatus(200)
				} else {
					h.Do("GET", "/ns/"+n.name+"/echo/items", nil).WantStatus(200)
				}
			}
			for _, n := range tc.spaces {
				if !h.Server.AgeNamespace(n.name, n.age) {
					t.Fatalf("namespace %s is not live", n.name)
				}
			}
			res := h.Do("GET", "/ns/new/__sandbox/health", nil).WantStatus(503)
			if !res.Matched {
				t.Error("503 not checked against specs/admin.yaml")
			}
			if got := res.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %s", got, tc.retryAfter)
			}
			res.WantJSON(`{"type":"about:blank","title":"Too many namespaces","status":503,"detail":` + strconv.Quote(tc.detail) + `}`)
			// Nothing was evicted to make room.
			if got := h.Namespaces(); len(got) != len(tc.spaces)+1 {
				t.Errorf("live namespaces %v", got)
			}
		})
	}
}

func TestJournalFilters(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	ns := "/ns/filters"
	h.Do("POST", ns+"/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":1}`)).WantStatus(201) // createItem 201
	h.Do("GET", ns+"/echo/items", nil).WantStatus(200)                                           // listItems 200
	h.Do("GET", ns+"/echo/items?limit=99", nil).WantStatus(400)                                  // listItems 400
	h.Do("GET", ns+"/echo/items/7", nil).WantStatus(200)                                         // getItem 200
	h.Do("GET", ns+"/echo/nothing", nil).WantStatus(404)                                         // no operation
	h.Do("GET", ns+"/echo/panic", nil).WantStatus(500)                                           // panics

	tests := []struct {
		query string
		want  string // "method path status" of each entry, newest first
	}{
		{"", "GET /panic 500, GET /nothing 404, GET /items/7 200, GET /items 400, GET /items 200, POST /items 201"},
		{"?provider=echo&operation=listItems", "GET /items 400, GET /items 200"},
		{"?status=200", "GET /items/7 200, GET /items 200"},
		{"?status=4xx", "GET /nothing 404, GET /items 400"},
		{"?status=2XX&limit=2", "GET /items/7 200, GET /items 200"},
		{"?status=5xx", "GET /panic 500"},
		{"?method=post", "POST /items 201"},
		{"?method=GET&status=2xx", "GET /items/7 200, GET /items 200"},
		{"?path=/items", "GET /items/7 200, GET /items 400, GET /items 200, POST /items 201"},
		{"?path=/items/", "GET /items/7 200"},
		{"?path=/no", "GET /nothing 404"},
		{"?since=2026-01-02T03:04:05Z", "GET /panic 500, GET /nothing 404, GET /items/7 200, GET /items 400, GET /items 200, POST /items 201"},
		{"?since=2026-01-02T03:04:06Z", ""},
		{"?since=2026-01-02T04:04:05%2B01:00", "GET /panic 500, GET /nothing 404, GET /items/7 200, GET /items 400, GET /items 200, POST /items 201"},
		// A filter given several times matches any of its values.
		{"?status=404&status=5xx", "GET /panic 500, GET /nothing 404"},
		{"?method=post&method=GET&status=201&status=400", "GET /items 400, POST /items 201"},
		{"?path=/items/&path=/no", "GET /nothing 404, GET /items/7 200"},
		{"?operation=getItem&operation=createItem", "GET /items/7 200, POST /items 201"},
		{"?limit=1000&status=2xx", "GET /items/7 200, GET /items 200, POST /items 201"},
	}
	for _, tc := range tests {
		res := h.Do("GET", ns+"/__sandbox/requests"+tc.query, nil).WantStatus(200)
		if !res.Matched {
			t.Errorf("%s: not checked against specs/admin.yaml", tc.query)
		}
		var es []journal.Entry
		res.JSON(&es)
		var got []string
		for _, e := range es {
			got = append(got, e.Request.Method+" "+strings.TrimPrefix(e.Request.Path, ns+"/echo")+" "+strconv.Itoa(e.Response.Status))
		}
		if g := strings.Join(got, ", "); g != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.query, g, tc.want)
		}
	}
}

func TestJournalFilterErrors(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	tests := []struct {
		query string
		body  string
	}{
		{"?provider=ehco", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"provider: unknown provider \"ehco\"; known providers: ` + registered("", ", ") + ` (hint: did you mean \"echo\"?)",` +
			`"problems":[{"path":"provider","message":"unknown provider \"ehco\"; known providers: ` + registered("", ", ") + `","hint":"did you mean \"echo\"?"}]}`},
		{"?provider=echo&operation=listItem", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"operation: unknown operation \"listItem\"; known operations: createItem, getItem, listItems, panics, raw (hint: did you mean \"listItems\"?)",` +
			`"problems":[{"path":"operation","message":"unknown operation \"listItem\"; known operations: createItem, getItem, listItems, panics, raw","hint":"did you mean \"listItems\"?"}]}`},
		{"?status=6xx", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"status: status \"6xx\" is neither an HTTP status nor a class (hint: an exact status such as 503 or a class such as 5xx)",` +
			`"problems":[{"path":"status","message":"status \"6xx\" is neither an HTTP status nor a class","hint":"an exact status such as 503 or a class such as 5xx"}]}`},
		{"?status=%2B200", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"status: status \"+200\" is neither an HTTP status nor a class (hint: an exact status such as 503 or a class such as 5xx)",` +
			`"problems":[{"path":"status","message":"status \"+200\" is neither an HTTP status nor a class","hint":"an exact status such as 503 or a class such as 5xx"}]}`},
		{"?status=0200", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"status: status \"0200\" is neither an HTTP status nor a class (hint: an exact status such as 503 or a class such as 5xx)",` +
			`"problems":[{"path":"status","message":"status \"0200\" is neither an HTTP status nor a class","hint":"an exact status such as 503 or a class such as 5xx"}]}`},
		{"?status=600", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"status: status \"600\" is neither an HTTP status nor a class (hint: an exact status such as 503 or a class such as 5xx)",` +
			`"problems":[{"path":"status","message":"status \"600\" is neither an HTTP status nor a class","hint":"an exact status such as 503 or a class such as 5xx"}]}`},
		{"?status=99", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"status: status \"99\" is neither an HTTP status nor a class (hint: an exact status such as 503 or a class such as 5xx)",` +
			`"problems":[{"path":"status","message":"status \"99\" is neither an HTTP status nor a class","hint":"an exact status such as 503 or a class such as 5xx"}]}`},
		{"?method=FETCH", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"method: unknown method \"FETCH\"; known methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (hint: did you mean \"PATCH\"?)",` +
			`"problems":[{"path":"method","message":"unknown method \"FETCH\"; known methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS","hint":"did you mean \"PATCH\"?"}]}`},
		{"?path=/echo/items", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"path: path \"/echo/items\" includes the mount; path is matched below it, as the provider's own paths are written (hint: use path=/items (with provider=echo if needed))",` +
			`"problems":[{"path":"path","message":"path \"/echo/items\" includes the mount; path is matched below it, as the provider's own paths are written","hint":"use path=/items (with provider=echo if needed)"}]}`},
		{"?path=/ns/x/items", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"path: path \"/ns/x/items\" includes the namespace prefix; the journal is already per namespace (hint: use path=/items)",` +
			`"problems":[{"path":"path","message":"path \"/ns/x/items\" includes the namespace prefix; the journal is already per namespace","hint":"use path=/items"}]}`},
		{"?path=items", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"path: path \"items\" must start with / (hint: write it as \"/items\")",` +
			`"problems":[{"path":"path","message":"path \"items\" must start with /","hint":"write it as \"/items\""}]}`},
		{"?since=yesterday&limit=0", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"since: since \"yesterday\" is not an RFC 3339 time (hint: for example 2026-11-22T10:00:00Z (sandbox time, as GET /__sandbox/clock shows it)); limit: limit \"0\" is not a positive whole number (hint: for example 20)",` +
			`"problems":[{"path":"since","message":"since \"yesterday\" is not an RFC 3339 time","hint":"for example 2026-11-22T10:00:00Z (sandbox time, as GET /__sandbox/clock shows it)"},` +
			`{"path":"limit","message":"limit \"0\" is not a positive whole number","hint":"for example 20"}]}`},
		// url.URL.Query would drop these pairs and list everything; they are
		// named after their parameter, and the rest is still read.
		{"?provider=nope;status=200", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"provider: provider \"nope;status=200\" contains \";\", which does not separate parameters (hint: separate parameters with &, and write ; inside a value as %3B)",` +
			`"problems":[{"path":"provider","message":"provider \"nope;status=200\" contains \";\", which does not separate parameters","hint":"separate parameters with &, and write ; inside a value as %3B"}]}`},
		{"?status=%zz&method=GETT", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"status: status \"%zz\" is not valid percent-encoding (invalid URL escape \"%zz\") (hint: write % inside a value as %25); method: unknown method \"GETT\"; known methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (hint: did you mean \"GET\"?)",` +
			`"problems":[{"path":"status","message":"status \"%zz\" is not valid percent-encoding (invalid URL escape \"%zz\")","hint":"write % inside a value as %25"},` +
			`{"path":"method","message":"unknown method \"GETT\"; known methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS","hint":"did you mean \"GET\"?"}]}`},
		{"?pro%zzvider=echo", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"pro%zzvider: parameter name \"pro%zzvider\" is not valid percent-encoding (invalid URL escape \"%zz\") (hint: write % inside a value as %25)",` +
			`"problems":[{"path":"pro%zzvider","message":"parameter name \"pro%zzvider\" is not valid percent-encoding (invalid URL escape \"%zz\")","hint":"write % inside a value as %25"}]}`},
		// Each value of a repeated filter is checked.
		{"?provider=echo&provider=ehco", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"provider: unknown provider \"ehco\"; known providers: ` + registered("", ", ") + ` (hint: did you mean \"echo\"?)",` +
			`"problems":[{"path":"provider","message":"unknown provider \"ehco\"; known providers: ` + registered("", ", ") + `","hint":"did you mean \"echo\"?"}]}`},
		{"?limit=1001", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"limit: limit 1001 is more than 1000, the most one page holds (hint: follow the Link header (rel=\"next\") for the entries after a page)",` +
			`"problems":[{"path":"limit","message":"limit 1001 is more than 1000, the most one page holds","hint":"follow the Link header (rel=\"next\") for the entries after a page"}]}`},
		{"?limit=99999999999999999999", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"limit: limit 99999999999999999999 is more than 1000, the most one page holds (hint: follow the Link header (rel=\"next\") for the entries after a page)",` +
			`"problems":[{"path":"limit","message":"limit 99999999999999999999 is more than 1000, the most one page holds","hint":"follow the Link header (rel=\"next\") for the entries after a page"}]}`},
		{"?cursor=req_00000001", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"cursor: cursor \"req_00000001\" is not a cursor this sandbox hands out (hint: pass back the cursor of the Link header (rel=\"next\") unchanged)",` +
			`"problems":[{"path":"cursor","message":"cursor \"req_00000001\" is not a cursor this sandbox hands out","hint":"pass back the cursor of the Link header (rel=\"next\") unchanged"}]}`},
		{"?since=2026-01-02T03:04:05+01:00", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"since: since \"2026-01-02T03:04:05 01:00\" is not an RFC 3339 time (hint: a + in a query string means a space: write the offset as %2B01:00, or give the time in UTC with Z)",` +
			`"problems":[{"path":"since","message":"since \"2026-01-02T03:04:05 01:00\" is not an RFC 3339 time","hint":"a + in a query string means a space: write the offset as %2B01:00, or give the time in UTC with Z"}]}`},
		{"?stauts=500&since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z", `{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"since: since is given 2 times (hint: give it once); stauts: unknown query parameter \"stauts\"; parameters: provider, operation, status, method, path, since, limit, cursor (hint: did you mean \"status\"?)",` +
			`"problems":[{"path":"since","message":"since is given 2 times","hint":"give it once"},` +
			`{"path":"stauts","message":"unknown query parameter \"stauts\"; parameters: provider, operation, status, method, path, since, limit, cursor","hint":"did you mean \"status\"?"}]}`},
	}
	for _, tc := range tests {
		res := h.Do("GET", "/__sandbox/requests"+tc.query, nil)
		if res.Status != 400 || !res.Matched || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d matched=%v %s", tc.query, res.Status, res.Matched, res.Header.Get("Content-Type"))
			continue
		}
		res.WantJSON(tc.body)
	}
}

func TestCallbackFilterErrors(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	h.Do("GET", "/__sandbox/callbacks?state=pending&provider=echo&since=2026-01-01T00:00:00Z", nil).WantStatus(200).WantJSON(`[]`)
	h.Do("GET", "/__sandbox/callbacks?state=pending&state=failed&provider=echo&provider=echo", nil).WantStatus(200).WantJSON(`[]`)
	h.Do("GET", "/__sandbox/callbacks?state=failed;provider=echo", nil).WantStatus(400).WantJSON(
		`{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"state: state \"failed;provider=echo\" contains \";\", which does not separate parameters (hint: separate parameters with &, and write ; inside a value as %3B)",` +
			`"problems":[{"path":"state","message":"state \"failed;provider=echo\" contains \";\", which does not separate parameters","hint":"separate parameters with &, and write ; inside a value as %3B"}]}`)
	h.Do("GET", "/__sandbox/callbacks?state=done&provider=ech&since=now&x=1", nil).WantStatus(400).WantJSON(
		`{"type":"about:blank","title":"Invalid filter","status":400,` +
			`"detail":"x: unknown query parameter \"x\"; parameters: state, provider, since; state: unknown state \"done\"; known states: pending, sending, delivered, failed, cancelled; provider: unknown provider \"ech\"; known providers: ` + registered("", ", ") + ` (hint: did you mean \"echo\"?); since: since \"now\" is not an RFC 3339 time (hint: for example 2026-11-22T10:00:00Z (sandbox time, as GET /__sandbox/clock shows it))",` +
			`"problems":[{"path":"x","message":"unknown query parameter \"x\"; parameters: state, provider, since"},` +
			`{"path":"state","message":"unknown state \"done\"; known states: pending, sending, delivered, failed, cancelled"},` +
			`{"path":"provider","message":"unknown provider \"ech\"; known providers: ` + registered("", ", ") + `","hint":"did you mean \"echo\"?"},` +
			`{"path":"since","message":"since \"now\" is not an RFC 3339 time","hint":"for example 2026-11-22T10:00:00Z (sandbox time, as GET /__sandbox/clock shows it)"}]}`)
}

func TestPostFaultDecodeProblems(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	tests := []struct {
		name, body, want string
	}{
		{"unknown key gets a did-you-mean", `{"match":{"provider":"echo"},"tims":2,"respond":{"status":503}}`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,` +
				`"detail":"expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 1 problem(s): tims: unknown key \"tims\" (hint: did you mean \"times\"?)",` +
				`"problems":[{"path":"tims","message":"unknown key \"tims\"","hint":"did you mean \"times\"?"}]}`},
		{"nested unknown key and a wrong type, every problem at once", `{"match":{"provider":"echo","operaton":"listItems"},"respond":{"status":"503"}}`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,` +
				`"detail":"expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 2 problem(s): respond.status: \"503\" is a string, expected a whole number (hint: write the number without quotes, e.g. 100); match.operaton: unknown key \"operaton\" (hint: did you mean \"operation\"?)",` +
				`"problems":[{"path":"respond.status","message":"\"503\" is a string, expected a whole number","hint":"write the number without quotes, e.g. 100"},` +
				`{"path":"match.operaton","message":"unknown key \"operaton\"","hint":"did you mean \"operation\"?"}]}`},
		{"a list is not a rule", `[{"respond":{"status":503}}]`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,` +
				`"detail":"expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 1 problem(s): expected a JSON object (a mapping of keys to values) (hint: send one object, not a list or a single value)",` +
				`"problems":[{"message":"expected a JSON object (a mapping of keys to values)","hint":"send one object, not a list or a single value"}]}`},
		{"a fraction for a count", `{"match":{"provider":"echo"},"times":1.5,"respond":{"status":503}}`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,` +
				`"detail":"expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 1 problem(s): times: \"1.5\" is not a whole number (hint: this field counts whole units; use 1 or 2)",` +
				`"problems":[{"path":"times","message":"\"1.5\" is not a whole number","hint":"this field counts whole units; use 1 or 2"}]}`},
		{"compile problems keep their shape", `{"match":{"provider":"echo","operation":"listItem"},"respond":{"status":503}}`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,"detail":"the rule has 1 problem(s)",` +
				`"problems":[{"path":"match.operation","message":"provider \"echo\" has no operation \"listItem\", so this rule can never match","hint":"did you mean \"listItems\"?"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.With(t).Do("POST", "/__sandbox/faults", sandboxtest.JSONBody(tc.body)).WantStatus(400).WantJSON(tc.want)
		})
	}
	var rules []map[string]any
	h.Admin("GET", "", "/faults", nil, &rules)
	if len(rules) != 0 {
		t.Errorf("a refused rule was added: %v", rules)
	}
	// A good rule in YAML works too (the same decoder as scenario files).
	h.Do("POST", "/__sandbox/faults", sandboxtest.RawBody("application/yaml", []byte("match: {provider: echo}\ntimes: 1\nrespond: {status: 503}\n"))).WantStatus(201)
	h.Do("GET", "/echo/items", nil).WantStatus(503)
	h.Do("GET", "/echo/items", nil).WantStatus(200)
}
