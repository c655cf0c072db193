package browser_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// bearerForAdmin adds the admin token to the test's own admin calls (the
// stats the waits poll); provider calls keep their own Authorization.
type bearerForAdmin struct {
	token string
	next  http.RoundTripper
}

func (b bearerForAdmin) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/__sandbox/") {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(r)
}

// TestDashboardWithAdminToken: with --admin-token, a person opens the
// sandbox once with ?token=, lands on the dashboard without the token in
// the address bar, and the pages, their calls (a fault preset is a POST)
// and the event stream work from the cookie, which no script can read.
func TestDashboardWithAdminToken(t *testing.T) {
	t.Parallel()
	const token = "browser-s3cret"
	h := sandboxtest.NewWithConfig(t, "", func(c *sandbox.Config) { c.AdminToken = token })
	h.Client = &http.Client{Transport: bearerForAdmin{token: token, next: h.Client.Transport}}
	p := NewPage(t)
	p.Navigate(h.URL + "/?token=" + token)
	if got := Eval[string](p, `location.pathname + location.search`); got != "/__sandbox/ui/" {
		t.Fatalf("after /?token= the browser is at %s, want the dashboard /__sandbox/ui/", got)
	}
	p.waitLive(h)
	if c := Eval[string](p, `document.cookie`); c != "" {
		t.Errorf("a script can read the cookie: %q", c)
	}
	p.ClickAndLoad(`[data-testid=nav-controls]`)
	p.waitLive(h)
	p.WaitFor("the empty rule list", `!!document.querySelector('[data-testid=fault-none]')`, settle)
	p.Click(`[data-testid=preset-centili-503]`)
	p.WaitFor("the preset's rule", `!!document.querySelector('[data-testid=fault-row][data-fault-id=ui-centili-503]')`, settle)
}
