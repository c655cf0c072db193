package browser_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// Demo data of the default scenario (scenarios/default.yaml).
const (
	centiliService = "3586a2363bcd51a2b3c4d5f34918263a"
	netfinityToken = "sandbox-netfinity-token"
)

// centiliToken logs the demo merchant in with the password grant.
func centiliToken(t testing.TB, h *sandboxtest.Harness) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	h.With(t).Do("POST", "/centili/realms/api/protocol/openid-connect/token", sandboxtest.FormBody(url.Values{
		"grant_type": {"password"}, "client_id": {"datagifting"},
		"username": {"merchant@sandbox.test"}, "password": {"sandbox-password"},
	})).WantStatus(200).JSON(&tok)
	return tok.AccessToken
}

// gift assigns amount MB to msisdn from the demo service's pool.
func gift(t testing.TB, h *sandboxtest.Harness, token, msisdn, clientID string, amount int) *sandboxtest.Response {
	t.Helper()
	return h.With(t).Do("POST", "/centili/datagifting/v1/service/transaction", sandboxtest.JSONBody(map[string]any{
		"serviceKey": centiliService, "msisdn": msisdn, "clientId": clientID, "amount": amount,
	}), sandboxtest.Header("token", token))
}

// sendSMS sends a Netfinity notification with the demo token and returns
// the message's uuid.
func sendSMS(t testing.TB, h *sandboxtest.Harness, msisdn, text, id string) string {
	t.Helper()
	var out struct{ UUID string }
	h.With(t).Do("POST", "/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(map[string]string{"msisdn": msisdn, "text": text, "id": id}),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken)).WantStatus(200).JSON(&out)
	return out.UUID
}

// pingbackReceiver is the user's app: it accepts every pingback the way
// Netfinity wants (200 with the message's uuid) and counts them.
type pingbackReceiver struct {
	URL string
	mu  sync.Mutex
	got []string // uuid of each pingback, in arrival order
}

func newPingbackReceiver(t testing.TB) *pingbackReceiver {
	r := &pingbackReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		data, _ := io.ReadAll(req.Body)
		var pb struct{ UUID string }
		_ = json.Unmarshal(data, &pb)
		r.mu.Lock()
		r.got = append(r.got, pb.UUID)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"uuid": pb.UUID})
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/pingback"
	return r
}

func (r *pingbackReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// waitSubscribed waits until the namespace has at least one event stream
// open (GET /__sandbox/stats): the dashboard subscribes after its page has
// loaded, and an exchange made before that is not streamed to it.
func waitSubscribed(t testing.TB, h *sandboxtest.Harness) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st struct{ Subscribers int }
		h.With(t).Admin("GET", "", "/stats", nil, &st)
		if st.Subscribers > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the dashboard opened no event stream (GET /__sandbox/stats: subscribers 0) within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
