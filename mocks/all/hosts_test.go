package all_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// The default scenario's credentials the host tests use.
const (
	nrClientID = "5a324196-7727-45fd-8ac3-1436cd541d76"
	ctService  = "3586a2363bcd51a2b3c4d5f34918263a"
)

// hostsScenario is the default scenario with host routing on and the
// InTarget operator host named.
func hostsScenario() string {
	return string(scenarios.Default()) + "\nhosts:\n  enabled: true\n  names:\n    intarget: {api: api.operator.test}\n"
}

// nrTokenForm is the default NetRefer client's password grant.
func nrTokenForm(scope string) *sandboxtest.Body {
	return sandboxtest.FormBody(url.Values{"grant_type": {"password"}, "client_id": {nrClientID}, "client_secret": {"sandbox-netrefer-secret"},
		"username": {"operator@sandbox.test"}, "password": {"sandbox-password"}, "scope": {scope}})
}

// ctTokenForm is the default Centili public client's password grant.
func ctTokenForm() *sandboxtest.Body {
	return sandboxtest.FormBody(url.Values{"grant_type": {"password"}, "client_id": {"datagifting"},
		"username": {"merchant@sandbox.test"}, "password": {"sandbox-password"}})
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostRouting: with host routing on, a request whose Host is a
// provider's real host is served by that provider, its path mapped onto
// the mount; the answer is the provider's own (checked against its
// document by the harness) and URLs in it name the host the client used.
func TestHostRouting(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, hostsScenario())
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("intarget:sandbox-password"))
	cases := []struct {
		name, host, method, path string
		body                     *sandboxtest.Body
		opts                     []sandboxtest.Option
		status                   int
		operation                string
		// check looks at the answer's JSON (nil: the body is not JSON).
		check func(t *testing.T, doc map[string]any, res *sandboxtest.Response)
	}{
		{name: "Azure AD v2 token", host: "login.microsoftonline.com", method: "POST", path: "/" + nrTenant + "/oauth2/v2.0/token",
			body: nrTokenForm("api://" + nrClientID + "/Events.Injestion openid"), status: 200, operation: "token",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				// Real issuers: v1 access token (the default format), v2 id token.
				if iss := jwtClaims(t, doc["access_token"].(string))["iss"]; iss != "https://sts.windows.net/"+nrTenant+"/" {
					t.Errorf("access token iss %v", iss)
				}
				if iss := jwtClaims(t, doc["id_token"].(string))["iss"]; iss != "https://login.microsoftonline.com/"+nrTenant+"/v2.0" {
					t.Errorf("id token iss %v", iss)
				}
			}},
		{name: "Azure AD v1 token", host: "login.microsoftonline.com", method: "POST", path: "/" + nrTenant + "/oauth2/token",
			body: sandboxtest.FormBody(url.Values{"grant_type": {"password"}, "client_id": {nrClientID}, "client_secret": {"sandbox-netrefer-secret"},
				"username": {"operator@sandbox.test"}, "password": {"sandbox-password"}, "resource": {"api://" + nrClientID}}),
			status: 200, operation: "tokenV1",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if iss := jwtClaims(t, doc["access_token"].(string))["iss"]; iss != "https://sts.windows.net/"+nrTenant+"/" {
					t.Errorf("access token iss %v", iss)
				}
			}},
		{name: "Azure AD v2 discovery", host: "login.microsoftonline.com", method: "GET", path: "/" + nrTenant + "/v2.0/.well-known/openid-configuration",
			status: 200, operation: "openidConfiguration",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				want := map[string]string{
					"issuer":         "https://login.microsoftonline.com/" + nrTenant + "/v2.0",
					"token_endpoint": "http://login.microsoftonline.com/" + nrTenant + "/oauth2/v2.0/token",
					"jwks_uri":       "http://login.microsoftonline.com/" + nrTenant + "/discovery/v2.0/keys",
				}
				for k, v := range want {
					if doc[k] != v {
						t.Errorf("%s = %v, want %s", k, doc[k], v)
					}
				}
			}},
		{name: "Azure AD v1 discovery on the issuer's host", host: "sts.windows.net", method: "GET", path: "/" + nrTenant + "/.well-known/openid-configuration",
			status: 200, operation: "openidConfigurationV1",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if doc["issuer"] != "https://sts.windows.net/"+nrTenant+"/" || doc["jwks_uri"] != "http://sts.windows.net/"+nrTenant+"/discovery/keys" {
					t.Errorf("issuer %v, jwks_uri %v", doc["issuer"], doc["jwks_uri"])
				}
			}},
		{name: "Azure AD keys", host: "login.microsoftonline.com", method: "GET", path: "/" + nrTenant + "/discovery/v2.0/keys", status: 200, operation: "jwks"},
		{name: "Azure AD user realm", host: "login.microsoftonline.com", method: "GET", path: "/common/userrealm/operator@sandbox.test?api-version=1.0",
			status: 200, operation: "userRealm",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if doc["account_type"] != "Managed" {
					t.Errorf("account_type %v", doc["account_type"])
				}
			}},
		{name: "Azure AD instance discovery", host: "login.microsoftonline.com", method: "GET", path: "/common/discovery/instance?api-version=1.1",
			status: 200, operation: "instanceDiscovery",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if doc["tenant_discovery_endpoint"] != "http://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration" {
					t.Errorf("tenant_discovery_endpoint %v", doc["tenant_discovery_endpoint"])
				}
			}},
		{name: "APIM without a key", host: "api.netrefer.com", method: "POST", path: "/di/v1/registrations", body: sandboxtest.JSONBody(`[]`),
			status: 401, operation: "ingestRegistrations",
			check: func(t *testing.T, doc map[string]any, res *sandboxtest.Response) {
				if got := res.Header.Get("WWW-Authenticate"); got != `AzureApiManagementKey realm="http://api.netrefer.com/di/v1",name="Ocp-Apim-Subscription-Key",type="header"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
			}},
		{name: "APIM host does not serve Azure AD", host: "api.netrefer.com", method: "POST", path: "/login/" + nrTenant + "/oauth2/v2.0/token",
			body: nrTokenForm("api://" + nrClientID + "/Events.Injestion"), status: 404,
			check: func(t *testing.T, doc map[string]any, res *sandboxtest.Response) {
				if string(res.Body) != `{"statusCode":404,"message":"Resource not found"}` || res.Header.Get(sandbox.HeaderHint) != "api.netrefer.com serves only paths under /di/" {
					t.Errorf("%s, hint %q", res.Body, res.Header.Get(sandbox.HeaderHint))
				}
			}},
		{name: "Centili Keycloak (current host)", host: "auth-capi.centili.com", method: "POST", path: "/realms/api/protocol/openid-connect/token",
			body: ctTokenForm(), status: 200, operation: "keycloakToken",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if iss := jwtClaims(t, doc["access_token"].(string))["iss"]; iss != "http://auth-capi.centili.com/realms/api" {
					t.Errorf("iss %v", iss)
				}
			}},
		{name: "Centili Keycloak (old host)", host: "api.centili.com", method: "POST", path: "/auth/realms/api/protocol/openid-connect/token",
			body: ctTokenForm(), status: 200, operation: "keycloakTokenLegacy",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if iss := jwtClaims(t, doc["access_token"].(string))["iss"]; iss != "http://api.centili.com/auth/realms/api" {
					t.Errorf("iss %v", iss)
				}
			}},
		{name: "Centili discovery", host: "auth-capi.centili.com", method: "GET", path: "/realms/api/.well-known/openid-configuration",
			status: 200, operation: "keycloakDiscovery",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if doc["issuer"] != "http://auth-capi.centili.com/realms/api" || doc["token_endpoint"] != "http://auth-capi.centili.com/realms/api/protocol/openid-connect/token" {
					t.Errorf("issuer %v, token_endpoint %v", doc["issuer"], doc["token_endpoint"])
				}
			}},
		{name: "Centili Data Gifting without a token", host: "api.centili.com", method: "GET", path: "/datagifting/v1/services?merchantId=11111",
			status: 401, operation: "listServices"},
		{name: "Centili Data Gifting is not on the Keycloak host", host: "auth-capi.centili.com", method: "GET", path: "/datagifting/v1/services?merchantId=11111",
			status: 404,
			check: func(t *testing.T, doc map[string]any, res *sandboxtest.Response) {
				if doc["errorMessage"] != "No endpoint GET /datagifting/v1/services" {
					t.Errorf("%s", res.Body)
				}
			}},
		{name: "Netfinity", host: "api.netfinity.bg", method: "POST", path: "/v2/sms/notification/send",
			body:   sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hello"}`),
			opts:   []sandboxtest.Option{sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer("sandbox-netfinity-token")},
			status: 200, operation: "sendSmsNotification"},
		{name: "Netfinity unknown path", host: "api.netfinity.bg", method: "POST", path: "/v2/sms/send", body: sandboxtest.JSONBody(`{}`),
			opts: []sandboxtest.Option{sandboxtest.Header("Accept", "application/json")}, status: 404},
		{name: "InTarget on the operator's host", host: "api.operator.test", method: "GET", path: "/api/users?from=2020-10-10+07:00:00&to=2020-10-10+08:00:00",
			opts: []sandboxtest.Option{sandboxtest.Header("Authorization", basic)}, status: 200, operation: "listUsers"},
		{name: "port, case and a final dot are ignored", host: "API.Netfinity.BG.:443", method: "POST", path: "/v2/sms/notification/send",
			body:   sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hello"}`),
			opts:   []sandboxtest.Option{sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer("sandbox-netfinity-token")},
			status: 200, operation: "sendSmsNotification"},
		{name: "another host is routed by path", host: "sandbox.internal", method: "GET", path: "/centili/realms/api/.well-known/openid-configuration",
			status: 200, operation: "keycloakDiscovery",
			check: func(t *testing.T, doc map[string]any, _ *sandboxtest.Response) {
				if doc["issuer"] != "http://sandbox.internal/centili/realms/api" {
					t.Errorf("issuer %v", doc["issuer"])
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do(tc.method, tc.path, tc.body, append([]sandboxtest.Option{sandboxtest.Host(tc.host)}, tc.opts...)...)
			res.WantStatus(tc.status)
			if tc.status < 400 || tc.operation != "" {
				if !res.Matched {
					t.Errorf("answer not checked against a document (not routed to an operation)")
				}
			}
			id := res.Header.Get(sandbox.HeaderRequestID)
			var entry struct {
				Provider, Operation string
				Request             struct{ Host, Path string }
			}
			if st := h.Admin("GET", "", "/requests/"+id, nil, &entry); st != 200 {
				t.Fatalf("journal entry %s: %d", id, st)
			}
			if entry.Operation != tc.operation {
				t.Errorf("journaled operation %q, want %q", entry.Operation, tc.operation)
			}
			wantHost := tc.host
			if tc.host == "sandbox.internal" {
				wantHost = ""
			}
			path, _, _ := strings.Cut(tc.path, "?")
			if entry.Request.Host != wantHost || entry.Request.Path != path {
				t.Errorf("journaled host %q path %q, want %q %q", entry.Request.Host, entry.Request.Path, wantHost, path)
			}
			if tc.check != nil {
				var doc map[string]any
				_ = json.Unmarshal(res.Body, &doc)
				tc.check(t, doc, res)
			}
		})
	}
}

