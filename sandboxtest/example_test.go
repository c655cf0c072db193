package sandboxtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// exampleT stands in the examples for the *testing.T of a test: an Example
// function has none, and New takes a testing.TB. In your tests, pass t.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func newExampleT() *exampleT { return &exampleT{} }

func (t *exampleT) Helper()                           {}
func (t *exampleT) Name() string                      { return "Example" }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf("FAIL: "+format+"\n", args...) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// done runs the cleanups, as the end of a test does.
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// post sends a JSON body with the sandbox's checking client.
func post(sb *sandboxtest.Sandbox, url, body string, header ...string) *http.Response {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := sb.HTTPClient().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	return resp
}

// A Netfinity send against a sandbox of the test's own, and what Netfinity
// stored.
func ExampleNew() {
	t := newExampleT() // in a test: the *testing.T
	defer t.done()

	sb := sandboxtest.New(t)
	nf := sb.Netfinity()
	resp := post(sb, nf.BaseURL+"/sms/notification/send", `{"msisdn":"359881234567","text":"Your code is 1234"}`,
		"Accept", "application/json", "Authorization", "Bearer "+nf.Token)
	fmt.Println(resp.Status)

	msg := sb.NetfinityState().Messages[0]
	fmt.Println(msg.Msisdn, msg.Network, msg.Text)
	// Output:
	// 200 OK
	// 359881234567 A1 Your code is 1234
}

// centiliGift runs Keycloak's password grant and one Data Gifting
// assignment, as the code under test would.
func centiliGift(sb *sandboxtest.Sandbox, msisdn string, amount int) *http.Response {
	c := sb.Centili()
	form := url.Values{"grant_type": {"password"}, "client_id": {c.ClientID}, "username": {c.Username}, "password": {c.Password}}
	resp, err := sb.HTTPClient().PostForm(c.TokenURL, form)
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	return post(sb, c.BaseURL+"/service/transaction",
		fmt.Sprintf(`{"serviceKey":%q,"msisdn":%q,"amount":%d,"clientId":"order-%s"}`, c.ServiceKey, msisdn, amount, msisdn),
		"Authorization", "Bearer "+tok.AccessToken)
}

// "Exactly one assignData with msisdn 33612345678", and the pool it drew
// from.
func ExampleSandbox_ExpectRequests() {
	t := newExampleT()
	defer t.done()
	sb := sandboxtest.New(t)
	centiliGift(sb, "33612345678", 500)

	req := sb.ExpectRequests(sandboxtest.RequestFilter{
		Provider: "centili", Operation: "assignData",
		BodyFields: map[string]string{"msisdn": "33612345678"},
	}).Once()
	fmt.Println(req.Method, req.Path, req.Response.Status)

	pool, _ := sb.CentiliState().Pool(sb.Centili().ServiceKey, "FR_ORANGE")
	fmt.Println(pool.AssignedAmount, pool.Balance)
	// Output:
	// POST /centili/datagifting/v1/service/transaction 200
	// 500 99500
}

// A fault rule: Centili's assignData answers 503 once, then recovers.
func ExampleSandbox_AddFault() {
	t := newExampleT()
	defer t.done()
	sb := sandboxtest.New(t)
	sb.AddFault(sandboxtest.Fault{
		Match:   sandboxtest.FaultMatch{Provider: "centili", Operation: "assignData"},
		Respond: &sandboxtest.FaultResponse{Status: 503},
		Times:   1,
	})
	fmt.Println(centiliGift(sb, "33612345678", 100).StatusCode)
	fmt.Println(centiliGift(sb, "33612345678", 100).StatusCode)
	// Output:
	// 503
	// 200
}

// The sandbox clock: a Centili token lives 300 s of sandbox time.
func ExampleSandbox_Advance() {
	t := newExampleT()
	defer t.done()
	sb := sandboxtest.New(t, sandboxtest.WithClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)))
	c := sb.Centili()
	form := url.Values{"grant_type": {"password"}, "client_id": {c.ClientID}, "username": {c.Username}, "password": {c.Password}}
	resp, _ := sb.HTTPClient().PostForm(c.TokenURL, form)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	balance := func() int {
		req, _ := http.NewRequest("GET", c.BaseURL+"/services/balance?serviceKey="+c.ServiceKey+"&operator=AT_A1", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, _ := sb.HTTPClient().Do(req)
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(sb.Now().Format(time.RFC3339), balance())
	sb.Advance(301 * time.Second)
	fmt.Println(sb.Now().Format(time.RFC3339), balance())
	// Output:
	// 2026-03-01T10:00:00Z 200
	// 2026-03-01T10:05:01Z 401
}

// Netfinity's pingbacks reach a receiver of the test's own; the test waits
// until every one is settled.
func ExampleSandbox_WaitCallbacksSettled() {
	t := newExampleT()
	defer t.done()
	sb := sandboxtest.New(t, sandboxtest.WithClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)))

	// The app's pingback endpoint: 200 with the body it got (holding the
	// message's uuid) tells Netfinity the pingback arrived.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	}))
	defer app.Close()

	nf := sb.Netfinity()
	req, _ := http.NewRequest("PATCH", sb.URL()+"/__sandbox/netfinity/tokens/"+nf.Token,
		strings.NewReader(`{"callbackUrl":"`+app.URL+`/pingback"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, _ := sb.HTTPClient().Do(req)
	resp.Body.Close()

	post(sb, nf.BaseURL+"/sms/notification/send", `{"msisdn":"359881234567","text":"Your code is 1234","id":"welcome1"}`,
		"Accept", "application/json", "Authorization", "Bearer "+nf.Token)
	sb.Advance(time.Minute) // the message's statuses follow sandbox time
	for _, cb := range sb.WaitCallbacksSettled(10 * time.Second) {
		var pingback struct {
			Payload struct {
				Status struct {
					Code        int    `json:"code"`
					Description string `json:"description"`
				} `json:"status"`
			} `json:"payload"`
		}
		_ = json.Unmarshal(cb.Body, &pingback)
		fmt.Println(cb.State, cb.Attempts[0].Status, pingback.Payload.Status.Code, pingback.Payload.Status.Description)
	}
	// Output:
	// delivered 200 201 Queued
	// delivered 200 202 Delivery queued in remote network
	// delivered 200 203 Delivered to SMSC
	// delivered 200 204 Delivered to end user
}
