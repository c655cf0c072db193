package clients_test

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// EnvNodeModules names the node_modules directory that holds the packages
// node/package.json pins (.ci/run: npm ci --prefix DIR, then DIR/node_modules).
const EnvNodeModules = "SANDBOX_NODE_MODULES"

// nodeScripts prepares a directory for node/*.mjs: the scripts copied next
// to a node_modules link to SANDBOX_NODE_MODULES, so that their imports
// resolve as in an ordinary project (ES modules ignore NODE_PATH). It skips
// (or, with CI, fails) the test when node or the packages are missing, and
// fails it when an installed version is not the pinned one.
func nodeScripts(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "no node on PATH (Node.js 20 or later)")
	}
	out, err := exec.Command(node, "--version").Output()
	if m := regexp.MustCompile(`^v([0-9]+)\.`).FindSubmatch(out); err != nil || m == nil {
		t.Fatalf("node --version: %v %q", err, out)
	} else if major, _ := strconv.Atoi(string(m[1])); major < 20 {
		missing(t, "node "+strings.TrimSpace(string(out))+" is older than the libraries need (20)")
	}
	modules := os.Getenv(EnvNodeModules)
	if modules == "" {
		missing(t, EnvNodeModules+" is not set: install the pinned packages with\n"+
			"  cp clients/node/package*.json DIR/ && npm ci --prefix DIR && export "+EnvNodeModules+"=DIR/node_modules")
	}
	var pins struct{ Dependencies map[string]string }
	readJSON(t, filepath.Join("node", "package.json"), &pins)
	for name, pinned := range pins.Dependencies {
		var installed struct{ Version string }
		path := filepath.Join(modules, name, "package.json")
		if _, err := os.Stat(path); err != nil {
			missing(t, name+" is not installed in "+EnvNodeModules+"="+modules)
		}
		readJSON(t, path, &installed)
		if installed.Version != pinned {
			t.Fatalf("%s %s is installed in %s, node/package.json pins %s: reinstall with npm ci", name, installed.Version, modules, pinned)
		}
	}

	dir := t.TempDir()
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	scripts, _ := filepath.Glob(filepath.Join("node", "*.mjs"))
	for _, s := range scripts {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(s)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestMSALNode: @azure/msal-node gets a token with
// acquireTokenByUsernamePassword from the sandbox's tenant over HTTPS (the
// CA trusted through NODE_EXTRA_CA_CERTS, the sandbox's host in
// knownAuthorities), as a ConfidentialClientApplication, and as a
// PublicClientApplication in a CI namespace whose scenario allows public
// clients; it builds its account from client_info, serves the second ask
// from its cache, and the token passes the NetRefer gateway. Without the
// CA, or on http://, MSAL refuses before it asks for a token.
func TestMSALNode(t *testing.T) {
	t.Parallel()
	dir := nodeScripts(t)
	p := startSandbox(t)
	p.publicClients(t, "public-clients")
	cfg := map[string]any{"base": p.https, "tenant": nrTenant, "clientId": nrClientID, "clientSecret": nrSecret,
		"scope": nrScope, "username": nrUser, "password": nrPassword, "subscriptionKey": nrSubKey}
	trust := []string{"NODE_EXTRA_CA_CERTS=" + p.caFile}
	host := strings.TrimPrefix(p.https, "https://")

	for _, c := range []struct {
		name, ns, secret, application string
	}{
		{"confidential client", "", nrSecret, "ConfidentialClientApplication"},
		{"public client in a namespace", "public-clients", "", "PublicClientApplication"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "msal-node-" + c.application
			cfg := with(cfg, "base", p.https+nsPrefix(c.ns), "clientSecret", c.secret, "batch", registration(id))
			before := len(p.journal(t, c.ns))
			var out msalOut
			run(t, dir, trust, cfg, &out, "node", "msal-node.mjs").mustSucceed(t, "msal-node")
			if out.TenantID != nrTenant || !out.SilentFromCache {
				t.Errorf("tenantId %q, silent answer from the cache %v", out.TenantID, out.SilentFromCache)
			}
			// knownAuthorities: no instance discovery; one discovery, one token.
			out.check(t, p, c.ns, c.application, host, id, before, []string{"openidConfiguration", "token", "ingestRegistrations"})
		})
	}

	for _, c := range []struct {
		name string
		env  []string
		cfg  map[string]any
		want []string
		ops  []string // what reached the sandbox
	}{
		// MSAL turns the failed TLS handshake of its discovery into this.
		{"without the CA", nil, cfg, []string{"endpoints_resolution_error"}, nil},
		{"on http", trust, with(cfg, "base", p.plain), []string{"authority_uri_insecure"}, nil},
		// The sandbox's Azure AD answer (401), as MSAL reports it.
		{"public client not allowed", trust, with(cfg, "clientSecret", ""), []string{"invalid_client", "AADSTS7000218"},
			[]string{"openidConfiguration", "token"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(p.journal(t, ""))
			run(t, dir, c.env, with(c.cfg, "batch", registration("refused")), nil, "node", "msal-node.mjs").mustFailWith(t, "msal-node "+c.name, c.want...)
			if ops := checkJournal(t, p, "")[before:]; !slices.Equal(ops, c.ops) {
				t.Errorf("requests that reached the sandbox: %q, want %q", ops, c.ops)
			}
		})
	}
}

