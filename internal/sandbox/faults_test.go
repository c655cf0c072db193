package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// withFaults returns the echo scenario (clock frozen at 2026-01-02T03:04:05Z)
// plus the given faults: section.
func withFaults(rules string) string {
	return echoScenario + "faults:\n" + rules
}

func lastEntry(t *testing.T, h *sandboxtest.Harness, ns string) journal.Entry {
	t.Helper()
	var es []journal.Entry
	h.Admin("GET", ns, "/requests?limit=1", nil, &es)
	if len(es) == 0 {
		t.Fatal("journal is empty")
	}
	return es[0]
}

func TestFaultRespondInProviderShapeAndJournal(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, withFaults(`
  - id: outage
    match: {provider: echo, operation: listItems}
    respond: {status: 503}
`))
	h.Do("GET", "/echo/items", nil).WantStatus(503).WantJSON(`{"error":"Service Unavailable","kind":6}`)
	if e := lastEntry(t, h, ""); len(e.Faults) != 1 || e.Faults[0] != "outage" || e.Response.Status != 503 {
		t.Errorf("journal entry faults %v status %d", e.Faults, e.Response.Status)
	}
	// Other operations are untouched.
	h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":1}`)).WantStatus(201)
}

func TestFaultLifetimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rule  string
		clock []string // advance before request i (Go durations, "" for none)
		want  []int
	}{
		{name: "fail twice then succeed", rule: "times: 2", want: []int{500, 500, 200, 200}},
		{name: "succeed once then fail", rule: "after: 1", want: []int{200, 500, 500}},
		{name: "only the second", rule: "match: {provider: echo, nth: 2}", want: []int{200, 500, 200, 200}},
		{name: "absolute window", rule: `from: "2026-01-02T03:00:00Z"` + "\n    until: \"2026-01-02T03:05:00Z\"",
			clock: []string{"", "", "2m"}, want: []int{500, 500, 200}},
		{name: "window not yet open", rule: `from: "2026-01-02T03:10:00Z"`,
			clock: []string{"", "6m"}, want: []int{200, 500}},
		{name: "for five minutes from now", rule: "for: 5m", clock: []string{"", "4m59s", "1s"}, want: []int{500, 500, 200}},
		{name: "starting in a minute", rule: "startIn: 1m\n    for: 1m", clock: []string{"", "1m", "1m"}, want: []int{200, 500, 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rule := "  - respond: {status: 500}\n    " + tc.rule + "\n"
			if !strings.Contains(tc.rule, "match:") {
				rule += "    match: {provider: echo}\n"
			}
			h := sandboxtest.New(t, withFaults(rule))
			for i, want := range tc.want {
				if i < len(tc.clock) && tc.clock[i] != "" {
					h.Admin("POST", "", "/clock", map[string]string{"advance": tc.clock[i]}, nil)
				}
				if got := h.Do("GET", "/echo/items", nil).Status; got != want {
					t.Errorf("request %d: status %d, want %d", i+1, got, want)
				}
			}
		})
	}
}

func TestFaultMatching(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, withFaults(`
  - id: by-header
    match: {provider: echo, headers: {X-Test-Case: "^fail-.*"}}
    respond: {status: 502}
  - id: by-query
    match: {provider: echo, method: get, query: {limit: "^7$"}}
    respond: {status: 504}
  - id: by-body
    match: {provider: echo, path: "^/items$", body: {name: "^boom$"}}
    respond: {status: 500}
  - id: by-namespace
    match: {namespace: "^flaky-"}
    respond: {status: 503}
`))
	tests := []struct {
		method, path, body string
		header             string
		want               int
		rule               string
	}{
		{"GET", "/echo/items", "", "fail-now", 502, "by-header"},
		{"GET", "/echo/items", "", "pass", 200, ""},
		{"GET", "/echo/items?limit=7", "", "", 504, "by-query"},
		{"GET", "/echo/items?limit=8", "", "", 200, ""},
		{"POST", "/echo/items", `{"name":"boom","qty":1}`, "", 500, "by-body"},
		{"POST", "/echo/items", `{"name":"fine","qty":1}`, "", 201, ""},
		{"GET", "/ns/flaky-1/echo/items", "", "", 503, "by-namespace"},
		{"GET", "/ns/steady/echo/items", "", "", 200, ""},
	}
	for _, tc := range tests {
		var opts []sandboxtest.Option
		if tc.header != "" {
			opts = append(opts, sandboxtest.Header("X-Test-Case", tc.header))
		}
		var body *sandboxtest.Body
		if tc.body != "" {
			body = sandboxtest.JSONBody(tc.body)
		}
		res := h.Do(tc.method, tc.path, body, opts...)
		if res.Status != tc.want {
			t.Errorf("%s %s %s: status %d, want %d", tc.method, tc.path, tc.body, res.Status, tc.want)
		}
	}
}

