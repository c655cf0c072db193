package sandbox_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// withHost sends the request with another Host header, as a browser does
// for a page whose name was rebound to the sandbox's address.
func withHost(h string) sandboxtest.Option { return func(r *http.Request) { r.Host = h } }

func hostRefusal(host, name string) string {
	return `{"type":"about:blank","title":"Host not allowed","status":403,"detail":"the admin API and the dashboard answer only loopback names (localhost, *.localhost), IP addresses and the names given to --allowed-hosts, so that a web page cannot reach them through DNS rebinding; to use Host \"` +
		host + `\" start the sandbox with --allowed-hosts ` + name + ` (or SANDBOX_ALLOWED_HOSTS); provider mounts answer any host; see docs/security.md"}`
}

// The admin API, the dashboard and the landing page answer loopback names,
// IP addresses and the allowed names only; provider mounts any host.
func TestAdminHostCheck(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewWithConfig(t, echoScenario, func(c *sandbox.Config) { c.AllowedHosts = []string{"sandbox", ".example.test", "Other.Test:9999"} })
	for _, host := range []string{"localhost", "localhost:8080", "app.localhost:8080", "LOCALHOST.", "127.0.0.1:8080", "127.1.2.3", "[::1]:8080",
		"10.1.2.3:8080", "[2001:db8::1]", "sandbox:8080", "example.test", "a.b.example.test:443", "other.test"} {
		h.Do("GET", "/__sandbox/health", nil, withHost(host)).WantStatus(200)
	}
	for _, tc := range []struct{ host, name string }{
		{"evil.test:8080", "evil.test"}, {"evil.test", "evil.test"}, {"notexample.test", "notexample.test"},
		{"localhost.evil.test", "localhost.evil.test"}, {"sandbox.evil.test:80", "sandbox.evil.test"}, {"2130706433:8080", "2130706433"},
	} {
		h.Do("GET", "/__sandbox/requests", nil, withHost(tc.host)).WantStatus(403).WantJSON(hostRefusal(tc.host, tc.name))
		h.Do("GET", "/__sandbox/ui/", nil, withHost(tc.host)).WantStatus(403)
		h.Do("GET", "/", nil, withHost(tc.host), sandboxtest.Header("Accept", "application/json")).WantStatus(403)
	}
	// A refused call creates no namespace; a provider mount answers any host.
	h.Do("POST", "/ns/rebound/__sandbox/reset", nil, withHost("evil.test")).WantStatus(403)
	if ns := h.Namespaces(); len(ns) != 1 {
		t.Errorf("namespaces after refused calls: %v", ns)
	}
	if res := h.Do("GET", "/echo/items/1", nil, withHost("evil.test")); res.Status == 403 {
		t.Errorf("provider mount refused a foreign host: %s", res.Body)
	}

	all := sandboxtest.NewWithConfig(t, echoScenario, func(c *sandbox.Config) { c.AllowedHosts = []string{"*"} })
	all.Do("GET", "/__sandbox/health", nil, withHost("evil.test")).WantStatus(200)
}

