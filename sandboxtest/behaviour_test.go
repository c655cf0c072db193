package sandboxtest_test

// The package's behaviour tests. Every one passes in both modes: in process
// (the default) and against a running sandbox through SANDBOX_URL, which
// TestAgainstBinary does with the built binary. They use only the public
// API and plain net/http, as a user's tests would.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// call sends a request with the sandbox's checking client and returns the
// status and body.
func call(t *testing.T, sb *sandboxtest.Sandbox, method, url, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := sb.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// centiliToken runs Keycloak's password grant with the ready-made
// credentials.
func centiliToken(t *testing.T, sb *sandboxtest.Sandbox) string {
	t.Helper()
	c := sb.Centili()
	form := url.Values{"grant_type": {"password"}, "client_id": {c.ClientID}, "username": {c.Username}, "password": {c.Password}}
	status, body := call(t, sb, "POST", c.TokenURL, "application/x-www-form-urlencoded", form.Encode())
	if status != http.StatusOK {
		t.Fatalf("Centili token: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// gift assigns amount MB to msisdn on the default service.
func gift(t *testing.T, sb *sandboxtest.Sandbox, token, msisdn, clientID string, amount int) (int, string) {
	t.Helper()
	c := sb.Centili()
	body := fmt.Sprintf(`{"serviceKey":%q,"msisdn":%q,"amount":%d,"clientId":%q}`, c.ServiceKey, msisdn, amount, clientID)
	return call(t, sb, "POST", c.BaseURL+"/service/transaction", "application/json", body, "Authorization", "Bearer "+token)
}

func TestGiftIsJournaledAndStored(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	token := centiliToken(t, sb)
	if status, body := gift(t, sb, token, "33612345678", "order-1", 100); status != http.StatusOK {
		t.Fatalf("assignData: %d %s", status, body)
	}
	if status, _ := gift(t, sb, token, "43660000001", "order-2", 500); status != http.StatusOK {
		t.Fatalf("second assignData: %d", status)
	}

	req := sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "centili", Operation: "assignData",
		BodyFields: map[string]string{"msisdn": "33612345678", "amount": "100"}}).Once()
	if req.Method != "POST" || req.Path != "/centili/datagifting/v1/service/transaction" || req.Response.Status != 200 {
		t.Errorf("journal entry %s: %s %s → %d", req.ID, req.Method, req.Path, req.Response.Status)
	}
	// The journal keeps a mark of the token, not the token (docs/admin.md).
	wantAuth := fmt.Sprintf("Bearer %s…(%d bytes, sha256:", token[:4], len(token))
	if req.Namespace != sb.Namespace() || !strings.HasPrefix(req.Header.Get("Authorization"), wantAuth) {
		t.Errorf("journal entry namespace %q, Authorization %q", req.Namespace, req.Header.Get("Authorization"))
	}
	var sent struct {
		ClientID string `json:"clientId"`
	}
	if err := req.DecodeBody(&sent); err != nil || sent.ClientID != "order-1" {
		t.Errorf("DecodeBody: %+v, %v", sent, err)
	}
	sb.ExpectRequests(sandboxtest.RequestFilter{Operation: "assignData"}).Count(2)
	sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "centili", BodyContains: `"clientId":"order-2"`}).Once()
	sb.ExpectRequests(sandboxtest.RequestFilter{Operation: "assignData", BodyFields: map[string]string{"msisdn": "33600000000"}}).None()
	sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "centili", Path: "/realms/"}).Once() // the token request
	sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "centili", Method: "post"}).Count(3)
	sb.ExpectRequests(sandboxtest.RequestFilter{StatusClass: 2}).Count(3)
	sb.ExpectRequests(sandboxtest.RequestFilter{Status: 422}).None()
	sb.ExpectRequests(sandboxtest.RequestFilter{Match: func(r sandboxtest.Request) bool { return r.Operation == "keycloakToken" }}).Once()

	all := sb.Requests(sandboxtest.RequestFilter{})
	if len(all) != 3 || all[0].Operation != "keycloakToken" || all[2].Operation != "assignData" {
		t.Errorf("journal, oldest first: %v", all)
	}

	st := sb.CentiliState()
	fr, ok := st.Pool(sb.Centili().ServiceKey, "FR_ORANGE")
	if !ok || fr.AssignedAmount != 100 || fr.Balance != fr.TotalAmount-100 {
		t.Errorf("FR_ORANGE pool %+v", fr)
	}
	if len(st.Transactions) != 2 || st.Transactions[0].Status != "COMPLETED" || *st.Transactions[0].Operator != "FR_ORANGE" {
		t.Errorf("transactions %+v", st.Transactions)
	}

	sb.ClearRequests()
	sb.ExpectRequests(sandboxtest.RequestFilter{}).None()
	sb.Reset()
	if st := sb.CentiliState(); len(st.Transactions) != 0 {
		t.Errorf("after Reset: %d transactions", len(st.Transactions))
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	if now := sb.Now(); !now.Equal(start) || !sb.Frozen() {
		t.Fatalf("Now %s frozen %v, want %s frozen", now, sb.Frozen(), start)
	}
	sb.Advance(90 * time.Second)
	if now := sb.Now(); !now.Equal(start.Add(90 * time.Second)) {
		t.Errorf("after Advance: %s", now)
	}
	later := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	sb.SetClock(later)
	if now := sb.Now(); !now.Equal(later) {
		t.Errorf("after SetClock: %s", now)
	}
	sb.Unfreeze()
	if sb.Frozen() {
		t.Error("still frozen after Unfreeze")
	}
	sb.Freeze()
	if !sb.Frozen() {
		t.Error("not frozen after Freeze")
	}
	sb.Reset() // WithClock is part of the scenario
	if now := sb.Now(); !now.Equal(start) || !sb.Frozen() {
		t.Errorf("after Reset: %s frozen %v, want %s frozen", now, sb.Frozen(), start)
	}
}

