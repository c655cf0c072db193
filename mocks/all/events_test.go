package all_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestEventStreamFollowsAPingback: a Netfinity send with a callback
// receiver shows on the namespace's event stream as the request, then its
// pingback's every step; the last event of the delivered pingback is the
// delivery exactly as GET /callbacks lists it.
func TestEventStreamFollowsAPingback(t *testing.T) {
	t.Parallel()
	rcv := newPingbackReceiver(t, func(code int) bool { return code == 201 })
	h := sandboxtest.New(t, pingbackScenario(rcv.srv.URL))
	const ns = "events-cb"
	s := h.Events(ns)

	sendSMS(t, h, ns, "watched")
	ev := s.Next()
	var req struct {
		Namespace, Provider, Operation, Method, Path string
		Status                                       int
	}
	if err := json.Unmarshal(ev.Data, &req); ev.Name != "request" || err != nil {
		t.Fatalf("first event %q %s, want the send request", ev.Name, ev.Data)
	}
	if req.Namespace != ns || req.Provider != "netfinity" || req.Operation != "sendSmsNotification" || req.Method != "POST" ||
		req.Path != "/ns/events-cb/netfinity/v2/sms/notification/send" || req.Status != 200 {
		t.Errorf("request event %s", ev.Data)
	}

	h.Admin("POST", ns, "/clock", map[string]string{"advance": "1s"}, nil)
	type delivery struct {
		ID       string            `json:"id"`
		Source   string            `json:"source"`
		State    string            `json:"state"`
		Attempts []json.RawMessage `json:"attempts"`
	}
	var states []string
	var last json.RawMessage
	var id string
	for sawClock := false; ; {
		ev := s.Next()
		if ev.Name == "clock" && !sawClock {
			sawClock = true
			continue
		}
		if ev.Name != "callback" {
			t.Fatalf("event %q %s, want callback events", ev.Name, ev.Data)
		}
		var d delivery
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.Source != "netfinity" || d.ID == "" {
			t.Fatalf("callback event %s is not a delivery", ev.Data)
		}
		if id == "" {
			id = d.ID
		}
		if d.ID != id {
			continue // a later status's pingback, scheduled meanwhile
		}
		states = append(states, d.State)
		if d.State == "delivered" {
			if len(d.Attempts) != 1 {
				t.Errorf("delivered with %d attempts", len(d.Attempts))
			}
			last = ev.Data
			break
		}
	}
	if got := states[len(states)-2:]; got[0] != "sending" {
		t.Errorf("states %v, want … sending, delivered", states)
	}
	if states[0] != "pending" {
		t.Errorf("states %v, want pending first", states)
	}

	t.Logf("pingback %s went %v", id, states)
	var listed []json.RawMessage
	h.Admin("GET", ns, "/callbacks", nil, &listed)
	for _, l := range listed {
		var d delivery
		_ = json.Unmarshal(l, &d)
		if d.ID == id {
			var a, b bytes.Buffer
			_ = json.Compact(&a, l)
			_ = json.Compact(&b, last)
			if a.String() != b.String() {
				t.Errorf("event and listing differ\nevent:   %s\nlisting: %s", b.String(), a.String())
			}
			return
		}
	}
	t.Errorf("delivery %s not listed by GET /callbacks", id)
}
