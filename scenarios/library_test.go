package scenarios_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// These tests hold each shipped scenario to what its header comment
// promises, through the same requests a client would send.

const (
	nrTenant = "0e0b50ac-5253-4347-b528-251b2f17cfc6"
	nrClient = "5a324196-7727-45fd-8ac3-1436cd541d76"
	nrKey    = "baea25a9f0fe4687845575c07e539a9e9"
	service  = "3586a2363bcd51a2b3c4d5f34918263a"
)

func netreferToken(t *testing.T, h *sandboxtest.Harness) string {
	t.Helper()
	res := h.Do("POST", "/netrefer/login/"+nrTenant+"/oauth2/v2.0/token", sandboxtest.FormBody(url.Values{
		"grant_type": {"password"}, "client_id": {nrClient}, "client_secret": {"sandbox-netrefer-secret"},
		"username": {"operator@sandbox.test"}, "password": {"sandbox-password"},
		"scope": {"api://" + nrClient + "/Events.Injestion"},
	})).WantStatus(200)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	res.JSON(&tok)
	return tok.AccessToken
}

func ingest(h *sandboxtest.Harness, token, path, events string) *sandboxtest.Response {
	return h.Do("POST", "/netrefer/di/v1/"+path, sandboxtest.JSONBody(events),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", nrKey), sandboxtest.Bearer(token))
}

func centiliToken(t *testing.T, h *sandboxtest.Harness) string {
	t.Helper()
	res := h.Do("POST", "/centili/realms/api/protocol/openid-connect/token", sandboxtest.FormBody(url.Values{
		"grant_type": {"password"}, "client_id": {"datagifting"},
		"username": {"merchant@sandbox.test"}, "password": {"sandbox-password"},
	})).WantStatus(200)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(&tok)
	return tok.AccessToken
}

func gift(h *sandboxtest.Harness, token, msisdn, clientID string, amount int) *sandboxtest.Response {
	return h.Do("POST", "/centili/datagifting/v1/service/transaction",
		sandboxtest.JSONBody(fmt.Sprintf(`{"serviceKey":%q,"msisdn":%q,"clientId":%q,"amount":%d}`, service, msisdn, clientID, amount)),
		sandboxtest.Header("token", token))
}

func sms(h *sandboxtest.Harness, msisdn, text string) *sandboxtest.Response {
	return h.Do("POST", "/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(fmt.Sprintf(`{"msisdn":%q,"text":%q}`, msisdn, text)),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer("sandbox-netfinity-token"))
}

func pull(h *sandboxtest.Harness) *sandboxtest.Response {
	return h.Do("GET", "/intarget/api/users?from=2026-11-22+09:00:00&to=2026-11-22+10:00:00", nil,
		sandboxtest.Header("Authorization", "Basic aW50YXJnZXQ6c2FuZGJveC1wYXNzd29yZA==")) // intarget:sandbox-password
}

// messageStatuses returns the final status of each Netfinity message by msisdn.
func messageStatuses(t *testing.T, h *sandboxtest.Harness) map[string]int {
	t.Helper()
	var st struct {
		Messages []struct {
			Msisdn string `json:"msisdn"`
			Status struct {
				Code int `json:"code"`
			} `json:"status"`
		} `json:"messages"`
	}
	h.Admin("GET", "", "/state/netfinity", nil, &st)
	out := map[string]int{}
	for _, m := range st.Messages {
		out[m.Msisdn] = m.Status.Code
	}
	return out
}

func TestOutageScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewFromFile(t, "outage.yaml")
	// Logging in works during the first minute; the APIs are already down.
	nr := netreferToken(t, h)
	ct := centiliToken(t, h)
	ingest(h, nr, "registrations", `[]`).WantStatus(503).WantJSON(`{"statusCode":503,"message":"Service Unavailable"}`)
	gift(h, ct, "4366124567", "o-1", 100).WantStatus(503)
	sms(h, "359881234567", "hello").WantStatus(503)
	pull(h).WantStatus(503)
	h.Admin("POST", "", "/clock", map[string]string{"advance": "5m"}, nil)
	sms(h, "359881234567", "hello").WantStatus(200)
	pull(h).WantStatus(200)
	// Back at 10:05. Centili's 300 s token ran out during the outage; a
	// fresh login works again.
	gift(h, ct, "4366124567", "o-1", 100).WantStatus(401)
	gift(h, centiliToken(t, h), "4366124567", "o-1", 100).WantStatus(200)
	reg := `{"eventId":"r1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:00:00Z","registrationDate":"2026-11-22T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}`
	ingest(h, nr, "registrations", reg).WantStatus(200)
}

func TestTokenExpiryScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewFromFile(t, "token-expiry.yaml")
	nr := netreferToken(t, h)
	ct := centiliToken(t, h)
	reg := func(id string) string {
		return `{"eventId":"` + id + `","customerId":"c-` + id + `","brandId":1,"timestamp":"2026-11-22T10:00:00Z","registrationDate":"2026-11-22T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}`
	}
	ingest(h, nr, "registrations", reg("a")).WantStatus(200)
	gift(h, ct, "4366124567", "t-1", 100).WantStatus(200)
	h.Admin("POST", "", "/clock", map[string]string{"advance": "31s"}, nil)
	gift(h, ct, "4366124567", "t-2", 100).WantStatus(401) // Centili: 30 s
	ingest(h, nr, "registrations", reg("b")).WantStatus(200)
	h.Admin("POST", "", "/clock", map[string]string{"advance": "30s"}, nil)
	ingest(h, nr, "registrations", reg("c")).WantStatus(401) // NetRefer: 60 s
}

func TestThrottlingScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewFromFile(t, "throttling.yaml")
	nr := netreferToken(t, h)
	for i := 0; i < 5; i++ {
		ingest(h, nr, "registrations", `[]`) // answers are the ingestion's own; only the count matters
	}
	res := ingest(h, nr, "registrations", `[]`).WantStatus(429)
	if res.Header.Get("Retry-After") == "" {
		t.Error("NetRefer 429 without Retry-After")
	}
	ct := centiliToken(t, h)
	for i := 0; i < 10; i++ {
		gift(h, ct, "4366124567", fmt.Sprintf("th-%d", i), 100).WantStatus(200)
	}
	res = gift(h, ct, "4366124567", "th-10", 100).WantStatus(429)
	if res.Header.Get("Retry-After") != "60" {
		t.Errorf("Centili throttle Retry-After = %q", res.Header.Get("Retry-After"))
	}
	for i := 0; i < 5; i++ {
		sms(h, "359881234567", fmt.Sprintf("message %d", i)).WantStatus(200)
	}
	sms(h, "359881234567", "one too many").WantStatus(429).WantJSON(`{"message":"Too Many Attempts."}`)
	for i := 0; i < 30; i++ {
		pull(h).WantStatus(200)
	}
	pull(h).WantStatus(429)
}

func TestPartialFailuresScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewFromFile(t, "partial-failures.yaml")
	nr := netreferToken(t, h)
	batch := `[
	 {"eventId":"p1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:00:00Z","registrationDate":"2026-11-22T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""},
	 {"eventId":"p2","customerId":"c2","brandId":2,"timestamp":"2026-11-22T10:00:00Z","registrationDate":"2026-11-22T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}]`
	var out struct {
		Accepted int `json:"accepted"`
		Rejected int `json:"rejected"`
	}
	ingest(h, nr, "registrations", batch).WantStatus(207).JSON(&out)
	if out.Accepted != 1 || out.Rejected != 1 {
		t.Errorf("207 counts: %+v", out)
	}
	ct := centiliToken(t, h)
	gift(h, ct, "33612345678", "pf-1", 100).WantStatus(502) // centili-gift-retry, twice
	gift(h, ct, "33612345678", "pf-1", 100).WantStatus(502)
	gift(h, ct, "33612345678", "pf-1", 100).WantStatus(200)
	gift(h, ct, "33700000000", "pf-2", 100).WantStatus(200)
	gift(h, ct, "33700000000", "pf-3", 100).WantStatus(200)
	var e struct {
		ErrorType string `json:"errorType"`
	}
	gift(h, ct, "33700000000", "pf-4", 100).WantStatus(422).JSON(&e)
	if e.ErrorType != "INSUFFICIENT_BALANCE" {
		t.Errorf("after 300 MB: %s", e.ErrorType)
	}
	for _, n := range []string{"359881234567", "359891234567", "359871234567"} {
		sms(h, n, "hello "+n).WantStatus(200)
	}
	h.Admin("POST", "", "/clock", map[string]string{"advance": "1m"}, nil)
	want := map[string]int{"359881234567": 204, "359891234567": 503, "359871234567": 502}
	if got := messageStatuses(t, h); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("final statuses %v, want %v", got, want)
	}
}

func TestCallbackFailuresScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewFromFile(t, "callback-failures.yaml")
	sms(h, "359881234567", "ping").WantStatus(200)
	h.Admin("POST", "", "/clock", map[string]string{"advance": "1m"}, nil)
	type delivery struct {
		State    string `json:"state"`
		Attempts []struct {
			At    string `json:"at"`
			Error string `json:"error"`
		} `json:"attempts"`
	}
	// The first status is due at +1s; its attempts run on real sockets, so
	// give them a moment after the clock jump.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ds []delivery
		h.Admin("GET", "", "/callbacks", nil, &ds)
		if len(ds) > 0 && ds[0].State == "failed" {
			d := ds[0]
			if len(d.Attempts) != 4 {
				t.Fatalf("failed after %d attempts, want 4 (1 + 3 retries): %+v", len(d.Attempts), d)
			}
			if d.Attempts[0].At != "2026-11-22T10:00:01Z" || d.Attempts[1].At != "2026-11-22T10:00:04Z" || d.Attempts[3].At != "2026-11-22T10:00:10Z" {
				t.Errorf("attempt schedule %+v, want every 3 s from 10:00:01", d.Attempts)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed delivery: %+v", ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
