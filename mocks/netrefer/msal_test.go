package netrefer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// The user-realm lookup MSAL makes before a password grant: Managed for a
// domain of the directory, Unknown otherwise, under the mount and at the
// host root, in both spellings MSAL libraries use.
func TestUserRealm(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	managed := `{"ver":"1.0","account_type":"Managed","domain_name":"sandbox.test","cloud_instance_name":"microsoftonline.com","cloud_audience_urn":"urn:federation:MicrosoftOnline"}`
	unknown := `{"ver":"1.0","account_type":"Unknown","cloud_instance_name":"microsoftonline.com"}`
	for path, want := range map[string]string{
		"/netrefer/login/common/userrealm/operator@sandbox.test?api-version=1.0": managed,
		"/common/userrealm/operator@sandbox.test?api-version=1.0":                managed,
		"/ns/realm/common/userrealm/operator%40sandbox.test?api-version=1.0":     managed,
		"/common/UserRealm/OPERATOR@Sandbox.Test?api-version=1.0":                managed,
		"/netrefer/login/common/UserRealm/operator@sandbox.test":                 managed,
		// Another user of a known domain: the realm is the domain's.
		"/common/userrealm/nobody@sandbox.test?api-version=1.0": managed,
		"/common/userrealm/someone@example.com?api-version=1.0": unknown,
		"/common/userrealm/no-domain?api-version=1.0":           unknown,
	} {
		res := h.Do("GET", path, nil, sandboxtest.Header("Accept", "application/json"))
		res.WantStatus(200).WantJSON(want)
		if res.Header.Get("Content-Type") != "application/json; charset=utf-8" || res.Header.Get("Cache-Control") != "no-store, no-cache" {
			t.Errorf("%s: headers %v", path, res.Header)
		}
	}
	// The root alias answers in the namespace its prefix names, and is
	// journaled there as the provider's operation.
	var j []struct {
		Provider, Operation string
	}
	h.Admin("GET", "realm", "/requests", nil, &j)
	if len(j) != 1 || j[0].Provider != "netrefer" || j[0].Operation != "userRealm" {
		t.Errorf("journal of realm: %+v", j)
	}
}

// Instance discovery describes the authority MSAL names: its host is its
// cloud's only alias, and tenant discovery is the authority's own document.
func TestInstanceDiscovery(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	authority := "https://localhost:8443/ns/ci/netrefer/login/" + tenant
	q := func(version, endpoint string) string {
		return "?api-version=" + version + "&authorization_endpoint=" + url.QueryEscape(endpoint)
	}
	h.Do("GET", "/common/discovery/instance"+q("1.1", authority+"/oauth2/v2.0/authorize"), nil).WantStatus(200).WantJSON(`{
		"tenant_discovery_endpoint": "` + authority + `/v2.0/.well-known/openid-configuration",
		"api-version": "1.1",
		"metadata": [{"preferred_network": "localhost:8443", "preferred_cache": "localhost:8443", "aliases": ["localhost:8443"]}]}`)
	// MSAL Python asks with api-version 1.0 and the host without its port.
	h.Do("GET", "/netrefer/login/common/discovery/instance"+q("1.0", "https://sandbox.test/netrefer/login/organizations/oauth2/v2.0/authorize"), nil).
		WantStatus(200).WantJSON(`{
		"tenant_discovery_endpoint": "https://sandbox.test/netrefer/login/organizations/v2.0/.well-known/openid-configuration",
		"api-version": "1.0",
		"metadata": [{"preferred_network": "sandbox.test", "preferred_cache": "sandbox.test", "aliases": ["sandbox.test"]}]}`)
	// A v1 authorize endpoint leads to the v1 document.
	var doc struct {
		Endpoint string `json:"tenant_discovery_endpoint"`
	}
	h.Do("GET", "/common/discovery/instance"+q("1.1", authority+"/oauth2/authorize"), nil).WantStatus(200).JSON(&doc)
	if doc.Endpoint != authority+"/.well-known/openid-configuration" {
		t.Errorf("v1 authority: %s", doc.Endpoint)
	}
	// Without an authority, the sandbox's own common one on the request's host.
	host := strings.TrimPrefix(h.URL, "http://")
	h.Do("GET", "/common/discovery/instance?api-version=1.1", nil).WantStatus(200).WantJSON(`{
		"tenant_discovery_endpoint": "` + h.URL + `/netrefer/login/common/v2.0/.well-known/openid-configuration",
		"api-version": "1.1",
		"metadata": [{"preferred_network": "` + host + `", "preferred_cache": "` + host + `", "aliases": ["` + host + `"]}]}`)
}

