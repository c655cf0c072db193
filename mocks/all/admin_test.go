package all_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestPreferErrorsReadTheSameEverywhere sends an invalid Prefer header, a
// success status and a redirect status to every operation of every
// provider: each is refused with the provider's own 400 (documented by its
// spec, which the harness checks) carrying the same sentence. Only an error
// status may be forced.
func TestPreferErrorsReadTheSameEverywhere(t *testing.T) {
	t.Parallel()
	cases := []struct{ prefer, msg string }{
		{"status=200", "Prefer: status=200 is refused: only an error status (400-599) can be forced; without status= the operation answers normally"},
		{"status=302", "Prefer: status=302 is refused: only an error status (400-599) can be forced; without status= the operation answers normally"},
		{"status=204, delay=1s", "Prefer: status=204 is refused: only an error status (400-599) can be forced; without status= the operation answers normally"},
		{"status=abc", "Prefer: status=abc is not an HTTP status; only an error status (400-599) can be forced, e.g. Prefer: status=503"},
		{"delay=soon", "Prefer: delay=soon is not a duration up to 5m, e.g. Prefer: delay=2s (or delay=1500 for milliseconds)"},
	}
	for _, p := range sandbox.Providers() {
		p := p
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, "")
			for _, op := range sandbox.OperationIDs(p.Name) {
				method, path, _ := sandbox.OperationRoute(p.Name, op)
				path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "api")
				for _, tc := range cases {
					res := h.Do(method, "/"+p.Name+path, sandboxtest.JSONBody(`{}`),
						sandboxtest.Header("Accept", "application/json"), sandboxtest.Header("Prefer", tc.prefer))
					if res.Status != 400 || !res.Matched {
						t.Errorf("%s %s, Prefer %s: status %d (matched %v), want 400", method, path, tc.prefer, res.Status, res.Matched)
						continue
					}
					var body map[string]any
					if err := json.Unmarshal(res.Body, &body); err != nil {
						t.Errorf("%s %s: body is not a JSON object: %s", method, path, res.Body)
						continue
					}
					// The sentence is a whole message field; Azure AD's token
					// service wraps every description in its AADSTS frame.
					exact, inside := false, false
					for _, v := range body {
						if s, ok := v.(string); ok {
							exact = exact || s == tc.msg
							inside = inside || strings.Contains(s, tc.msg)
						}
					}
					aad := p.Name == "netrefer" && strings.HasPrefix(path, "/login/")
					if !exact && !(aad && inside) {
						t.Errorf("%s %s, Prefer %s: body %s does not carry %q", method, path, tc.prefer, res.Body, tc.msg)
					}
				}
			}
		})
	}
}