// Pages of other sites (and of other ports of the same host) cannot drive
// or read the admin API; the sandbox answers no CORS. A person following a
// link to the dashboard still gets it.
func TestAdminRefusesCrossSiteRequests(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	self := strings.TrimPrefix(h.URL, "http://")
	refusal := func(why string) string {
		return `{"type":"about:blank","title":"Cross-origin request refused","status":403,"detail":"the admin API and the dashboard refuse requests sent by another site's page (` +
			why + `), and answer no CORS; drive them from a script, a test or the dashboard itself; see docs/security.md"}`
	}
	hdr := sandboxtest.Header
	refused := []struct {
		method, path string
		opts         []sandboxtest.Option
		why          string
	}{
		// a form on another site: no preflight, text/plain or form body
		{"POST", "/__sandbox/reset", []sandboxtest.Option{hdr("Sec-Fetch-Site", "cross-site"), hdr("Sec-Fetch-Mode", "navigate"), hdr("Origin", "https://evil.test")}, "Sec-Fetch-Site: cross-site"},
		{"POST", "/__sandbox/clock", []sandboxtest.Option{hdr("Sec-Fetch-Site", "same-site"), hdr("Origin", "http://localhost:3000")}, "Sec-Fetch-Site: same-site"},
		// a browser that sends no fetch metadata, only Origin
		{"POST", "/__sandbox/faults", []sandboxtest.Option{hdr("Origin", "https://evil.test")}, "Origin: https://evil.test"},
		{"DELETE", "/__sandbox/requests", []sandboxtest.Option{hdr("Origin", "null")}, "Origin: null"},
		{"POST", "/__sandbox/reset", []sandboxtest.Option{hdr("Origin", "http://127.0.0.1:3000")}, "Origin: http://127.0.0.1:3000"},
		// reading the journal with a script tag or fetch
		{"GET", "/__sandbox/requests", []sandboxtest.Option{hdr("Sec-Fetch-Site", "cross-site"), hdr("Sec-Fetch-Mode", "no-cors"), hdr("Sec-Fetch-Dest", "script")}, "Sec-Fetch-Site: cross-site"},
		// framing the dashboard
		{"GET", "/__sandbox/ui/", []sandboxtest.Option{hdr("Sec-Fetch-Site", "cross-site"), hdr("Sec-Fetch-Mode", "navigate"), hdr("Sec-Fetch-Dest", "iframe")}, "Sec-Fetch-Site: cross-site"},
		// a CORS preflight gets no Allow and no Access-Control-* header
		{"OPTIONS", "/__sandbox/reset", []sandboxtest.Option{hdr("Origin", "https://evil.test"), hdr("Access-Control-Request-Method", "POST")}, "Origin: https://evil.test"},
	}
	for _, tc := range refused {
		res := h.Do(tc.method, tc.path, sandboxtest.JSONBody(`{}`), tc.opts...).WantStatus(403)
		res.WantJSON(refusal(tc.why))
		for k := range res.Header {
			if strings.HasPrefix(k, "Access-Control-") || k == "Allow" {
				t.Errorf("%s %s: refusal has %s: %s", tc.method, tc.path, k, res.Header.Get(k))
			}
		}
	}
	if ns := h.Namespaces(); len(ns) != 1 {
		t.Errorf("namespaces: %v", ns)
	}
	// The dashboard's own calls, a person typing the URL or following a
	// link, and clients that are no browser.
	h.Do("POST", "/__sandbox/clock", sandboxtest.JSONBody(`{"advance":"1s"}`), hdr("Sec-Fetch-Site", "same-origin"), hdr("Origin", "http://"+self)).WantStatus(200)
	h.Do("POST", "/__sandbox/clock", sandboxtest.JSONBody(`{"advance":"1s"}`), hdr("Origin", "http://"+strings.ToUpper(self))).WantStatus(200)
	h.Do("GET", "/__sandbox/ui/", nil, hdr("Sec-Fetch-Site", "none"), hdr("Sec-Fetch-Mode", "navigate"), hdr("Sec-Fetch-Dest", "document")).WantStatus(200)
	h.Do("GET", "/__sandbox/ui/journal", nil, hdr("Sec-Fetch-Site", "cross-site"), hdr("Sec-Fetch-Mode", "navigate"), hdr("Sec-Fetch-Dest", "document")).WantStatus(200)
	h.Do("POST", "/__sandbox/reset", nil).WantStatus(200)
	// Default ports are left out of Origin and kept in Host, or the other
	// way round; behind a TLS proxy the page is https and the sandbox is
	// reached over http, so only host and port are compared.
	h.Do("GET", "/__sandbox/health", nil, withHost("localhost:80"), hdr("Origin", "http://localhost")).WantStatus(200)
	h.Do("GET", "/__sandbox/health", nil, withHost("localhost"), hdr("Origin", "http://localhost:80")).WantStatus(200)
	h.Do("GET", "/__sandbox/health", nil, withHost("localhost"), hdr("Origin", "https://localhost")).WantStatus(200)
	h.Do("GET", "/__sandbox/health", nil, withHost("localhost"), hdr("Origin", "https://localhost:8443")).WantStatus(403)
}

