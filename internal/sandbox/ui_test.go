package sandbox_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/dashboard"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// hooks are the data-testid attributes browser tests select on; every page
// has the common ones (the header bar), each view its own.
var (
	commonHooks = []string{`data-testid="nav-home"`, `data-testid="nav-journal"`, `data-testid="nav-state"`, `data-testid="nav-controls"`,
		`data-testid="namespace-picker"`, `data-testid="clock-now"`, `data-testid="clock-advance"`, `name="advance"`, `data-testid="clock-freeze"`}
	viewHooks = map[string][]string{
		"home": {`data-testid="provider-card" data-provider="echo"`, `data-testid="provider-stats" data-provider="echo"`,
			`data-stat="requestsPerMinute"`, `data-stat="errors"`, `data-stat="pendingCallbacks"`},
		"journal": {`data-testid="filter-provider"`, `data-testid="filter-operation"`, `data-testid="filter-status"`, `data-testid="filter-text"`,
			`data-testid="journal-body"`, `data-testid="journal-detail"`, `<option value="echo">echo</option>`, `<option value="5xx">5xx</option>`},
		"state": {`data-testid="state-section" data-provider="echo"`, `data-state-body="echo"`},
		"controls": {`data-testid="preset-centili-503"`, `data-testid="preset-netrefer-429"`, `data-testid="preset-netfinity-pingbacks-fail"`,
			`data-testid="fault-list"`, `<textarea id="scenario-text" data-testid="scenario-text"`, `data-testid="scenario-upload"`,
			`data-testid="scenario-problems"`, `data-testid="namespace-reset"`, `data-testid="library-select"`, `data-testid="clock-set"`},
	}
)

func TestDashboardPages(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	asset := "?v=" + dashboard.AssetVersion()
	for _, ns := range []string{"", "/ns/shop"} {
		for _, view := range dashboard.Views {
			path := ns + "/__sandbox/ui/"
			if view != "home" {
				path += view
			}
			t.Run(path, func(t *testing.T) {
				res := h.With(t).Do("GET", path, nil)
				res.WantStatus(200)
				if !res.Matched {
					t.Error("not checked against specs/admin.yaml")
				}
				for k, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
					"X-Content-Type-Options": "nosniff", "Content-Security-Policy": dashboard.SecurityHeaders["Content-Security-Policy"]} {
					if got := res.Header.Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
				body := string(res.Body)
				want := append(append([]string{}, commonHooks...), viewHooks[view]...)
				want = append(want,
					`<script src="`+ns+`/__sandbox/ui/assets/app.js`+asset+`" defer></script>`,
					`<link rel="stylesheet" href="`+ns+`/__sandbox/ui/assets/app.css`+asset+`">`,
					`data-view="`+view+`"`, `data-admin="`+ns+`/__sandbox"`, `data-ui="`+ns+`/__sandbox/ui/"`, `data-providers="`+registered("", ",")+`"`,
					`data-testid="nav-`+view+`" href="`+ns+`/__sandbox/ui/`+strings.TrimPrefix(view, "home")+`" aria-current="page"`)
				for _, w := range want {
					if !strings.Contains(body, w) {
						t.Errorf("page lacks %s", w)
					}
				}
				// The policy forbids inline script and style, so the pages must
				// not need them; nothing is loaded from elsewhere.
				for _, bad := range []string{"<script>", " style=", " onclick=", "http://cdn", "https://"} {
					if strings.Contains(body, bad) {
						t.Errorf("page contains %q", bad)
					}
				}
				// Every form control has a label (for=id) or an aria-label.
				checkLabels(t, body)
			})
		}
	}
}

var (
	controlRe = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRe      = regexp.MustCompile(`\bid="([^"]+)"`)
)

func checkLabels(t *testing.T, body string) {
	t.Helper()
	for _, c := range controlRe.FindAllString(body, -1) {
		if strings.Contains(c, `type="hidden"`) || strings.Contains(c, "aria-label=") {
			continue
		}
		m := idRe.FindStringSubmatch(c)
		if m == nil || !strings.Contains(body, `<label for="`+m[1]+`"`) {
			t.Errorf("control without a label: %s", c)
		}
	}
}

// The home view is the landing page's content: mounts, credentials with copy
// buttons, admin links and documents, of the namespace's own scenario.
func TestDashboardHome(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	if code := h.Admin("PUT", "shop", "/scenario", strings.Replace(echoScenario, "greeting: hi", "greeting: shop-greeting", 1), nil); code != 200 {
		t.Fatalf("PUT scenario in ns shop: %d", code)
	}
	tests := []struct {
		path    string
		want    []string
		notWant []string
	}{
		{"/__sandbox/ui/", []string{
			`<code>` + h.URL + `/echo</code> <button type="button" class="copy" data-copy="` + h.URL + `/echo"`,
			`<a href="` + h.URL + `/__sandbox/specs/echo">`,
			`<tr><th scope="row">greeting</th><td><code>hi</code></td><td><button type="button" class="copy" data-copy="hi" aria-label="Copy greeting">Copy</button></td></tr>`,
			`<th scope="row">items</th><td><code>` + h.URL + `/echo/items</code>`,
			`<th scope="row"></th><td><code>(a continuation line)</code>`,
			`data-testid="home-scenario">echo-test</strong>`, `<a href="` + h.URL + `/__sandbox/health">`,
			`<code>` + h.URL + `/ns/{name}/</code>`, `<li><code>docs/dashboard.md</code></li>`, `<li><code>docs/echo.md</code></li>`,
		}, []string{"not created yet"}},
		{"/ns/shop/__sandbox/ui/", []string{`data-copy="` + h.URL + `/ns/shop/echo"`, `<code>shop-greeting</code>`,
			`<a href="` + h.URL + `/ns/shop/__sandbox/health">`, `<option value="shop" selected>shop</option>`}, []string{`<code>hi</code>`, "not created yet"}},
		{"/ns/later/__sandbox/ui/journal", []string{"not created yet", `data-admin="/ns/later/__sandbox"`}, nil},
	}
	for _, tc := range tests {
		res := h.Do("GET", tc.path, nil).WantStatus(200)
		body := string(res.Body)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %s", tc.path, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(body, w) {
				t.Errorf("%s contains %s", tc.path, w)
			}
		}
	}
	// Looking at a namespace's dashboard does not create the namespace.
	var nss struct{ Namespaces []string }
	h.Admin("GET", "", "/namespaces", nil, &nss)
	for _, n := range nss.Namespaces {
		if n == "later" {
			t.Errorf("the dashboard of /ns/later created it: %v", nss.Namespaces)
		}
	}
}