func TestFaultProbabilityIsReproducible(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, withFaults(`
  - match: {provider: echo, probability: 0.5}
    respond: {status: 503}
`))
	pattern := func(ns string) string {
		var b strings.Builder
		for i := 0; i < 40; i++ {
			if h.Do("GET", "/ns/"+ns+"/echo/items", nil).Status == 503 {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, b := pattern("run-a"), pattern("run-b")
	if a != b {
		t.Fatalf("same seed, different outcomes:\n%s\n%s", a, b)
	}
	if n := strings.Count(a, "x"); n < 8 || n > 32 {
		t.Errorf("probability 0.5 fired %d of 40 times: %s", n, a)
	}
}

func TestFaultThrottleLiteralAndPrefer(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, withFaults(`
  - match: {provider: echo, operation: getItem}
    throttle: {retryAfter: 30}
  - match: {provider: echo, operation: raw}
    respond: {status: 202, body: '{"queued":true}', headers: {X-Custom: yes}}
`))
	res := h.Do("GET", "/echo/items/1", nil).WantStatus(429)
	if res.Header.Get("X-Sandbox-Fault") != "rule-1" {
		t.Errorf("X-Sandbox-Fault = %q", res.Header.Get("X-Sandbox-Fault"))
	}
	res.WantJSON(`{"error":"Too Many Requests","kind":7}`)
	if res.Header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After = %q", res.Header.Get("Retry-After"))
	}
	res = h.Do("POST", "/echo/raw", sandboxtest.JSONBody(`{}`))
	if res.Status != 202 || string(res.Body) != `{"queued":true}` || res.Header.Get("X-Custom") != "yes" {
		t.Errorf("literal answer: %d %s %v", res.Status, res.Body, res.Header)
	}
	h.Do("GET", "/echo/items", nil, sandboxtest.Header("Prefer", "status=500")).WantStatus(500).
		WantJSON(`{"error":"Internal Server Error","kind":6}`)
	h.Do("GET", "/echo/items", nil, sandboxtest.Header("Prefer", "return=minimal")).WantStatus(200)
	h.Do("GET", "/echo/items", nil, sandboxtest.Header("Prefer", "status=abc")).WantStatus(400)

	h.Do("GET", "/echo/items", nil, sandboxtest.Header("Prefer", "delay=60ms")).WantStatus(200)
	if e := lastEntry(t, h, ""); e.LatencyMicros < 60000 || e.Faults[0] != "prefer-header" {
		t.Errorf("Prefer delay: latency %dµs, faults %v", e.LatencyMicros, e.Faults)
	}

	off := sandboxtest.New(t, echoScenario+"preferHeader: false\n")
	off.Do("GET", "/echo/items", nil, sandboxtest.Header("Prefer", "status=500")).WantStatus(200)
}

