package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// noRedirect returns the harness's client without following redirects, so
// a test sees the 302 itself.
func noRedirect(h *sandboxtest.Harness) *http.Client {
	c := *h.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func get(t *testing.T, h *sandboxtest.Harness, method, path, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, h.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := noRedirect(h).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// A browser (or anything that does not ask for JSON) landing on / is sent to
// the namespace's dashboard; the page's content is the dashboard's home view
// (ui_test.go).
func TestLandingRedirectsToDashboard(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	tests := []struct {
		name, method, path, accept, want string
	}{
		{"browser", "GET", "/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "/__sandbox/ui/"},
		{"no Accept header", "GET", "/", "", "/__sandbox/ui/"},
		{"curl's */*", "GET", "/", "*/*", "/__sandbox/ui/"},
		{"HTML preferred over JSON", "GET", "/", "application/json;q=0.5, text/html", "/__sandbox/ui/"},
		{"HEAD", "HEAD", "/", "", "/__sandbox/ui/"},
		{"namespace", "GET", "/ns/shop/", "text/html", "/ns/shop/__sandbox/ui/"},
		{"namespace without trailing slash", "GET", "/ns/shop", "text/html", "/ns/shop/__sandbox/ui/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := get(t, h, tc.method, tc.path, tc.accept)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.want || resp.Header.Get("Vary") != "Accept" {
				t.Fatalf("status %d, Location %q, Vary %q; want 302 to %q with Vary: Accept", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Vary"), tc.want)
			}
			if resp.Header.Get(sandbox.HeaderRequestID) == "" {
				t.Error("no request id")
			}
		})
	}
	// Landing on a namespace's page does not create it.
	var nss struct{ Namespaces []string }
	h.Admin("GET", "", "/namespaces", nil, &nss)
	for _, n := range nss.Namespaces {
		if n == "shop" {
			t.Errorf("GET /ns/shop/ created the namespace: %v", nss.Namespaces)
		}
	}
}

func TestLandingPageJSON(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	for _, accept := range []string{"application/json", "text/html;q=0.5, application/json", "application/*", "application/json, text/plain, */*"} {
		resp, body := get(t, h, "GET", "/", accept)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("Accept %q: status %d, Content-Type %q", accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var page sandbox.LandingPage
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		want := sandbox.LandingMount{Name: "echo", Title: "Echo", BaseURL: h.URL + "/echo", Spec: h.URL + "/__sandbox/specs/echo",
			Credentials: []sandbox.BannerLine{{Label: "greeting", Value: "hi"}, {Label: "items", Value: h.URL + "/echo/items"}, {Label: "", Value: "(a continuation line)"}}}
		var got *sandbox.LandingMount
		for i := range page.Mounts {
			if page.Mounts[i].Name == "echo" {
				got = &page.Mounts[i]
			}
		}
		if got == nil {
			t.Fatalf("no echo mount: %s", body)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Errorf("echo mount\n got %s\nwant %s", gj, wj)
		}
		if page.Namespace != "default" || !page.Live || page.Scenario != "echo-test" || page.Version != "dev" ||
			page.Admin != (sandbox.LandingAdmin{BaseURL: h.URL + "/__sandbox", Health: h.URL + "/__sandbox/health", Spec: h.URL + "/__sandbox/specs/admin", Namespaces: h.URL + "/ns/{name}/"}) {
			t.Errorf("page = %+v", page)
		}
	}
}

func TestLandingPageMethods(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	resp, body := get(t, h, "HEAD", "/", "application/json")
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD / for JSON: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get(t, h, "POST", "/", "")
	want := `{"type":"about:blank","title":"Method not allowed","status":405,"detail":"POST is not allowed on the landing page; use GET"}`
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" || resp.Header.Get("Content-Type") != "application/problem+json" || body != want {
		t.Errorf("POST /: %d Allow %q %q %s", resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), body)
	}
}

// The access log sees every request exactly once: provider, admin, landing
// page and refusals, with the journal's operation and faults.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	sc, probs := sandbox.LoadScenario("echo", []byte(echoScenario+`faults:
  - match: {provider: echo, headers: {X-Reset: "^1$"}}
    reset: true
`))
	if len(probs) > 0 {
		t.Fatal(probs.Error())
	}
	var mu sync.Mutex
	var got []sandbox.Exchange
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, AccessLog: func(e sandbox.Exchange) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	h := &sandboxtest.Harness{T: t, Server: srv, HTTP: hs, URL: hs.URL, Client: hs.Client()}
	h.Client = noRedirect(h)

	type want struct {
		method, path, ns, provider, op string
		status                         int
		faults                         string
	}
	cases := []struct {
		method, path, prefer string
		want                 want
	}{
		{"GET", "/echo/items", "", want{"GET", "/echo/items", "default", "echo", "listItems", 200, ""}},
		{"GET", "/ns/ci-1/echo/items/3", "", want{"GET", "/ns/ci-1/echo/items/3", "ci-1", "echo", "getItem", 200, ""}},
		{"GET", "/echo/items", "status=503", want{"GET", "/echo/items", "default", "echo", "listItems", 503, "prefer-header"}},
		{"GET", "/echo/nowhere", "", want{"GET", "/echo/nowhere", "default", "echo", "", 404, ""}},
		{"GET", "/__sandbox/health", "", want{"GET", "/__sandbox/health", "default", "admin", "/health", 200, ""}},
		{"GET", "/ns/ci-1/__sandbox/requests/req_x", "", want{"GET", "/ns/ci-1/__sandbox/requests/req_x", "ci-1", "admin", "/requests/{id}", 404, ""}},
		{"GET", "/", "", want{"GET", "/", "default", "", "", 302, ""}},
		{"GET", "/nomount/x", "", want{"GET", "/nomount/x", "default", "", "", 404, ""}},
		{"GET", "/ns/bad%21/echo/items", "", want{"GET", "/ns/bad!/echo/items", "bad!", "echo", "", 400, ""}},
	}
	// A connection reset through the access log's writer: reported once,
	// with no status and the rule that did it.
	req, _ := http.NewRequest("GET", h.URL+"/echo/items", nil)
	req.Header.Set("X-Reset", "1")
	if resp, err := h.Client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("reset fault: got status %d, want a dropped connection", resp.StatusCode)
	}
	// The client may see the reset before the server has finished the
	// exchange; wait for the record.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	if len(got) != 1 || got[0].Status != 0 || len(got[0].Faults) != 1 || got[0].Operation != "listItems" {
		t.Fatalf("reset: access records %+v", got)
	}
	got = nil
	mu.Unlock()
	for i, tc := range cases {
		req, _ := http.NewRequest(tc.method, h.URL+tc.path, nil)
		if tc.prefer != "" {
			req.Header.Set("Prefer", tc.prefer)
		}
		before := time.Now()
		resp, err := h.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		if len(got) != i+1 {
			t.Fatalf("%s %s: %d access records after %d requests", tc.method, tc.path, len(got), i+1)
		}
		e := got[i]
		mu.Unlock()
		g := want{e.Method, e.Path, e.Namespace, e.Provider, e.Operation, e.Status, strings.Join(e.Faults, ",")}
		if g != tc.want {
			t.Errorf("%s %s:\n got %+v\nwant %+v", tc.method, tc.path, g, tc.want)
		}
		if e.RequestID != resp.Header.Get(sandbox.HeaderRequestID) || e.Faults == nil || e.Duration <= 0 || e.Start.Before(before.Add(-time.Second)) {
			t.Errorf("%s %s: id %q (header %q), faults %v, duration %v, start %v", tc.method, tc.path, e.RequestID, resp.Header.Get(sandbox.HeaderRequestID), e.Faults, e.Duration, e.Start)
		}
	}
}