// TestHostRoutingIsOffByDefault: without --hosts or hosts.enabled a
// provider's host name is just another name for the sandbox, routed by
// path; Config.Hosts (--hosts) turns routing on for the default scenario.
func TestHostRoutingIsOffByDefault(t *testing.T) {
	t.Parallel()
	off := sandboxtest.New(t, "")
	res := off.Do("GET", "/datagifting/v1/services?merchantId=11111", nil, sandboxtest.Host("api.centili.com")).WantStatus(404)
	if !strings.Contains(string(res.Body), `"detail":"no provider is mounted at /datagifting; mounts: /centili, /intarget, /netfinity, /netrefer"`) {
		t.Errorf("off: %s", res.Body)
	}
	off.Do("GET", "/centili/realms/api/.well-known/openid-configuration", nil, sandboxtest.Host("auth-capi.centili.com")).WantStatus(200)

	on := sandboxtest.NewWithConfig(t, "", func(c *sandbox.Config) { c.Hosts = true })
	on.Do("GET", "/datagifting/v1/services?merchantId=11111", nil, sandboxtest.Host("api.centili.com")).WantStatus(401)
	// InTarget has no host of its own: without a name in the scenario
	// nothing is routed to it by host.
	on.Do("GET", "/api/users", nil, sandboxtest.Host("api.operator.test")).WantStatus(404)
	on.Do("GET", "/intarget/api/users?from=2020-10-10+07:00:00&to=2020-10-10+08:00:00", nil, sandboxtest.Host("api.operator.test"),
		sandboxtest.Header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("intarget:sandbox-password")))).WantStatus(200)
}

