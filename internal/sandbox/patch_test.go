package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

const patchBase = `version: 1
name: patch-base
description: before the patch
seed: 9007199254740993
clock:
  start: "2026-01-02T03:04:05Z"
  frozen: false
echo:
  greeting: hi
  limit: 5
faults:
  - id: first
    match: {provider: echo, operation: listItems}
    respond: {status: 503}
  - id: second
    match: {provider: echo, operation: getItem}
    respond: {status: 502}
`

func getScenario(t *testing.T, h *sandboxtest.Harness, ns string) map[string]any {
	t.Helper()
	var got map[string]any
	prefix := ""
	if ns != "" {
		prefix = "/ns/" + ns
	}
	res := h.Do("GET", prefix+"/__sandbox/scenario", nil).WantStatus(200)
	dec := json.NewDecoder(bytes.NewReader(res.Body))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func patch(h *sandboxtest.Harness, path, contentType, body string) *sandboxtest.Response {
	return h.Do("PATCH", path, sandboxtest.RawBody(contentType, []byte(body)))
}

// TestPatchScenarioMergeSemantics checks RFC 7396 over the scenario: nested
// objects merge, null removes, arrays replace, and the namespace is reset.
func TestPatchScenarioMergeSemantics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, contentType, patch string
		check                    func(t *testing.T, got map[string]any)
	}{
		{"nested objects merge", "application/merge-patch+json", `{"clock":{"frozen":true},"echo":{"greeting":"patched"}}`,
			func(t *testing.T, got map[string]any) {
				if s := mustJSON(got["clock"]); s != `{"frozen":true,"start":"2026-01-02T03:04:05Z"}` {
					t.Errorf("clock = %s", s)
				}
				if s := mustJSON(got["echo"]); s != `{"busy":false,"greeting":"patched","limit":5,"maxBodyBytes":256}` {
					t.Errorf("echo = %s", s)
				}
				if s := mustJSON(got["seed"]); s != `9007199254740993` {
					t.Errorf("seed = %s, want it exact", s)
				}
			}},
		{"null removes", "application/merge-patch+json", `{"description":null,"clock":{"start":null}}`,
			func(t *testing.T, got map[string]any) {
				if _, ok := got["description"]; ok {
					t.Errorf("description = %v, want it gone", got["description"])
				}
				if s := mustJSON(got["clock"]); s != `{"frozen":false}` {
					t.Errorf("clock = %s, want start removed (real time)", s)
				}
			}},
		{"arrays replace", "application/merge-patch+json", `{"faults":[{"id":"only","match":{"provider":"echo"},"respond":{"status":500}}]}`,
			func(t *testing.T, got map[string]any) {
				want := `[{"id":"only","match":{"provider":"echo"},"respond":{"status":500}}]`
				if s := mustJSON(got["faults"]); s != want {
					t.Errorf("faults = %s, want %s", s, want)
				}
			}},
		{"YAML fragment", "application/merge-patch+yaml", "clock:\n  start: 2027-05-06T07:08:09Z\necho: {limit: 7}\n",
			func(t *testing.T, got map[string]any) {
				if s := mustJSON(got["clock"]); s != `{"frozen":false,"start":"2027-05-06T07:08:09Z"}` {
					t.Errorf("clock = %s", s)
				}
				if s := mustJSON(got["echo"]); s != `{"busy":false,"greeting":"hi","limit":7,"maxBodyBytes":256}` {
					t.Errorf("echo = %s", s)
				}
			}},
		{"plain JSON type", "application/json; charset=utf-8", `{"name":"renamed"}`,
			func(t *testing.T, got map[string]any) {
				if got["name"] != "renamed" {
					t.Errorf("name = %v", got["name"])
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, patchBase)
			h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"kept?","qty":1}`)).WantStatus(201)
			res := patch(h, "/__sandbox/scenario", c.contentType, c.patch).WantStatus(200)
			res.WantJSON(`{"loaded":"` + mustName(t, h) + `","namespace":"default","template":true}`)
			got := getScenario(t, h, "")
			c.check(t, got)
			if got["source"] != "test scenario (patched)" {
				t.Errorf("source = %v", got["source"])
			}
			// Applied like PUT: the namespace was reset.
			if n := len(echoItems(t, h)); n != 0 {
				t.Errorf("%d items after the patch, want the namespace reset", n)
			}
			// The bare path makes the result the template too.
			if fresh := getScenario(t, h, "fresh"); mustJSON(fresh["clock"]) != mustJSON(got["clock"]) || fresh["name"] != got["name"] {
				t.Errorf("new namespace runs %v, want the patched scenario", fresh["name"])
			}
		})
	}
}

// mustName returns the name the default namespace runs.
func mustName(t *testing.T, h *sandboxtest.Harness) string {
	t.Helper()
	return getScenario(t, h, "")["name"].(string)
}

// echoItems returns the items the default namespace's echo state holds.
func echoItems(t *testing.T, h *sandboxtest.Harness) []map[string]any {
	t.Helper()
	var st struct {
		Items []map[string]any `json:"items"`
	}
	h.Do("GET", "/__sandbox/state/echo", nil).WantStatus(200).JSON(&st)
	return st.Items
}

// TestPatchScenarioInvalidChangesNothing sends patches that are refused and
// checks the answer and that scenario and state are as they were.
func TestPatchScenarioInvalidChangesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"not a merge patch type", "text/plain", `{"name":"x"}`, 415,
			`{"type":"about:blank","title":"Unsupported merge patch type","status":415,"detail":"Content-Type \"text/plain\" is not a merge patch; send application/merge-patch+json (RFC 7396) or a YAML fragment as application/merge-patch+yaml"}`},
		{"no content type", "", `{"name":"x"}`, 415,
			`{"type":"about:blank","title":"Unsupported merge patch type","status":415,"detail":"Content-Type \"\" is not a merge patch; send application/merge-patch+json (RFC 7396) or a YAML fragment as application/merge-patch+yaml"}`},
		{"not JSON", "application/merge-patch+json", `{"name":`, 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the body is not JSON: unexpected EOF; nothing was changed"}`},
		{"two values", "application/merge-patch+json", `{} {}`, 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the body holds more than one JSON value; nothing was changed"}`},
		{"empty", "application/merge-patch+json", ``, 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the body is empty; send a JSON object such as {\"clock\":{\"frozen\":true}}; nothing was changed"}`},
		{"not an object", "application/merge-patch+json", `["clock"]`, 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"a scenario merge patch is a JSON object such as {\"clock\":{\"frozen\":true}}, not an array; nothing was changed"}`},
		{"two YAML documents", "application/merge-patch+yaml", "clock: {frozen: true}\n---\nseed: 9\n", 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the body holds more than one YAML document, or text after the first; send one mapping; nothing was changed"}`},
		{"text after the YAML mapping", "application/merge-patch+yaml", "{clock: {frozen: true}} seed", 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the body holds more than one YAML document, or text after the first; send one mapping; nothing was changed"}`},
		{"a YAML key given twice", "application/merge-patch+yaml", "seed: 1\nseed: 2\n", 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"line 2: key \"seed\" is given more than once in the same mapping; give it once; nothing was changed"}`},
		{"bad YAML", "application/merge-patch+yaml", "clock: [", 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the body is not YAML: line 1: did not find expected node content; nothing was changed"}`},
		{"YAML infinity", "application/merge-patch+yaml", "seed: .inf", 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"line 1: .inf is not a JSON number; nothing was changed"}`},
		{"YAML key twice", "application/merge-patch+yaml", "name: a\nname: b\n", 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"line 2: key \"name\" is given more than once in the same mapping; give it once; nothing was changed"}`},
		{"YAML alias bomb", "application/merge-patch+yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n", 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the YAML fragment's aliases expand to more values than a fragment of its size can hold; write the values out; nothing was changed"}`},
		{"a fraction for a whole number", "application/merge-patch+json", `{"echo":{"limit":2.5}}`, 400,
			`{"type":"about:blank","title":"Invalid scenario","status":400,"detail":"the patched scenario has 1 problem(s); nothing was changed","problems":[` +
				`{"file":"merge patch","path":"echo.limit","message":"\"2.5\" is not a whole number","hint":"this field counts whole units; use 2 or 3"}]}`},
		{"invalid result", "application/merge-patch+json", `{"clock":{"frozn":true,"start":"tomorrow"},"echo":{"limit":-1},"seed":"lots","faults":[{"match":{"provider":"ecko"}}]}`, 400,
			`{"type":"about:blank","title":"Invalid scenario","status":400,"detail":"the patched scenario has 6 problem(s); nothing was changed","problems":[` +
				`{"file":"merge patch","path":"clock.frozn","message":"unknown key \"frozn\"","hint":"did you mean \"frozen\"?"},` +
				`{"file":"merge patch","path":"clock.start","message":"clock.start \"tomorrow\" is not an RFC 3339 time","hint":"for example 2026-11-22T10:00:00Z"},` +
				`{"file":"merge patch","path":"echo.limit","message":"limit must not be negative, got -1","hint":"use 0 for no limit"},` +
				`{"file":"merge patch","path":"faults[0].respond","message":"the rule does nothing","hint":"give respond, delay, throttle, reset, hang or cutBody"},` +
				`{"file":"merge patch","path":"faults[0].match.provider","message":"unknown provider \"ecko\"","hint":"did you mean \"echo\"?"},` +
				`{"file":"merge patch","path":"seed","message":"\"lots\" is a string, expected a whole number","hint":"write the number without quotes, e.g. 100"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, patchBase)
			h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"kept","qty":1}`)).WantStatus(201)
			before := mustJSON(getScenario(t, h, ""))
			res := patch(h, "/__sandbox/scenario", c.contentType, c.body).WantStatus(c.status)
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			res.WantJSON(c.want)
			if after := mustJSON(getScenario(t, h, "")); after != before {
				t.Errorf("scenario changed:\n%s\n%s", before, after)
			}
			if items := echoItems(t, h); len(items) != 1 {
				t.Errorf("state was reset: %v", items)
			}
		})
	}
}

