package clients

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// trusting is an HTTP client whose only root is the PEM "sandbox ca"
// printed: no InsecureSkipVerify anywhere.
func trusting(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sb.caPEM) {
		t.Fatalf("sandbox ca's stdout holds no PEM certificate:\n%s", sb.caPEM)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
}

// postBatch sends one registration through the NetRefer gateway under base
// (sb.https, or a namespace's URL: a token passes its own namespace's
// gateway only) with token over HTTPS and returns the status and body: the gateway checks the
// token's signature, issuer, audience and scope, so a 200 proves the token
// a library got is one the API accepts.
func postBatch(t *testing.T, base, token, eventID string) (int, string) {
	t.Helper()
	body := `[{"eventId":"` + eventID + `","customerId":"c-` + eventID + `","brandId":1,"timestamp":"2026-11-22T10:00:00Z",` +
		`"registrationDate":"2026-11-22T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}]`
	req, _ := http.NewRequest("POST", base+"/netrefer/di/v1/registrations", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Ocp-Apim-Subscription-Key", nrSubKey)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := trusting(t).Do(req)
	if err != nil {
		t.Fatalf("batch POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestGoOIDCAndOAuth2 runs go-oidc (discovery, JWKS, verification) and
// x/oauth2 (password grant, refresh) against NetRefer's v2 and v1 issuers
// and Centili's realm over HTTPS, trusting the CA from "sandbox ca".
func TestGoOIDCAndOAuth2(t *testing.T) {
	t.Parallel()
	nrLogin := sb.https + "/netrefer/login/" + nrTenant
	for _, tc := range []struct {
		name, issuer, tokenURL, clientID, secret, user, audience string
		atIssuer                                                 string // the access token's, when not issuer
		scopes                                                   []string
		params                                                   []oauth2.AuthCodeOption
		gateway                                                  bool
	}{
		{name: "netrefer v2", issuer: nrLogin + "/v2.0", tokenURL: nrLogin + "/oauth2/v2.0/token",
			clientID: nrClientID, secret: nrSecret, user: nrUser, audience: "api://" + nrClientID,
			// the default scenario's API takes v1 access tokens (accessTokenAcceptedVersion 1), as
			// Azure AD issues them from either endpoint; the id token is v2's
			atIssuer: nrLogin + "/", scopes: []string{"openid", "api://" + nrClientID + "/Events.Injestion", "offline_access"}, gateway: true},
		{name: "netrefer v1", issuer: nrLogin + "/", clientID: nrClientID, secret: nrSecret, user: nrUser,
			audience: "api://" + nrClientID, params: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", "api://"+nrClientID)}, gateway: true},
		// openid, which Keycloak's userinfo requires of the token
		{name: "centili", issuer: sb.https + "/centili/realms/api", clientID: "datagifting-confidential",
			secret: "sandbox-centili-secret", user: ceUser, audience: "account", scopes: []string{"openid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := trusting(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ctx = context.WithValue(oidc.ClientContext(ctx, client), oauth2.HTTPClient, client)
			provider, err := oidc.NewProvider(ctx, tc.issuer)
			if err != nil {
				t.Fatalf("go-oidc discovery: %v", err)
			}
			ep := provider.Endpoint()
			if tc.tokenURL != "" && ep.TokenURL != tc.tokenURL {
				t.Errorf("discovered token endpoint %q, want %q", ep.TokenURL, tc.tokenURL)
			}
			cfg := &oauth2.Config{ClientID: tc.clientID, ClientSecret: tc.secret, Endpoint: ep, Scopes: tc.scopes}
			var tok *oauth2.Token
			if len(tc.params) > 0 {
				// x/oauth2 has no way to add a form field to the password
				// grant; v1's resource goes in through a transport.
				ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: client.Timeout,
					Transport: formField{client.Transport, "resource", "api://" + nrClientID}})
			}
			tok, err = cfg.PasswordCredentialsToken(ctx, tc.user, password)
			if err != nil {
				t.Fatalf("x/oauth2 password grant: %v", err)
			}
			atProvider, atIssuer := provider, tc.issuer
			if tc.atIssuer != "" {
				atIssuer = tc.atIssuer
				if atProvider, err = oidc.NewProvider(ctx, atIssuer); err != nil {
					t.Fatalf("go-oidc discovery of %s: %v", atIssuer, err)
				}
				// The id token comes from the issuer discovered first.
				raw, _ := tok.Extra("id_token").(string)
				idt, err := provider.Verifier(&oidc.Config{ClientID: tc.clientID}).Verify(ctx, raw)
				if err != nil {
					t.Fatalf("go-oidc verifies the id token: %v", err)
				}
				var claims struct {
					PreferredUsername string `json:"preferred_username"`
				}
				if err := idt.Claims(&claims); err != nil || claims.PreferredUsername != tc.user {
					t.Errorf("id token preferred_username %q (%v), want %q", claims.PreferredUsername, err, tc.user)
				}
			}
			verifier := atProvider.Verifier(&oidc.Config{ClientID: tc.audience})
			at, err := verifier.Verify(ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("go-oidc verifies the access token: %v", err)
			}
			if at.Issuer != atIssuer {
				t.Errorf("iss %q, want %q", at.Issuer, atIssuer)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			// Refresh: a token source with an expired token and the
			// refresh token asks the token endpoint for a new pair.
			fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
			if err != nil {
				t.Fatalf("x/oauth2 refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken {
				t.Error("refresh gave the same access token")
			}
			if _, err := verifier.Verify(ctx, fresh.AccessToken); err != nil {
				t.Errorf("go-oidc verifies the refreshed token: %v", err)
			}
			if tc.name == "centili" {
				// go-oidc reads userinfo_endpoint from discovery.
				info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh))
				if err != nil {
					t.Fatalf("go-oidc userinfo: %v", err)
				}
				if info.Subject != at.Subject || info.Email != tc.user {
					t.Errorf("userinfo sub %q email %q, want %q and %q", info.Subject, info.Email, at.Subject, tc.user)
				}
			}
			if tc.gateway {
				if code, body := postBatch(t, sb.https, fresh.AccessToken, "go-"+strings.ReplaceAll(tc.name, " ", "-")); code != 200 {
					t.Errorf("batch POST with the refreshed token: %d %s", code, body)
				}
			}
		})
	}
}

// formField adds one form field to every token request: x/oauth2's
// password grant takes no extra parameters, Azure AD v1 needs resource.
type formField struct {
	next        http.RoundTripper
	name, value string
}

func (f formField) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	s := string(b) + "&" + f.name + "=" + strings.ReplaceAll(f.value, ":", "%3A")
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(s)), int64(len(s))
	return f.next.RoundTrip(r)
}
