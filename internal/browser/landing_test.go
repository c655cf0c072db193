package browser_test

import (
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestLandingPage opens GET / as a browser does: it shows every mount with
// its base URL and the demo credentials, logs no errors and fits a laptop
// and a phone.
func TestLandingPage(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	p := NewPage(t)
	p.Navigate(h.URL + "/")
	for _, want := range []string{h.URL + "/centili", h.URL + "/netfinity", h.URL + "/netrefer", h.URL + "/intarget", "sandbox-netfinity-token"} {
		if !Eval[bool](p, `document.body.innerText.includes(`+jsString(want)+`)`) {
			t.Errorf("landing page does not show %q", want)
		}
	}
	p.CheckLayout("landing", desktopW)
	p.Screenshot("landing")
	p.Viewport(phoneW, phoneH)
	p.CheckLayout("landing", phoneW)
}
