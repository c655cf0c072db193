package sandboxtest_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// netreferIngest sends one batch to a NetRefer ingestion endpoint and
// fails unless every event is accepted.
func netreferIngest(t *testing.T, sb *sandboxtest.Sandbox, token, endpoint, batch string) {
	t.Helper()
	nr := sb.NetRefer()
	status, body := call(t, sb, "POST", nr.BaseURL+endpoint, "application/json", batch,
		"Authorization", "Bearer "+token, "Ocp-Apim-Subscription-Key", nr.SubscriptionKey)
	if status != 200 || strings.Contains(body, `"Rejected"`) {
		t.Fatalf("%s: %d %s", endpoint, status, body)
	}
}

func netreferToken(t *testing.T, sb *sandboxtest.Sandbox) string {
	t.Helper()
	nr := sb.NetRefer()
	form := url.Values{"grant_type": {"password"}, "client_id": {nr.ClientID}, "client_secret": {nr.ClientSecret},
		"username": {nr.Username}, "password": {nr.Password}, "scope": {nr.Scope}}
	status, body := call(t, sb, "POST", nr.TokenURL, "application/x-www-form-urlencoded", form.Encode())
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &tok) != nil {
		t.Fatalf("NetRefer token: %d %s", status, body)
	}
	return tok.AccessToken
}

// TestStateTypesMatchProviders holds the state types to what each
// provider's GET /__sandbox/state/{provider} answers after realistic
// traffic: decoding with DisallowUnknownFields fails on a field the types
// lack, and encoding the types again must give the same document (so a
// field the provider dropped or renamed fails too). The admin API's schema
// for state is {}, so this test is where drift shows.
func TestStateTypesMatchProviders(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t, sandboxtest.WithClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))

	// Centili: a completed gift, a failed one, a refreshed session.
	token := centiliToken(t, sb)
	gift(t, sb, token, "33612345678", "ok", 100)
	gift(t, sb, token, "33612345678", "too-big", 999999)

	// NetRefer: a customer with every kind of transaction.
	nt := netreferToken(t, sb)
	netreferIngest(t, sb, nt, "/registrations", `[{"eventId":"r1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:00:00Z","registrationDate":"2026-11-22T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":"aff-1","username":"bob"}]`)
	netreferIngest(t, sb, nt, "/customers", `[{"eventId":"u1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:01:00Z","status":"Inactive"}]`)
	netreferIngest(t, sb, nt, "/deposits", `[{"eventId":"d1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:02:00Z","transactionId":"t1","amount":10.5,"fee":0.5,"currency":"EUR","depositMethod":"Card"}]`)
	netreferIngest(t, sb, nt, "/withdrawals", `[{"eventId":"w1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:03:00Z","transactionId":"t2","amount":2,"currency":"EUR","withdrawalMethod":"Card"}]`)
	netreferIngest(t, sb, nt, "/activities", `[{"eventId":"a1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:04:00Z","transactionId":"t3","productId":1,"turnover":5,"grossRevenue":1,"bonus":0,"currency":"EUR","activityDate":"2026-11-22T00:00:00Z"}]`)
	netreferIngest(t, sb, nt, "/corrections", `[{"eventId":"k1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:05:00Z","originalTransactionId":"t3","turnover":6,"grossRevenue":2,"bonus":1}]`)
	netreferIngest(t, sb, nt, "/adjustments", `[{"eventId":"j1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T10:06:00Z","originalTransactionId":"t1","adjustmentType":"Chargeback"}]`)

	// Netfinity: a delivered message, a delayed one (a voucher), an open
	// rate-limit window.
	nf := sb.Netfinity()
	for _, msisdn := range []string{"359881234567", "359880000301"} {
		if status, body := call(t, sb, "POST", nf.BaseURL+"/sms/notification/send", "application/json", `{"msisdn":"`+msisdn+`","text":"hi","id":"m`+msisdn+`"}`,
			"Accept", "application/json", "Authorization", "Bearer "+nf.Token); status != 200 {
			t.Fatalf("Netfinity send: %d %s", status, body)
		}
	}
	sb.Advance(40 * time.Second)

	for _, tc := range []struct {
		provider string
		typed    any
	}{
		{"centili", &sandboxtest.CentiliState{}},
		{"netrefer", &sandboxtest.NetReferState{}},
		{"netfinity", &sandboxtest.NetfinityState{}},
		{"intarget", &sandboxtest.InTargetState{}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			var raw json.RawMessage
			sb.State(tc.provider, &raw)
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.typed); err != nil {
				t.Fatalf("the provider's state has a field sandboxtest.%T lacks: %v\n%s", tc.typed, err, raw)
			}
			again, err := json.Marshal(tc.typed)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("sandboxtest.%T does not carry the whole state\nprovider: %s\n   typed: %s", tc.typed, raw, again)
			}
		})
	}

	// The fields the traffic should have filled are filled (so the round
	// trip above compared something).
	st := sb.NetReferState()
	c, _ := st.Customer("c1")
	if c.Totals.Deposits != "0" || c.Totals.Chargebacks != 1 || c.Totals.Turnover != "6" || len(st.Clients[0].Transactions) != 3 {
		t.Errorf("NetRefer customer %+v, %d transactions", c, len(st.Clients[0].Transactions))
	}
	msgs := sb.NetfinityState()
	if len(msgs.Messages) != 2 || msgs.Messages[1].History[0].Meta == nil || len(msgs.RateLimits) != 1 {
		t.Errorf("Netfinity state %+v", msgs)
	}
	if cs := sb.CentiliState(); len(cs.Transactions) != 2 || cs.Transactions[1].ErrorType == nil || len(cs.Sessions) != 1 {
		t.Errorf("Centili state %+v", cs)
	}
	if it := sb.InTargetState(); it.Auth != "basic" || it.WorldStart.IsZero() {
		t.Errorf("InTarget state %+v", it)
	}
}