// TestNamespaceHeader: X-Sandbox-Namespace puts a host-routed request in
// that namespace, created on first use as /ns/{name} would create it; a
// bad name is refused as a bad /ns/ name is; a path-routed request keeps
// the namespace of its path.
func TestNamespaceHeader(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, hostsScenario())
	send := func(host, path string, opts ...sandboxtest.Option) *sandboxtest.Response {
		opts = append([]sandboxtest.Option{sandboxtest.Host(host), sandboxtest.Header("Accept", "application/json"),
			sandboxtest.Bearer("sandbox-netfinity-token")}, opts...)
		return h.Do("POST", path, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hi"}`), opts...)
	}
	send("api.netfinity.bg", "/v2/sms/notification/send", sandboxtest.Header(sandbox.HeaderNamespace, "ci-7")).WantStatus(200)
	var entries []struct{ Namespace, Operation string }
	h.Admin("GET", "ci-7", "/requests", nil, &entries)
	if len(entries) != 1 || entries[0].Namespace != "ci-7" || entries[0].Operation != "sendSmsNotification" {
		t.Errorf("ci-7 journal %+v", entries)
	}
	h.Admin("GET", "", "/requests?provider=netfinity", nil, &entries)
	if len(entries) != 0 {
		t.Errorf("default journal has %+v", entries)
	}

	// Bad names: the admin API's problem, naming the header; nothing created.
	for _, bad := range []string{"a/b", "-x", strings.Repeat("n", 65)} {
		res := send("api.netfinity.bg", "/v2/sms/notification/send", sandboxtest.Header(sandbox.HeaderNamespace, bad)).WantStatus(400)
		want := `{"type":"about:blank","title":"Invalid namespace name","status":400,"detail":"X-Sandbox-Namespace: namespace \"` + bad +
			`\" must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} (send the header once, or leave it out for namespace default)"}`
		if string(res.Body) != want || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%q: %s %s", bad, res.Header.Get("Content-Type"), res.Body)
		}
	}
	// A path the host does not serve creates no namespace either.
	send("api.netfinity.bg", "/v2/sms/send", sandboxtest.Header(sandbox.HeaderNamespace, "typo")).WantStatus(404)
	// On a path-routed request the header is ignored: the path says default.
	h.Do("POST", "/netfinity/v2/sms/notification/send", sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hi"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer("sandbox-netfinity-token"),
		sandboxtest.Header(sandbox.HeaderNamespace, "ci-8")).WantStatus(200)
	if got := h.Namespaces(); strings.Join(got, ",") != "ci-7,default" {
		t.Errorf("namespaces %v, want [ci-7 default]", got)
	}

	// A Centili token fetched through its host is good in the namespace
	// the header names, on either host; the journal's path filter sees
	// the path below the mount.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	h.Do("POST", "/realms/api/protocol/openid-connect/token", ctTokenForm(), sandboxtest.Host("auth-capi.centili.com"),
		sandboxtest.Header(sandbox.HeaderNamespace, "ci-7")).WantStatus(200).JSON(&tok)
	h.Do("GET", "/datagifting/v1/services/balance?serviceKey="+ctService+"&operator=AT_A1", nil, sandboxtest.Host("api.centili.com"),
		sandboxtest.Header(sandbox.HeaderNamespace, "ci-7"), sandboxtest.Header("token", "Bearer "+tok.AccessToken)).WantStatus(200)
	h.Do("GET", "/centili/datagifting/v1/services/balance?serviceKey="+ctService+"&operator=AT_A1", nil,
		sandboxtest.Header("token", "Bearer "+tok.AccessToken)).WantStatus(200)
	h.Admin("GET", "ci-7", "/requests?path=/datagifting/v1/services/balance", nil, &entries)
	if len(entries) != 1 || entries[0].Operation != "getBalance" {
		t.Errorf("path filter in ci-7: %+v", entries)
	}
}

