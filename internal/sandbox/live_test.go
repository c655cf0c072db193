package sandbox_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestChangeDuringAResetLandsInTheLiveWorld: a live change that arrives
// while a reset is building the namespace's new world waits for it and
// applies to the new world, so the change is kept; it is not applied to the
// world being replaced (answered 200, then lost).
func TestChangeDuringAResetLandsInTheLiveWorld(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	const name = "change-during-reset"
	ns, err := h.Server.Namespace(name)
	if err != nil {
		t.Fatal(err)
	}
	gate := &buildGate{building: make(chan struct{}), release: make(chan struct{})}
	echoBuildGates.Store(name, gate)
	resetDone := make(chan error)
	go func() { resetDone <- ns.Reset(nil) }()
	<-gate.building // the reset holds the namespace and is building

	changing, changed := make(chan struct{}), make(chan *echoState)
	go func() {
		close(changing)
		var got *echoState
		if err := ns.Change("echo", func(st any) {
			got = st.(*echoState)
			got.mu.Lock()
			got.items = append(got.items, echoItem{ID: 1, Name: "live change"})
			got.mu.Unlock()
		}); err != nil {
			t.Error(err)
		}
		changed <- got
	}()
	<-changing
	close(gate.release)
	if err := <-resetDone; err != nil {
		t.Fatal(err)
	}
	got := <-changed
	live, _ := ns.State("echo")
	if got != live.(*echoState) {
		t.Fatal("the change was applied to the world the reset replaced")
	}
	if items := live.(*echoState).items; len(items) != 1 || items[0].Name != "live change" {
		t.Errorf("live world holds %v, want the change kept", items)
	}
}

// TestChangeRefusesAGoneNamespaceAndAnUnmountedProvider: fn is not called.
func TestChangeRefusesAGoneNamespaceAndAnUnmountedProvider(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	ns, err := h.Server.Namespace("soon-gone")
	if err != nil {
		t.Fatal(err)
	}
	called := false
	if err := ns.Change("nope", func(any) { called = true }); !errors.Is(err, sandbox.ErrNotMounted) {
		t.Errorf("unmounted provider: %v", err)
	}
	if err := h.Server.DeleteNamespace("soon-gone"); err != nil {
		t.Fatal(err)
	}
	if err := ns.Change("echo", func(any) { called = true }); !errors.Is(err, sandbox.ErrNoNamespace) {
		t.Errorf("deleted namespace: %v", err)
	}
	if called {
		t.Error("fn was called")
	}
	rec := httptest.NewRecorder()
	sandbox.WriteGone(rec, ns)
	if rec.Code != http.StatusNotFound || rec.Body.String() != `{"type":"about:blank","title":"Namespace deleted","status":404,"detail":"namespace \"soon-gone\" was deleted or evicted while this request was being handled; nothing was changed; send the request again to start a fresh namespace"}` {
		t.Errorf("WriteGone: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{sandbox.ErrNoNamespace, rec.Body.String()},
		{sandbox.ErrNotMounted, `{"type":"about:blank","title":"No Centili","status":404,"detail":"the centili provider is not mounted"}`},
	} {
		r := httptest.NewRecorder()
		sandbox.WriteChangeError(r, ns, "centili", tc.err)
		if r.Code != http.StatusNotFound || r.Body.String() != tc.want {
			t.Errorf("WriteChangeError(%v): %d %s, want %s", tc.err, r.Code, r.Body, tc.want)
		}
	}
}
