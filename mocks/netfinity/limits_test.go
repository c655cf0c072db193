package netfinity_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestStateKeepsTheNewestMessagesAndPingbacks: beyond limits.maxMessages
// the oldest messages leave the state view, and beyond limits.maxPingbacks
// the oldest settled deliveries leave GET /callbacks, both counted in the
// state view; a dropped message still walks its path and sends its
// pingbacks, and its client id still counts for flood protection.
func TestStateKeepsTheNewestMessagesAndPingbacks(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	h := sandboxtest.New(t, testScenario(rcv.url(), "  limits: {maxMessages: 2, maxPingbacks: 3}\n"))
	var uuids []string
	for i := 1; i <= 4; i++ {
		uuids = append(uuids, sendOK(t, h, "", "tok", fmt.Sprintf(`{"msisdn":"359881234567","text":"message %d","id":"m%d"}`, i, i)))
	}
	advance(t, h, "", 10*time.Second)
	// Four messages on the delivered path: four pingbacks each, all sent,
	// the first two messages' too.
	waitCallbacks(t, h, "", func(cbs []deliveryView) bool { return len(rcv.received()) == 16 && settled(3)(cbs) })

	var view struct {
		Messages []messageView `json:"messages"`
		Limits   any           `json:"limits"`
	}
	h.Admin("GET", "", "/state/netfinity", nil, &view)
	if len(view.Messages) != 2 || view.Messages[0].UUID != uuids[2] || view.Messages[1].UUID != uuids[3] {
		t.Errorf("state view messages %+v, want the newest two", view.Messages)
	}
	if got := fmt.Sprint(view.Limits); got != "map[messages:map[count:2 evicted:2 limit:2] pingbacks:map[count:3 evicted:13 limit:3]]" {
		t.Errorf("state view limits %s", got)
	}
	if cbs := callbacks(t, h, ""); len(cbs) != 3 {
		t.Errorf("GET /callbacks lists %d deliveries, want the newest 3", len(cbs))
	}
	// m1's message is gone from the view, but its id was used.
	again := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"another text","id":"m1"}`)
	if m := message(t, h, "", again); m.Path != "flood" || m.Flood != `id "m1" was used before` {
		t.Errorf("reused id of a dropped message: path %q, flood %q", m.Path, m.Flood)
	}
}