// Scenario values are the user's and are rendered by the server: each one
// is escaped for where it lands (text, attribute, title).
func TestDashboardEscapesScenarioValues(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	hostile := strings.NewReplacer("name: echo-test", `name: "<script>alert(1)</script>\" x=\"y"`,
		"greeting: hi", `greeting: "<img src=x onerror=alert(2)>\" onmouseover=\"alert(3)"`).Replace(echoScenario)
	if code := h.Admin("PUT", "evil", "/scenario", hostile, nil); code != 200 {
		t.Fatalf("PUT hostile scenario: %d", code)
	}
	for _, view := range []string{"", "journal", "state", "controls"} {
		res := h.Do("GET", "/ns/evil/__sandbox/ui/"+view, nil).WantStatus(200)
		body := string(res.Body)
		for _, bad := range []string{"<script>alert", "<img", `" x="y`, `" onmouseover="`} {
			if strings.Contains(body, bad) {
				t.Errorf("/ui/%s renders %q unescaped", view, bad)
			}
		}
		want := []string{`data-scenario="&lt;script&gt;alert(1)&lt;/script&gt;&#34; x=&#34;y"`,
			`<code data-testid="scenario-name">&lt;script&gt;alert(1)&lt;/script&gt;&#34; x=&#34;y</code>`}
		if view == "" {
			want = append(want, `<code>&lt;img src=x onerror=alert(2)&gt;&#34; onmouseover=&#34;alert(3)</code>`,
				`data-copy="&lt;img src=x onerror=alert(2)&gt;&#34; onmouseover=&#34;alert(3)"`)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("/ui/%s lacks the escaped %s", view, w)
			}
		}
	}
}

func TestDashboardAssets(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	v := dashboard.AssetVersion()
	tests := []struct {
		path, ct, cache string
	}{
		{"/__sandbox/ui/assets/app.js?v=" + v, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/__sandbox/ui/assets/app.css?v=" + v, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/ns/shop/__sandbox/ui/assets/app.js?v=" + v, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/__sandbox/ui/assets/app.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/__sandbox/ui/assets/app.css?v=old", "text/css; charset=utf-8", "no-cache"},
	}
	for _, tc := range tests {
		res := h.Do("GET", tc.path, nil).WantStatus(200)
		if res.Header.Get("Content-Type") != tc.ct || res.Header.Get("Cache-Control") != tc.cache ||
			res.Header.Get("ETag") != `"`+v+`"` || res.Header.Get("X-Content-Type-Options") != "nosniff" || len(res.Body) < 1000 {
			t.Errorf("%s: %q %q ETag %q nosniff %q, %d bytes", tc.path, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"),
				res.Header.Get("ETag"), res.Header.Get("X-Content-Type-Options"), len(res.Body))
		}
	}
	res := h.Do("GET", "/__sandbox/ui/assets/app.js", nil, sandboxtest.Header("If-None-Match", `"`+v+`"`))
	if res.Status != http.StatusNotModified || len(res.Body) != 0 {
		t.Errorf("revalidation: %d, %d bytes; want 304", res.Status, len(res.Body))
	}
	res = h.Do("GET", "/__sandbox/ui/assets/secrets.txt", nil).WantStatus(404)
	res.WantJSON(`{"type":"about:blank","title":"Not found","status":404,"detail":"the dashboard has no asset \"secrets.txt\"; assets: app.js, app.css"}`)
}

func TestDashboardRoutes(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	c := noRedirect(h)
	for path, want := range map[string]string{"/__sandbox/ui": "/__sandbox/ui/", "/ns/shop/__sandbox/ui": "/ns/shop/__sandbox/ui/"} {
		resp, err := c.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, view := range []string{"home", "settings"} {
		res := h.Do("GET", "/__sandbox/ui/"+view, nil).WantStatus(404)
		res.WantJSON(`{"type":"about:blank","title":"Not found","status":404,"detail":"the dashboard has no view \"` + view + `\"; views: /ui/ (home), /ui/journal, /ui/state, /ui/controls"}`)
	}
	// Pages change nothing, so only GET is served.
	res := h.Do("POST", "/__sandbox/ui/controls", nil).WantStatus(405)
	if res.Header.Get("Allow") != "GET" {
		t.Errorf("Allow = %q", res.Header.Get("Allow"))
	}
}