// TestPreferErrorBodiesPerProvider pins the whole 400 body of one
// representative operation per provider shape.
func TestPreferErrorBodiesPerProvider(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	const msg = "Prefer: status=200 is refused: only an error status (400-599) can be forced; without status= the operation answers normally"
	q, _ := json.Marshal(msg)
	tests := []struct {
		name, method, path, body string
	}{
		{"netrefer gateway (APIM)", "POST", "/netrefer/di/v1/deposits", `{"statusCode":400,"message":` + string(q) + `}`},
		{"centili data gifting", "GET", "/centili/datagifting/v1/services", `{"errorType":"VALIDATION_ERROR","errorMessage":` + string(q) + `}`},
		{"centili keycloak", "POST", "/centili/realms/api/protocol/openid-connect/token", `{"error":"invalid_request","error_description":` + string(q) + `}`},
		{"netfinity (Laravel)", "POST", "/netfinity/v2/sms/notification/send", `{"message":` + string(q) + `}`},
		{"intarget", "GET", "/intarget/api/users", `{"error":"invalid_request","message":` + string(q) + `}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.With(t).Do(tc.method, tc.path, sandboxtest.JSONBody(`{}`), sandboxtest.Header("Accept", "application/json"),
				sandboxtest.Header("Prefer", "status=200")).WantStatus(400).WantJSON(tc.body)
		})
	}
	// An error status is still forced, in the provider's shape.
	h.Do("GET", "/centili/datagifting/v1/services", nil, sandboxtest.Header("Prefer", "status=503")).WantStatus(503)
}

// pingbackReceiver counts the pingbacks it is sent and accepts those whose
// status code ok approves (echoing the uuid, as Netfinity requires); the
// others get a 500, so that the delivery waits for a retry.
type pingbackReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int
}

func newPingbackReceiver(t *testing.T, ok func(code int) bool) *pingbackReceiver {
	r := &pingbackReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var pb struct {
			UUID    string `json:"uuid"`
			Payload struct {
				Status struct {
					Code int `json:"code"`
				} `json:"status"`
			} `json:"payload"`
		}
		_ = json.NewDecoder(req.Body).Decode(&pb)
		r.mu.Lock()
		r.n++
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok(pb.Payload.Status.Code) {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, `{"uuid":"`+pb.UUID+`"}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *pingbackReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func pingbackScenario(url string) string {
	return fmt.Sprintf(`version: 1
name: admin-callbacks
seed: 7
clock: {start: "2026-11-22T10:00:00Z", frozen: true}
netfinity:
  tokens:
    - {token: tok, name: main, capabilities: [sms.notification], rateLimit: 1000, callbackUrl: %q}
`, url)
}

type deliveryState struct {
	State     string    `json:"state"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"createdAt"`
}

func listCallbacks(t *testing.T, h *sandboxtest.Harness, ns, query string) []deliveryState {
	t.Helper()
	res := h.Do("GET", "/ns/"+ns+"/__sandbox/callbacks"+query, nil).WantStatus(200)
	if !res.Matched {
		t.Errorf("GET /callbacks%s not checked against specs/admin.yaml", query)
	}
	var out []deliveryState
	res.JSON(&out)
	return out
}

func sendSMS(t *testing.T, h *sandboxtest.Harness, ns, text string) {
	t.Helper()
	h.Do("POST", "/ns/"+ns+"/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"`+text+`"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer("tok")).WantStatus(200)
}

// waitFor polls fn until it reports true (deliveries are made by workers in
// real time after the sandbox clock made them due).
func waitFor(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCallbackFilters filters Netfinity's pingbacks by state, provider and
// creation time (sandbox clock).
func TestCallbackFilters(t *testing.T) {
	t.Parallel()
	rcv := newPingbackReceiver(t, func(code int) bool { return code == 201 })
	h := sandboxtest.New(t, pingbackScenario(rcv.srv.URL))
	const ns = "cb-filters"
	sendSMS(t, h, ns, "one")
	// Status 201 is reached at 10:00:01 and its pingback accepted; 202 at
	// 10:00:03, whose pingback fails and waits for its retry.
	h.Admin("POST", ns, "/clock", map[string]string{"advance": "1s"}, nil)
	waitFor(t, "the 201 pingback", func() bool { return len(listCallbacks(t, h, ns, "?state=delivered")) == 1 })
	h.Admin("POST", ns, "/clock", map[string]string{"advance": "2s"}, nil)
	waitFor(t, "the 202 pingback's first attempt", func() bool { return len(listCallbacks(t, h, ns, "?state=pending")) == 1 })

	tests := []struct {
		query string
		want  int
	}{
		{"", 2},
		{"?state=delivered", 1},
		{"?state=pending&provider=netfinity", 1},
		{"?state=sending", 0},
		{"?state=failed", 0},
		{"?provider=centili", 0},
		{"?provider=netfinity", 2},
		{"?since=2026-11-22T10:00:01Z", 2},
		{"?since=2026-11-22T10:00:02Z", 1},
		{"?since=2026-11-22T10:00:02Z&state=delivered", 0},
		{"?since=2026-11-22T11:00:00Z", 0},
	}
	for _, tc := range tests {
		got := listCallbacks(t, h, ns, tc.query)
		if len(got) != tc.want {
			t.Errorf("%q: %d deliveries, want %d: %+v", tc.query, len(got), tc.want, got)
		}
		for _, d := range got {
			if st := strings.TrimPrefix(tc.query, "?state="); strings.HasPrefix(tc.query, "?state=") && !strings.HasPrefix(st, d.State) {
				t.Errorf("%q listed a %s delivery", tc.query, d.State)
			}
		}
	}
}

// TestDeleteNamespaceCancelsPendingPingbacks: DELETE answers once the
// namespace's pending pingback is cancelled; it is never retried, and the
// name, used again, is a fresh namespace.
func TestDeleteNamespaceCancelsPendingPingbacks(t *testing.T) {
	t.Parallel()
	rcv := newPingbackReceiver(t, func(int) bool { return false })
	h := sandboxtest.New(t, pingbackScenario(rcv.srv.URL))
	const ns = "ci-job-7"
	sendSMS(t, h, ns, "never delivered")
	h.Admin("POST", ns, "/clock", map[string]string{"advance": "1s"}, nil)
	waitFor(t, "a failed first attempt", func() bool { return len(listCallbacks(t, h, ns, "?state=pending")) == 1 })
	if n := rcv.count(); n != 1 {
		t.Fatalf("receiver got %d attempts before DELETE, want 1", n)
	}
	old, err := h.Server.Namespace(ns)
	if err != nil {
		t.Fatal(err)
	}

	h.Do("DELETE", "/__sandbox/namespaces/"+ns, nil).WantStatus(204)

	// DELETE returns after the dispatcher's Close, which waits for its
	// workers: no attempt is in flight now, so what is recorded is final.
	st, _ := old.State("netfinity")
	oldDeliveries := func(when string) {
		t.Helper()
		list := st.(sandbox.CallbackSource).Callbacks()
		if len(list) != 1 {
			t.Fatalf("%s: the old namespace has %d deliveries, want 1", when, len(list))
		}
		b, _ := json.Marshal(list[0])
		var v struct {
			State    string            `json:"state"`
			Attempts []json.RawMessage `json:"attempts"`
		}
		_ = json.Unmarshal(b, &v)
		if v.State != "cancelled" || len(v.Attempts) != 1 {
			t.Errorf("%s: the old namespace's delivery is %s after %d attempt(s), want cancelled after 1", when, v.State, len(v.Attempts))
		}
		if st.(sandbox.Busy).Busy() {
			t.Errorf("%s: the old namespace still has callbacks pending", when)
		}
		if n := old.Clock().Pending(); n != 0 {
			t.Errorf("%s: %d timers left on the old namespace's clock", when, n)
		}
	}
	oldDeliveries("after DELETE")
	// Advance fires due timers before it returns, and a fired retry turns
	// its delivery to "sending" at once (before any goroutine sends it): a
	// retry that survived the DELETE would be seen here, not raced.
	old.Clock().Advance(time.Hour)
	oldDeliveries("after moving the old clock past the retry")
	if n := rcv.count(); n != 1 {
		t.Errorf("receiver got %d attempts after DELETE, want still 1", n)
	}
	var live struct {
		Namespaces []string `json:"namespaces"`
	}
	h.Admin("GET", "", "/namespaces", nil, &live)
	for _, n := range live.Namespaces {
		if n == ns {
			t.Fatalf("%s still live after DELETE: %v", ns, live.Namespaces)
		}
	}
	// A fresh namespace under the same name: no messages, no callbacks.
	h.Admin("POST", ns, "/clock", map[string]string{"advance": "1h"}, nil)
	if got := listCallbacks(t, h, ns, ""); len(got) != 0 {
		t.Errorf("fresh namespace lists %d callbacks", len(got))
	}
	var state struct {
		Messages []any `json:"messages"`
	}
	h.Admin("GET", ns, "/state/netfinity", nil, &state)
	if len(state.Messages) != 0 {
		t.Errorf("fresh namespace has %d messages", len(state.Messages))
	}
}
