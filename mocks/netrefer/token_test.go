package netrefer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	form := func(kv ...string) url.Values {
		v := passwordForm()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	tests := []struct {
		name    string
		tenant  string
		body    *sandboxtest.Body
		status  int
		error   string
		code    int
		message string
	}{
		{"missing grant_type", tenant, sandboxtest.FormBody(form("grant_type", "")), 400, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'grant_type'."},
		{"JSON instead of form", tenant, sandboxtest.JSONBody(map[string]string{"grant_type": "password"}), 400, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'grant_type'."},
		{"empty body", tenant, sandboxtest.RawBody("", nil), 400, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'grant_type'."},
		{"unsupported grant", tenant, sandboxtest.FormBody(form("grant_type", "client_credentials")), 400, "unsupported_grant_type", 70003,
			"AADSTS70003: The app requested an unsupported grant type 'client_credentials'."},
		{"unknown tenant", "11111111-2222-3333-4444-555555555555", sandboxtest.FormBody(form()), 400, "invalid_request", 90002,
			"AADSTS90002: Tenant '11111111-2222-3333-4444-555555555555' not found."},
		{"ROPC on common", "common", sandboxtest.FormBody(form()), 400, "invalid_request", 9001023,
			"AADSTS9001023: The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."},
		{"ROPC on consumers", "consumers", sandboxtest.FormBody(form()), 400, "invalid_request", 9001023, "AADSTS9001023: "},
		{"missing client_id", tenant, sandboxtest.FormBody(form("client_id", "")), 400, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'client_id'."},
		{"unknown client", tenant, sandboxtest.FormBody(form("client_id", "99999999-7727-45fd-8ac3-1436cd541d76")), 400, "unauthorized_client", 700016,
			"AADSTS700016: Application with identifier '99999999-7727-45fd-8ac3-1436cd541d76' was not found in the directory '" + tenant + "'."},
		{"missing secret", tenant, sandboxtest.FormBody(form("client_secret", "")), 401, "invalid_client", 7000218,
			"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."},
		{"wrong secret", tenant, sandboxtest.FormBody(form("client_secret", "nope")), 401, "invalid_client", 7000215,
			"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientID + "'."},
		{"missing username", tenant, sandboxtest.FormBody(form("username", "")), 400, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'username'."},
		{"missing password", tenant, sandboxtest.FormBody(form("password", "")), 400, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'password'."},
		{"wrong password", tenant, sandboxtest.FormBody(form("password", "wrong")), 400, "invalid_grant", 50126,
			"AADSTS50126: Error validating credentials due to invalid username or password."},
		{"unknown user", tenant, sandboxtest.FormBody(form("username", "nobody@sandbox.test")), 400, "invalid_grant", 50126, "AADSTS50126: "},
		{"missing scope", tenant, sandboxtest.FormBody(form("scope", "")), 400, "invalid_scope", 70011,
			"AADSTS70011: The provided request must include a 'scope' input parameter."},
		{"scope not exposed", tenant, sandboxtest.FormBody(form("scope", "api://"+clientID+"/Events.Read")), 400, "invalid_scope", 70011,
			"AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope 'api://" + clientID + "/Events.Read' does not exist."},
		{"refresh grant without token", tenant, sandboxtest.FormBody(form("grant_type", "refresh_token")), 400, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'refresh_token'."},
		{"unknown refresh token", tenant, sandboxtest.FormBody(form("grant_type", "refresh_token", "refresh_token", "x")), 400, "invalid_grant", 9002313,
			"AADSTS9002313: Invalid request. Request is malformed or invalid."},
	}
	guid := `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	tail := regexp.MustCompile(`\r\nTrace ID: (` + guid + `)\r\nCorrelation ID: (` + guid + `)\r\nTimestamp: 2026-11-22 10:00:00Z$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.With(t)
			res := h.Do("POST", "/netrefer/login/"+tc.tenant+"/oauth2/v2.0/token", tc.body)
			res.WantStatus(tc.status)
			e := aadAnswer(t, res)
			if e.Error != tc.error || len(e.Codes) != 1 || e.Codes[0] != tc.code {
				t.Fatalf("error %q codes %v, want %q [%d]", e.Error, e.Codes, tc.error, tc.code)
			}
			if !strings.HasPrefix(e.Description, tc.message) {
				t.Errorf("description %q\nwant prefix %q", e.Description, tc.message)
			}
			m := tail.FindStringSubmatch(e.Description)
			if m == nil || m[1] != e.TraceID || m[2] != e.CorrelationID {
				t.Errorf("description tail %q does not carry trace %s and correlation %s", e.Description, e.TraceID, e.CorrelationID)
			}
			if e.Timestamp != "2026-11-22 10:00:00Z" || e.URI != fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", tc.code) {
				t.Errorf("timestamp %q uri %q", e.Timestamp, e.URI)
			}
		})
	}
}

// aadBody is Azure AD's error body.
type aadBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	URI           string `json:"error_uri"`
}

// aadAnswer checks the headers Azure AD sends with every token-service
// answer and decodes the error body.
func aadAnswer(t *testing.T, res *sandboxtest.Response) aadBody {
	t.Helper()
	for k, v := range map[string]string{"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "Content-Type": "application/json; charset=utf-8"} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	var e aadBody
	res.JSON(&e)
	return e
}

// TestTokenEndpointWrongMethod: Azure AD answers another method than POST
// on the token endpoint with its own 400 AADSTS900561, not APIM's 404.
func TestTokenEndpointWrongMethod(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	for _, tc := range []struct{ method, path string }{
		{"GET", tokenPath}, {"PUT", tokenPath}, {"DELETE", tokenPath}, {"PATCH", tokenPath}, {"GET", tokenV1Path}, {"PUT", tokenV1Path},
	} {
		method := tc.method
		t.Run(method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			h := h.With(t)
			res := h.Do(method, tc.path, nil)
			res.WantStatus(400)
			e := aadAnswer(t, res)
			if a := res.Header.Get("Allow"); a != "" {
				t.Errorf("Allow = %q", a)
			}
			want := "AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a " + method + " request.\r\nTrace ID: " + e.TraceID + "\r\n"
			if e.Error != "invalid_request" || len(e.Codes) != 1 || e.Codes[0] != 900561 || !strings.HasPrefix(e.Description, want) ||
				e.URI != "https://login.microsoftonline.com/error?code=900561" {
				t.Fatalf("answer %+v\nwant description prefix %q", e, want)
			}
		})
	}
	// A wrong method on the ingestion API stays APIM's 404.
	h.Do("GET", "/netrefer/di/v1/deposits", nil).WantStatus(404).WantJSON(`{"statusCode":404,"message":"Resource not found"}`)
}

func TestTokenCorrelationIDEchoed(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	res := h.Do("POST", tokenPath, sandboxtest.FormBody(url.Values{}), sandboxtest.Header("client-request-id", "c0ffee00-0000-4000-8000-000000000001"))
	res.WantStatus(400)
	var e struct {
		CorrelationID string `json:"correlation_id"`
	}
	res.JSON(&e)
	if e.CorrelationID != "c0ffee00-0000-4000-8000-000000000001" {
		t.Fatalf("correlation_id = %q", e.CorrelationID)
	}
}

func decodeClaims(t *testing.T, jwt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	for i, out := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestTokenSuccessV1(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	res := h.Do("POST", tokenPath, sandboxtest.FormBody(passwordForm())).WantStatus(200)
	for k, v := range map[string]string{"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "Content-Type": "application/json; charset=utf-8"} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	var tr map[string]any
	res.JSON(&tr)
	if tr["token_type"] != "Bearer" || tr["scope"] != scope || tr["expires_in"] != 3599.0 || tr["ext_expires_in"] != 3599.0 {
		t.Fatalf("token response %v", tr)
	}
	if _, ok := tr["refresh_token"]; ok {
		t.Error("refresh_token without offline_access")
	}
	if _, ok := tr["id_token"]; ok {
		t.Error("id_token without openid")
	}
	hdr, c := decodeClaims(t, tr["access_token"].(string))
	if hdr["alg"] != "RS256" || hdr["typ"] != "JWT" || hdr["kid"] == "" {
		t.Errorf("header %v", hdr)
	}
	now := float64(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).Unix())
	want := map[string]any{
		"aud": "api://" + clientID, "iss": h.URL + "/netrefer/login/" + tenant + "/", "iat": now, "nbf": now, "exp": now + 3599,
		"scp": "Events.Injestion", "tid": tenant, "appid": clientID, "upn": username, "unique_name": username, "ver": "1.0",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	for _, k := range []string{"oid", "sub"} {
		if s, _ := c[k].(string); s == "" {
			t.Errorf("claim %s missing", k)
		}
	}
}

func TestTokenV2MicrosoftIssuerAndOptionalTokens(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+`netrefer:
  token: {format: v2, lifetimeSeconds: 600, issuer: microsoft}
`)
	f := passwordForm()
	f.Set("scope", scope+" openid offline_access")
	res := h.Do("POST", tokenPath, sandboxtest.FormBody(f)).WantStatus(200)
	var tr map[string]any
	res.JSON(&tr)
	if tr["expires_in"] != 600.0 || tr["refresh_token"] == nil || tr["id_token"] == nil {
		t.Fatalf("token response %v", tr)
	}
	_, c := decodeClaims(t, tr["access_token"].(string))
	for k, v := range map[string]any{"aud": clientID, "azp": clientID, "preferred_username": username, "ver": "2.0",
		"iss": "https://login.microsoftonline.com/" + tenant + "/v2.0", "scp": "Events.Injestion"} {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	// The refresh token works once the access token has expired.
	h.Admin("POST", "", "/clock", map[string]any{"advance": "601s"}, nil)
	rf := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "client_secret": {secret}, "refresh_token": {tr["refresh_token"].(string)}}
	res = h.Do("POST", tokenPath, sandboxtest.FormBody(rf)).WantStatus(200)
	var tr2 map[string]any
	res.JSON(&tr2)
	_, c2 := decodeClaims(t, tr2["access_token"].(string))
	if c2["iat"].(float64) != c["iat"].(float64)+601 {
		t.Errorf("refreshed token iat %v, first %v", c2["iat"], c["iat"])
	}
	// The gateway accepts the v2 token with Microsoft's issuer.
	ingest(h, tr2["access_token"].(string), "registrations", reg("v2-1", "c1")).WantStatus(200)
}

// TestOAuth2AndOIDCLibraries is the acceptance test: golang.org/x/oauth2's
// password flow gets a token and go-oidc verifies it through discovery and
// JWKS, under a namespace prefix.
func TestOAuth2AndOIDCLibraries(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"v1", "v2"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, "version: 1\nname: lib\nnetrefer:\n  token: {format: "+format+"}\n")
			base := h.URL + "/ns/lib-" + format + "/netrefer"
			cfg := &oauth2.Config{
				ClientID: clientID, ClientSecret: secret, Scopes: []string{scope},
				Endpoint: oauth2.Endpoint{TokenURL: base + "/login/" + tenant + "/oauth2/v2.0/token"},
			}
			ctx := oidc.ClientContext(context.Background(), h.Client)
			ctx = context.WithValue(ctx, oauth2.HTTPClient, h.Client)
			tok, err := cfg.PasswordCredentialsToken(ctx, username, password)
			if err != nil {
				t.Fatalf("password grant: %v", err)
			}
			if tok.TokenType != "Bearer" || !tok.Valid() || time.Until(tok.Expiry) < 3500*time.Second {
				t.Fatalf("token %+v", tok)
			}
			issuer := base + "/login/" + tenant + "/"
			aud := "api://" + clientID
			if format == "v2" {
				issuer += "v2.0"
				aud = clientID
			}
			provider, err := oidc.NewProvider(ctx, issuer)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			idt, err := provider.Verifier(&oidc.Config{ClientID: aud}).Verify(ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var claims struct {
				Scp string `json:"scp"`
				Tid string `json:"tid"`
			}
			if err := idt.Claims(&claims); err != nil || claims.Scp != "Events.Injestion" || claims.Tid != tenant {
				t.Fatalf("claims %+v %v", claims, err)
			}
			// A wrong secret surfaces as oauth2.RetrieveError with Azure AD's body.
			bad := *cfg
			bad.ClientSecret = "nope"
			_, err = bad.PasswordCredentialsToken(ctx, username, password)
			var re *oauth2.RetrieveError
			if !asRetrieve(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
				t.Fatalf("wrong secret: %v", err)
			}
		})
	}
}

func asRetrieve(err error, out **oauth2.RetrieveError) bool {
	re, ok := err.(*oauth2.RetrieveError)
	if ok {
		*out = re
	}
	return ok
}

func TestDiscoveryDocuments(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	base := h.URL + "/ns/disc/netrefer"
	var doc map[string]any
	res := h.Do("GET", "/ns/disc/netrefer/login/"+tenant+"/v2.0/.well-known/openid-configuration", nil).WantStatus(200)
	res.JSON(&doc)
	for k, v := range map[string]string{
		"issuer":         base + "/login/" + tenant + "/v2.0",
		"token_endpoint": base + "/login/" + tenant + "/oauth2/v2.0/token",
		"jwks_uri":       base + "/login/" + tenant + "/discovery/v2.0/keys",
	} {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	res = h.Do("GET", "/ns/disc/netrefer/login/"+tenant+"/.well-known/openid-configuration", nil).WantStatus(200)
	res.JSON(&doc)
	if doc["issuer"] != base+"/login/"+tenant+"/" || doc["jwks_uri"] != base+"/login/"+tenant+"/discovery/keys" {
		t.Errorf("v1 doc %v", doc)
	}
	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	h.Do("GET", "/ns/disc/netrefer/login/"+tenant+"/discovery/v2.0/keys", nil).WantStatus(200).JSON(&jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0]["kty"] != "RSA" || jwks.Keys[0]["kid"] == "" || jwks.Keys[0]["n"] == "" || jwks.Keys[0]["e"] != "AQAB" {
		t.Errorf("jwks %v", jwks)
	}
	var inst map[string]any
	h.Do("GET", "/ns/disc/netrefer/login/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape(base+"/login/"+tenant+"/oauth2/v2.0/authorize"), nil).WantStatus(200).JSON(&inst)
	if inst["tenant_discovery_endpoint"] != base+"/login/"+tenant+"/v2.0/.well-known/openid-configuration" {
		t.Errorf("instance discovery %v", inst)
	}
	res = h.Do("GET", "/netrefer/login/not-a-tenant/v2.0/.well-known/openid-configuration", nil).WantStatus(400)
	var e struct {
		Codes []int `json:"error_codes"`
	}
	res.JSON(&e)
	if len(e.Codes) != 1 || e.Codes[0] != 90002 {
		t.Errorf("unknown tenant codes %v", e.Codes)
	}
}

func TestTokenEdgeCases(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	// organizations resolves to the client's tenant
	h.Do("POST", "/netrefer/login/organizations/oauth2/v2.0/token", sandboxtest.FormBody(passwordForm())).WantStatus(200)
	// client credentials in HTTP Basic (client_secret_basic)
	f := passwordForm()
	f.Del("client_id")
	f.Del("client_secret")
	req := h.Do("POST", tokenPath, sandboxtest.FormBody(f), sandboxtest.Header("Authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(clientID+":"+secret))))
	req.WantStatus(200)
	// .default is accepted and answered with the API's scope
	f = passwordForm()
	f.Set("scope", "api://"+clientID+"/.default")
	var tr map[string]any
	h.Do("POST", tokenPath, sandboxtest.FormBody(f)).WantStatus(200).JSON(&tr)
	if tr["scope"] != scope {
		t.Errorf("scope %v", tr["scope"])
	}
	// an oversized form is refused in Azure AD's shape
	big := []byte("grant_type=password&x=" + strings.Repeat("a", 921600))
	res := h.Do("POST", tokenPath, sandboxtest.RawBody("application/x-www-form-urlencoded", big)).WantStatus(413)
	var e struct {
		Error string `json:"error"`
		Codes []int  `json:"error_codes"`
	}
	res.JSON(&e)
	if e.Error != "invalid_request" || len(e.Codes) != 1 || e.Codes[0] != 90014 {
		t.Errorf("oversized form answer %+v", e)
	}
}
