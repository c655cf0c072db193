package centili_test

import (
	"context"
	"encoding/base64"
	"fmt"
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
	tokenVerifyErr = `{"error":"invalid_token","error_description":"Token verification failed"}`
	tokenVerifyWWW = `Bearer realm="api", error="invalid_token", error_description="Token verification failed"`
	inactive       = `{"active":false}`
)

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

func confLogin(t testing.TB, h *sandboxtest.Harness, user string) tokenResponse {
	t.Helper()
	v := passwordForm(confClient, user, password)
	v.Set("client_secret", confSecret)
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

func TestUserinfo(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tr := login(t, h, "/centili", merchantUser)
	sub := claims(t, tr.AccessToken)["sub"].(string)
	want := `{"sub":"` + sub + `","email_verified":true,"preferred_username":"merchant@sandbox.test","email":"merchant@sandbox.test","merchantId":11111}`
	for _, base := range []string{oidcBase, oidcLegacyBase, "/ns/default/centili/realms/api/protocol/openid-connect"} {
		h.Do("GET", base+"/userinfo", nil, sandboxtest.Bearer(tr.AccessToken)).WantStatus(200).WantJSON(want)
		h.Do("POST", base+"/userinfo", nil, sandboxtest.Bearer(tr.AccessToken)).WantStatus(200).WantJSON(want)
		h.Do("POST", base+"/userinfo", sandboxtest.FormBody(values("access_token", tr.AccessToken))).WantStatus(200).WantJSON(want)
	}
	other := login(t, h, "/ns/other/centili", merchantUser)
	tests := []struct {
		name, method string
		body         *sandboxtest.Body
		opts         []sandboxtest.Option
		status       int
		body200      string
		www          string
	}{
		{"no token", "GET", nil, nil, 400, `{"error":"invalid_request","error_description":"Token not provided"}`, ""},
		{"no token in POST form", "POST", sandboxtest.FormBody(values("x", "y")), nil, 400, `{"error":"invalid_request","error_description":"Token not provided"}`, ""},
		{"not a JWT", "GET", nil, []sandboxtest.Option{sandboxtest.Bearer("nope")}, 401, tokenVerifyErr, tokenVerifyWWW},
		{"refresh token", "GET", nil, []sandboxtest.Option{sandboxtest.Bearer(tr.RefreshToken)}, 401, tokenVerifyErr, tokenVerifyWWW},
		{"token of another namespace", "GET", nil, []sandboxtest.Option{sandboxtest.Bearer(other.AccessToken)}, 401, tokenVerifyErr, tokenVerifyWWW},
		{"Basic instead of Bearer", "GET", nil, []sandboxtest.Option{sandboxtest.Header("Authorization", "Basic "+tr.AccessToken)}, 400, `{"error":"invalid_request","error_description":"Token not provided"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do(tc.method, oidcBase+"/userinfo", tc.body, tc.opts...).WantStatus(tc.status)
			res.WantJSON(tc.body200)
			if got := res.Header.Get("WWW-Authenticate"); got != tc.www {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.www)
			}
		})
	}
	// Expiry is the sandbox clock's.
	advance(t, h, "", "300s")
	res := h.Do("GET", oidcBase+"/userinfo", nil, sandboxtest.Bearer(tr.AccessToken)).WantStatus(401)
	res.WantJSON(tokenVerifyErr)
}

// An access token that outlives its session's idle timeout is refused by
// userinfo with Keycloak's "Session expired" and is inactive.
func TestUserinfoSessionExpired(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario+"centili:\n  accessTokenLifespan: 3600\n  ssoSessionIdleTimeout: 600\n")
	tr := login(t, h, "/centili", merchantUser)
	advance(t, h, "", "601s")
	res := h.Do("GET", oidcBase+"/userinfo", nil, sandboxtest.Bearer(tr.AccessToken)).WantStatus(401)
	res.WantJSON(`{"error":"invalid_token","error_description":"Session expired"}`)
	if got, want := res.Header.Get("WWW-Authenticate"), `Bearer realm="api", error="invalid_token", error_description="Session expired"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
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
	h.Do("POST", oidcBase+"/token/introspect", sandboxtest.FormBody(values("token", tr.AccessToken)),
		sandboxtest.Header("Authorization", basicAuth(confClient, confSecret))).WantStatus(200)

	other := login(t, h, "/ns/other/centili", merchantUser)
	conf := confLogin(t, h, otherUser)
	runFormCases(t, h, oidcBase+"/token/introspect", []formCase{
		{"unknown token", confForm("token", "nope"), 200, inactive},
		{"empty token", confForm("token", ""), 200, inactive},
		{"token of another namespace", confForm("token", other.AccessToken), 200, inactive},
		{"no token", confForm(), 400, `{"error":"invalid_request","error_description":"Token not provided."}`},
		{"unsupported hint", confForm("token", tr.AccessToken, "token_type_hint", "id_token"), 400, `{"error":"invalid_request","error_description":"Unsupported token type [id_token]."}`},
		{"duplicated parameter", confForm("token", tr.AccessToken, "token", "x"), 400, `{"error":"invalid_request","error_description":"duplicated parameter"}`},
		{"public client", sandboxtest.FormBody(values("client_id", publicClient, "token", tr.AccessToken)), 403, `{"error":"invalid_request","error_description":"Client not allowed."}`},
		{"wrong secret", sandboxtest.FormBody(values("client_id", confClient, "client_secret", "x", "token", tr.AccessToken)), 401, `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"unknown client", sandboxtest.FormBody(values("client_id", "nope", "token", tr.AccessToken)), 401, `{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`},
		{"no client", sandboxtest.FormBody(values("token", tr.AccessToken)), 400, `{"error":"invalid_client","error_description":"Missing client_id parameter"}`},
	})
	// The hint only orders Keycloak's look-up: a refresh_token hint still
	// finds an access token (here one of another client of the realm).
	got = nil
	h.Do("POST", oidcBase+"/token/introspect", confForm("token", conf.AccessToken, "token_type_hint", "refresh_token")).WantStatus(200).JSON(&got)
	if got["active"] != true || got["client_id"] != confClient || got["username"] != otherUser {
		t.Errorf("introspection with a refresh_token hint = %v", got)
	}
	advance(t, h, "", "300s")
	introspect(h, tr.AccessToken).WantStatus(200).WantJSON(inactive)
	introspect(h, tr.RefreshToken).WantStatus(200)
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
	tr := login(t, h, "/centili", merchantUser)
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
	res = h.Do("GET", oidcBase+"/userinfo", nil, sandboxtest.Bearer(r1.AccessToken)).WantStatus(401)
	res.WantJSON(`{"error":"invalid_request","error_description":"User session not found or doesn't have client attached on it"}`)
	if got, want := res.Header.Get("WWW-Authenticate"), `Bearer realm="api", error="invalid_request", error_description="User session not found or doesn't have client attached on it"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
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
	h.Do("GET", oidcBase+"/userinfo", nil, sandboxtest.Bearer(a.AccessToken)).WantStatus(401).WantJSON(tokenVerifyErr)
	var ra tokenResponse
	h.Do("POST", "/centili"+tokenPath, confForm("grant_type", "refresh_token", "refresh_token", a.RefreshToken)).WantStatus(200).JSON(&ra)
	introspect(h, ra.AccessToken).WantStatus(200)
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
	tr := login(t, h, "/centili", merchantUser)
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
}

const rotationScenario = frozenScenario + `centili:
  revokeRefreshToken: true
  refreshTokenMaxReuse: %d
`

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	reuse := `{"error":"invalid_grant","error_description":"Maximum allowed refresh token reuse exceeded"}`
	notActive := `{"error":"invalid_grant","error_description":"Session not active"}`
	t.Run("off by default: a refresh token works again and again", func(t *testing.T) {
		t.Parallel()
		h := sandboxtest.New(t, frozenScenario)
		tr := login(t, h, "/centili", merchantUser)
		for i := 0; i < 4; i++ {
			refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200)
		}
	})
	for _, maxReuse := range []int{0, 2} {
		t.Run(fmt.Sprintf("on, maxReuse %d", maxReuse), func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, fmt.Sprintf(rotationScenario, maxReuse))
			tr := login(t, h, "/centili", merchantUser)
			var next tokenResponse
			for i := 0; i <= maxReuse; i++ {
				refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200).JSON(&next)
			}
			if st := state(t, h, ""); len(st.Sessions) != 1 || st.Sessions[0].RefreshTokenUses != maxReuse+1 {
				t.Errorf("sessions = %+v, want one with refreshTokenUses %d", st.Sessions, maxReuse+1)
			}
			refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).WantJSON(reuse)
			// The failed reuse ends the session: the rotated token is dead too.
			refresh(h, "/centili", publicClient, next.RefreshToken).WantStatus(400).WantJSON(notActive)
			introspect(h, next.AccessToken).WantStatus(200).WantJSON(inactive)
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
		refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).
			WantJSON(`{"error":"invalid_grant","error_description":"Stale token"}`)
		refresh(h, "/centili", publicClient, r2.RefreshToken).WantStatus(400).WantJSON(notActive)
	})
	t.Run("two concurrent refreshes of one token: exactly one succeeds", func(t *testing.T) {
		t.Parallel()
		h := sandboxtest.New(t, fmt.Sprintf(rotationScenario, 0))
		tr := login(t, h, "/centili", merchantUser)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range statuses {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses[i] = refresh(h, "/centili", publicClient, tr.RefreshToken).Status
			}(i)
		}
		wg.Wait()
		if statuses[0]+statuses[1] != 600 {
			t.Errorf("statuses = %v, want one 200 and one 400", statuses)
		}
	})
}