// A Centili token lives 300 s of sandbox time.
func TestTokenExpiresWithTheClock(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t, sandboxtest.WithClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)))
	token := centiliToken(t, sb)
	c := sb.Centili()
	balance := c.BaseURL + "/services/balance?serviceKey=" + c.ServiceKey + "&operator=AT_A1"
	if status, body := call(t, sb, "GET", balance, "", "", "Authorization", "Bearer "+token); status != 200 {
		t.Fatalf("balance: %d %s", status, body)
	}
	sb.Advance(301 * time.Second)
	status, body := call(t, sb, "GET", balance, "", "", "Authorization", "Bearer "+token)
	if status != 401 || !strings.Contains(body, `"errorType":"INVALID_TOKEN"`) {
		t.Errorf("after 301 s: %d %s", status, body)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t, sandboxtest.WithFault(sandboxtest.Fault{ID: "token-down",
		Match: sandboxtest.FaultMatch{Provider: "centili", Operation: "keycloakToken"}, Respond: &sandboxtest.FaultResponse{Status: 503}, Times: 1}))
	c := sb.Centili()
	form := url.Values{"grant_type": {"password"}, "client_id": {c.ClientID}, "username": {c.Username}, "password": {c.Password}}.Encode()
	if status, _ := call(t, sb, "POST", c.TokenURL, "application/x-www-form-urlencoded", form); status != 503 {
		t.Errorf("first token request: %d, want the rule's 503", status)
	}
	token := centiliToken(t, sb) // times: 1
	if r := sb.ExpectRequests(sandboxtest.RequestFilter{Status: 503}).Once(); len(r.Faults) != 1 || r.Faults[0] != "token-down" {
		t.Errorf("faults applied: %v", r.Faults)
	}

	id := sb.AddFault(sandboxtest.Fault{Match: sandboxtest.FaultMatch{Provider: "centili", Operation: "assignData", Body: map[string]string{"msisdn": "^336"}},
		Respond: &sandboxtest.FaultResponse{Status: 500}})
	if id == "" {
		t.Fatal("AddFault returned no id")
	}
	if status, _ := gift(t, sb, token, "33612345678", "o1", 100); status != 500 {
		t.Errorf("gift to a matching msisdn: %d, want 500", status)
	}
	if status, _ := gift(t, sb, token, "43660000001", "o2", 100); status != 200 {
		t.Errorf("gift to another msisdn: %d, want 200", status)
	}
	got := map[string]sandboxtest.FaultStatus{}
	for _, f := range sb.Faults() {
		got[f.ID] = f
	}
	if f := got[id]; f.Matched != 1 || f.Fired != 1 || got["token-down"].Fired != 1 {
		t.Errorf("counters %+v", got)
	}
	sb.RemoveFault(id)
	if status, _ := gift(t, sb, token, "33612345678", "o3", 100); status != 200 {
		t.Errorf("after RemoveFault: %d", status)
	}
	sb.AddFault(sandboxtest.Fault{Match: sandboxtest.FaultMatch{Provider: "centili"}, Throttle: &sandboxtest.FaultThrottle{RetryAfter: 7}})
	sb.ClearFaults()
	if n := len(sb.Faults()); n != 0 {
		t.Errorf("after ClearFaults: %d rules", n)
	}
	sb.Reset() // WithFault is part of the scenario, AddFault's rules are not
	if f := sb.Faults(); len(f) != 1 || f[0].ID != "token-down" || f[0].Fired != 0 {
		t.Errorf("after Reset: %+v", f)
	}
}

