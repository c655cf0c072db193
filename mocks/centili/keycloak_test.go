package centili_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// Every error row of the provider doc's Keycloak table, with Keycloak's
// exact status, error and error_description.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	user := login(t, h, "/centili", merchantUser)
	basic := func(id, secret string) sandboxtest.Option {
		return sandboxtest.Header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	}
	form := func(kv ...string) *sandboxtest.Body {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return sandboxtest.FormBody(v)
	}
	tests := []struct {
		name       string
		path       string
		body       *sandboxtest.Body
		opts       []sandboxtest.Option
		wantStatus int
		wantBody   string
	}{
		{"no grant_type", tokenPath, form("client_id", publicClient), nil,
			400, `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{"JSON body reads as an empty form", tokenPath, sandboxtest.JSONBody(`{"grant_type":"password"}`), nil,
			400, `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{"unknown grant_type", tokenPath, form("grant_type", "client_credentials", "client_id", publicClient), nil,
			400, `{"error":"unsupported_grant_type","error_description":"Unsupported grant_type"}`},
		{"parameter repeated", tokenPath, form("grant_type", "password", "client_id", publicClient, "username", merchantUser, "username", otherUser, "password", password), nil,
			400, `{"error":"invalid_request","error_description":"duplicated parameter"}`},
		{"no client_id", tokenPath, form("grant_type", "password", "username", merchantUser, "password", password), nil,
			400, `{"error":"invalid_client","error_description":"Missing client_id parameter"}`},
		{"unknown client", tokenPath, form("grant_type", "password", "client_id", "nope", "username", merchantUser, "password", password), nil,
			401, `{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"confidential client without secret", tokenPath, form("grant_type", "password", "client_id", confClient, "username", merchantUser, "password", password), nil,
			401, `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"confidential client, wrong secret in form", tokenPath, form("grant_type", "password", "client_id", confClient, "client_secret", "wrong", "username", merchantUser, "password", password), nil,
			401, `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"confidential client, wrong secret in Basic", tokenPath, form("grant_type", "password", "username", merchantUser, "password", password), []sandboxtest.Option{basic(confClient, "wrong")},
			401, `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"client without direct access grants", tokenPath, form("grant_type", "password", "client_id", "datagifting-no-direct-grants", "username", merchantUser, "password", password), nil,
			400, `{"error":"unauthorized_client","error_description":"Client not allowed for direct access grants"}`},
		{"missing username", tokenPath, form("grant_type", "password", "client_id", publicClient, "password", password), nil,
			401, `{"error":"invalid_request","error_description":"Missing parameter: username"}`},
		{"wrong password", tokenPath, form("grant_type", "password", "client_id", publicClient, "username", merchantUser, "password", "nope"), nil,
			401, `{"error":"invalid_grant","error_description":"Invalid user credentials"}`},
		{"unknown user", tokenPath, form("grant_type", "password", "client_id", publicClient, "username", "who@sandbox.test", "password", password), nil,
			401, `{"error":"invalid_grant","error_description":"Invalid user credentials"}`},
		{"disabled user", tokenPath, form("grant_type", "password", "client_id", publicClient, "username", "disabled@sandbox.test", "password", password), nil,
			400, `{"error":"invalid_grant","error_description":"Account disabled"}`},
		{"disabled user, wrong password (username is checked first)", tokenPath, form("grant_type", "password", "client_id", publicClient, "username", "disabled@sandbox.test", "password", "nope"), nil,
			400, `{"error":"invalid_grant","error_description":"Account disabled"}`},
		{"scope outside the realm", tokenPath, form("grant_type", "password", "client_id", publicClient, "username", merchantUser, "password", password, "scope", "openid payments"), nil,
			400, `{"error":"invalid_scope","error_description":"Invalid scopes: openid payments"}`},
		{"no refresh_token", tokenPath, form("grant_type", "refresh_token", "client_id", publicClient), nil,
			400, `{"error":"invalid_request","error_description":"No refresh token"}`},
		{"malformed refresh token", tokenPath, form("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", "not.a.jwt"), nil,
			400, `{"error":"invalid_grant","error_description":"Invalid refresh token"}`},
		{"access token as refresh token", tokenPath, form("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", user.AccessToken), nil,
			400, `{"error":"invalid_grant","error_description":"Invalid refresh token"}`},
		{"refresh token of another client", tokenPath, form("grant_type", "refresh_token", "client_id", confClient, "client_secret", confSecret, "refresh_token", user.RefreshToken), nil,
			400, `{"error":"invalid_grant","error_description":"Invalid refresh token. Token client and authorized client don't match"}`},
		{"malformed form body", tokenPath, sandboxtest.RawBody("application/x-www-form-urlencoded", []byte("grant_type=password&client_id=%zz")), nil,
			400, `{"error":"invalid_request","error_description":"Malformed form body: invalid URL escape \"%zz\""}`},
		{"unknown realm", "/realms/master/protocol/openid-connect/token", form("grant_type", "password"), nil,
			404, `{"error":"Realm does not exist"}`},
		{"unknown realm, legacy form", "/auth/realms/Api/protocol/openid-connect/token", form("grant_type", "password"), nil,
			404, `{"error":"Realm does not exist"}`},
		{"legacy form answers the same errors", legacyPath, form("grant_type", "password", "client_id", publicClient, "username", merchantUser, "password", "nope"), nil,
			401, `{"error":"invalid_grant","error_description":"Invalid user credentials"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do("POST", "/centili"+tc.path, tc.body, tc.opts...)
			res.WantStatus(tc.wantStatus)
			res.WantJSON(tc.wantBody)
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
}

// The order of Keycloak's checks decides which error a request with several
// faults gets: grant_type before the client, the client before duplicates.
func TestTokenCheckOrder(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	// No grant_type and no client: the grant_type error wins.
	h.Do("POST", "/centili"+tokenPath, sandboxtest.FormBody(url.Values{})).WantStatus(400).
		WantJSON(`{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`)
	// Duplicated parameter with an unknown client: the client error wins.
	h.Do("POST", "/centili"+tokenPath, sandboxtest.FormBody(url.Values{"grant_type": {"password"}, "client_id": {"nope"}, "scope": {"a", "b"}})).
		WantStatus(401)
	// The form's client_id and client_secret override Basic's, as in
	// Keycloak's ClientIdAndSecretAuthenticator.
	basic := func(id, secret string) sandboxtest.Option {
		return sandboxtest.Header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	}
	h.Do("POST", "/centili"+tokenPath, sandboxtest.FormBody(passwordForm("nope", merchantUser, password)), basic(confClient, confSecret)).
		WantStatus(401).WantJSON(`{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`)
	v := passwordForm(confClient, merchantUser, password)
	v.Set("client_secret", confSecret)
	res := h.Do("POST", "/centili"+tokenPath, sandboxtest.FormBody(v), basic(confClient, "wrong"))
	res.WantStatus(200)
	var tr tokenResponse
	res.JSON(&tr)
	if azp := claims(t, tr.AccessToken)["azp"]; azp != confClient {
		t.Errorf("azp = %v, want %s", azp, confClient)
	}
	// A secret only in Basic still counts when the form names just the client.
	h.Do("POST", "/centili"+tokenPath, sandboxtest.FormBody(passwordForm(confClient, merchantUser, password)), basic(confClient, confSecret)).
		WantStatus(200)
}

func TestTokenSuccess(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	h.Do("GET", "/centili/realms/api/protocol/openid-connect/certs", nil).WantStatus(200).JSON(&jwks)
	if len(jwks.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(jwks.Keys))
	}
	tests := []struct {
		name      string
		mount     string
		path      string
		form      url.Values
		opts      []sandboxtest.Option
		wantIss   string
		wantAzp   string
		wantScope string
		wantID    bool
	}{
		{"public client, current URL form", "/centili", tokenPath, passwordForm(publicClient, merchantUser, password), nil,
			"/centili/realms/api", publicClient, "email profile", false},
		{"legacy /auth URL form", "/centili", legacyPath, passwordForm(publicClient, merchantUser, password), nil,
			"/centili/auth/realms/api", publicClient, "email profile", false},
		{"confidential client, secret in the form", "/centili", tokenPath,
			func() url.Values {
				v := passwordForm(confClient, merchantUser, password)
				v.Set("client_secret", confSecret)
				return v
			}(), nil,
			"/centili/realms/api", confClient, "email profile", false},
		{"confidential client, HTTP Basic", "/centili", tokenPath,
			url.Values{"grant_type": {"password"}, "username": {merchantUser}, "password": {password}},
			[]sandboxtest.Option{sandboxtest.Header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(confClient+":"+confSecret)))},
			"/centili/realms/api", confClient, "email profile", false},
		{"openid scope adds an id_token", "/centili", tokenPath,
			func() url.Values {
				v := passwordForm(publicClient, merchantUser, password)
				v.Set("scope", "openid")
				return v
			}(), nil,
			"/centili/realms/api", publicClient, "openid email profile", true},
		{"username is case-insensitive", "/centili", tokenPath, passwordForm(publicClient, "Merchant@Sandbox.test", password), nil,
			"/centili/realms/api", publicClient, "email profile", false},
		{"namespaced issuer", "/ns/ci-42/centili", tokenPath, passwordForm(publicClient, merchantUser, password), nil,
			"/ns/ci-42/centili/realms/api", publicClient, "email profile", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do("POST", tc.mount+tc.path, sandboxtest.FormBody(tc.form), tc.opts...)
			res.WantStatus(200)
			if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Pragma") != "no-cache" {
				t.Errorf("caching headers = %q / %q", res.Header.Get("Cache-Control"), res.Header.Get("Pragma"))
			}
			var tr tokenResponse
			res.JSON(&tr)
			if tr.ExpiresIn != 300 || tr.RefreshExpiresIn != 1800 || tr.TokenType != "Bearer" || tr.NotBeforePolicy == nil || *tr.NotBeforePolicy != 0 || tr.Scope != tc.wantScope {
				t.Errorf("token response = %+v", tr)
			}
			if (tr.IDToken != "") != tc.wantID {
				t.Errorf("id_token present = %v, want %v", tr.IDToken != "", tc.wantID)
			}
			hd := header(t, tr.AccessToken)
			if hd["alg"] != "RS256" || hd["kid"] != jwks.Keys[0].Kid || hd["typ"] != "JWT" {
				t.Errorf("JWT header = %v, want RS256 with kid %s", hd, jwks.Keys[0].Kid)
			}
			c := claims(t, tr.AccessToken)
			iss := h.URL + tc.wantIss
			want := map[string]any{
				"iss": iss, "typ": "Bearer", "azp": tc.wantAzp, "aud": "account", "merchantId": float64(11111),
				"preferred_username": merchantUser, "sid": tr.SessionState, "session_state": tr.SessionState,
				"scope": tc.wantScope, "iat": float64(frozenStart.Unix()), "exp": float64(frozenStart.Unix() + 300),
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("access claim %s = %v, want %v", k, c[k], v)
				}
			}
			if roles, _ := c["realm_access"].(map[string]any)["roles"].([]any); len(roles) == 0 {
				t.Errorf("realm_access.roles missing: %v", c["realm_access"])
			}
			for _, k := range []string{"jti", "sub"} {
				if s, _ := c[k].(string); len(s) != 36 {
					t.Errorf("claim %s = %v, want a UUID", k, c[k])
				}
			}
			rc := claims(t, tr.RefreshToken)
			if rc["typ"] != "Refresh" || rc["iss"] != iss || rc["aud"] != iss || rc["exp"] != float64(frozenStart.Unix()+1800) || rc["sid"] != tr.SessionState {
				t.Errorf("refresh claims = %v", rc)
			}
			if tc.wantID {
				ic := claims(t, tr.IDToken)
				if ic["typ"] != "ID" || ic["aud"] != tc.wantAzp || ic["iss"] != iss || ic["at_hash"] == nil {
					t.Errorf("id_token claims = %v", ic)
				}
			}
		})
	}
}

// Refresh tokens live as long as their session: each refresh pushes the idle
// deadline out, an idle session ends, and nothing outlives the max lifespan.
func TestRefreshFollowsSessionAndClock(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario+`centili:
  accessTokenLifespan: 60
  ssoSessionIdleTimeout: 1800
  ssoSessionMaxLifespan: 2500
`)
	tr := login(t, h, "/centili", merchantUser)
	if tr.ExpiresIn != 60 {
		t.Fatalf("expires_in = %d, want the configured 60", tr.ExpiresIn)
	}
	advance(t, h, "", "1000s")
	res := refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200)
	var r1 tokenResponse
	res.JSON(&r1)
	if r1.SessionState != tr.SessionState || r1.AccessToken == tr.AccessToken || r1.ExpiresIn != 60 || r1.RefreshExpiresIn != 1500 {
		t.Fatalf("first refresh = %+v; want same session, new token, expires_in 60, refresh_expires_in 1500 (capped by max lifespan)", r1)
	}
	if c := claims(t, r1.AccessToken); c["iat"] != float64(frozenStart.Unix()+1000) {
		t.Errorf("refreshed iat = %v, want now", c["iat"])
	}
	// The original refresh token is still valid (no rotation) until its exp.
	advance(t, h, "", "1000s") // t = 2000
	refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).
		WantJSON(`{"error":"invalid_grant","error_description":"Token is not active"}`)
	res = refresh(h, "/centili", publicClient, r1.RefreshToken).WantStatus(200)
	var r2 tokenResponse
	res.JSON(&r2)
	if r2.RefreshExpiresIn != 500 || r2.ExpiresIn != 60 {
		t.Errorf("second refresh expires_in %d, refresh_expires_in %d; want 60 and 500", r2.ExpiresIn, r2.RefreshExpiresIn)
	}
	advance(t, h, "", "501s") // t = 2501 > max lifespan
	refresh(h, "/centili", publicClient, r2.RefreshToken).WantStatus(400).
		WantJSON(`{"error":"invalid_grant","error_description":"Token is not active"}`)

	st := state(t, h, "")
	if len(st.Sessions) != 1 || st.Sessions[0].Refreshes != 2 || st.Sessions[0].Username != merchantUser {
		t.Errorf("sessions = %+v, want one of %s with 2 refreshes", st.Sessions, merchantUser)
	}
}

// With the default lifespans (300 s / 1800 s idle / 10 h max) a session
// stays alive while it is refreshed within the idle timeout and ends when
// it idles out.
func TestRefreshIdleTimeout(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := login(t, h, "/centili", otherUser)
	for i := 0; i < 3; i++ {
		advance(t, h, "", "1799s")
		res := refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200)
		res.JSON(&tr)
		if tr.RefreshExpiresIn != 1800 {
			t.Fatalf("refresh %d: refresh_expires_in = %d, want 1800", i, tr.RefreshExpiresIn)
		}
	}
	advance(t, h, "", "1801s")
	refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).
		WantJSON(`{"error":"invalid_grant","error_description":"Token is not active"}`)
}

// A refresh token of another namespace names a session this one never had.
func TestRefreshTokenOfAnotherNamespace(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := login(t, h, "/ns/a/centili", merchantUser)
	refresh(h, "/ns/b/centili", publicClient, tr.RefreshToken).WantStatus(400).
		WantJSON(`{"error":"invalid_grant","error_description":"Invalid refresh token"}`)
	refresh(h, "/ns/a/centili", publicClient, tr.RefreshToken).WantStatus(200)
}

func TestDiscoveryCertsAndRealmInfo(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	for _, base := range []string{"/centili/realms/api", "/centili/auth/realms/api", "/ns/demo/centili/realms/api", "/ns/demo/centili/auth/realms/api"} {
		t.Run(base, func(t *testing.T) {
			h := h.With(t)
			var d struct {
				Issuer        string   `json:"issuer"`
				TokenEndpoint string   `json:"token_endpoint"`
				JwksURI       string   `json:"jwks_uri"`
				Grants        []string `json:"grant_types_supported"`
				Algs          []string `json:"id_token_signing_alg_values_supported"`
			}
			h.Do("GET", base+"/.well-known/openid-configuration", nil).WantStatus(200).JSON(&d)
			realm := h.URL + base
			if d.Issuer != realm || d.TokenEndpoint != realm+"/protocol/openid-connect/token" || d.JwksURI != realm+"/protocol/openid-connect/certs" {
				t.Errorf("discovery = %+v, want URLs under %s", d, realm)
			}
			if strings.Join(d.Grants, ",") != "password,refresh_token" || strings.Join(d.Algs, ",") != "RS256" {
				t.Errorf("grants %v, algs %v", d.Grants, d.Algs)
			}
			var info struct {
				Realm        string `json:"realm"`
				PublicKey    string `json:"public_key"`
				TokenService string `json:"token-service"`
			}
			h.Do("GET", base, nil).WantStatus(200).JSON(&info)
			if info.Realm != "api" || info.TokenService != realm+"/protocol/openid-connect" || len(info.PublicKey) < 300 {
				t.Errorf("realm info = %+v", info)
			}
			h.Do("GET", base+"/protocol/openid-connect/certs", nil).WantStatus(200)
		})
	}
	for _, p := range []string{"/centili/realms/other/.well-known/openid-configuration", "/centili/realms/other/protocol/openid-connect/certs", "/centili/realms/other", "/centili/auth/realms/other"} {
		h.Do("GET", p, nil).WantStatus(404).WantJSON(`{"error":"Realm does not exist"}`)
	}
}

// Keycloak 26.6 does not enforce the @Consumes of its token, revoke and
// logout endpoints (they are sub-resources, whose @Consumes Quarkus REST
// skipped), and reads form parameters only from a form body: a JSON body,
// or a body with no Content-Type, is an empty form, not a 415.
func TestFormEndpointsReadOtherBodiesAsEmptyForms(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	confBasic := sandboxtest.Header("Authorization", basicAuth(confClient, confSecret))
	tr := confLogin(t, h, merchantUser)
	formText := []byte(url.Values{"grant_type": {"password"}, "client_id": {publicClient}, "token": {tr.AccessToken}, "refresh_token": {tr.RefreshToken}}.Encode())
	tests := []struct {
		name, path string
		body       *sandboxtest.Body
		opts       []sandboxtest.Option
		status     int
		want       string
	}{
		{"token, JSON", tokenPath, sandboxtest.JSONBody(map[string]string{"grant_type": "password"}), nil,
			400, `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{"token, a form without Content-Type", tokenPath, sandboxtest.RawBody("", formText), nil,
			400, `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{"token, text/plain", tokenPath, sandboxtest.RawBody("text/plain", formText), nil,
			400, `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{"revoke, JSON", "/realms/api/protocol/openid-connect/revoke", sandboxtest.JSONBody(map[string]string{"client_id": publicClient, "token": tr.AccessToken}), nil,
			400, `{"error":"invalid_client","error_description":"Missing client_id parameter"}`},
		{"revoke, JSON with Basic", "/realms/api/protocol/openid-connect/revoke", sandboxtest.JSONBody(map[string]string{"token": tr.AccessToken}), []sandboxtest.Option{confBasic},
			400, `{"error":"invalid_request","error_description":"Token not provided"}`},
		{"revoke, no Content-Type, with Basic", "/realms/api/protocol/openid-connect/revoke", sandboxtest.RawBody("", formText), []sandboxtest.Option{confBasic},
			400, `{"error":"invalid_request","error_description":"Token not provided"}`},
		{"logout, JSON", "/realms/api/protocol/openid-connect/logout", sandboxtest.JSONBody(map[string]string{"client_id": publicClient, "refresh_token": tr.RefreshToken}), nil,
			400, `{"error":"invalid_client","error_description":"Missing client_id parameter"}`},
		{"logout, no Content-Type, with Basic", "/auth/realms/api/protocol/openid-connect/logout", sandboxtest.RawBody("", formText), []sandboxtest.Option{confBasic},
			400, `{"error":"invalid_request","error_description":"No refresh token"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.With(t).Do("POST", "/centili"+tc.path, tc.body, tc.opts...).WantStatus(tc.status)
			res.WantJSON(tc.want)
			if got := res.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
		})
	}
	// Nothing was revoked or logged out.
	wantActive(t, introspect(h, tr.AccessToken), "Bearer")
}

// An Authorization header that is not Basic, on a form without client_id,
// makes Keycloak's ClientIdAndSecretAuthenticator challenge with Basic; the
// challenge reaches the client as KeycloakErrorHandler renders the
// entity-less 401: the status's text as the error, no description, no
// WWW-Authenticate. With client_id in the form (even empty) the header is
// ignored; introspection turns any failure into "Authentication failed.".
func TestNonBasicAuthorizationIsChallenged(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := login(t, h, "/centili", merchantUser)
	const challenged = `{"error":"HTTP 401 Unauthorized"}`
	form := func(kv ...string) *sandboxtest.Body { return sandboxtest.FormBody(values(kv...)) }
	tests := []struct {
		name, path string
		body       *sandboxtest.Body
		auth       string
		status     int
		want       string
	}{
		{"token, Bearer", tokenPath, form("grant_type", "password", "username", merchantUser, "password", password), "Bearer " + tr.AccessToken, 401, challenged},
		{"token, Negotiate", legacyPath, form("grant_type", "refresh_token", "refresh_token", tr.RefreshToken), "Negotiate YIIC", 401, challenged},
		{"token, Basic that is not base64", tokenPath, form("grant_type", "password", "username", merchantUser, "password", password), "Basic %%%", 401, challenged},
		{"token, Basic without a colon", tokenPath, form("grant_type", "password", "username", merchantUser, "password", password), "Basic " + base64.StdEncoding.EncodeToString([]byte(confClient)), 401, challenged},
		{"token, grant_type is checked first", tokenPath, form("username", merchantUser), "Bearer x", 400, `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{"token, client_id in the form", tokenPath, form("grant_type", "password", "client_id", publicClient, "username", merchantUser, "password", "nope"), "Bearer x", 401, `{"error":"invalid_grant","error_description":"Invalid user credentials"}`},
		{"token, empty client_id in the form", tokenPath, form("grant_type", "password", "client_id", "", "username", merchantUser, "password", password), "Bearer x", 401, `{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"token, JSON body is not challenged", tokenPath, sandboxtest.JSONBody(map[string]string{}), "Bearer x", 400, `{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}`},
		{"revoke, Bearer", "/realms/api/protocol/openid-connect/revoke", form("token", tr.AccessToken), "Bearer " + tr.AccessToken, 401, challenged},
		{"revoke, JSON body is not challenged", "/realms/api/protocol/openid-connect/revoke", sandboxtest.JSONBody(map[string]string{"token": "x"}), "Bearer x", 400, `{"error":"invalid_client","error_description":"Missing client_id parameter"}`},
		{"logout, Bearer", "/realms/api/protocol/openid-connect/logout", form("refresh_token", tr.RefreshToken), "Bearer " + tr.AccessToken, 401, challenged},
		{"logout, legacy form", "/auth/realms/api/protocol/openid-connect/logout", form("refresh_token", tr.RefreshToken), "Bearer x", 401, challenged},
		{"introspect, Bearer", "/realms/api/protocol/openid-connect/token/introspect", form("token", tr.AccessToken), "Bearer " + tr.AccessToken, 401, `{"error":"invalid_request","error_description":"Authentication failed."}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.With(t).Do("POST", "/centili"+tc.path, tc.body, sandboxtest.Header("Authorization", tc.auth)).WantStatus(tc.status)
			res.WantJSON(tc.want)
			if got := res.Header.Get("WWW-Authenticate"); got != "" {
				t.Errorf("WWW-Authenticate = %q, want none", got)
			}
		})
	}
	// The session survived the refused revoke and logout.
	refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200)
}

// Discovery answers with Keycloak's getWellKnownResponse headers: never
// cached, and every origin allowed (CORS headers only for a request that
// names its Origin).
func TestDiscoveryHeaders(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	const origin = "https://app.example"
	for _, base := range []string{"/centili/realms/api", "/centili/auth/realms/api"} {
		for _, withOrigin := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s origin %v", base, withOrigin), func(t *testing.T) {
				var opts []sandboxtest.Option
				want := map[string]string{"Cache-Control": "no-cache, must-revalidate, no-transform, no-store",
					"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Pragma": ""}
				if withOrigin {
					opts = append(opts, sandboxtest.Header("Origin", origin))
					want["Access-Control-Allow-Origin"], want["Access-Control-Allow-Credentials"] = origin, "true"
				}
				res := h.With(t).Do("GET", base+"/.well-known/openid-configuration", nil, opts...).WantStatus(200)
				for k, v := range want {
					if got := res.Header.Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
			})
		}
	}
}
