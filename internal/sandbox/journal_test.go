package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// entryOf fetches the journal entry of a response by its request id.
func entryOf(t *testing.T, h *sandboxtest.Harness, ns string, res *sandboxtest.Response) journal.Entry {
	t.Helper()
	var e journal.Entry
	if st := h.Admin("GET", ns, "/requests/"+res.Header.Get(sandbox.HeaderRequestID), nil, &e); st != 200 {
		t.Fatalf("GET /requests/{id}: %d", st)
	}
	return e
}

// A client can send up to a megabyte of headers; the journal keeps 4 KiB
// of one value and 16 KiB of all of them, and says so.
func TestJournalCapsHeaders(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	big := strings.Repeat("h", 1000000)
	res := h.Do("GET", "/echo/items", nil, sandboxtest.Header("X-Big", big), sandboxtest.Header("X-Small", "kept")).WantStatus(200)
	e := entryOf(t, h, "", res)
	if got, want := e.Request.Header.Get("X-Big"), big[:4096]+"…(1000000 bytes)"; got != want {
		t.Errorf("X-Big kept %d bytes: %.40q…", len(got), got)
	}
	if e.Request.Header.Get("X-Small") != "kept" || !e.Request.HeadersTruncated || e.Request.HeadersOmitted != 0 {
		t.Errorf("request %+v", e.Request.Header)
	}
	// Many large headers: beyond 16 KiB they are left out and counted.
	req, _ := http.NewRequest("GET", h.URL+"/echo/items", nil)
	for i := 0; i < 10; i++ {
		req.Header.Set(fmt.Sprintf("X-Part-%d", i), strings.Repeat("p", 3000))
	}
	e = entryOf(t, h, "", h.Send(req).WantStatus(200))
	kept := 0
	for k, vs := range e.Request.Header {
		for _, v := range vs {
			kept += len(k) + len(v)
		}
	}
	if kept > 16384 || e.Request.HeadersOmitted < 5 || !e.Request.HeadersTruncated {
		t.Errorf("kept %d header bytes, %d left out", kept, e.Request.HeadersOmitted)
	}
}

func TestJournalRedactsSecrets(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	// The sandbox's own logic sees the real value: a fault rule matching
	// the token fires.
	h.Admin("POST", "", "/faults", map[string]any{"id": "by-token", "match": map[string]any{"headers": map[string]string{"Authorization": "^Bearer real-token-0123$"}}, "times": 1, "respond": map[string]any{"status": 503}}, nil)
	res := h.Do("GET", "/echo/items?subscription-key=key-in-the-query", nil, sandboxtest.Bearer("real-token-0123"), sandboxtest.Header("Cookie", "session=abc123")).WantStatus(503)
	e := entryOf(t, h, "", res)
	if got := e.Request.Header.Get("Authorization"); got != "Bearer "+journal.Mark("real-token-0123") {
		t.Errorf("Authorization kept as %q", got)
	}
	if got := e.Request.Header.Get("Cookie"); got != journal.Mark("session=abc123") {
		t.Errorf("Cookie kept as %q", got)
	}
	if strings.Contains(e.Request.Query, "key-in-the-query") || !strings.HasPrefix(e.Request.Query, "subscription-key=%E2%80%A6%2816+bytes") {
		t.Errorf("query kept as %q", e.Request.Query)
	}
	if want := []string{"subscription-key", "Authorization", "Cookie"}; fmt.Sprint(e.Request.Redacted) != fmt.Sprint(want) {
		t.Errorf("redacted %v", e.Request.Redacted)
	}
	if e.Faults[0] != "by-token" {
		t.Errorf("faults %v", e.Faults)
	}
	// A JSON body's secret, also where the validator quotes the body.
	res = h.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":1,"password":"hunter2-secret"}`)).WantStatus(400)
	e = entryOf(t, h, "", res)
	if want := `{"name":"a","qty":1,"password":"` + journal.Mark("hunter2-secret") + `"}`; e.Request.Body != want {
		t.Errorf("body kept as %s", e.Request.Body)
	}
	var list []journal.Entry
	h.Admin("GET", "", "/requests", nil, &list)
	raw, _ := json.Marshal(list)
	for _, secret := range []string{"hunter2-secret", "real-token-0123", "abc123", "key-in-the-query"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("GET /requests still holds %q", secret)
		}
	}
}