// msalForm is the password grant as MSAL sends it: client_info=1, the OIDC
// scopes added, telemetry fields the service ignores.
func msalForm() url.Values {
	f := passwordForm()
	f.Set("scope", scope+" openid profile offline_access")
	f.Set("client_info", "1")
	f.Set("response_type", "token id_token")
	f.Set("x-client-SKU", "msal.js.node")
	f.Set("x-client-VER", "2.15.0")
	f.Set("x-ms-lib-capability", "retry-after, h429")
	f.Set("client-request-id", "6b1c5e3a-0b5e-4c39-9f7e-2f1d6a0c9a11")
	return f
}

// client_info is base64url JSON of the user's object id and tenant, the
// same ids the id token carries: MSAL's account id is uid.utid.
func TestClientInfo(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	var tr struct {
		ClientInfo   string `json:"client_info"`
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
	}
	h.Do("POST", tokenPath+"?client-request-id=6b1c5e3a-0b5e-4c39-9f7e-2f1d6a0c9a11", sandboxtest.FormBody(msalForm())).WantStatus(200).JSON(&tr)
	raw, err := base64.RawURLEncoding.DecodeString(tr.ClientInfo)
	if err != nil {
		t.Fatalf("client_info %q: %v", tr.ClientInfo, err)
	}
	var ci map[string]string
	if err := json.Unmarshal(raw, &ci); err != nil {
		t.Fatal(err)
	}
	_, idc := decodeClaims(t, tr.IDToken)
	if len(ci) != 2 || ci["uid"] == "" || ci["uid"] != idc["oid"] || ci["utid"] != tenant || idc["tid"] != tenant || tr.RefreshToken == "" {
		t.Errorf("client_info %v, id token %v, refresh token %q", ci, idc, tr.RefreshToken)
	}
	// Only when asked.
	var plain map[string]any
	h.Do("POST", tokenPath, sandboxtest.FormBody(passwordForm())).WantStatus(200).JSON(&plain)
	if _, ok := plain["client_info"]; ok {
		t.Errorf("client_info without client_info=1: %v", plain)
	}
}

// publicClient is the default client with "allow public client flows" on
// and no secret at all, as an app used only by public clients is.
const publicClient = `version: 1
name: public
clock: {start: "2026-11-22T10:00:00Z", frozen: true}
netrefer:
  clients:
    - clientId: ` + clientID + `
      allowPublicClient: true
      users: [{username: ` + username + `, password: ` + password + `}]
      subscriptionKeys: [` + subKey + `]
      brands: [1]
`

// Without allowPublicClient a request without a secret is Azure AD's
// AADSTS7000218; with it, the password and refresh grants need none.
func TestPublicClientFlows(t *testing.T) {
	t.Parallel()
	public := passwordForm()
	public.Del("client_secret")

	off := sandboxtest.New(t, frozen)
	res := off.Do("POST", tokenPath, sandboxtest.FormBody(public))
	res.WantStatus(401)
	if e := aadAnswer(t, res); e.Error != "invalid_client" || !strings.HasPrefix(e.Description,
		"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.\r\n") {
		t.Errorf("public client refused with %+v", e)
	}

	on := sandboxtest.New(t, publicClient)
	public.Set("scope", scope+" offline_access")
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	on.Do("POST", tokenPath, sandboxtest.FormBody(public)).WantStatus(200).JSON(&tr)
	ingest(on, tr.AccessToken, "registrations", reg("p1", "c1")).WantStatus(200)
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tr.RefreshToken}}
	on.Do("POST", tokenPath, sandboxtest.FormBody(refresh)).WantStatus(200)
	v1 := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "username": {username}, "password": {password}, "resource": {"api://" + clientID}}
	on.Do("POST", tokenV1Path, sandboxtest.FormBody(v1)).WantStatus(200)
	// A secret that is sent is still checked (this app has none).
	public.Set("client_secret", "guess")
	res = on.Do("POST", tokenPath, sandboxtest.FormBody(public))
	res.WantStatus(401)
	if e := aadAnswer(t, res); len(e.Codes) != 1 || e.Codes[0] != 7000215 {
		t.Errorf("wrong secret on a public client: %+v", e)
	}
}

