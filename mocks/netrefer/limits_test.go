package netrefer_test

import (
	"fmt"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestStoredEventsAreBounded: once a namespace stores
// limits.maxStoredEvents accepted events, a payload is refused whole with
// 507 and a hint, stores nothing, and is counted in the state view; rejected
// events do not count, nothing stored is dropped, and a reset empties the
// namespace.
func TestStoredEventsAreBounded(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+"netrefer:\n  limits: {maxStoredEvents: 3}\n")
	tok := token(t, h, "")
	ingest(h, tok, "registrations", []any{reg("e1", "c1"), reg("e2", "c2")}).WantStatus(200)
	// Below the limit when it arrives: processed in full, past the limit.
	ingest(h, tok, "registrations", []any{reg("e3", "c3"), reg("e1", "c9"), reg("e4", "c4")}).WantStatus(207)
	res := ingest(h, tok, "deposits", dep("e5", "c1", "t1", 100)).WantStatus(507)
	res.WantJSON(`{"statusCode":507,"message":"The payload was not processed: this namespace stores 4 events, the most the sandbox keeps."}`)
	if hint := res.Header.Get("X-Sandbox-Hint"); hint != "the sandbox stores at most 3 events per namespace (netrefer.limits.maxStoredEvents) and drops none, since later answers depend on them; POST /__sandbox/reset empties this namespace, or raise the limit" {
		t.Errorf("hint %q", hint)
	}
	var view struct {
		Clients []struct {
			ProcessedEvents int `json:"processedEvents"`
		} `json:"clients"`
		Limits any `json:"limits"`
	}
	h.Admin("GET", "", "/state/netrefer", nil, &view)
	if got := fmt.Sprint(view.Limits); got != "map[storedEvents:map[count:4 limit:3 refusedPayloads:1]]" {
		t.Errorf("state view limits %s", got)
	}
	if view.Clients[0].ProcessedEvents != 4 {
		t.Errorf("processed %d events, want the 4 accepted ones kept", view.Clients[0].ProcessedEvents)
	}
	h.Do("POST", "/__sandbox/reset", nil).WantStatus(200)
	ingest(h, tok, "registrations", reg("e1", "c1")).WantStatus(200)
}
