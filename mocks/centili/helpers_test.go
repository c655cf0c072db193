package centili_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
)

// frozenScenario has no centili section, so the provider's defaults (which
// are the default scenario's values) apply, under a frozen clock.
const frozenScenario = `version: 1
name: centili-test
seed: 7
clock:
  start: "2026-03-01T10:00:00Z"
  frozen: true
`

// frozenStart is frozenScenario's clock reading.
var frozenStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

const (
	serviceKey   = "3586a2363bcd51a2b3c4d5f34918263a"
	inactiveKey  = "7c1e0f3a9b2d4e5f8a6b7c8d9e0f1a2b"
	otherKey     = "d41d8cd98f00b204e9800998ecf8427e"
	merchantUser = "merchant@sandbox.test"
	otherUser    = "other-merchant@sandbox.test"
	password     = "sandbox-password"
	confClient   = "datagifting-confidential"
	confSecret   = "sandbox-centili-secret"
	publicClient = "datagifting"
	tokenPath    = "/realms/api/protocol/openid-connect/token"
	legacyPath   = "/auth/realms/api/protocol/openid-connect/token"
	txPath       = "/datagifting/v1/service/transaction"
)

// tokenResponse is Keycloak's token answer.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	IDToken          string `json:"id_token"`
	NotBeforePolicy  *int64 `json:"not-before-policy"`
	SessionState     string `json:"session_state"`
	Scope            string `json:"scope"`
}

// transaction is Centili's transaction object.
type transaction struct {
	TransactionID string  `json:"transactionId"`
	ServiceKey    string  `json:"serviceKey"`
	Msisdn        string  `json:"msisdn"`
	ClientID      string  `json:"clientId"`
	Amount        int64   `json:"amount"`
	Operator      *string `json:"operator"`
	Status        string  `json:"status"`
	ErrorType     *string `json:"errorType"`
	ErrorMessage  *string `json:"errorMessage"`
	TimeCreated   string  `json:"timeCreated"`
}

type apiError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

type pool struct {
	Operator       string `json:"operator"`
	TotalAmount    int64  `json:"totalAmount"`
	AssignedAmount int64  `json:"assignedAmount"`
	Balance        int64  `json:"balance"`
	ExpirationDate string `json:"expirationDate"`
	Expired        bool   `json:"expired"`
}

// stateView is GET /__sandbox/state/centili.
type stateView struct {
	Now      string `json:"now"`
	Services []struct {
		ServiceKey string `json:"serviceKey"`
		Pools      []pool `json:"pools"`
	} `json:"services"`
	Transactions []transaction `json:"transactions"`
	Sessions     []struct {
		SessionID string `json:"sessionId"`
		ClientID  string `json:"clientId"`
		Username  string `json:"username"`
		Refreshes int    `json:"refreshes"`
		// RefreshTokenUses counts uses of the current refresh token
		// (only with revokeRefreshToken).
		RefreshTokenUses int `json:"refreshTokenUses"`
		// ClientDetached: a refused reuse detached the client.
		ClientDetached bool `json:"clientDetached"`
	} `json:"sessions"`
}

func passwordForm(client, user, pass string) url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {client}, "username": {user}, "password": {pass}}
}

// login gets tokens for a user through the public client; base is the
// mount ("/centili" or "/ns/x/centili").
func login(t testing.TB, h *sandboxtest.Harness, base, user string) tokenResponse {
	t.Helper()
	res := h.Do("POST", base+tokenPath, sandboxtest.FormBody(passwordForm(publicClient, user, password)))
	res.WantStatus(200)
	var tr tokenResponse
	res.JSON(&tr)
	return tr
}

// openidLogin is login asking for the openid scope, which userinfo requires.
func openidLogin(t testing.TB, h *sandboxtest.Harness, base, user string) tokenResponse {
	t.Helper()
	v := passwordForm(publicClient, user, password)
	v.Set("scope", "openid")
	var tr tokenResponse
	h.Do("POST", base+tokenPath, sandboxtest.FormBody(v)).WantStatus(200).JSON(&tr)
	return tr
}

func refresh(h *sandboxtest.Harness, base, client, rt string) *sandboxtest.Response {
	return h.Do("POST", base+tokenPath, sandboxtest.FormBody(url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {rt}}))
}

// claims decodes a JWT's payload without verifying it.
func claims(t testing.TB, jwt string) map[string]any { return jwtPart(t, jwt, 1) }

// header decodes a JWT's header.
func header(t testing.TB, jwt string) map[string]any { return jwtPart(t, jwt, 0) }

func jwtPart(t testing.TB, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("JWT part %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("JWT part %d: %v", i, err)
	}
	return m
}

func advance(t testing.TB, h *sandboxtest.Harness, ns, d string) {
	t.Helper()
	if st := h.Admin("POST", ns, "/clock", map[string]any{"advance": d}, nil); st != 200 {
		t.Fatalf("advancing the clock: status %d", st)
	}
}

func state(t testing.TB, h *sandboxtest.Harness, ns string) stateView {
	t.Helper()
	var s stateView
	if st := h.Admin("GET", ns, "/state/centili", nil, &s); st != 200 {
		t.Fatalf("state: status %d", st)
	}
	return s
}

func txBody(key, msisdn, clientID string, amount int64) *sandboxtest.Body {
	return sandboxtest.JSONBody(map[string]any{"serviceKey": key, "msisdn": msisdn, "clientId": clientID, "amount": amount})
}

func poolOf(t testing.TB, s stateView, key, operator string) pool {
	t.Helper()
	for _, sv := range s.Services {
		if sv.ServiceKey != key {
			continue
		}
		for _, p := range sv.Pools {
			if p.Operator == operator {
				return p
			}
		}
	}
	t.Fatalf("no %s pool for %s in state", operator, key)
	return pool{}
}
