package netrefer_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

func newKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

const otherClient = "6b435207-8838-46fe-9bd4-2547de652e87"

func TestGatewayChecks(t *testing.T) {
	t.Parallel()
	keyPEM := newKeyPEM(t)
	h := sandboxtest.New(t, frozen+"keys:\n  signingKeyPEM: |\n"+indent(keyPEM)+`
netrefer:
  clients:
    - clientId: `+clientID+`
      clientSecret: `+secret+`
      users: [{username: `+username+`, password: `+password+`}]
      subscriptionKeys: [`+subKey+`]
      inactiveSubscriptionKeys: [suspendedkey]
      brands: [1, 2]
    - clientId: `+otherClient+`
      clientSecret: other-secret
      users: [{username: other@sandbox.test, password: other-password}]
      subscriptionKeys: [otherkey]
      brands: [7]
`)
	signer, err := tokens.New(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tokens.New(newKeyPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).Unix()
	claims := func(kv ...any) map[string]any {
		c := map[string]any{"aud": "api://" + clientID, "iss": h.URL + "/netrefer/login/" + tenant + "/", "iat": now, "nbf": now,
			"exp": now + 3599, "scp": "Events.Injestion", "tid": tenant, "appid": clientID, "ver": "1.0"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	sign := func(iss *tokens.Issuer, c map[string]any) string {
		s, err := iss.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(signer, claims())
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
	body := sandboxtest.JSONBody([]any{reg("g1", "c1")})
	const (
		missingKey = `{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`
		invalidKey = `{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`
		badToken   = `{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}`
		notFound   = `{"statusCode":404,"message":"Resource not found"}`
		accepted   = `{"received":1,"accepted":1,"rejected":0,"results":[{"index":0,"eventId":"g1","status":"Accepted"}]}`
		duplicate  = `{"received":1,"accepted":0,"rejected":1,"results":[{"index":0,"eventId":"g1","status":"Rejected",` +
			`"errors":[{"code":"DI-1005","field":"eventId","message":"eventId 'g1' was already processed."}]}]}`
	)
	key := func(k string) sandboxtest.Option { return sandboxtest.Header("Ocp-Apim-Subscription-Key", k) }
	tests := []struct {
		name    string
		method  string
		path    string
		opts    []sandboxtest.Option
		status  int
		want    string
		wwwAuth bool
	}{
		{"unknown operation", "POST", "/netrefer/di/v1/bets", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(good)}, 404, notFound, false},
		{"wrong method", "GET", "/netrefer/di/v1/deposits", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(good)}, 404, notFound, false},
		{"missing key", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{sandboxtest.Bearer(good)}, 401, missingKey, true},
		{"unknown key", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key("nope"), sandboxtest.Bearer(good)}, 401, invalidKey, true},
		{"inactive key", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key("suspendedkey"), sandboxtest.Bearer(good)}, 401, invalidKey, true},
		{"key checked before token", "POST", "/netrefer/di/v1/registrations", nil, 401, missingKey, true},
		{"missing token", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey)}, 401, badToken, false},
		{"basic instead of bearer", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Header("Authorization", "Basic eDp5")}, 401, badToken, false},
		{"malformed token", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer("not.a.jwt")}, 401, badToken, false},
		{"tampered payload", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(tampered)}, 401, badToken, false},
		{"signed by another key", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(stranger, claims()))}, 401, badToken, false},
		{"expired", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("exp", now)))}, 401, badToken, false},
		{"no exp", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("exp", nil)))}, 401, badToken, false},
		{"not yet valid", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("nbf", now+60)))}, 401, badToken, false},
		{"wrong audience", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("aud", "api://"+otherClient)))}, 401, badToken, false},
		{"wrong issuer", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("iss", "https://evil.example/"+tenant+"/")))}, 401, badToken, false},
		{"issuer of another namespace", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("iss", h.URL+"/ns/x/netrefer/login/"+tenant+"/")))}, 401, badToken, false},
		{"issuer not a URL", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("iss", "/netrefer/login/"+tenant+"/")))}, 401, badToken, false},
		{"wrong tenant", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("tid", otherClient)))}, 401, badToken, false},
		{"wrong scope", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("scp", "Reports.Read")))}, 401, badToken, false},
		{"token of another client", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(sign(signer, claims("appid", otherClient)))}, 401, badToken, false},
		{"key of another client", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key("otherkey"), sandboxtest.Bearer(good)}, 401, badToken, false},
		{"valid, key in header", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey), sandboxtest.Bearer(good)}, 200, accepted, false},
		{"valid, token issued through another host name (v2 issuer)", "POST", "/netrefer/di/v1/registrations", []sandboxtest.Option{key(subKey),
			sandboxtest.Bearer(sign(signer, claims("iss", "http://sandbox:8080/netrefer/login/"+tenant+"/v2.0")))}, 400, duplicate, false},
		{"valid, key in query", "POST", "/netrefer/di/v1/registrations?subscription-key=" + subKey, []sandboxtest.Option{sandboxtest.Bearer(sign(signer, claims()))}, 400, duplicate, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do(tc.method, tc.path, body, tc.opts...)
			res.WantStatus(tc.status)
			if tc.want != "" {
				res.WantJSON(tc.want)
			}
			wa := res.Header.Get("WWW-Authenticate")
			wantWA := `AzureApiManagementKey realm="` + h.URL + `/netrefer/di/v1",name="Ocp-Apim-Subscription-Key",type="header"`
			if tc.wwwAuth && wa != wantWA {
				t.Errorf("WWW-Authenticate = %q, want %q", wa, wantWA)
			}
			if !tc.wwwAuth && wa != "" {
				t.Errorf("unexpected WWW-Authenticate %q", wa)
			}
		})
	}
	// The query-key request above reached the backend: its event was a duplicate
	// of the header-key request's (400 DI-1005), so exactly one was stored.
	if s := state(t, h, ""); s.Clients[0].ProcessedEvents != 1 || len(s.Clients[0].Customers) != 1 {
		t.Fatalf("state after gateway checks: %+v", s.Clients[0])
	}
}

