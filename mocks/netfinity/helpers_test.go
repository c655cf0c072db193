package netfinity_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
)

const sendPath = "/netfinity/v2/sms/notification/send"

// start is where the test scenarios freeze the sandbox clock.
var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testScenario freezes the clock at start and configures token "tok" with
// the given callback URL; extra is appended inside the netfinity section.
func testScenario(callbackURL, extra string) string {
	return fmt.Sprintf(`version: 1
name: netfinity-test
seed: 7
clock:
  start: "2026-11-22T10:00:00Z"
  frozen: true
netfinity:
  tokens:
    - {token: tok, name: main, capabilities: [sms.notification], rateLimit: 1000, callbackUrl: %q}
    - {token: tok2, name: second, capabilities: [sms.notification], rateLimit: 1000, callbackUrl: %q}
    - {token: foreign, name: foreign, allowedIps: [203.0.113.7, "198.51.100.0/24"], capabilities: [sms.notification]}
    - {token: nosms, name: nosms, capabilities: [other.service]}
    - {token: small, name: small, capabilities: [sms.notification], rateLimit: 3}
    - {token: pfx, name: pfx, capabilities: [sms.notification], prefix: "ACME: "}
%s`, callbackURL, callbackURL, extra)
}

// unlimitedScenario has one token, "tok", whose rate limit no test reaches
// (fuzzing and benchmarks send far more than 60 requests a minute).
const unlimitedScenario = `version: 1
name: netfinity-unlimited
clock: {start: "2026-11-22T10:00:00Z", frozen: true}
netfinity:
  tokens:
    - {token: tok, capabilities: [sms.notification], rateLimit: 1000000000}
`

// jsonHeaders are the mandatory Netfinity headers plus a bearer token.
func jsonHeaders(tok string) []sandboxtest.Option {
	return []sandboxtest.Option{sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(tok)}
}

// sendOK sends a message and returns its uuid.
func sendOK(t *testing.T, h *sandboxtest.Harness, ns, tok, body string) string {
	t.Helper()
	prefix := ""
	if ns != "" {
		prefix = "/ns/" + ns
	}
	res := h.Do("POST", prefix+sendPath, sandboxtest.JSONBody(body), jsonHeaders(tok)...).WantStatus(200)
	var out struct {
		UUID string  `json:"uuid"`
		ID   *string `json:"id"`
	}
	res.JSON(&out)
	if out.UUID == "" {
		t.Fatalf("no uuid in %s", res.Body)
	}
	return out.UUID
}

type statusEvent struct {
	Code        int       `json:"code"`
	Description string    `json:"description"`
	At          time.Time `json:"at"`
	Meta        *struct {
		Voucher *struct {
			UUID    string `json:"uuid"`
			Expires string `json:"expires"`
		} `json:"voucher"`
	} `json:"meta"`
}

type messageView struct {
	UUID        string        `json:"uuid"`
	ID          *string       `json:"id"`
	Token       string        `json:"token"`
	Msisdn      string        `json:"msisdn"`
	MsisdnGiven string        `json:"msisdnGiven"`
	Network     string        `json:"network"`
	Text        string        `json:"text"`
	SentText    string        `json:"sentText"`
	Septets     int           `json:"septets"`
	Truncated   bool          `json:"truncated"`
	Path        string        `json:"path"`
	Flood       string        `json:"flood"`
	Final       bool          `json:"final"`
	History     []statusEvent `json:"history"`
	Callbacks   []string      `json:"callbacks"`
}

type stateView struct {
	Messages   []messageView `json:"messages"`
	RateLimits []struct {
		Token string `json:"token"`
		Limit int    `json:"limit"`
		Used  int    `json:"used"`
	} `json:"rateLimits"`
}

func getState(t *testing.T, h *sandboxtest.Harness, ns string) stateView {
	t.Helper()
	var st stateView
	if code := h.Admin("GET", ns, "/state/netfinity", nil, &st); code != 200 {
		t.Fatalf("GET state: %d", code)
	}
	return st
}

func message(t *testing.T, h *sandboxtest.Harness, ns, uuid string) messageView {
	t.Helper()
	for _, m := range getState(t, h, ns).Messages {
		if m.UUID == uuid {
			return m
		}
	}
	t.Fatalf("message %s not in state", uuid)
	return messageView{}
}

func codes(evs []statusEvent) []int {
	out := make([]int, len(evs))
	for i, e := range evs {
		out[i] = e.Code
	}
	return out
}

