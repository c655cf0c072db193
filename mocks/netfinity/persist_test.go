package netfinity_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A pingback pending when the snapshot is taken is delivered after the
// restore exactly once, a settled one is never sent again, and the
// message's status path walks on from where it stood.
func TestNetfinitySnapshotResumesPendingPingbacks(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(n int, pb pingbackBody) (int, string) {
		if pb.Payload.Status.Code == 202 && n == 1 {
			return 500, "not now"
		}
		return 200, `{"uuid":"` + pb.UUID + `"}`
	})
	h := sandboxtest.New(t, testScenario(rcv.url(), ""))
	id := sendOK(t, h, "a", "tok", `{"msisdn":"359881234567","text":"snap"}`)
	advance(t, h, "a", 3*time.Second) // 201 delivered, 202 refused once and due again at +6s
	waitCallbacks(t, h, "a", func(cbs []deliveryView) bool {
		return len(cbs) == 2 && cbs[0].State == "delivered" && cbs[1].State == "pending" && len(cbs[1].Attempts) == 1
	})
	snap := h.Snapshot("a", false)
	h.Restore("b", snap).WantStatus(200)
	if again := h.Snapshot("b", false); !bytes.Equal(again, bytes.ReplaceAll(snap, []byte(`"namespace": "a"`), []byte(`"namespace": "b"`))) {
		t.Errorf("re-saving the restored namespace gives other bytes:\n%s\nwant\n%s", again, snap)
	}
	if m := message(t, h, "b", id); joinInts(codes(m.History)) != "201,202" || m.Final {
		t.Fatalf("restored message: history %v final %v", codes(m.History), m.Final)
	}
	advance(t, h, "b", 10*time.Second)
	cbs := waitCallbacks(t, h, "b", settled(4))
	for i, want := range []struct {
		state    string
		attempts int
	}{{"delivered", 1}, {"delivered", 2}, {"delivered", 1}, {"delivered", 1}} {
		if cbs[i].State != want.state || len(cbs[i].Attempts) != want.attempts || cbs[i].Key != id {
			t.Errorf("delivery %d: %s with %d attempts (key %s), want %s with %d", i, cbs[i].State, len(cbs[i].Attempts), cbs[i].Key, want.state, want.attempts)
		}
	}
	if m := message(t, h, "b", id); joinInts(codes(m.History)) != "201,202,203,204" || !m.Final {
		t.Errorf("after the restore the path walked to %v final %v", codes(m.History), m.Final)
	}
	got := map[int]int{}
	for _, r := range rcv.received() {
		got[r.Body.Payload.Status.Code]++
	}
	// 201 once (from a, never resent), 202 refused in a and delivered from b.
	if got[201] != 1 || got[202] != 2 || got[203] != 1 || got[204] != 1 {
		t.Errorf("receiver got pingbacks by status %v, want 201:1 202:2 203:1 204:1", got)
	}
	// A new message there draws its uuid from the restored generator.
	if other := sendOK(t, h, "b", "tok", `{"msisdn":"359881234567","text":"next"}`); other == id {
		t.Error("a new message got the restored one's uuid")
	}
}
