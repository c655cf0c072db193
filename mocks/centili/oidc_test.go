package centili_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

const (
	oidcBase       = "/centili/realms/api/protocol/openid-connect"
	oidcLegacyBase = "/centili/auth/realms/api/protocol/openid-connect"
	inactive       = `{"active":false}`
	// Keycloak's userinfo challenges (WWW-Authenticate values).
	bareChallenge      = `Bearer realm="api"`
	tokenVerifyWWW     = `Bearer realm="api", error="invalid_token", error_description="Token verification failed"`
	noSessionWWW       = `Bearer realm="api", error="invalid_token", error_description="user_session_not_found"`
	sessionExpiredWWW  = `Bearer realm="api", error="invalid_token", error_description="session_expired"`
	noOpenIDWWW        = `Bearer realm="api", error="insufficient_scope", error_description="Missing openid scope"`
	duplicateWWW       = `Bearer realm="api", error="invalid_request", error_description="Duplicate parameter"`
	twoMethodsWWW      = `Bearer realm="api", error="invalid_request", error_description="More than one method used for including an access token"`
	authFailed         = `{"error":"invalid_request","error_description":"Authentication failed."}`
	noRequiredClient   = `{"error":"invalid_grant","error_description":"Session doesn't have required client"}`
	userinfoErrorCType = "text/plain;charset=utf-8"
)

// wantChallenge holds a userinfo answer to Keycloak's error shape: the
// status, an empty text/plain body, and exactly this WWW-Authenticate.
func wantChallenge(t testing.TB, res *sandboxtest.Response, status int, www string) {
	t.Helper()
	res.WantStatus(status)
	if len(res.Body) != 0 {
		t.Errorf("body = %q, want empty", res.Body)
	}
	if got := res.Header.Get("Content-Type"); got != userinfoErrorCType {
		t.Errorf("Content-Type = %q, want %q", got, userinfoErrorCType)
	}
	if got := res.Header.Get("WWW-Authenticate"); got != www {
		t.Errorf("WWW-Authenticate = %q, want %q", got, www)
	}
}

// userinfo calls GET userinfo with a Bearer token.
func userinfo(h *sandboxtest.Harness, token string) *sandboxtest.Response {
	return h.Do("GET", oidcBase+"/userinfo", nil, sandboxtest.Bearer(token))
}

func values(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// confForm is a form of the confidential client with its secret.
func confForm(kv ...string) *sandboxtest.Body {
	return sandboxtest.FormBody(values(append([]string{"client_id", confClient, "client_secret", confSecret}, kv...)...))
}

// confLogin logs in through the confidential client, asking for openid as
// OIDC libraries do (userinfo requires it).
func confLogin(t testing.TB, h *sandboxtest.Harness, user string) tokenResponse {
	t.Helper()
	v := passwordForm(confClient, user, password)
	v.Set("client_secret", confSecret)
	v.Set("scope", "openid")
	var tr tokenResponse
	h.Do("POST", "/centili"+tokenPath, sandboxtest.FormBody(v)).WantStatus(200).JSON(&tr)
	return tr
}

// formCase is one request to a form endpoint and its exact answer.
type formCase struct {
	name   string
	body   *sandboxtest.Body
	status int
	want   string
}

func runFormCases(t *testing.T, h *sandboxtest.Harness, path string, cases []formCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.With(t).Do("POST", path, tc.body).WantStatus(tc.status).WantJSON(tc.want)
		})
	}
}

func introspect(h *sandboxtest.Harness, token string) *sandboxtest.Response {
	return h.Do("POST", oidcBase+"/token/introspect", confForm("token", token))
}

// wantActive holds an introspection answer to "active": true (the JSON
// boolean) for a token of the wanted type, and returns the claims.
func wantActive(t testing.TB, res *sandboxtest.Response, tokenType string) map[string]any {
	t.Helper()
	var got map[string]any
	res.WantStatus(200).JSON(&got)
	if got["active"] != true || got["token_type"] != tokenType {
		t.Errorf("introspection = %v, want active with token_type %s", got, tokenType)
	}
	return got
}

