package centili_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// golang.org/x/oauth2 gets a token with the password flow, calls Data
// Gifting with it, and refreshes it, against both URL forms, with the
// client secret sent either way.
func TestOAuth2PasswordFlowAndRefresh(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.Client)
	tests := []struct {
		name   string
		realm  string
		client string
		secret string
		style  oauth2.AuthStyle
	}{
		{"public client, current form", "/centili/realms/api", publicClient, "", oauth2.AuthStyleInParams},
		{"confidential client, secret in header, legacy form", "/centili/auth/realms/api", confClient, confSecret, oauth2.AuthStyleInHeader},
		{"confidential client, secret in params, namespaced", "/ns/oauth2/centili/realms/api", confClient, confSecret, oauth2.AuthStyleInParams},
		{"confidential client, auto-detected style", "/centili/realms/api", confClient, confSecret, oauth2.AuthStyleAutoDetect},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := &oauth2.Config{
				ClientID: tc.client, ClientSecret: tc.secret,
				Endpoint: oauth2.Endpoint{TokenURL: h.URL + tc.realm + "/protocol/openid-connect/token", AuthStyle: tc.style},
			}
			tok, err := conf.PasswordCredentialsToken(ctx, merchantUser, password)
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || time.Until(tok.Expiry) < 290*time.Second {
				t.Fatalf("token = %+v", tok)
			}
			mount := tc.realm[:len(tc.realm)-len("/realms/api")]
			if m := len(mount); m > 5 && mount[m-5:] == "/auth" {
				mount = mount[:m-5]
			}
			// The token works on Data Gifting through oauth2's own client.
			resp, err := conf.Client(ctx, tok).Get(h.URL + mount + "/datagifting/v1/services")
			if err != nil {
				t.Fatal(err)
			}
			var services []struct {
				ServiceKey string `json:"serviceKey"`
			}
			err = json.NewDecoder(resp.Body).Decode(&services)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || len(services) != 2 {
				t.Fatalf("services via oauth2 client: %d %v %+v", resp.StatusCode, err, services)
			}
			// Force a refresh: oauth2 refreshes a token it thinks has expired.
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" {
				t.Fatalf("refresh returned the same token")
			}
			if a, b := claims(t, fresh.AccessToken)["sid"], claims(t, tok.AccessToken)["sid"]; a != b {
				t.Errorf("refresh changed the session: %v → %v", b, a)
			}
		})
	}
	// The wrong password surfaces as oauth2's RetrieveError with Keycloak's code.
	conf := &oauth2.Config{ClientID: publicClient, Endpoint: oauth2.Endpoint{TokenURL: h.URL + "/centili" + tokenPath}}
	_, err := conf.PasswordCredentialsToken(ctx, merchantUser, "wrong")
	re, ok := err.(*oauth2.RetrieveError)
	if !ok || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Invalid user credentials" || re.Response.StatusCode != 401 {
		t.Errorf("wrong password: %v", err)
	}
}

// github.com/coreos/go-oidc/v3 discovers the realm (either URL form, any
// namespace) and verifies the ID token, its at_hash, and the access token.
func TestOIDCVerifiesTokensThroughDiscovery(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	ctx := oidc.ClientContext(context.Background(), h.Client)
	now := func() time.Time { return frozenStart.Add(time.Second) }
	for _, realm := range []string{"/centili/realms/api", "/centili/auth/realms/api", "/ns/oidc/centili/realms/api", "/ns/oidc/centili/auth/realms/api"} {
		t.Run(realm, func(t *testing.T) {
			issuer := h.URL + realm
			provider, err := oidc.NewProvider(ctx, issuer)
			if err != nil {
				t.Fatalf("NewProvider: %v", err)
			}
			conf := &oauth2.Config{ClientID: publicClient, Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
			tok, err := conf.PasswordCredentialsToken(context.WithValue(ctx, oauth2.HTTPClient, h.Client), merchantUser, password)
			if err != nil {
				t.Fatalf("PasswordCredentialsToken via discovered endpoint: %v", err)
			}
			rawID, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: publicClient, Now: now}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("verifying the ID token: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var cl struct {
				MerchantID int64  `json:"merchantId"`
				Username   string `json:"preferred_username"`
			}
			if err := idt.Claims(&cl); err != nil || cl.MerchantID != 11111 || cl.Username != merchantUser {
				t.Errorf("ID token claims = %+v (%v)", cl, err)
			}
			at, err := provider.Verifier(&oidc.Config{ClientID: "account", Now: now}).Verify(ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("verifying the access token: %v", err)
			}
			if at.Issuer != issuer {
				t.Errorf("issuer = %s, want %s", at.Issuer, issuer)
			}
			// Past exp the library refuses it: lifetimes follow the sandbox clock.
			late := func() time.Time { return frozenStart.Add(301 * time.Second) }
			if _, err := provider.Verifier(&oidc.Config{ClientID: "account", Now: late}).Verify(ctx, tok.AccessToken); err == nil {
				t.Error("an access token 301 s old still verifies")
			}
		})
	}
	// A token names the URL form that issued it: the other form's verifier refuses it.
	legacy, err := oidc.NewProvider(ctx, h.URL+"/centili/auth/realms/api")
	if err != nil {
		t.Fatal(err)
	}
	tr := login(t, h, "/centili", merchantUser)
	if _, err := legacy.Verifier(&oidc.Config{ClientID: "account", Now: now}).Verify(ctx, tr.AccessToken); err == nil {
		t.Error("a token of the current URL form verified against the legacy issuer")
	}
}