// State-changing admin calls read only their route's Content-Types: a
// form or text/plain body (what a web page can send without a preflight)
// is a 415 that names what is accepted. A call without body and type passes.
func TestAdminBodyTypes(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	const jsonOnly = `send application/json (curl: -H 'Content-Type: application/json', or --json)`
	const document = `send application/json or a YAML document as application/yaml`
	refused := []struct {
		method, path, contentType, body, title, detail string
	}{
		{"POST", "/__sandbox/clock", "application/x-www-form-urlencoded", `{"advance":"1m"}`, "Unsupported body type", `Content-Type \"application/x-www-form-urlencoded\" is not JSON; ` + jsonOnly},
		{"POST", "/__sandbox/clock", "text/plain", `{"advance":"1m"}`, "Unsupported body type", `Content-Type \"text/plain\" is not JSON; ` + jsonOnly},
		{"POST", "/__sandbox/clock", "", `{"advance":"1m"}`, "Unsupported body type", `Content-Type \"\" is not JSON; ` + jsonOnly},
		{"POST", "/__sandbox/clock", "application/yaml", `advance: 1m`, "Unsupported body type", `Content-Type \"application/yaml\" is not JSON; ` + jsonOnly},
		{"POST", "/__sandbox/reset", "application/x-www-form-urlencoded", ``, "Unsupported body type", `Content-Type \"application/x-www-form-urlencoded\" is not JSON; ` + jsonOnly},
		{"DELETE", "/__sandbox/faults", "text/plain", `x`, "Unsupported body type", `Content-Type \"text/plain\" is not JSON; ` + jsonOnly},
		{"POST", "/__sandbox/faults", "text/plain", `{"respond":{"status":503}}`, "Unsupported body type", `Content-Type \"text/plain\" is not JSON or YAML; ` + document},
		{"PUT", "/__sandbox/scenario", "multipart/form-data; boundary=x", "--x--", "Unsupported body type", `Content-Type \"multipart/form-data; boundary=x\" is not JSON or YAML; ` + document},
		{"PUT", "/ns/typo/__sandbox/scenario", "text/plain", echoScenario, "Unsupported body type", `Content-Type \"text/plain\" is not JSON or YAML; ` + document},
		{"PATCH", "/__sandbox/scenario", "text/plain", `{"name":"x"}`, "Unsupported merge patch type",
			`Content-Type \"text/plain\" is not a merge patch; send application/merge-patch+json (RFC 7396) or a YAML fragment as application/merge-patch+yaml`},
	}
	for _, tc := range refused {
		res := h.Do(tc.method, tc.path, sandboxtest.RawBody(tc.contentType, []byte(tc.body))).WantStatus(415)
		res.WantJSON(`{"type":"about:blank","title":"` + tc.title + `","status":415,"detail":"` + tc.detail + `"}`)
	}
	var clock struct{ Now string }
	h.Admin("GET", "", "/clock", nil, &clock)
	if clock.Now != "2026-01-02T03:04:05Z" {
		t.Errorf("a refused call moved the clock to %s", clock.Now)
	}
	if ns := h.Namespaces(); len(ns) != 1 {
		t.Errorf("a refused call created a namespace: %v", ns)
	}
	h.Do("POST", "/__sandbox/reset", nil).WantStatus(200)
	h.Do("POST", "/__sandbox/reset", sandboxtest.JSONBody(`{}`)).WantStatus(200)
	h.Do("DELETE", "/__sandbox/faults", nil).WantStatus(204)
	h.Do("POST", "/__sandbox/clock", sandboxtest.RawBody("application/json; charset=utf-8", []byte(`{"advance":"1m"}`))).WantStatus(200)
	h.Do("POST", "/__sandbox/faults", sandboxtest.RawBody("text/yaml", []byte("id: y\nmatch: {provider: echo}\nrespond: {status: 503}\n"))).WantStatus(201)
	h.Do("PUT", "/__sandbox/scenario", sandboxtest.RawBody("application/x-yaml", []byte(echoScenario))).WantStatus(200)
}

