package sandbox

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/journal"
)

// TestRequestEventEncodingMatchesEncodingJSON: the hand-written encoder of
// "request" events writes what json.Marshal writes for requestEvent, for
// strings a client controls (the path) included.
func TestRequestEventEncodingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	strs := []string{"", "plain", `quo"te`, `back\slash`, "<script>&amp;</script>", "tab\tnl\nret\rbs\bff\f",
		"\x00\x01\x1f\x7f", "ünïcødé €", "\u2028\u2029", "bad\xffutf8\xc3", "\xe2\x80", "emoji 🎉"}
	times := []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)), {}}
	for i, s := range strs {
		e := &journal.Entry{ID: "req_" + s, Time: times[i%len(times)], Namespace: s, Provider: "echo" + s, Operation: s,
			Request: journal.Message{Method: "GET" + s, Path: "/p/" + s}, Response: journal.Message{Status: 200 + i}, LatencyMicros: int64(i * 1000)}
		if i%3 == 1 {
			e.Faults = []string{s, "prefer-header"}
		}
		f := e.Faults
		if f == nil {
			f = []string{}
		}
		want, err := json.Marshal(requestEvent{ID: e.ID, Time: e.Time, Namespace: e.Namespace, Provider: e.Provider, Operation: e.Operation,
			Method: e.Request.Method, Path: e.Request.Path, Status: e.Response.Status, LatencyMicros: e.LatencyMicros, Faults: f})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendRequestEvent(nil, e); string(got) != string(want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	}
}