// TestHostsSection: the scenario's hosts section is checked like every
// section (every problem at once, located), GET /__sandbox/scenario shows
// every host with the name it is served under, and a scenario loaded on
// the bare path changes the routing at once.
func TestHostsSection(t *testing.T) {
	t.Parallel()
	_, probs := sandbox.LoadScenario("f.yaml", []byte(`version: 1
hosts:
  enabled: true
  names:
    netrefer: {apim: "https://apim.example.test/di", logn: x.test}
    centili: {api: sts.windows.net}
    intarget: {api: 10.0.0.1}
    nosuch: {api: a.test}
    netfinity: {api: localhost}
`))
	want := []string{
		`f.yaml:5: hosts.names.netrefer.logn: netrefer has no host "logn" (hint: did you mean "login"?)`,
		`f.yaml:5: hosts.names.netrefer.apim: "https://apim.example.test/di" is not a host name (hint: a host name such as api.example.test, without scheme, port or path)`,
		`f.yaml:6: hosts.names.centili.api: host "sts.windows.net" of centili's host "api" is also netrefer's host "sts" (hint: give one of them another name under hosts.names)`,
		`f.yaml:7: hosts.names.intarget.api: "10.0.0.1" is not a host name (hint: an IP address names the sandbox itself (its admin API and path mounts); use a host name)`,
		`f.yaml:8: hosts.names.nosuch: no provider "nosuch" has hosts to name (hint: use one of: centili, intarget, netfinity, netrefer)`,
		`f.yaml:9: hosts.names.netfinity.api: "localhost" is not a host name (hint: localhost names the sandbox itself (its admin API and path mounts))`,
	}
	got := make([]string, 0, len(probs))
	for _, p := range probs {
		got = append(got, p.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	h := sandboxtest.New(t, "")
	var doc map[string]any
	h.Admin("GET", "", "/scenario", nil, &doc)
	hosts, _ := json.Marshal(doc["hosts"])
	const defaults = `{"enabled":false,"names":{"centili":{"api":"api.centili.com","auth":"auth-capi.centili.com"},"intarget":{"api":""},` +
		`"netfinity":{"api":"api.netfinity.bg"},"netrefer":{"apim":"api.netrefer.com","login":"login.microsoftonline.com","sts":"sts.windows.net"}}}`
	if string(hosts) != defaults {
		t.Errorf("hosts %s", hosts)
	}
	// Rename NetRefer's APIM host (a user's own gateway) and switch the
	// old-name Centili host off, live: the document says so, the new name
	// routes, the old ones are plain names of the sandbox again.
	patch := `{"hosts": {"enabled": true, "names": {"netrefer": {"apim": "APIM.Example.TEST."}, "centili": {"api": ""}}}}`
	res := h.Do("PATCH", "/__sandbox/scenario", sandboxtest.RawBody("application/merge-patch+json", []byte(patch)))
	res.WantStatus(200)
	h.Admin("GET", "", "/scenario", nil, &doc)
	hosts, _ = json.Marshal(doc["hosts"])
	if !strings.Contains(string(hosts), `"enabled":true`) || !strings.Contains(string(hosts), `"apim":"apim.example.test"`) || !strings.Contains(string(hosts), `"centili":{"api":"","auth":"auth-capi.centili.com"}`) {
		t.Errorf("after PATCH: %s", hosts)
	}
	h.Do("POST", "/di/v1/registrations", sandboxtest.JSONBody(`[]`), sandboxtest.Host("apim.example.test")).WantStatus(401)
	h.Do("POST", "/di/v1/registrations", sandboxtest.JSONBody(`[]`), sandboxtest.Host("api.netrefer.com")).WantStatus(404)
	h.Do("GET", "/datagifting/v1/services?merchantId=11111", nil, sandboxtest.Host("api.centili.com")).WantStatus(404)
	// What GET returns is accepted back unchanged.
	body, _ := json.Marshal(doc)
	h.Do("PUT", "/__sandbox/scenario", sandboxtest.JSONBody(body)).WantStatus(200)
	h.Do("POST", "/di/v1/registrations", sandboxtest.JSONBody(`[]`), sandboxtest.Host("apim.example.test")).WantStatus(401)
}