// openidOut is what node/openid-client.mjs prints.
type openidOut struct {
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"token_endpoint"`
	Password      tokens `json:"password"`
	Refreshed     tokens `json:"refreshed"`
	Rotated       bool   `json:"refreshTokenRotated"`
	Resource      struct {
		Status int `json:"status"`
		Body   any `json:"body"`
	} `json:"resource"`
}

type tokens struct {
	TokenType string    `json:"token_type"`
	ExpiresIn float64   `json:"expires_in"`
	Scope     string    `json:"scope"`
	Refresh   bool      `json:"refresh"`
	Claims    jwtClaims `json:"claims"`
	IDToken   jwtClaims `json:"idToken"`
}

// TestOpenIDClient: openid-client v6 discovers NetRefer's v2 and v1 issuers
// and Centili's realm over HTTPS with no allowInsecureRequests (the CA
// through NODE_EXTRA_CA_CERTS), gets tokens with a password grant
// (genericGrantRequest), validates the id token, refreshes, and calls the
// provider's API with fetchProtectedResource. On http:// it refuses.
func TestOpenIDClient(t *testing.T) {
	t.Parallel()
	dir := nodeScripts(t)
	p := startSandbox(t)
	trust := []string{"NODE_EXTRA_CA_CERTS=" + p.caFile}
	login := p.https + "/netrefer/login/" + nrTenant
	gateway := func(id string) map[string]any {
		return map[string]any{"url": p.https + "/netrefer/di/v1/registrations", "method": "POST",
			"headers": map[string]string{"Ocp-Apim-Subscription-Key": nrSubKey, "Content-Type": "application/json"},
			"body":    registration(id)}
	}
	balance := []any{map[string]any{"operator": "AT_A1", "totalAmount": 50000.0, "assignedAmount": 0.0, "expirationDate": "2030-12-31 23:59:59"}}
	v1Access := map[string]any{"iss": login + "/", "aud": "api://" + nrClientID, "appid": nrClientID, "oid": nrOID, "scp": "Events.Injestion"}

	for _, c := range []struct {
		name     string
		cfg      map[string]any
		endpoint string
		scope    string
		access   map[string]any
		idToken  map[string]any // nil: the answer has no id token
		refresh  map[string]any // nil: the refreshed answer has none
		resource any
		ops      []string
	}{
		{name: "NetRefer v2",
			cfg: map[string]any{"issuer": login + "/v2.0", "clientId": nrClientID, "clientSecret": nrSecret,
				"password": map[string]string{"username": nrUser, "password": nrPassword, "scope": "openid offline_access " + nrScope},
				"resource": gateway("oidc-v2")},
			endpoint: login + "/oauth2/v2.0/token", scope: nrScope, access: v1Access,
			idToken:  map[string]any{"iss": login + "/v2.0", "aud": nrClientID, "preferred_username": nrUser, "ver": "2.0"},
			refresh:  map[string]any{"iss": login + "/v2.0", "aud": nrClientID, "ver": "2.0"},
			resource: accepted("oidc-v2"),
			ops:      []string{"openidConfiguration", "token", "token", "ingestRegistrations"}},
		{name: "NetRefer v1",
			cfg: map[string]any{"issuer": login + "/", "clientId": nrClientID, "clientSecret": nrSecret,
				"password": map[string]string{"username": nrUser, "password": nrPassword, "scope": "openid", "resource": "api://" + nrClientID},
				"resource": gateway("oidc-v1")},
			endpoint: login + "/oauth2/token", scope: "Events.Injestion", access: v1Access,
			idToken:  map[string]any{"iss": login + "/", "aud": nrClientID, "upn": nrUser, "ver": "1.0"},
			resource: accepted("oidc-v1"),
			ops:      []string{"openidConfigurationV1", "tokenV1", "tokenV1", "ingestRegistrations"}},
		{name: "Centili",
			cfg: map[string]any{"issuer": p.https + "/centili/realms/api", "clientId": "datagifting",
				"password": map[string]string{"username": ctUser, "password": ctPassword, "scope": "openid"},
				"resource": map[string]any{"url": p.https + "/centili/datagifting/v1/services/balance?serviceKey=" + ctService + "&operator=AT_A1", "method": "GET"}},
			endpoint: p.https + "/centili/realms/api/protocol/openid-connect/token", scope: "openid email profile",
			access:   map[string]any{"iss": p.https + "/centili/realms/api", "azp": "datagifting", "preferred_username": ctUser, "merchantId": 11111},
			idToken:  map[string]any{"iss": p.https + "/centili/realms/api", "aud": "datagifting", "typ": "ID", "merchantId": 11111},
			refresh:  map[string]any{"iss": p.https + "/centili/realms/api", "aud": "datagifting", "typ": "ID"},
			resource: balance,
			ops:      []string{"keycloakDiscovery", "keycloakToken", "keycloakToken", "getBalance"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(p.journal(t, ""))
			var out openidOut
			run(t, dir, trust, c.cfg, &out, "node", "openid-client.mjs").mustSucceed(t, "openid-client")
			if out.Issuer != c.cfg["issuer"] || out.TokenEndpoint != c.endpoint {
				t.Errorf("discovered issuer %q and token endpoint %q, want %q and %q", out.Issuer, out.TokenEndpoint, c.cfg["issuer"], c.endpoint)
			}
			for what, tok := range map[string]tokens{"password grant": out.Password, "refresh": out.Refreshed} {
				if tok.TokenType != "bearer" || tok.Scope != c.scope || !tok.Refresh || tok.ExpiresIn < 1 {
					t.Errorf("%s: token_type %q, scope %q, refresh token %v, expiresIn %v", what, tok.TokenType, tok.Scope, tok.Refresh, tok.ExpiresIn)
				}
				tok.Claims.want(t, what+": access token", c.access)
			}
			out.Password.IDToken.want(t, "password grant: id token", c.idToken)
			if c.refresh == nil && out.Refreshed.IDToken != nil {
				t.Errorf("refresh: an id token %v, want none", out.Refreshed.IDToken)
			}
			out.Refreshed.IDToken.want(t, "refresh: id token", c.refresh)
			if !out.Rotated {
				t.Error("the refresh answered the same refresh token")
			}
			if out.Resource.Status != 200 || !jsonEqual(out.Resource.Body, c.resource) {
				t.Errorf("API call: %d %v", out.Resource.Status, out.Resource.Body)
			}
			if ops := checkJournal(t, p, "")[before:]; !slices.Equal(ops, c.ops) {
				t.Errorf("openid-client's requests: %q, want %q", ops, c.ops)
			}
		})
	}
	t.Run("on http", func(t *testing.T) {
		cfg := map[string]any{"issuer": p.plain + "/centili/realms/api", "clientId": "datagifting"}
		run(t, dir, trust, cfg, nil, "node", "openid-client.mjs").mustFailWith(t, "openid-client on http",
			"only requests to HTTPS are allowed", "OAUTH_HTTP_REQUEST_FORBIDDEN")
	})
}

// with is a copy of base with the keys and values of kv (key, value, key,
// value, ...) set.
func with(base map[string]any, kv ...any) map[string]any {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// jsonEqual compares two values as their JSON encodings decode.
func jsonEqual(a, b any) bool {
	var x, y any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	json.Unmarshal(ja, &x)
	json.Unmarshal(jb, &y)
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
