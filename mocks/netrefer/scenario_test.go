package netrefer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestDefaultScenarioCredentials uses the embedded default scenario as a
// newcomer would: the documented credentials work, the magic inactive key
// shows the invalid-key 401.
func TestDefaultScenarioCredentials(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	tok := token(t, h, "")
	ev := with(reg("d1", "c1"), "timestamp", "2020-01-01T00:00:00Z", "registrationDate", "2020-01-01T00:00:00Z")
	ingest(h, tok, "registrations", ev).WantStatus(200)
	h.Do("POST", "/netrefer/di/v1/registrations", sandboxtest.JSONBody(ev),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", "00000000000000000000000000000000"), sandboxtest.Bearer(tok)).
		WantStatus(401).
		WantJSON(`{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`)
	var sc struct {
		NetRefer struct {
			Clients []struct {
				ClientID         string   `json:"clientId"`
				SubscriptionKeys []string `json:"subscriptionKeys"`
				Brands           []int    `json:"brands"`
			} `json:"clients"`
			Token struct {
				Format          string `json:"format"`
				LifetimeSeconds int    `json:"lifetimeSeconds"`
			} `json:"token"`
		} `json:"netrefer"`
	}
	h.Admin("GET", "", "/scenario", nil, &sc)
	nr := sc.NetRefer
	if len(nr.Clients) != 1 || nr.Clients[0].ClientID != clientID || nr.Clients[0].SubscriptionKeys[0] != subKey ||
		len(nr.Clients[0].Brands) != 2 || nr.Token.Format != "v1" || nr.Token.LifetimeSeconds != 3599 {
		t.Fatalf("scenario JSON netrefer section: %+v", nr)
	}
}

func TestScenarioValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, section string
		want          []string
	}{
		{"bad ids", `
  tenants: [not-a-guid]
  clients:
    - {clientId: x, clientSecret: "", tenant: 0e0b50ac-5253-4347-b528-251b2f17cfc6, brands: []}`,
			[]string{"netrefer.tenants[0]", "netrefer.clients[0].clientId", "netrefer.clients[0].clientSecret", "netrefer.clients[0].tenant", "netrefer.clients[0].brands"}},
		{"knobs", `
  token: {format: v3, issuer: azure, lifetimeSeconds: 0}
  limits: {maxPayloadBytes: 0, maxEvents: -1}
  rateLimit: {calls: 5}`,
			[]string{"netrefer.token.format", "netrefer.token.issuer", "netrefer.token.lifetimeSeconds", "netrefer.limits.maxPayloadBytes", "netrefer.limits.maxEvents", "netrefer.rateLimit.renewalPeriodSeconds"}},
		{"unknown key", `
  tokens: {format: v2}`, []string{"netrefer.tokens"}},
		{"duplicate key", `
  clients:
    - {clientId: 5a324196-7727-45fd-8ac3-1436cd541d76, clientSecret: s, subscriptionKeys: [k], inactiveSubscriptionKeys: [k], brands: [1]}`,
			[]string{"netrefer.clients[0].subscriptionKeys"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := sandbox.LoadScenario("t.yaml", []byte("version: 1\nname: t\nnetrefer:"+tc.section+"\n"))
			got := mustJSON(t, probs)
			for _, w := range tc.want {
				if !strings.Contains(got, `"path":"`+w) {
					t.Errorf("no problem at %s in %s", w, got)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