func TestJournalKeepsSecretsWhenTheScenarioSaysSo(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario+"journal:\n  redactSecrets: false\n")
	res := h.Do("GET", "/echo/items", nil, sandboxtest.Bearer("real-token-0123")).WantStatus(200)
	if got := entryOf(t, h, "", res).Request.Header.Get("Authorization"); got != "Bearer real-token-0123" {
		t.Errorf("Authorization kept as %q", got)
	}
	var sc map[string]any
	h.Admin("GET", "", "/scenario", nil, &sc)
	if fmt.Sprint(sc["journal"]) != "map[redactSecrets:false]" {
		t.Errorf("GET /scenario journal: %v", sc["journal"])
	}
	h.Do("PUT", "/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(echoScenario+"journal: {redactSecret: false}\n"))).WantStatus(400).WantJSON(
		`{"type":"about:blank","title":"Invalid scenario","status":400,"detail":"the scenario has 1 problem(s); nothing was changed",` +
			`"problems":[{"file":"request body","line":9,"path":"journal.redactSecret","message":"unknown key \"redactSecret\"","hint":"did you mean \"redactSecrets\"?"}]}`)
}

// TestJournalMemoryBudget: the journals of every namespace share
// --journal-memory, and the oldest entries go first, whichever namespace
// holds them.
func TestJournalMemoryBudget(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewWithConfig(t, echoScenario, func(c *sandbox.Config) { c.JournalMemory = 16 << 10 })
	var firstB string
	for i := 0; i < 3; i++ {
		h.Do("GET", "/ns/a/echo/items", nil).WantStatus(200)
	}
	for i := 0; i < 40; i++ {
		res := h.Do("GET", "/ns/b/echo/items/"+fmt.Sprint(i), nil).WantStatus(200)
		if i == 0 {
			firstB = res.Header.Get(sandbox.HeaderRequestID)
		}
	}
	var a, b []journal.Entry
	h.Admin("GET", "a", "/requests", nil, &a)
	h.Admin("GET", "b", "/requests", nil, &b)
	if len(a) != 0 {
		t.Errorf("namespace a still holds %d entries older than all of b's", len(a))
	}
	if len(b) < 5 || len(b) >= 40 || b[len(b)-1].ID == firstB || b[0].Request.Path != "/ns/b/echo/items/39" {
		t.Errorf("namespace b holds %d entries, oldest %s, newest %s", len(b), b[len(b)-1].ID, b[0].Request.Path)
	}
	var size int64
	for _, e := range b {
		size += e.Size()
	}
	if size > 16<<10 {
		t.Errorf("the journals hold %d bytes, over the budget", size)
	}
}

// TestJournalPages follows the Link header through the journal: the pages
// together are the whole list, in order, each within limit.
func TestJournalPages(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	for i := 0; i < 7; i++ {
		h.Do("GET", fmt.Sprintf("/ns/pages/echo/items/%d", i), nil).WantStatus(200)
	}
	h.Do("GET", "/ns/pages/echo/items", nil).WantStatus(200) // another operation
	var all []journal.Entry
	h.Admin("GET", "pages", "/requests?operation=getItem", nil, &all)
	url := "/ns/pages/__sandbox/requests?operation=getItem&limit=3"
	var got []string
	for pages := 0; url != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than entries")
		}
		res := h.Do("GET", url, nil).WantStatus(200)
		var page []journal.Entry
		res.JSON(&page)
		if len(page) > 3 {
			t.Fatalf("a page of %d", len(page))
		}
		for _, e := range page {
			got = append(got, e.ID)
		}
		url = ""
		if link := res.Header.Get("Link"); link != "" {
			target, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			if !ok || !strings.HasPrefix(target, "/ns/pages/__sandbox/requests?") {
				t.Fatalf("Link %q", link)
			}
			url = target
		}
	}
	var want []string
	for _, e := range all {
		want = append(want, e.ID)
	}
	if len(want) != 7 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pages %v, whole list %v", got, want)
	}
}