func advance(t *testing.T, h *sandboxtest.Harness, ns string, d time.Duration) {
	t.Helper()
	if code := h.Admin("POST", ns, "/clock", map[string]string{"advance": d.String()}, nil); code != 200 {
		t.Fatalf("advancing the clock: %d", code)
	}
}

type attemptView struct {
	N            int       `json:"n"`
	At           time.Time `json:"at"`
	Status       int       `json:"status"`
	Error        string    `json:"error"`
	ResponseBody string    `json:"responseBody"`
}

type deliveryView struct {
	ID       string            `json:"id"`
	Source   string            `json:"source"`
	Key      string            `json:"key"`
	URL      string            `json:"url"`
	Header   map[string]string `json:"headers"`
	Body     json.RawMessage   `json:"body"`
	Meta     map[string]any    `json:"meta"`
	State    string            `json:"state"`
	Attempts []attemptView     `json:"attempts"`
}

func callbacks(t *testing.T, h *sandboxtest.Harness, ns string) []deliveryView {
	t.Helper()
	var out []deliveryView
	if code := h.Admin("GET", ns, "/callbacks", nil, &out); code != 200 {
		t.Fatalf("GET callbacks: %d", code)
	}
	return out
}

// waitCallbacks polls the admin API until done reports true (deliveries run
// on real-time workers after the clock fires them) or fails after 30 s. The
// pause between polls grows from 5 ms to 50 ms: each poll encodes every
// delivery (800 in the busiest test), and polling flat out under -race took
// the CPU the delivery workers needed, so that a loaded machine missed the
// deadline.
func waitCallbacks(t *testing.T, h *sandboxtest.Harness, ns string, done func([]deliveryView) bool) []deliveryView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	pause := 5 * time.Millisecond
	for {
		cbs := callbacks(t, h, ns)
		if done(cbs) {
			return cbs
		}
		if time.Now().After(deadline) {
			if len(cbs) > 20 {
				states := map[string]int{}
				for _, d := range cbs {
					states[d.State]++
				}
				t.Fatalf("callbacks did not settle: %d deliveries by state %v", len(cbs), states)
			}
			t.Fatalf("callbacks did not settle: %+v", cbs)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// settled reports whether n deliveries exist and none is pending or sending.
func settled(n int) func([]deliveryView) bool {
	return func(cbs []deliveryView) bool {
		if len(cbs) < n {
			return false
		}
		for _, d := range cbs {
			if d.State == "pending" || d.State == "sending" {
				return false
			}
		}
		return true
	}
}

// receiver is a real HTTP pingback receiver that answers by a plan.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
	// answer decides the reply to the n-th request (1-based) carrying a status code.
	answer func(n int, pb pingbackBody) (int, string)
	perKey map[string]int
}

type received struct {
	Header http.Header
	Body   pingbackBody
	Raw    string
}

type pingbackBody struct {
	UUID      string  `json:"uuid"`
	ID        *string `json:"id"`
	Service   string  `json:"service"`
	Timestamp string  `json:"timestamp"`
	Payload   struct {
		Status struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"status"`
		Meta map[string]any `json:"meta"`
	} `json:"payload"`
}

// newReceiver starts a receiver; a nil answer always acknowledges properly.
func newReceiver(t *testing.T, answer func(n int, pb pingbackBody) (int, string)) *receiver {
	r := &receiver{answer: answer, perKey: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var pb pingbackBody
		_ = json.Unmarshal(raw, &pb)
		r.mu.Lock()
		r.got = append(r.got, received{Header: req.Header.Clone(), Body: pb, Raw: string(raw)})
		key := fmt.Sprintf("%s/%d", pb.UUID, pb.Payload.Status.Code)
		r.perKey[key]++
		n := r.perKey[key]
		r.mu.Unlock()
		status, body := 200, `{"uuid":"`+pb.UUID+`"}`
		if r.answer != nil {
			status, body = r.answer(n, pb)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) url() string { return r.srv.URL + "/pingback" }

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}

// validHeaderValues reports whether Go's client would send the headers at all.
func validHeaderValues(h http.Header) bool {
	for _, vs := range h {
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
					return false
				}
			}
		}
	}
	return true
}

// newSendRequest builds a send request with Netfinity's mandatory headers,
// for tests that drive the client directly (concurrency, benchmarks).
func newSendRequest(base, body, tok string) *http.Request {
	req, err := http.NewRequest("POST", base+sendPath, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}