func TestFaultConnectionLevel(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, withFaults(`
  - id: reset
    match: {provider: echo, headers: {X-Fault: "^reset$"}}
    reset: true
  - id: hang
    match: {provider: echo, headers: {X-Fault: "^hang$"}}
    hang: true
  - id: cut
    match: {provider: echo, headers: {X-Fault: "^cut$"}}
    cutBody: true
  - id: slow-then-503
    match: {provider: echo, headers: {X-Fault: "^slow$"}}
    delay: {min: 20ms, max: 40ms}
    respond: {status: 503}
`))
	do := func(fault string, timeout time.Duration) (*http.Response, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+"/echo/items", nil)
		req.Header.Set("X-Fault", fault)
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	if _, _, err := do("reset", 5*time.Second); err == nil {
		t.Error("reset: request succeeded")
	}
	if _, _, err := do("hang", 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: err = %v, want deadline exceeded", err)
	}
	resp, body, err := do("cut", 5*time.Second)
	if err == nil || resp == nil || resp.StatusCode != 200 || len(body) == 0 {
		t.Errorf("cut body: resp %v body %q err %v; want headers, part of the body, then an error", resp, body, err)
	}
	resp, _, err = do("slow", 5*time.Second)
	if err != nil || resp.StatusCode != 503 {
		t.Errorf("delay then 503: %v %v", resp, err)
	}
	// Every affected request is journaled with its rule.
	deadline := time.Now().Add(3 * time.Second)
	for {
		var es []journal.Entry
		h.Admin("GET", "", "/requests", nil, &es)
		got := map[string]int{}
		for _, e := range es {
			for _, f := range e.Faults {
				got[f] = e.Response.Status
			}
		}
		if len(got) == 4 {
			if got["reset"] != 0 || got["hang"] != 0 || got["cut"] != 200 || got["slow-then-503"] != 503 {
				t.Errorf("journaled statuses %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal names %v, want all four rules", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFaultAdminAPI(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	var added faults.Rule
	if st := h.Admin("POST", "ci", "/faults", map[string]any{
		"id": "twice", "match": map[string]any{"provider": "echo", "operation": "listItems"},
		"respond": map[string]any{"status": 503}, "times": 2,
	}, &added); st != 201 || added.ID != "twice" {
		t.Fatalf("POST /faults = %d %+v", st, added)
	}
	h.Do("GET", "/ns/ci/echo/items", nil).WantStatus(503)
	h.Do("GET", "/echo/items", nil).WantStatus(200) // other namespace unaffected
	var views []faults.View
	h.Admin("GET", "ci", "/faults", nil, &views)
	if len(views) != 1 || views[0].Fired != 1 || views[0].Matched != 1 {
		t.Fatalf("GET /faults = %+v", views)
	}
	if st := h.Admin("DELETE", "ci", "/faults/twice", nil, nil); st != 204 {
		t.Fatalf("DELETE = %d", st)
	}
	h.Do("GET", "/ns/ci/echo/items", nil).WantStatus(200)
	if st := h.Admin("DELETE", "ci", "/faults/twice", nil, nil); st != 404 {
		t.Fatalf("second DELETE = %d", st)
	}
	for _, id := range []string{"a", "b"} {
		h.Admin("POST", "ci", "/faults", map[string]any{"id": id, "match": map[string]any{"provider": "echo"}, "respond": map[string]any{"status": 503}}, nil)
	}
	h.Do("GET", "/ns/ci/echo/items", nil).WantStatus(503)
	if st := h.Admin("DELETE", "ci", "/faults", nil, nil); st != 204 {
		t.Fatalf("DELETE /faults = %d", st)
	}
	h.Admin("GET", "ci", "/faults", nil, &views)
	if len(views) != 0 {
		t.Fatalf("rules left after DELETE /faults: %+v", views)
	}
	h.Do("GET", "/ns/ci/echo/items", nil).WantStatus(200)
	var p struct {
		Problems []struct{ Path, Message, Hint string } `json:"problems"`
	}
	st := h.Admin("POST", "ci", "/faults", map[string]any{
		"match":   map[string]any{"provider": "echo", "operation": "listItem", "probability": 1.5, "path": "("},
		"respond": map[string]any{"status": 503},
	}, &p)
	if st != 400 || len(p.Problems) != 3 {
		t.Fatalf("invalid rule: %d %+v", st, p)
	}
	if p.Problems[0].Hint != `did you mean "listItems"?` {
		t.Errorf("hint %q", p.Problems[0].Hint)
	}
	for _, body := range []string{`{"respond":{"status":503},"colour":1}`, `[`, `{"match":{"provider":"echo"}}`} {
		if res := h.Do("POST", "/__sandbox/faults", sandboxtest.JSONBody(body)); res.Status != 400 {
			t.Errorf("POST %s = %d", body, res.Status)
		}
	}
}

// TestPostFaultRefusesTrailingContent: POST /faults reads one rule. Text
// after it, or a second YAML document, is refused with a problem rather than
// silently dropped, and no rule is added.
func TestPostFaultRefusesTrailingContent(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	const detail = "expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 1 problem(s): "
	trailing := `{"message":"unexpected content after the end of the first document; only one JSON object or YAML document is accepted","hint":"send one JSON object and nothing after it"}`
	tests := []struct {
		name, contentType, body string
		problem                 string
	}{
		{"text after a JSON rule", "application/json", `{"match":{"provider":"echo"},"respond":{"status":503}} garbage`, trailing},
		{"two JSON rules", "application/json", `{"match":{"provider":"echo"},"respond":{"status":503}}{"match":{"provider":"echo"},"respond":{"status":500}}`, trailing},
		{"a second YAML document", "application/yaml", "match: {provider: echo}\nrespond: {status: 503}\n---\nmatch: {provider: echo}\nrespond: {status: 500}\n",
			"{\"line\":3,\"message\":\"a second YAML document starts at this `---` line; only one document is accepted\",\"hint\":\"send one JSON object and nothing after it; remove the `---` line and what follows it, or merge the two\"}"},
	}
	for _, tc := range tests {
		res := h.Do("POST", "/__sandbox/faults", sandboxtest.RawBody(tc.contentType, []byte(tc.body))).WantStatus(400)
		var p struct {
			Detail   string            `json:"detail"`
			Problems []json.RawMessage `json:"problems"`
		}
		res.JSON(&p)
		if len(p.Problems) != 1 || string(p.Problems[0]) != tc.problem {
			t.Errorf("%s: problems %s\nwant [%s]", tc.name, p.Problems, tc.problem)
		}
		if !strings.HasPrefix(p.Detail, detail) {
			t.Errorf("%s: detail %q", tc.name, p.Detail)
		}
	}
	var rules []any
	h.Admin("GET", "", "/faults", nil, &rules)
	if len(rules) != 0 {
		t.Errorf("rules added: %v", rules)
	}
}

// TestPostFaultProblemsInUserWords: a value of the wrong kind is described
// by the shape it should have, with a hint, never by a Go type name; a key
// given several times is one problem.
func TestPostFaultProblemsInUserWords(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	tests := []struct {
		name, body string
		want       string // the whole answer
	}{
		{"delay as a bare duration", `{"match":{"provider":"echo"},"delay":"2s"}`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,` +
				`"detail":"expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 1 problem(s): delay: \"2s\" is a string, expected a mapping {fixed: 2s} or {min: 1s, max: 3s} (hint: delay waits a fixed time or a random time in a range: write delay: {fixed: 2s} or delay: {min: 1s, max: 3s})",` +
				`"problems":[{"path":"delay","message":"\"2s\" is a string, expected a mapping {fixed: 2s} or {min: 1s, max: 3s}","hint":"delay waits a fixed time or a random time in a range: write delay: {fixed: 2s} or delay: {min: 1s, max: 3s}"}]}`},
		{"respond as a bare status", `{"match":{"provider":"echo"},"respond":503}`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,` +
				`"detail":"expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 1 problem(s): respond: \"503\" is a number, expected a mapping such as {status: 503} (hint: write respond: {status: 503}; add body and headers to answer with a literal response)",` +
				`"problems":[{"path":"respond","message":"\"503\" is a number, expected a mapping such as {status: 503}","hint":"write respond: {status: 503}; add body and headers to answer with a literal response"}]}`},
		{"id given three times", `{"id":"a","id":"b","id":"c","match":{"provider":"echo"},"respond":{"status":503}}`,
			`{"type":"about:blank","title":"Invalid fault rule","status":400,` +
				`"detail":"expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has 1 problem(s): id: key \"id\" is given 3 times in the same mapping (hint: give it once: remove the repeats, or merge their values into one)",` +
				`"problems":[{"path":"id","message":"key \"id\" is given 3 times in the same mapping","hint":"give it once: remove the repeats, or merge their values into one"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			h.Do("POST", "/__sandbox/faults", sandboxtest.JSONBody(tc.body)).WantStatus(400).WantJSON(tc.want)
		})
	}
}

func TestFaultRulesInScenarioAreValidated(t *testing.T) {
	t.Parallel()
	bad := echoScenario + `faults:
  - match: {provider: echo, operation: nope}
    respond: {status: 503}
  - match: {provider: echo, probability: 2}
    respond: {status: 503}
  - match: {provider: echo, path: "[a-"}
    respond: {status: 503}
  - match: {provider: echo}
    from: "2026-01-02T04:00:00Z"
    until: "2026-01-02T03:00:00Z"
    respond: {status: 503}
  - match: {provider: nobody}
    respond: {status: 999}
  - match: {provider: echo}
    respond: {status: 503}
    hang: true
`
	res := sandboxtest.New(t, echoScenario).Do("PUT", "/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(bad))).WantStatus(400)
	body := string(res.Body)
	for _, want := range []string{
		`"line":10,"path":"faults[0].match.operation","message":"provider \"echo\" has no operation \"nope\", so this rule can never match"`,
		`"path":"faults[1].match.probability","message":"probability 2 is outside [0, 1]"`,
		`"path":"faults[2].match.path","message":"regex \"[a-\" does not compile`,
		`"path":"faults[3].until","message":"the window [2026-01-02T04:00:00Z, 2026-01-02T03:00:00Z) is empty, so this rule can never fire"`,
		`"path":"faults[4].match.provider","message":"unknown provider \"nobody\""`,
		`"path":"faults[4].respond.status","message":"status 999 is not an HTTP status"`,
		`"path":"faults[5].respond","message":"respond, throttle, reset and hang exclude each other"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("problems lack %s\n%s", want, body)
		}
	}
}

func TestFaultsSurviveConcurrency(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, withFaults(`
  - match: {provider: echo}
    times: 10
    respond: {status: 503}
`))
	results := make(chan int, 64)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 8; i++ {
				resp, err := h.Client.Get(h.URL + "/echo/items")
				if err != nil {
					results <- -1
					continue
				}
				resp.Body.Close()
				results <- resp.StatusCode
			}
		}()
	}
	counts := map[int]int{}
	for i := 0; i < 64; i++ {
		counts[<-results]++
	}
	if counts[503] != 10 || counts[200] != 54 {
		t.Fatalf("times: 10 under concurrency gave %v", counts)
	}
}