func TestUserinfo(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := openidLogin(t, h, "/centili", merchantUser)
	sub := claims(t, tr.AccessToken)["sub"].(string)
	want := `{"sub":"` + sub + `","email_verified":true,"preferred_username":"merchant@sandbox.test","email":"merchant@sandbox.test","merchantId":11111}`
	for _, base := range []string{oidcBase, oidcLegacyBase, "/ns/default/centili/realms/api/protocol/openid-connect"} {
		h.Do("GET", base+"/userinfo", nil, sandboxtest.Bearer(tr.AccessToken)).WantStatus(200).WantJSON(want)
		h.Do("POST", base+"/userinfo", nil, sandboxtest.Bearer(tr.AccessToken)).WantStatus(200).WantJSON(want)
		h.Do("POST", base+"/userinfo", sandboxtest.FormBody(values("access_token", tr.AccessToken))).WantStatus(200).WantJSON(want)
	}
	// The scheme is case-insensitive; a form on top of a header without
	// "Bearer" is the only token.
	h.Do("GET", oidcBase+"/userinfo", nil, sandboxtest.Header("Authorization", "bEARER "+tr.AccessToken)).WantStatus(200).WantJSON(want)
	h.Do("POST", oidcBase+"/userinfo", sandboxtest.FormBody(values("access_token", tr.AccessToken)),
		sandboxtest.Header("Authorization", "Basic "+tr.AccessToken)).WantStatus(200).WantJSON(want)

	other := openidLogin(t, h, "/ns/other/centili", merchantUser)
	plain := login(t, h, "/centili", merchantUser) // no openid scope
	bearer := func(tok string) []sandboxtest.Option { return []sandboxtest.Option{sandboxtest.Bearer(tok)} }
	tests := []struct {
		name, method string
		body         *sandboxtest.Body
		opts         []sandboxtest.Option
		status       int
		www          string
		query        string
	}{
		{"no token", "GET", nil, nil, 401, bareChallenge, ""},
		{"no token in POST form", "POST", sandboxtest.FormBody(values("x", "y")), nil, 401, bareChallenge, ""},
		{"GET reads no query parameter", "GET", nil, nil, 401, bareChallenge, "?access_token=" + tr.AccessToken},
		{"JSON body is not a form", "POST", sandboxtest.JSONBody(map[string]string{"access_token": tr.AccessToken}), nil, 401, bareChallenge, ""},
		{"Basic instead of Bearer", "GET", nil, []sandboxtest.Option{sandboxtest.Header("Authorization", "Basic "+tr.AccessToken)}, 401, bareChallenge, ""},
		{"Bearer with two words", "GET", nil, []sandboxtest.Option{sandboxtest.Header("Authorization", "Bearer "+tr.AccessToken+" x")}, 401, bareChallenge, ""},
		{"not a JWT", "GET", nil, bearer("nope"), 401, tokenVerifyWWW, ""},
		{"refresh token", "GET", nil, bearer(tr.RefreshToken), 401, tokenVerifyWWW, ""},
		{"ID token", "GET", nil, bearer(tr.IDToken), 401, tokenVerifyWWW, ""},
		{"token of another namespace", "GET", nil, bearer(other.AccessToken), 401, tokenVerifyWWW, ""},
		{"token without the openid scope", "GET", nil, bearer(plain.AccessToken), 403, noOpenIDWWW, ""},
		{"access_token twice", "POST", sandboxtest.FormBody(values("access_token", tr.AccessToken, "access_token", tr.AccessToken)), nil, 400, duplicateWWW, ""},
		{"access_token twice, with a header too", "POST", sandboxtest.FormBody(values("access_token", "a", "access_token", "b")), bearer(tr.AccessToken), 400, duplicateWWW, ""},
		{"header and form", "POST", sandboxtest.FormBody(values("access_token", tr.AccessToken)), bearer(tr.AccessToken), 400, twoMethodsWWW, ""},
		{"header and an empty form access_token", "POST", sandboxtest.FormBody(values("access_token", "")), bearer(tr.AccessToken), 400, twoMethodsWWW, ""},
		{"empty form access_token", "POST", sandboxtest.FormBody(values("access_token", "")), nil, 401, tokenVerifyWWW, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantChallenge(t, h.With(t).Do(tc.method, oidcBase+"/userinfo"+tc.query, tc.body, tc.opts...), tc.status, tc.www)
		})
	}
	// Expiry is the sandbox clock's, and verification comes before the
	// scope: an expired token without openid fails verification.
	advance(t, h, "", "300s")
	wantChallenge(t, userinfo(h, tr.AccessToken), 401, tokenVerifyWWW)
	wantChallenge(t, userinfo(h, plain.AccessToken), 401, tokenVerifyWWW)
}