// With an admin token, every admin call and the landing page need it;
// provider mounts do not. A browser hands it over once with ?token= and
// keeps an HttpOnly, SameSite=Strict cookie.
func TestAdminToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-Token_1"
	h := sandboxtest.NewWithConfig(t, echoScenario, func(c *sandbox.Config) { c.AdminToken = token })
	const required = `{"type":"about:blank","title":"Admin token required","status":401,"detail":"this sandbox was started with --admin-token: send Authorization: Bearer TOKEN, or in a browser open /__sandbox/ui/?token=TOKEN once (it sets a cookie)"}`
	for _, path := range []string{"/__sandbox/health", "/__sandbox/ui/", "/ns/x/__sandbox/requests", "/"} {
		res := h.Do("GET", path, nil).WantStatus(401)
		res.WantJSON(required)
		if got := res.Header.Get("WWW-Authenticate"); got != `Bearer realm="provider-sandbox admin"` {
			t.Errorf("%s: WWW-Authenticate %q", path, got)
		}
	}
	h.Do("POST", "/__sandbox/reset", nil, sandboxtest.Header("Authorization", "Basic aW50YXJnZXQ6cw==")).WantStatus(401).WantJSON(required)
	res := h.Do("POST", "/__sandbox/reset", nil, sandboxtest.Bearer("wrong")).WantStatus(401)
	res.WantJSON(`{"type":"about:blank","title":"Invalid admin token","status":401,"detail":"the bearer token is not the sandbox's --admin-token"}`)
	if got := res.Header.Get("WWW-Authenticate"); got != `Bearer realm="provider-sandbox admin", error="invalid_token"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	h.Do("GET", "/__sandbox/ui/?token=wrong", nil).WantStatus(401)
	h.Do("GET", "/__sandbox/namespaces", nil).WantStatus(401)
	h.Do("POST", "/__sandbox/reset", nil, sandboxtest.Bearer(token)).WantStatus(200)
	h.Do("POST", "/__sandbox/reset", nil, sandboxtest.Header("Authorization", "bearer "+token)).WantStatus(200)
	if res := h.Do("GET", "/echo/items/1", nil); res.Status == 401 {
		t.Errorf("provider mount asked for the admin token: %s", res.Body)
	}
	// With a token and no --allowed-hosts, any Host is answered: a rebinding page has no token.
	h.Do("GET", "/__sandbox/health", nil, sandboxtest.Bearer(token), withHost("sandbox:8080")).WantStatus(200)

	// The browser's way in.
	noRedirect := *h.Client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.Get(h.URL + "/ns/ci-1/__sandbox/ui/journal?provider=echo&token=" + url.QueryEscape(token))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ns/ci-1/__sandbox/ui/journal?provider=echo" {
		t.Fatalf("?token=: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != sandbox.AdminCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode ||
		cookies[0].Path != "/" || cookies[0].Value == token || strings.Contains(resp.Header.Get("Set-Cookie"), token) {
		t.Fatalf("cookie %q", resp.Header.Get("Set-Cookie"))
	}
	withCookie := func(r *http.Request) { r.AddCookie(cookies[0]) }
	h.Do("GET", "/__sandbox/ui/", nil, withCookie).WantStatus(200)
	h.Do("POST", "/__sandbox/clock", sandboxtest.JSONBody(`{"advance":"1s"}`), withCookie).WantStatus(200)
	h.Do("GET", "/__sandbox/health", nil, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: sandbox.AdminCookie, Value: token}) }).WantStatus(401)

	// A token and a host list: the list holds.
	both := sandboxtest.NewWithConfig(t, echoScenario, func(c *sandbox.Config) { c.AdminToken = token; c.AllowedHosts = []string{"sandbox"} })
	both.Do("GET", "/__sandbox/health", nil, sandboxtest.Bearer(token), withHost("sandbox:8080")).WantStatus(200)
	both.Do("GET", "/__sandbox/health", nil, sandboxtest.Bearer(token), withHost("evil.test")).WantStatus(403)
}

// Settings that cannot work are a start-up error, not a sandbox that
// refuses everyone.
func TestAdminAccessSettingsAreChecked(t *testing.T) {
	t.Parallel()
	sc, _ := sandbox.LoadScenario("echo", []byte(echoScenario))
	for _, tc := range []struct {
		cfg  sandbox.Config
		want string
	}{
		{sandbox.Config{AdminToken: "two words"}, "--admin-token: the token may hold only visible ASCII characters (no spaces), to fit an Authorization header"},
		{sandbox.Config{AllowedHosts: []string{"http://sandbox:8080/"}}, `--allowed-hosts: "http://sandbox:8080/" is a host name such as sandbox or .example.test, not a URL`},
	} {
		tc.cfg.Scenario = sc
		if _, err := sandbox.New(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: err %v, want %s", tc.cfg.AllowedHosts, err, tc.want)
		}
	}
}

// A page of another site can reach the provider mounts (an <img> or a
// form needs no CORS), but must not create namespaces: 256 image tags
// would take every slot, and re-requesting them would keep them for as long
// as the page stays open. A namespace that is live serves such requests
// as before. Sent raw: the refusal is the sandbox's problem document, not
// an answer the provider's spec describes.
func TestCrossSitePageCreatesNoNamespace(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	const refusal = `{"type":"about:blank","title":"Cross-origin request refused","status":403,"detail":"namespace \"page1\" is not live, and a request another site's page sent (%s) does not create one: a web page must not take namespace slots; create it first with any request from a script or a test (POST /ns/page1/__sandbox/reset), then pages may use it; see docs/security.md"}`
	for _, tc := range []struct{ header, why string }{
		{"Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: image", "Sec-Fetch-Site: cross-site"},
		{"Sec-Fetch-Site: same-site\r\nSec-Fetch-Mode: cors\r\nOrigin: http://localhost:3000", "Sec-Fetch-Site: same-site"},
		{"Origin: https://evil.test", "Origin: https://evil.test"},
	} {
		resp, body := h.Raw("GET /ns/page1/echo/items HTTP/1.1\r\nHost: 127.0.0.1\r\n" + tc.header + "\r\n\r\n")
		want := strings.Replace(refusal, "%s", tc.why, 1)
		if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/problem+json" || string(body) != want {
			t.Errorf("%q: %d %s\nwant %s", tc.header, resp.StatusCode, body, want)
		}
	}
	if ns := h.Namespaces(); len(ns) != 1 {
		t.Fatalf("namespaces after cross-site requests: %v", ns)
	}
	// Created by a client that is no browser, the namespace then serves pages too.
	h.Do("POST", "/ns/page1/__sandbox/reset", nil).WantStatus(200)
	resp, body := h.Raw("GET /ns/page1/echo/items HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Errorf("a live namespace refused a cross-site request: %d %s", resp.StatusCode, body)
	}
}