func v1Form(kv ...string) url.Values {
	f := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {secret},
		"username": {username}, "password": {password}, "resource": {"api://" + clientID}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

// The v1 endpoint: resource instead of scope, v1 answer fields (numbers as
// strings), aud = the resource as named; its tokens pass the gateway.
func TestTokenV1Endpoint(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	var tr map[string]string
	res := h.Do("POST", tokenV1Path, sandboxtest.FormBody(v1Form()))
	res.WantStatus(200).JSON(&tr)
	if res.Header.Get("Cache-Control") != "no-store, no-cache" {
		t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	now := strconv.FormatInt(mustTime(t, "2026-11-22T10:00:00Z"), 10)
	later := strconv.FormatInt(mustTime(t, "2026-11-22T10:00:00Z")+3599, 10)
	for k, v := range map[string]string{"token_type": "Bearer", "scope": "Events.Injestion", "expires_in": "3599", "ext_expires_in": "3599",
		"not_before": now, "expires_on": later, "resource": "api://" + clientID} {
		if tr[k] != v {
			t.Errorf("%s = %q, want %q", k, tr[k], v)
		}
	}
	if tr["refresh_token"] == "" || tr["id_token"] != "" || tr["client_info"] != "" {
		t.Errorf("answer %v", tr)
	}
	_, claims := decodeClaims(t, tr["access_token"])
	if claims["aud"] != "api://"+clientID || claims["ver"] != "1.0" || claims["scp"] != "Events.Injestion" || claims["iss"] != h.URL+"/netrefer/login/"+tenant+"/" {
		t.Errorf("claims %v", claims)
	}
	ingest(h, tr["access_token"], "registrations", reg("v1-1", "c1")).WantStatus(200)

	// The client id as resource is the audience as written; openid adds a v1 id token.
	var byID map[string]string
	h.Do("POST", tokenV1Path, sandboxtest.FormBody(v1Form("resource", clientID, "scope", "openid", "client_info", "1"))).WantStatus(200).JSON(&byID)
	_, claims = decodeClaims(t, byID["access_token"])
	_, idc := decodeClaims(t, byID["id_token"])
	if claims["aud"] != clientID || byID["resource"] != clientID || idc["ver"] != "1.0" || idc["aud"] != clientID ||
		idc["upn"] != username || idc["iss"] != h.URL+"/netrefer/login/"+tenant+"/" || byID["client_info"] == "" {
		t.Errorf("by client id: %v, access %v, id %v", byID, claims, idc)
	}
	ingest(h, byID["access_token"], "registrations", reg("v1-2", "c2")).WantStatus(200)

	// A refresh without resource keeps the one it was issued for.
	var refreshed map[string]string
	h.Do("POST", tokenV1Path, sandboxtest.FormBody(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID},
		"client_secret": {secret}, "refresh_token": {tr["refresh_token"]}})).WantStatus(200).JSON(&refreshed)
	if refreshed["resource"] != "api://"+clientID || refreshed["refresh_token"] == "" {
		t.Errorf("refreshed %v", refreshed)
	}

	for name, tc := range map[string]struct {
		form        url.Values
		oauth, text string
		code        int
	}{
		"missing resource": {v1Form("resource", ""), "invalid_request",
			"AADSTS900144: The request body must contain the following parameter: 'resource'.", 900144},
		"unknown resource": {v1Form("resource", "https://graph.windows.net"), "invalid_resource",
			"AADSTS500011: The resource principal named https://graph.windows.net was not found in the tenant named " + tenant + ". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", 500011},
		"wrong password": {v1Form("password", "nope"), "invalid_grant",
			"AADSTS50126: Error validating credentials due to invalid username or password.", 50126},
	} {
		res := h.Do("POST", tokenV1Path, sandboxtest.FormBody(tc.form))
		res.WantStatus(400)
		if e := aadAnswer(t, res); e.Error != tc.oauth || len(e.Codes) != 1 || e.Codes[0] != tc.code || !strings.HasPrefix(e.Description, tc.text+"\r\n") {
			t.Errorf("%s: %+v", name, e)
		}
	}
}

func mustTime(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.Unix()
}

// go-oidc finds the v1 token endpoint through the v1 issuer's discovery,
// and verifies the v1 endpoint's tokens with its keys.
func TestOIDCAgainstV1Issuer(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "version: 1\nname: oidc-v1\n") // real time: go-oidc checks exp against it
	issuer := h.URL + "/ns/oidc1/netrefer/login/" + tenant + "/"
	ctx := oidc.ClientContext(context.Background(), h.Client)
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	tokenURL := provider.Endpoint().TokenURL
	if tokenURL != issuer+"oauth2/token" || provider.Endpoint().AuthURL != issuer+"oauth2/authorize" {
		t.Fatalf("v1 endpoints %+v", provider.Endpoint())
	}
	res, err := h.Client.PostForm(tokenURL, v1Form())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || res.StatusCode != 200 {
		t.Fatalf("v1 token: %d %v", res.StatusCode, err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "api://" + clientID}).Verify(ctx, tr.AccessToken); err != nil {
		t.Fatalf("verify: %v", err)
	}
}