// TestPatchScenarioInNamespace patches one namespace only: the template and
// the default namespace keep their scenario.
func TestPatchScenarioInNamespace(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, patchBase)
	patch(h, "/ns/job-1/__sandbox/scenario", "application/merge-patch+json", `{"name":"job-only"}`).
		WantStatus(200).WantJSON(`{"loaded":"job-only","namespace":"job-1","template":false}`)
	if got := getScenario(t, h, "job-1")["name"]; got != "job-only" {
		t.Errorf("job-1 runs %v", got)
	}
	for _, ns := range []string{"", "job-2"} {
		if got := getScenario(t, h, ns)["name"]; got != "patch-base" {
			t.Errorf("namespace %q runs %v, want patch-base", ns, got)
		}
	}
	// A second patch builds on the first.
	patch(h, "/ns/job-1/__sandbox/scenario", "application/merge-patch+json", `{"clock":{"frozen":true}}`).WantStatus(200)
	got := getScenario(t, h, "job-1")
	if got["name"] != "job-only" || mustJSON(got["clock"]) != `{"frozen":true,"start":"2026-01-02T03:04:05Z"}` {
		t.Errorf("second patch: %v %v", got["name"], got["clock"])
	}
}

// TestConcurrentPatchesBothCount sends two merge patches of different keys
// at once, many times: each applies on top of the other, so the scenario
// ends with both (neither starts from the scenario the other replaced).
func TestConcurrentPatchesBothCount(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, patchBase)
	const rounds = 20
	for i := 0; i < rounds; i++ {
		start := make(chan struct{})
		done := make(chan int, 2)
		for _, body := range []string{fmt.Sprintf(`{"name":"n%d"}`, i), fmt.Sprintf(`{"description":"d%d"}`, i)} {
			go func(body string) {
				<-start
				done <- patch(h, "/ns/both/__sandbox/scenario", "application/merge-patch+json", body).Status
			}(body)
		}
		close(start)
		if a, b := <-done, <-done; a != 200 || b != 200 {
			t.Fatalf("round %d: patches answered %d and %d", i, a, b)
		}
		got := getScenario(t, h, "both")
		if got["name"] != fmt.Sprintf("n%d", i) || got["description"] != fmt.Sprintf("d%d", i) {
			t.Fatalf("round %d: name %v, description %v; want both patches applied", i, got["name"], got["description"])
		}
	}
}
