package netrefer_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

const (
	tenant    = "0e0b50ac-5253-4347-b528-251b2f17cfc6"
	clientID  = "5a324196-7727-45fd-8ac3-1436cd541d76"
	secret    = "sandbox-netrefer-secret"
	username  = "operator@sandbox.test"
	password  = "sandbox-password"
	scope     = "api://5a324196-7727-45fd-8ac3-1436cd541d76/Events.Injestion"
	subKey    = "baea25a9f0fe4687845575c07e539a9e9"
	tokenPath = "/netrefer/login/" + tenant + "/oauth2/v2.0/token"
	// tokenV1Path is Azure AD's v1 token endpoint.
	tokenV1Path = "/netrefer/login/" + tenant + "/oauth2/token"
)

// frozen is the default scenario with a frozen clock, so timestamps and
// token lifetimes are deterministic.
const frozen = `version: 1
name: netrefer-test
seed: 7
clock: {start: "2026-11-22T10:00:00Z", frozen: true}
`

func passwordForm() url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {secret},
		"username": {username}, "password": {password}, "scope": {scope}}
}

// token gets an access token through the token endpoint.
func token(t testing.TB, h *sandboxtest.Harness, prefix string) string {
	t.Helper()
	res := h.Do("POST", prefix+tokenPath, sandboxtest.FormBody(passwordForm()))
	res.WantStatus(200)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(&tr)
	return tr.AccessToken
}

// ingest posts a body to an ingestion endpoint with valid credentials.
func ingest(h *sandboxtest.Harness, tok, path string, body any) *sandboxtest.Response {
	return h.Do("POST", "/netrefer/di/v1/"+path, sandboxtest.JSONBody(body),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tok))
}

type ingestResult struct {
	Received int `json:"received"`
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	Results  []struct {
		Index         int    `json:"index"`
		EventID       string `json:"eventId"`
		Status        string `json:"status"`
		InterpretedAs string `json:"interpretedAs"`
		Errors        []struct {
			Code    string `json:"code"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"results"`
}

// codes lists "code field" of each rejected result, "" for accepted ones.
func (r ingestResult) codes() []string {
	out := make([]string, len(r.Results))
	for i, res := range r.Results {
		for j, e := range res.Errors {
			if j > 0 {
				out[i] += "; "
			}
			out[i] += e.Code + " " + e.Field
		}
	}
	return out
}

type snapshot struct {
	Clients []struct {
		ClientID        string `json:"clientId"`
		ProcessedEvents int    `json:"processedEvents"`
		Customers       []struct {
			CustomerID  string          `json:"customerId"`
			Status      string          `json:"status"`
			CountryCode string          `json:"countryCode"`
			Totals      json.RawMessage `json:"totals"`
		} `json:"customers"`
		Transactions []struct {
			TransactionID string          `json:"transactionId"`
			Type          string          `json:"type"`
			Reversed      bool            `json:"reversed"`
			Amount        json.Number     `json:"amount"`
			Method        json.RawMessage `json:"method"`
			History       []struct {
				EventID string `json:"eventId"`
				Type    string `json:"type"`
			} `json:"history"`
		} `json:"transactions"`
	} `json:"clients"`
}

func state(t testing.TB, h *sandboxtest.Harness, ns string) snapshot {
	t.Helper()
	var s snapshot
	if st := h.Admin("GET", ns, "/state/netrefer", nil, &s); st != 200 {
		t.Fatalf("state: status %d", st)
	}
	return s
}

func reg(id, cust string) map[string]any {
	return map[string]any{"eventId": id, "customerId": cust, "brandId": 1, "timestamp": "2026-11-22T09:00:00Z",
		"registrationDate": "2026-11-22T09:00:00Z", "countryCode": "MT", "currency": "EUR", "bTag": "a_1b_2"}
}

func dep(id, cust, tx string, amount any) map[string]any {
	return map[string]any{"eventId": id, "customerId": cust, "brandId": 1, "timestamp": "2026-11-22T09:10:00Z",
		"transactionId": tx, "amount": amount, "currency": "EUR", "depositMethod": "Skrill"}
}

func act(id, cust, tx string, turnover, ggr, bonus any) map[string]any {
	return map[string]any{"eventId": id, "customerId": cust, "brandId": 1, "timestamp": "2026-11-22T09:20:00Z",
		"transactionId": tx, "productId": 1, "turnover": turnover, "grossRevenue": ggr, "bonus": bonus,
		"currency": "EUR", "activityDate": "2026-11-22T09:15:00Z"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

var _ = fmt.Sprint

// twoClients is a netrefer section with the default client (keys: its own
// subscription key plus extraKeys) and the client otherClient (key
// "otherkey", brand 1); head holds other section lines such as rateLimit.
func twoClients(head, extraKeys string) string {
	return "netrefer:\n" + head + `  clients:
    - clientId: ` + clientID + `
      clientSecret: ` + secret + `
      users: [{username: ` + username + `, password: ` + password + `}]
      subscriptionKeys: [` + subKey + extraKeys + `]
      brands: [1, 2]
    - clientId: ` + otherClient + `
      clientSecret: other-secret
      users: [{username: other@sandbox.test, password: other-password}]
      subscriptionKeys: [otherkey]
      brands: [1]
`
}

// otherToken gets an access token for otherClient.
func otherToken(t testing.TB, h *sandboxtest.Harness) string {
	t.Helper()
	f := url.Values{"grant_type": {"password"}, "client_id": {otherClient}, "client_secret": {"other-secret"},
		"username": {"other@sandbox.test"}, "password": {"other-password"}, "scope": {"api://" + otherClient + "/Events.Injestion"}}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	h.Do("POST", tokenPath, sandboxtest.FormBody(f)).WantStatus(200).JSON(&tr)
	return tr.AccessToken
}