// TestPayloadTooLargeAfterGateway: APIM checks the subscription key, the
// token and the rate limit on the headers, before the backend sees a body;
// the 921,600-byte limit is the backend's (provider doc §3, §4), so an
// oversized body without a key is a 401, and a 413 only reaches a caller the
// gateway let through.
func TestPayloadTooLargeAfterGateway(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+"netrefer:\n  rateLimit: {calls: 1, renewalPeriodSeconds: 60}\n")
	tok := token(t, h, "")
	big := make([]byte, 921601)
	for i := range big {
		big[i] = ' '
	}
	const (
		missingKey = `{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`
		badToken   = `{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}`
		tooLarge   = `{"statusCode":413,"message":"Request payload exceeds the maximum allowed size of 921600 bytes (900 KB)."}`
		throttled  = `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 60 seconds."}`
		empty      = `{"statusCode":400,"message":"The request body is empty; send one event object or an array of event objects."}`
	)
	key := sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey)
	tests := []struct {
		name   string
		body   []byte
		opts   []sandboxtest.Option
		status int
		want   string
	}{
		{"no key", big, nil, 401, missingKey},
		{"bad token", big, []sandboxtest.Option{key, sandboxtest.Bearer("x")}, 401, badToken},
		{"admitted: too large", big, []sandboxtest.Option{key, sandboxtest.Bearer(tok)}, 413, tooLarge},
		{"throttled before the size check", big, []sandboxtest.Option{key, sandboxtest.Bearer(tok)}, 429, throttled},
	}
	for _, tc := range tests { // sequential: the rate limit counts the calls
		res := h.Do("POST", "/netrefer/di/v1/deposits", sandboxtest.RawBody("application/json", tc.body), tc.opts...)
		res.WantStatus(tc.status)
		res.WantJSON(tc.want)
	}
	h.Admin("POST", "", "/clock", map[string]any{"advance": "60s"}, nil)
	// Exactly at the limit the body is parsed (blank: whole-payload 400).
	ingestRaw := h.Do("POST", "/netrefer/di/v1/deposits", sandboxtest.RawBody("application/json", big[:921600]), key, sandboxtest.Bearer(tok))
	ingestRaw.WantStatus(400)
	ingestRaw.WantJSON(empty)
	// However large the body, the gateway answers first (the core reads no
	// more than the limit plus one byte).
	huge := make([]byte, 8*921600)
	h.Do("POST", "/netrefer/di/v1/deposits", sandboxtest.RawBody("application/json", huge)).WantStatus(401).WantJSON(missingKey)
	h.Admin("POST", "", "/clock", map[string]any{"advance": "60s"}, nil) // a fresh rate-limit window
	h.Do("POST", "/netrefer/di/v1/deposits", sandboxtest.RawBody("application/json", huge), key, sandboxtest.Bearer(tok)).WantStatus(413).WantJSON(tooLarge)
	if s := state(t, h, ""); s.Clients[0].ProcessedEvents != 0 {
		t.Fatalf("stored %d events", s.Clients[0].ProcessedEvents)
	}
}

// TestPayloadLimitConfigured: the 413 message states the configured limit.
func TestPayloadLimitConfigured(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit int
		want  string
	}{
		{2048, `{"statusCode":413,"message":"Request payload exceeds the maximum allowed size of 2048 bytes (2 KB)."}`},
		{1000, `{"statusCode":413,"message":"Request payload exceeds the maximum allowed size of 1000 bytes."}`},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, frozen+fmt.Sprintf("netrefer:\n  limits: {maxPayloadBytes: %d, maxEvents: 2500}\n", tc.limit))
			tok := token(t, h, "")
			body := "[" + strings.Repeat(" ", tc.limit) + "]"
			res := h.Do("POST", "/netrefer/di/v1/deposits", sandboxtest.RawBody("application/json", []byte(body)),
				sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tok))
			res.WantStatus(413)
			res.WantJSON(tc.want)
		})
	}
}