// Keycloak's userinfo answers its errors with CORS headers (every origin
// allowed) until it knows the token's client; after that the client's web
// origins apply, which match no origin here, as on the 200.
func TestUserinfoCORS(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := openidLogin(t, h, "/centili", merchantUser)
	plain := login(t, h, "/centili", merchantUser)
	revoked := confLogin(t, h, merchantUser)
	h.Do("POST", oidcBase+"/revoke", confForm("token", revoked.AccessToken)).WantStatus(200)
	ended := openidLogin(t, h, "/centili", merchantUser)
	h.Do("POST", oidcBase+"/logout", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", ended.RefreshToken))).WantStatus(204)
	const origin = "https://app.example"
	withOrigin := func(opts ...sandboxtest.Option) []sandboxtest.Option {
		return append(opts, sandboxtest.Header("Origin", origin))
	}
	tests := []struct {
		name   string
		body   *sandboxtest.Body
		opts   []sandboxtest.Option
		status int
		cors   bool
	}{
		{"no token", nil, withOrigin(), 401, true},
		{"bad token", nil, withOrigin(sandboxtest.Bearer("nope")), 401, true},
		{"no openid scope", nil, withOrigin(sandboxtest.Bearer(plain.AccessToken)), 403, true},
		{"header and form", sandboxtest.FormBody(values("access_token", tr.AccessToken)), withOrigin(sandboxtest.Bearer(tr.AccessToken)), 400, true},
		{"access_token twice (checked before the origins are set)", sandboxtest.FormBody(values("access_token", "a", "access_token", "b")), withOrigin(), 400, false},
		{"revoked token (client known)", nil, withOrigin(sandboxtest.Bearer(revoked.AccessToken)), 401, false},
		{"ended session", nil, withOrigin(sandboxtest.Bearer(ended.AccessToken)), 401, false},
		{"success", nil, withOrigin(sandboxtest.Bearer(tr.AccessToken)), 200, false},
		{"no Origin header", nil, nil, 401, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.With(t).Do("POST", oidcBase+"/userinfo", tc.body, tc.opts...).WantStatus(tc.status)
			want := map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Expose-Headers": ""}
			if tc.cors {
				want = map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
					"Access-Control-Expose-Headers": "Access-Control-Allow-Methods, WWW-Authenticate"}
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// A fault rule (here the Prefer header) asking userinfo for a 401 or 403
// answers one of userinfo's own challenges, so that a client's handling can
// be rehearsed; other statuses are Keycloak's JSON error.
func TestUserinfoFaultAnswersAreNative(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tok := sandboxtest.Bearer(openidLogin(t, h, "/centili", merchantUser).AccessToken)
	for _, tc := range []struct {
		status    int
		www, body string
	}{
		{401, tokenVerifyWWW, ""},
		{403, noOpenIDWWW, ""},
		{400, "", `{"error":"invalid_request","error_description":"Bad Request"}`},
		{503, "", `{"error":"server_error","error_description":"Service Unavailable"}`},
	} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(fmt.Sprintf("%s %d", method, tc.status), func(t *testing.T) {
				res := h.With(t).Do(method, oidcLegacyBase+"/userinfo", nil, tok, sandboxtest.Header("Prefer", fmt.Sprintf("status=%d", tc.status)))
				if tc.www != "" {
					wantChallenge(t, res, tc.status, tc.www)
					return
				}
				res.WantStatus(tc.status).WantJSON(tc.body)
				if got := res.Header.Get("WWW-Authenticate"); got != "" {
					t.Errorf("WWW-Authenticate = %q, want none", got)
				}
			})
		}
	}
}

// An access token that outlives its session's idle timeout is refused by
// userinfo with Keycloak's "session_expired" and is inactive.
func TestUserinfoSessionExpired(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario+"centili:\n  accessTokenLifespan: 3600\n  ssoSessionIdleTimeout: 600\n")
	tr := openidLogin(t, h, "/centili", merchantUser)
	advance(t, h, "", "601s")
	wantChallenge(t, userinfo(h, tr.AccessToken), 401, sessionExpiredWWW)
	introspect(h, tr.AccessToken).WantStatus(200).WantJSON(inactive)
}

func TestIntrospect(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := login(t, h, "/centili", merchantUser)
	var got map[string]any
	introspect(h, tr.AccessToken).WantStatus(200).JSON(&got)
	ac := claims(t, tr.AccessToken)
	for k, v := range ac {
		if k == "realm_access" || k == "resource_access" || k == "allowed-origins" || k == "aud" {
			continue
		}
		if got[k] != v {
			t.Errorf("introspected %s = %v, want the token's %v", k, got[k], v)
		}
	}
	if got["active"] != true || got["client_id"] != publicClient || got["username"] != merchantUser || got["token_type"] != "Bearer" {
		t.Errorf("introspection = %v", got)
	}
	got = nil
	h.Do("POST", oidcLegacyBase+"/token/introspect", confForm("token", tr.RefreshToken, "token_type_hint", "refresh_token")).WantStatus(200).JSON(&got)
	if got["active"] != true || got["token_type"] != "Refresh" || got["sid"] != tr.SessionState {
		t.Errorf("refresh token introspection = %v", got)
	}
	// HTTP Basic works as well as the form.
	if got := wantActive(t, h.Do("POST", oidcBase+"/token/introspect", sandboxtest.FormBody(values("token", tr.AccessToken)),
		sandboxtest.Header("Authorization", basicAuth(confClient, confSecret))), "Bearer"); got["jti"] != ac["jti"] {
		t.Errorf("introspection with HTTP Basic = %v, want the token's jti %v", got, ac["jti"])
	}

	other := login(t, h, "/ns/other/centili", merchantUser)
	conf := confLogin(t, h, otherUser)
	runFormCases(t, h, oidcBase+"/token/introspect", []formCase{
		{"unknown token", confForm("token", "nope"), 200, inactive},
		{"empty token", confForm("token", ""), 200, inactive},
		{"token of another namespace", confForm("token", other.AccessToken), 200, inactive},
		{"no token", confForm(), 400, `{"error":"invalid_request","error_description":"Token not provided."}`},
		{"unsupported hint", confForm("token", tr.AccessToken, "token_type_hint", "id_token"), 400, `{"error":"invalid_request","error_description":"Unsupported token type."}`},
		{"duplicated parameter", confForm("token", tr.AccessToken, "token", "x"), 400, `{"error":"invalid_request","error_description":"duplicated parameter"}`},
		{"public client", sandboxtest.FormBody(values("client_id", publicClient, "token", tr.AccessToken)), 403, `{"error":"invalid_request","error_description":"Client not allowed."}`},
		// A failed client authentication is Keycloak's catch-all, whatever
		// the token endpoint would have said, and comes before the
		// duplicated-parameter check.
		{"wrong secret", sandboxtest.FormBody(values("client_id", confClient, "client_secret", "x", "token", tr.AccessToken)), 401, authFailed},
		{"no secret", sandboxtest.FormBody(values("client_id", confClient, "token", tr.AccessToken)), 401, authFailed},
		{"unknown client", sandboxtest.FormBody(values("client_id", "nope", "token", tr.AccessToken)), 401, authFailed},
		{"no client", sandboxtest.FormBody(values("token", tr.AccessToken)), 401, authFailed},
		{"wrong secret and a duplicated parameter", sandboxtest.FormBody(values("client_id", confClient, "client_secret", "x", "token", "a", "token", "b")), 401, authFailed},
	})
	h.Do("POST", oidcBase+"/token/introspect", sandboxtest.FormBody(values("token", tr.AccessToken)),
		sandboxtest.Header("Authorization", basicAuth(confClient, "wrong"))).WantStatus(401).WantJSON(authFailed)
	// The hint only orders Keycloak's look-up: a refresh_token hint still
	// finds an access token (here one of another client of the realm).
	got = nil
	h.Do("POST", oidcBase+"/token/introspect", confForm("token", conf.AccessToken, "token_type_hint", "refresh_token")).WantStatus(200).JSON(&got)
	if got["active"] != true || got["client_id"] != confClient || got["username"] != otherUser {
		t.Errorf("introspection with a refresh_token hint = %v", got)
	}
	advance(t, h, "", "300s")
	introspect(h, tr.AccessToken).WantStatus(200).WantJSON(inactive)
	// The refresh token outlives the access token (1800 s idle timeout).
	wantActive(t, introspect(h, tr.RefreshToken), "Refresh")
	advance(t, h, "", "1500s")
	introspect(h, tr.RefreshToken).WantStatus(200).WantJSON(inactive)
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// Logout ends the session: refresh fails with "Session not active", the
// access token turns inactive in introspection and userinfo.
func TestLogout(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := openidLogin(t, h, "/centili", merchantUser)
	keep := login(t, h, "/centili", merchantUser)
	var r1 tokenResponse
	refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200).JSON(&r1)
	conf := confLogin(t, h, merchantUser)

	runFormCases(t, h, oidcBase+"/logout", []formCase{
		{"no refresh_token", sandboxtest.FormBody(values("client_id", publicClient)), 400, `{"error":"invalid_request","error_description":"No refresh token"}`},
		{"not a JWT", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", "nope")), 400, `{"error":"invalid_grant","error_description":"Invalid refresh token"}`},
		{"access token", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", tr.AccessToken)), 400, `{"error":"invalid_grant","error_description":"Invalid refresh token"}`},
		{"token of another client", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", conf.RefreshToken)), 400, `{"error":"invalid_grant","error_description":"Invalid refresh token. Token client and authorized client don't match"}`},
		{"wrong secret", sandboxtest.FormBody(values("client_id", confClient, "client_secret", "x", "refresh_token", conf.RefreshToken)), 401, `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"no client", sandboxtest.FormBody(values("refresh_token", tr.RefreshToken)), 400, `{"error":"invalid_client","error_description":"Missing client_id parameter"}`},
	})
	res := h.Do("POST", oidcBase+"/logout", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", tr.RefreshToken))).WantStatus(204)
	if len(res.Body) != 0 {
		t.Errorf("logout body = %q, want empty", res.Body)
	}
	for _, rt := range []string{tr.RefreshToken, r1.RefreshToken} {
		refresh(h, "/centili", publicClient, rt).WantStatus(400).WantJSON(`{"error":"invalid_grant","error_description":"Session not active"}`)
	}
	introspect(h, r1.AccessToken).WantStatus(200).WantJSON(inactive)
	introspect(h, tr.RefreshToken).WantStatus(200).WantJSON(inactive)
	wantChallenge(t, userinfo(h, r1.AccessToken), 401, noSessionWWW)
	// Logging out twice is still 204 (Keycloak skips a missing session);
	// the other session of the same user is untouched.
	h.Do("POST", oidcLegacyBase+"/logout", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", tr.RefreshToken))).WantStatus(204)
	refresh(h, "/centili", publicClient, keep.RefreshToken).WantStatus(200)
	// A confidential client logs out with its secret (python-keycloak).
	h.Do("POST", oidcBase+"/logout", confForm("refresh_token", conf.RefreshToken)).WantStatus(204)
	introspect(h, conf.AccessToken).WantStatus(200).WantJSON(inactive)
	if st := state(t, h, ""); len(st.Sessions) != 1 || st.Sessions[0].SessionID != keep.SessionState {
		t.Errorf("sessions after logout = %+v, want only %s", st.Sessions, keep.SessionState)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	a := confLogin(t, h, merchantUser)
	b := confLogin(t, h, merchantUser)
	pub := login(t, h, "/centili", merchantUser)
	revokeAt := func(base string, body *sandboxtest.Body) *sandboxtest.Response {
		return h.Do("POST", base+"/revoke", body)
	}
	runFormCases(t, h, oidcBase+"/revoke", []formCase{
		{"no token", confForm(), 400, `{"error":"invalid_request","error_description":"Token not provided"}`},
		{"unknown token", confForm("token", "nope"), 200, `{"error":"invalid_token","error_description":"Invalid token"}`},
		{"token of another client", confForm("token", pub.AccessToken), 400, `{"error":"invalid_request","error_description":"Unmatching clients"}`},
		{"duplicated parameter", confForm("token", a.AccessToken, "token", "x"), 400, `{"error":"invalid_request","error_description":"duplicated parameter"}`},
		{"wrong secret", sandboxtest.FormBody(values("client_id", confClient, "client_secret", "x", "token", a.AccessToken)), 401, `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`},
	})
	// Revoking an access token revokes it alone.
	res := revokeAt(oidcBase, confForm("token", a.AccessToken, "token_type_hint", "access_token")).WantStatus(200)
	if len(res.Body) != 0 {
		t.Errorf("revoke body = %q, want empty", res.Body)
	}
	introspect(h, a.AccessToken).WantStatus(200).WantJSON(inactive)
	wantChallenge(t, userinfo(h, a.AccessToken), 401, tokenVerifyWWW)
	var ra tokenResponse
	h.Do("POST", "/centili"+tokenPath, confForm("grant_type", "refresh_token", "refresh_token", a.RefreshToken)).WantStatus(200).JSON(&ra)
	wantActive(t, introspect(h, ra.AccessToken), "Bearer")
	h.Do("GET", oidcBase+"/userinfo", nil, sandboxtest.Bearer(ra.AccessToken)).WantStatus(200)
	// Revoking a refresh token ends its session.
	revokeAt(oidcLegacyBase, confForm("token", b.RefreshToken, "token_type_hint", "refresh_token")).WantStatus(200)
	introspect(h, b.AccessToken).WantStatus(200).WantJSON(inactive)
	h.Do("POST", "/centili"+tokenPath, confForm("grant_type", "refresh_token", "refresh_token", b.RefreshToken)).WantStatus(400).
		WantJSON(`{"error":"invalid_grant","error_description":"Session not active"}`)
	// A public client revokes its own tokens; a token whose session is gone
	// answers Keycloak's 200 invalid_token.
	revokeAt(oidcBase, sandboxtest.FormBody(values("client_id", publicClient, "token", pub.RefreshToken))).WantStatus(200)
	revokeAt(oidcBase, sandboxtest.FormBody(values("client_id", publicClient, "token", pub.AccessToken))).WantStatus(200).
		WantJSON(`{"error":"invalid_token","error_description":"Invalid token"}`)
}

func TestDiscoveryListsOIDCEndpoints(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	for _, base := range []string{"/centili/realms/api", "/centili/auth/realms/api", "/ns/demo/centili/realms/api"} {
		var d map[string]any
		h.Do("GET", base+"/.well-known/openid-configuration", nil).WantStatus(200).JSON(&d)
		realm := h.URL + base + "/protocol/openid-connect"
		for k, v := range map[string]string{
			"userinfo_endpoint": realm + "/userinfo", "introspection_endpoint": realm + "/token/introspect",
			"end_session_endpoint": realm + "/logout", "revocation_endpoint": realm + "/revoke",
		} {
			if d[k] != v {
				t.Errorf("%s: %s = %v, want %s", base, k, d[k], v)
			}
		}
		for _, k := range []string{"introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
			if got, _ := d[k].([]any); len(got) != 2 || got[0] != "client_secret_basic" || got[1] != "client_secret_post" {
				t.Errorf("%s: %s = %v", base, k, d[k])
			}
		}
	}
}

// go-oidc's discovery and UserInfo work unchanged against the realm.
func TestGoOIDCUserInfo(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	ctx := oidc.ClientContext(context.Background(), h.Client)
	provider, err := oidc.NewProvider(ctx, h.URL+"/centili/realms/api")
	if err != nil {
		t.Fatal(err)
	}
	if provider.UserInfoEndpoint() != h.URL+oidcBase+"/userinfo" {
		t.Errorf("UserInfoEndpoint = %s", provider.UserInfoEndpoint())
	}
	tr := openidLogin(t, h, "/centili", merchantUser)
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tr.AccessToken, TokenType: "Bearer"}))
	if err != nil {
		t.Fatal(err)
	}
	if info.Email != merchantUser || !info.EmailVerified || info.Subject != claims(t, tr.AccessToken)["sub"] {
		t.Errorf("userinfo = %+v", info)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "nope", TokenType: "Bearer"})); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("userinfo with a bad token: err = %v, want a 401", err)
	}
	plain := login(t, h, "/centili", merchantUser)
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: plain.AccessToken, TokenType: "Bearer"})); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("userinfo with a token without openid: err = %v, want a 403", err)
	}
}

const rotationScenario = frozenScenario + `centili:
  revokeRefreshToken: true
  refreshTokenMaxReuse: %d
`

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	reuse := `{"error":"invalid_grant","error_description":"Maximum allowed refresh token reuse exceeded"}`
	t.Run("off by default: a refresh token works again and again", func(t *testing.T) {
		t.Parallel()
		h := sandboxtest.New(t, frozenScenario)
		tr := login(t, h, "/centili", merchantUser)
		for i := 0; i < 4; i++ {
			refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200)
		}
		wantActive(t, introspect(h, tr.RefreshToken), "Refresh")
		if st := state(t, h, ""); len(st.Sessions) != 1 || st.Sessions[0].RefreshTokenUses != 0 || st.Sessions[0].ClientDetached {
			t.Errorf("sessions = %+v, want one with no uses counted", st.Sessions)
		}
	})
	for _, maxReuse := range []int{0, 2} {
		t.Run(fmt.Sprintf("on, maxReuse %d", maxReuse), func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, fmt.Sprintf(rotationScenario, maxReuse))
			tr := openidLogin(t, h, "/centili", merchantUser)
			var next tokenResponse
			for i := 0; i <= maxReuse; i++ {
				wantActive(t, introspect(h, tr.RefreshToken), "Refresh")
				refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200).JSON(&next)
			}
			if st := state(t, h, ""); len(st.Sessions) != 1 || st.Sessions[0].RefreshTokenUses != maxReuse+1 || st.Sessions[0].ClientDetached {
				t.Errorf("sessions = %+v, want one with refreshTokenUses %d", st.Sessions, maxReuse+1)
			}
			// Used up: introspection calls it inactive (Keycloak's reuse
			// check without the refresh), the rotated one is active.
			introspect(h, tr.RefreshToken).WantStatus(200).WantJSON(inactive)
			wantActive(t, introspect(h, next.RefreshToken), "Refresh")
			refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).WantJSON(reuse)
			// The failed reuse detaches the client from the session, which
			// lives on without it: the rotated token is refused, its access
			// token inactive and refused by userinfo, and revoking it
			// answers Keycloak's 200 invalid_token.
			refresh(h, "/centili", publicClient, next.RefreshToken).WantStatus(400).WantJSON(noRequiredClient)
			refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).WantJSON(noRequiredClient)
			introspect(h, next.AccessToken).WantStatus(200).WantJSON(inactive)
			introspect(h, next.RefreshToken).WantStatus(200).WantJSON(inactive)
			wantChallenge(t, userinfo(h, next.AccessToken), 401, noSessionWWW)
			h.Do("POST", oidcBase+"/revoke", sandboxtest.FormBody(values("client_id", publicClient, "token", next.AccessToken))).
				WantStatus(200).WantJSON(`{"error":"invalid_token","error_description":"Invalid token"}`)
			if st := state(t, h, ""); len(st.Sessions) != 1 || !st.Sessions[0].ClientDetached || st.Sessions[0].SessionID != tr.SessionState {
				t.Errorf("sessions = %+v, want %s kept with its client detached", st.Sessions, tr.SessionState)
			}
			// Logout still ends the (clientless) session; a new login works.
			h.Do("POST", oidcBase+"/logout", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", next.RefreshToken))).WantStatus(204)
			refresh(h, "/centili", publicClient, next.RefreshToken).WantStatus(400).
				WantJSON(`{"error":"invalid_grant","error_description":"Session not active"}`)
			fresh := openidLogin(t, h, "/centili", merchantUser)
			userinfo(h, fresh.AccessToken).WantStatus(200)
		})
	}
	t.Run("the rotated token works; the old one is stale after a later refresh", func(t *testing.T) {
		t.Parallel()
		h := sandboxtest.New(t, fmt.Sprintf(rotationScenario, 0))
		tr := login(t, h, "/centili", merchantUser)
		advance(t, h, "", "10s")
		var r1, r2 tokenResponse
		refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200).JSON(&r1)
		advance(t, h, "", "10s")
		refresh(h, "/centili", publicClient, r1.RefreshToken).WantStatus(200).JSON(&r2)
		introspect(h, tr.RefreshToken).WantStatus(200).WantJSON(inactive)
		refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).
			WantJSON(`{"error":"invalid_grant","error_description":"Stale token"}`)
		refresh(h, "/centili", publicClient, r2.RefreshToken).WantStatus(400).WantJSON(noRequiredClient)
	})
	t.Run("two concurrent refreshes of one token: exactly one succeeds", func(t *testing.T) {
		t.Parallel()
		h := sandboxtest.New(t, fmt.Sprintf(rotationScenario, 0))
		tr := login(t, h, "/centili", merchantUser)
		var wg sync.WaitGroup
		answers := make([]*sandboxtest.Response, 2)
		for i := range answers {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				answers[i] = refresh(h, "/centili", publicClient, tr.RefreshToken)
			}(i)
		}
		wg.Wait()
		win, lose := answers[0], answers[1]
		if win.Status != 200 {
			win, lose = lose, win
		}
		if win.Status != 200 || lose.Status != 400 {
			t.Fatalf("statuses = %d and %d, want one 200 and one 400", answers[0].Status, answers[1].Status)
		}
		lose.WantJSON(reuse)
		// The loser detached the client: the winner's token is refused too.
		var won tokenResponse
		win.JSON(&won)
		refresh(h, "/centili", publicClient, won.RefreshToken).WantStatus(400).WantJSON(noRequiredClient)
	})
}

// audienceScenario turns on Keycloak 26.6.2's introspection audience check
// and gives the public client an Audience mapper naming the confidential
// one, beside a second confidential client that no token names.
const audienceScenario = frozenScenario + `centili:
  introspectionAudienceCheck: %v
  clients:
    - {clientId: datagifting, publicClient: true, audience: [datagifting-confidential]}
    - {clientId: datagifting-confidential, secret: sandbox-centili-secret}
    - {clientId: resource-server, secret: rs-secret}
`

// Keycloak 26.6.1 (the default) lets any confidential client of the realm
// introspect any token; from 26.6.2 (introspectionAudienceCheck) a token is
// active only for a client its aud names, and refresh tokens, whose aud is
// the issuer, never are.
func TestIntrospectionAudienceCheck(t *testing.T) {
	t.Parallel()
	asResourceServer := func(kv ...string) *sandboxtest.Body {
		return sandboxtest.FormBody(values(append([]string{"client_id", "resource-server", "client_secret", "rs-secret"}, kv...)...))
	}
	for _, check := range []bool{false, true} {
		t.Run(fmt.Sprintf("check %v", check), func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, fmt.Sprintf(audienceScenario, check))
			mapped := login(t, h, "/centili", merchantUser) // aud [datagifting-confidential, account]
			plain := confLogin(t, h, merchantUser)          // aud "account"
			if aud := claims(t, mapped.AccessToken)["aud"]; fmt.Sprint(aud) != "[datagifting-confidential account]" {
				t.Fatalf("mapped client's aud = %v, want [datagifting-confidential account]", aud)
			}
			if aud := claims(t, plain.AccessToken)["aud"]; aud != "account" {
				t.Fatalf("plain client's aud = %v, want account", aud)
			}
			tests := []struct {
				name       string
				body       *sandboxtest.Body
				tokenType  string
				activeWhen bool // with the check on; without it every case is active
			}{
				{"named in aud", confForm("token", mapped.AccessToken), "Bearer", true},
				{"another confidential client, not in aud", asResourceServer("token", mapped.AccessToken), "Bearer", false},
				{"aud is only account", confForm("token", plain.AccessToken), "Bearer", false},
				{"refresh token (aud is the issuer)", confForm("token", mapped.RefreshToken, "token_type_hint", "refresh_token"), "Refresh", false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					res := h.With(t).Do("POST", oidcBase+"/token/introspect", tc.body)
					if !check || tc.activeWhen {
						wantActive(t, res, tc.tokenType)
						return
					}
					res.WantStatus(200).WantJSON(inactive)
				})
			}
		})
	}
}

// Introspection's 200 carries the endpoint's @NoCache and no Pragma; its
// errors carry no cache headers at all.
func TestIntrospectionCacheHeaders(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := login(t, h, "/centili", merchantUser)
	tests := []struct {
		name         string
		body         *sandboxtest.Body
		status       int
		cacheControl string
	}{
		{"active", confForm("token", tr.AccessToken), 200, "no-cache"},
		{"inactive", confForm("token", "nope"), 200, "no-cache"},
		{"no token", confForm(), 400, ""},
		{"unsupported hint", confForm("token", tr.AccessToken, "token_type_hint", "id_token"), 400, ""},
		{"authentication failed", sandboxtest.FormBody(values("token", tr.AccessToken)), 401, ""},
		{"public client", sandboxtest.FormBody(values("client_id", publicClient, "token", tr.AccessToken)), 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.With(t).Do("POST", oidcBase+"/token/introspect", tc.body).WantStatus(tc.status)
			if got := res.Header.Get("Cache-Control"); got != tc.cacheControl {
				t.Errorf("Cache-Control = %q, want %q", got, tc.cacheControl)
			}
			if got, ok := res.Header["Pragma"]; ok {
				t.Errorf("Pragma = %q, want none", got)
			}
		})
	}
}

// Revocation checks the token's signature and session, not its expiry: an
// expired token of a live session is revoked (200, empty), an expired
// refresh token ends its session.
func TestRevokeExpiredTokenOfLiveSession(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	a := confLogin(t, h, merchantUser)
	b := confLogin(t, h, merchantUser)
	advance(t, h, "", "1000s")
	var b2 tokenResponse
	h.Do("POST", "/centili"+tokenPath, confForm("grant_type", "refresh_token", "refresh_token", b.RefreshToken)).WantStatus(200).JSON(&b2)
	h.Do("POST", "/centili"+tokenPath, confForm("grant_type", "refresh_token", "refresh_token", a.RefreshToken)).WantStatus(200)
	advance(t, h, "", "1000s") // both first refresh tokens expired (1800 s), both sessions alive
	for _, tc := range []struct{ name, token string }{
		{"expired access token", a.AccessToken},
		{"expired refresh token", b.RefreshToken},
	} {
		res := h.Do("POST", oidcBase+"/revoke", confForm("token", tc.token)).WantStatus(200)
		if len(res.Body) != 0 {
			t.Errorf("%s: revoke body = %q, want empty", tc.name, res.Body)
		}
	}
	// Revoking b's expired refresh token ended b's session; a's lives on.
	h.Do("POST", "/centili"+tokenPath, confForm("grant_type", "refresh_token", "refresh_token", b2.RefreshToken)).WantStatus(400).
		WantJSON(`{"error":"invalid_grant","error_description":"Session not active"}`)
	if st := state(t, h, ""); len(st.Sessions) != 1 || st.Sessions[0].SessionID != a.SessionState {
		t.Errorf("sessions = %+v, want only %s", st.Sessions, a.SessionState)
	}
}

// Two Authorization headers read, as JAX-RS joins them, as one value that
// is no Bearer token: userinfo's bare challenge, or the form's token.
func TestUserinfoTwoAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := openidLogin(t, h, "/centili", merchantUser)
	twice := sandboxtest.Option(func(r *http.Request) {
		r.Header.Add("Authorization", "Bearer "+tr.AccessToken)
		r.Header.Add("Authorization", "Bearer "+tr.AccessToken)
	})
	wantChallenge(t, h.Do("GET", oidcBase+"/userinfo", nil, twice), 401, bareChallenge)
	wantChallenge(t, h.Do("POST", oidcBase+"/userinfo", nil, twice), 401, bareChallenge)
	var info map[string]any
	h.Do("POST", oidcBase+"/userinfo", sandboxtest.FormBody(values("access_token", tr.AccessToken)), twice).WantStatus(200).JSON(&info)
	if info["preferred_username"] != merchantUser || info["sub"] != claims(t, tr.AccessToken)["sub"] {
		t.Errorf("userinfo with the form's token = %v", info)
	}
}