func TestScenarioOptions(t *testing.T) {
	t.Parallel()
	t.Run("yaml", func(t *testing.T) {
		t.Parallel()
		sb := sandboxtest.New(t, sandboxtest.WithScenarioYAML(`version: 1
name: small-pool
clock: {start: "2026-05-01T00:00:00Z", frozen: true}
centili:
  services:
    - serviceKey: 0123456789abcdef0123456789abcdef
      name: tiny
      merchantId: 11111
      timeCreated: "2024-01-01 00:00:00"
      packages: [{operator: FR_ORANGE, amounts: [100]}]
      pools: [{operator: FR_ORANGE, totalAmount: 150, assignedAmount: 0, expirationDate: "2030-12-31 23:59:59"}]
`))
		if key := sb.Centili().ServiceKey; key != "0123456789abcdef0123456789abcdef" {
			t.Errorf("ServiceKey %q", key)
		}
		token := centiliToken(t, sb)
		gift(t, sb, token, "33612345678", "a", 100)
		status, body := gift(t, sb, token, "33612345679", "b", 100)
		if status != 422 || !strings.Contains(body, "INSUFFICIENT_BALANCE") {
			t.Errorf("second gift: %d %s", status, body)
		}
		if now := sb.Now(); !now.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("clock %s", now)
		}
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		sb := sandboxtest.New(t, sandboxtest.WithScenarioFile("../scenarios/outage.yaml"))
		if len(sb.Faults()) == 0 {
			t.Error("the outage scenario's rules are not in force")
		}
	})
}

