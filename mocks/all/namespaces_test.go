package all_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestUnknownProviderPathsCreateNoNamespace: a path under a provider's mount
// that is none of its operations (a typo) gets the provider's own 404, the
// same answer as in a live namespace, without taking a namespace slot.
func TestUnknownProviderPathsCreateNoNamespace(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	paths := []string{
		"/netrefer/di/v1/deposit", "/netrefer/login/x/oauth2/v3/token",
		"/centili/datagifting/v1/transactions", "/centili/realms/api/nosuch",
		"/netfinity/v2/sms/send",
		"/intarget/api/user",
	}
	h.Do("GET", "/ns/live/__sandbox/health", nil).WantStatus(200)
	for _, p := range paths {
		live := h.Do("POST", "/ns/live"+p, sandboxtest.JSONBody(`{}`)).WantStatus(404)
		typo := h.Do("POST", "/ns/typo"+p, sandboxtest.JSONBody(`{}`)).WantStatus(404)
		want := strings.ReplaceAll(string(live.Body), "/ns/live/", "/ns/typo/")
		if string(typo.Body) != want {
			t.Errorf("%s: not live %s, live %s", p, typo.Body, live.Body)
		}
		for _, k := range []string{"Content-Type", "X-Sandbox-Hint"} {
			if typo.Header.Get(k) != live.Header.Get(k) {
				t.Errorf("%s: %s %q, in a live namespace %q", p, k, typo.Header.Get(k), live.Header.Get(k))
			}
		}
	}
	if got := h.Namespaces(); !slices.Equal(got, []string{"default", "live"}) {
		t.Errorf("namespaces %v, want [default live]", got)
	}
	// A path of the mount with a wrong method is the provider's (its answer
	// may depend on the namespace's state): that creates the namespace.
	h.Do("GET", "/ns/method/netfinity/v2/sms/notification/send", nil).WantStatus(405)
	if got := h.Namespaces(); !slices.Equal(got, []string{"default", "live", "method"}) {
		t.Errorf("namespaces %v, want [default live method]", got)
	}
}

// TestPingbacksWaitingOnTimersKeepTheNamespace: on a frozen clock a
// message's statuses (and so its pingbacks) wait for the clock to move. The
// namespace counts as busy meanwhile (the core never evicts a busy one for
// idling: TestRetryAfterLeavesBusyNamespacesOut), and the pingbacks arrive
// once the clock is advanced.
func TestPingbacksWaitingOnTimersKeepTheNamespace(t *testing.T) {
	t.Parallel()
	rcv := newPingbackReceiver(t, func(int) bool { return true })
	h := sandboxtest.New(t, pingbackScenario(rcv.srv.URL))
	const name = "frozen"
	sendSMS(t, h, name, "waits for the clock")
	if got := listCallbacks(t, h, name, ""); len(got) != 0 {
		t.Fatalf("%d deliveries before the clock moved, want none yet", len(got))
	}
	ns, err := h.Server.Namespace(name)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := ns.State("netfinity")
	if !st.(sandbox.Busy).Busy() {
		t.Fatal("not busy while the message's pingbacks wait on its status timers: the namespace could be evicted and they would vanish")
	}
	h.Admin("POST", name, "/clock", map[string]string{"advance": "10s"}, nil)
	waitFor(t, "the four pingbacks of the delivered path", func() bool {
		return len(listCallbacks(t, h, name, "?state=delivered")) == 4
	})
	if st.(sandbox.Busy).Busy() {
		t.Error("still busy once every pingback was delivered")
	}
}