func TestRateLimitAndQuota(t *testing.T) {
	t.Parallel()
	t.Run("rate limit", func(t *testing.T) {
		t.Parallel()
		h := sandboxtest.New(t, frozen+"netrefer:\n  rateLimit: {calls: 2, renewalPeriodSeconds: 60}\n")
		tok := token(t, h, "")
		ingest(h, tok, "registrations", reg("r1", "c1")).WantStatus(200)
		h.Admin("POST", "", "/clock", map[string]any{"advance": "15s"}, nil)
		ingest(h, tok, "registrations", reg("r2", "c2")).WantStatus(200)
		res := ingest(h, tok, "registrations", reg("r3", "c3")).WantStatus(429)
		res.WantJSON(`{"statusCode":429,"message":"Rate limit is exceeded. Try again in 45 seconds."}`)
		if ra := res.Header.Get("Retry-After"); ra != "45" {
			t.Errorf("Retry-After = %q", ra)
		}
		// An invalid token is still a 401, not a 429: validate-jwt comes first.
		h.Do("POST", "/netrefer/di/v1/registrations", sandboxtest.JSONBody(reg("r3", "c3")),
			sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer("x")).WantStatus(401)
		h.Admin("POST", "", "/clock", map[string]any{"advance": "45s"}, nil)
		ingest(h, tok, "registrations", reg("r3", "c3")).WantStatus(200)
		if s := state(t, h, ""); s.Clients[0].ProcessedEvents != 3 {
			t.Errorf("processed %d, want 3 (the throttled call stored nothing)", s.Clients[0].ProcessedEvents)
		}
	})
	t.Run("quota", func(t *testing.T) {
		t.Parallel()
		h := sandboxtest.New(t, frozen+"netrefer:\n  quota: {calls: 2, renewalPeriodSeconds: 3600}\n")
		tok := token(t, h, "")
		ingest(h, tok, "registrations", reg("q1", "c1")).WantStatus(200)
		ingest(h, tok, "registrations", reg("q2", "c2")).WantStatus(200)
		h.Admin("POST", "", "/clock", map[string]any{"advance": "1m1s"}, nil)
		ingest(h, tok, "registrations", reg("q3", "c3")).WantStatus(403).
			WantJSON(`{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 00:58:59."}`)
		h.Admin("POST", "", "/clock", map[string]any{"advance": "1h"}, nil)
		// the token has expired by now: a new one is needed
		tok = token(t, h, "")
		ingest(h, tok, "registrations", reg("q3", "c3")).WantStatus(200)
	})
}

// TestRateLimitPerSubscription: the primary and secondary keys of a
// subscription share its rate-limit and quota counters; another client's
// subscription has its own.
func TestRateLimitPerSubscription(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+twoClients("  rateLimit: {calls: 2, renewalPeriodSeconds: 60}\n  quota: {calls: 3, renewalPeriodSeconds: 3600}\n", ", secondarykey"))
	tok, otherTok := token(t, h, ""), otherToken(t, h)
	call := func(key, tok, id string) *sandboxtest.Response {
		return h.Do("POST", "/netrefer/di/v1/registrations", sandboxtest.JSONBody(reg(id, id)),
			sandboxtest.Header("Ocp-Apim-Subscription-Key", key), sandboxtest.Bearer(tok))
	}
	call(subKey, tok, "a1").WantStatus(200)
	call("secondarykey", tok, "a2").WantStatus(200)
	call("secondarykey", tok, "a3").WantStatus(429).
		WantJSON(`{"statusCode":429,"message":"Rate limit is exceeded. Try again in 60 seconds."}`)
	call("otherkey", otherTok, "b1").WantStatus(200) // its own subscription
	h.Admin("POST", "", "/clock", map[string]any{"advance": "60s"}, nil)
	call("secondarykey", tok, "a3").WantStatus(200)
	call(subKey, tok, "a4").WantStatus(403).
		WantJSON(`{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 00:59:00."}`)
}

func TestExpiredTokenFollowsSandboxClock(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+"netrefer:\n  token: {lifetimeSeconds: 120}\n")
	tok := token(t, h, "")
	ingest(h, tok, "registrations", reg("e1", "c1")).WantStatus(200)
	h.Admin("POST", "", "/clock", map[string]any{"advance": "119s"}, nil)
	ingest(h, tok, "registrations", reg("e2", "c2")).WantStatus(200)
	h.Admin("POST", "", "/clock", map[string]any{"advance": "1s"}, nil)
	ingest(h, tok, "registrations", reg("e3", "c3")).WantStatus(401).
		WantJSON(`{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}`)
}
