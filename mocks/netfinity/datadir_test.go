package netfinity_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/internal/store"
)

// onDataDir starts a sandbox on the data directory dir; crash stops its
// HTTP server and store without shutting the sandbox down, as kill -9
// would (what reached the disk is what is left).
func onDataDir(t *testing.T, dir, scenarioYAML string) (h *sandboxtest.Harness, crash func()) {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h = sandboxtest.NewWithConfig(t, scenarioYAML, func(c *sandbox.Config) { c.Store = st })
	return h, func() {
		h.HTTP.CloseClientConnections()
		h.HTTP.Close()
		st.Close()
	}
}

// TestDataDirKeepsMessagesAndPingbacksAcrossACrash: after a crash and a
// restart on the same data directory the messages, the outbox and the
// flood memory are as they were; the pingbacks still to come are sent
// when the sandbox clock reaches them, each once (the one refused before
// the crash is retried), the ones acknowledged before are not sent again,
// and new messages get new uuids.
func TestDataDirKeepsMessagesAndPingbacksAcrossACrash(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(n int, pb pingbackBody) (int, string) {
		if pb.Payload.Status.Code == 202 && n == 1 {
			return 500, "not now"
		}
		return 200, `{"uuid":"` + pb.UUID + `"}`
	})
	dir := t.TempDir()
	sc := testScenario(rcv.url(), "")
	h, crash := onDataDir(t, dir, sc)
	m1 := sendOK(t, h, "a", "tok", `{"msisdn":"359881234567","text":"kept","id":"c1"}`)
	m2 := sendOK(t, h, "a", "tok", `{"msisdn":"359880000301","text":"delayed"}`)
	advance(t, h, "a", 5*time.Second) // m1: 201 delivered, 202 refused (retry at +6 s), 203 behind it; m2: 301
	waitCallbacks(t, h, "a", func(cbs []deliveryView) bool {
		return len(cbs) == 4 && cbs[0].State == "delivered" && cbs[1].State == "delivered" &&
			cbs[2].State == "pending" && len(cbs[2].Attempts) == 1 && cbs[3].State == "pending"
	})
	state := h.Do("GET", "/ns/a/__sandbox/state/netfinity", nil).WantStatus(200).Body
	outbox := h.Do("GET", "/ns/a/__sandbox/callbacks", nil).WantStatus(200).Body
	crash()

	h, _ = onDataDir(t, dir, sc)
	if got := h.Do("GET", "/ns/a/__sandbox/state/netfinity", nil).WantStatus(200).Body; string(got) != string(state) {
		t.Fatalf("state after the restart:\n%s\nwant\n%s", got, state)
	}
	if got := h.Do("GET", "/ns/a/__sandbox/callbacks", nil).WantStatus(200).Body; string(got) != string(outbox) {
		t.Fatalf("callbacks after the restart:\n%s\nwant\n%s", got, outbox)
	}
	again := sendOK(t, h, "a", "tok", `{"msisdn":"359891234567","text":"again","id":"c1"}`)
	if again == m1 || again == m2 {
		t.Fatalf("a new message got the uuid %s of one sent before the crash", again)
	}
	if m := message(t, h, "a", again); m.Path != "flood" || m.Flood != `id "c1" was used before` {
		t.Errorf("client id c1 after the restart: path %s, flood %q; want the flood path", m.Path, m.Flood)
	}
	advance(t, h, "a", time.Hour)
	waitCallbacks(t, h, "a", settled(10))
	got := map[string]int{}
	for _, r := range rcv.received() {
		got[fmt.Sprintf("%s/%d", r.Body.UUID, r.Body.Payload.Status.Code)]++
	}
	want := map[string]int{
		m1 + "/201": 1, m1 + "/202": 2, m1 + "/203": 1, m1 + "/204": 1,
		m2 + "/301": 1, m2 + "/201": 1, m2 + "/202": 2, m2 + "/203": 1, m2 + "/204": 1,
		again + "/401": 1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("receiver got %s %d times, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("receiver got %v, want %v", got, want)
	}
	for _, m := range getState(t, h, "a").Messages {
		if !m.Final {
			t.Errorf("message %s stopped at %v", m.UUID, codes(m.History))
		}
	}
}