// pingbackReceiver answers every pingback 200 with the body it got (which
// holds the message's uuid, so the sandbox counts it delivered).
func pingbackReceiver(t *testing.T) *httptest.Server {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

func TestCallbacksSettle(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t, sandboxtest.WithClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)))
	rcv := pingbackReceiver(t)
	nf := sb.Netfinity()
	if status, body := call(t, sb, "PATCH", sb.URL()+"/__sandbox/netfinity/tokens/"+nf.Token, "application/json",
		`{"callbackUrl":"`+rcv.URL+`/pingback"}`); status != 200 {
		t.Fatalf("setting the callback URL: %d %s", status, body)
	}
	status, body := call(t, sb, "POST", nf.BaseURL+"/sms/notification/send", "application/json",
		`{"msisdn":"359881234567","text":"Your code is 1234","id":"welcome1"}`, "Accept", "application/json", "Authorization", "Bearer "+nf.Token)
	if status != 200 {
		t.Fatalf("send: %d %s", status, body)
	}
	sb.Advance(time.Minute) // the status path runs on sandbox time
	all := sb.WaitCallbacksSettled(10 * time.Second)
	var codes []int
	for _, c := range all {
		var pb struct {
			Payload struct {
				Status struct {
					Code int `json:"code"`
				} `json:"status"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(c.Body, &pb); err != nil {
			t.Fatal(err)
		}
		if c.State != sandboxtest.CallbackDelivered || len(c.Attempts) != 1 || c.Attempts[0].Status != 200 {
			t.Errorf("delivery %s: %s, attempts %+v", c.ID, c.State, c.Attempts)
		}
		codes = append(codes, pb.Payload.Status.Code)
	}
	if fmt.Sprint(codes) != "[201 202 203 204]" {
		t.Errorf("pingback codes %v", codes)
	}
	if n := len(sb.Callbacks(sandboxtest.CallbackFilter{Provider: "netfinity", State: sandboxtest.CallbackDelivered})); n != 4 {
		t.Errorf("delivered netfinity callbacks: %d", n)
	}
	if n := len(sb.Callbacks(sandboxtest.CallbackFilter{State: sandboxtest.CallbackFailed})); n != 0 {
		t.Errorf("failed callbacks: %d", n)
	}
	msgs := sb.NetfinityState().Messages
	if len(msgs) != 1 || !msgs[0].Final || msgs[0].Status.Code != 204 || len(msgs[0].Callbacks) != 4 {
		t.Errorf("messages %+v", msgs)
	}
}

// TestParallelSandboxesAreIsolated: many parallel tests, each with its own
// sandbox and its own changes, see only their own.
func TestParallelSandboxesAreIsolated(t *testing.T) {
	t.Parallel()
	for i := range 12 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			sb := sandboxtest.New(t)
			token := centiliToken(t, sb)
			msisdn := fmt.Sprintf("336000100%02d", i)
			amount := []int{100, 500, 1000}[i%3]
			if status, body := gift(t, sb, token, msisdn, "order", amount); status != 200 {
				t.Fatalf("gift: %d %s", status, body)
			}
			sb.Advance(time.Duration(i+1) * time.Hour)

			sb.ExpectRequests(sandboxtest.RequestFilter{Operation: "assignData"}).Once()
			sb.ExpectRequests(sandboxtest.RequestFilter{}).Count(2) // its token and its gift, nobody else's
			st := sb.CentiliState()
			if len(st.Transactions) != 1 || st.Transactions[0].Msisdn != msisdn {
				t.Errorf("transactions %+v", st.Transactions)
			}
			if p, _ := st.Pool(sb.Centili().ServiceKey, "FR_ORANGE"); p.AssignedAmount != int64(amount) {
				t.Errorf("assigned %d, want %d", p.AssignedAmount, amount)
			}
			if n := len(sb.Callbacks(sandboxtest.CallbackFilter{})); n != 0 {
				t.Errorf("%d callbacks", n)
			}
			if d := sb.Now().Sub(time.Now()); d < time.Duration(i)*time.Hour {
				t.Errorf("clock is %s ahead, want about %dh", d, i+1)
			}
		})
	}
}

// TestCredentials: the ready-made credentials work for each provider's
// first call.
func TestCredentials(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)

	netreferIngest(t, sb, netreferToken(t, sb), "/registrations",
		`[{"eventId":"e1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:00:00Z","registrationDate":"2026-11-22T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}]`)
	if c, ok := sb.NetReferState().Customer("c1"); !ok || c.CountryCode != "MT" || c.RegisteredBy != "e1" {
		t.Errorf("customer %+v", c)
	}

	c := sb.Centili()
	if status, body := call(t, sb, "GET", c.BaseURL+"/services", "", "", "Authorization", "Bearer "+centiliToken(t, sb)); status != 200 || !strings.Contains(body, c.ServiceKey) {
		t.Errorf("Centili services: %d %s", status, body)
	}
	form := url.Values{"grant_type": {"password"}, "client_id": {c.ConfidentialClientID}, "client_secret": {c.ClientSecret},
		"username": {c.Username}, "password": {c.Password}}
	if status, body := call(t, sb, "POST", c.TokenURL, "application/x-www-form-urlencoded", form.Encode()); status != 200 {
		t.Errorf("Centili confidential client: %d %s", status, body)
	}

	nf := sb.Netfinity()
	if status, body := call(t, sb, "POST", nf.BaseURL+"/sms/notification/send", "application/json", `{"msisdn":"359881234567","text":"hi"}`,
		"Accept", "application/json", "Authorization", "Bearer "+nf.Token); status != 200 {
		t.Errorf("Netfinity send: %d %s", status, body)
	}

	it := sb.InTarget()
	req, _ := http.NewRequest("GET", it.BaseURL+"/api/users?from=2020-10-10+07:00:00&to=2020-10-10+08:00:00", nil)
	req.SetBasicAuth(it.Username, it.Password)
	resp, err := sb.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(data), "id,first_name,last_name") || it.Auth != "basic" {
		t.Errorf("InTarget users: %d %.100s", resp.StatusCode, data)
	}
}

func TestExplicitNamespace(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t, sandboxtest.WithNamespace("explicit-ns"))
	if sb.Namespace() != "explicit-ns" || !strings.HasSuffix(sb.URL(), "/ns/explicit-ns") {
		t.Fatalf("namespace %q, URL %s", sb.Namespace(), sb.URL())
	}
	token := centiliToken(t, sb)
	gift(t, sb, token, "33612345678", "x", 100)
	r := sb.ExpectRequests(sandboxtest.RequestFilter{Operation: "assignData"}).Once()
	if r.Namespace != "explicit-ns" || r.Path != "/centili/datagifting/v1/service/transaction" {
		t.Errorf("entry namespace %q path %q", r.Namespace, r.Path)
	}
}

// TestModeFollowsEnvironment: SANDBOX_URL picks the mode (TestAgainstBinary
// reruns this package with it set).
func TestModeFollowsEnvironment(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	root := os.Getenv(sandboxtest.EnvURL)
	switch {
	case root == "" && (sb.Shared() || sb.Namespace() != "default" || strings.Contains(sb.URL(), "/ns/")):
		t.Errorf("in process: shared %v, namespace %q, URL %s", sb.Shared(), sb.Namespace(), sb.URL())
	case root != "" && (!sb.Shared() || sb.URL() != strings.TrimRight(root, "/")+"/ns/"+sb.Namespace() ||
		!strings.HasPrefix(sb.Namespace(), "TestModeFollowsEnvironment-")):
		t.Errorf("with %s=%s: shared %v, namespace %q, URL %s", sandboxtest.EnvURL, root, sb.Shared(), sb.Namespace(), sb.URL())
	}
}

// TestRequestsReadsEveryPage: the journal answers at most 1000 entries a
// page; Requests follows the Link header's cursor so that an assertion
// sees all of them, in the order they arrived.
func TestRequestsReadsEveryPage(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	const n = 1005
	for i := range n {
		// No token: a 401 from Netfinity, journaled like any answer.
		if status, _ := call(t, sb, "POST", sb.URL()+"/netfinity/v2/sms/notification/send", "application/json", fmt.Sprintf(`{"n":%d}`, i), "Accept", "application/json"); status != http.StatusUnauthorized {
			t.Fatalf("request %d: status %d, want 401", i, status)
		}
	}
	got := sb.Requests(sandboxtest.RequestFilter{Provider: "netfinity"})
	if len(got) != n {
		t.Fatalf("Requests returned %d entries, want %d", len(got), n)
	}
	if first, last := string(got[0].Body), string(got[n-1].Body); first != `{"n":0}` || last != fmt.Sprintf(`{"n":%d}`, n-1) {
		t.Errorf("entries run from %s to %s, want oldest first", first, last)
	}
	if page := sb.Requests(sandboxtest.RequestFilter{Provider: "netfinity", Limit: 10}); len(page) != 10 {
		t.Errorf("with Limit 10: %d entries", len(page))
	}
}
