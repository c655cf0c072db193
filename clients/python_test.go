package clients_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// EnvPython names the interpreter the Python tests use; by default Debian's
// /usr/bin/python3, where apt installs python3-msal and
// python3-requests-oauthlib (the python3 on PATH may be another one).
const EnvPython = "SANDBOX_PYTHON"

// python returns the interpreter and the scripts' directory, skipping (or,
// with CI, failing) the test when the interpreter cannot import module.
func python(t *testing.T, module, debianPackage string) (string, string) {
	t.Helper()
	py := os.Getenv(EnvPython)
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import "+module).CombinedOutput(); err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		missing(t, py+" cannot import "+module+" (apt-get install "+debianPackage+"): "+lines[len(lines)-1])
	}
	dir, err := filepath.Abs("python")
	if err != nil {
		t.Fatal(err)
	}
	return py, dir
}

// TestMSALPython: Debian's MSAL Python gets a token with
// acquire_token_by_username_password over HTTPS (REQUESTS_CA_BUNDLE,
// instance_discovery=False), as a ConfidentialClientApplication and as a
// PublicClientApplication in a CI namespace whose scenario allows public
// clients, and the token passes the NetRefer gateway. MSAL asks the user
// realm at https://HOST/common/userrealm/USER on port 443 whatever the
// authority's port: with the sandbox on 443 ("port443", where the script
// sends MSAL's port-less URLs to the sandbox's port) it gets the sandbox's
// Managed answer and goes on; on another port the lookup must be skipped
// ("skip"), else MSAL fails to connect.
func TestMSALPython(t *testing.T) {
	t.Parallel()
	py, dir := python(t, "msal", "python3-msal")
	p := startSandbox(t)
	p.publicClients(t, "public-clients")
	trust := []string{"REQUESTS_CA_BUNDLE=" + p.caFile}
	cfg := map[string]any{"base": p.https, "tenant": nrTenant, "clientId": nrClientID, "clientSecret": nrSecret,
		"scope": nrScope, "username": nrUser, "password": nrPassword, "subscriptionKey": nrSubKey}

	for _, c := range []struct {
		name, userRealm, ns, secret, application string
		ops                                      []string
	}{
		{"confidential client, user realm on 443", "port443", "", nrSecret, "ConfidentialClientApplication",
			[]string{"openidConfiguration", "userRealm", "token", "ingestRegistrations"}},
		{"public client in a namespace, user realm skipped", "skip", "public-clients", "", "PublicClientApplication",
			[]string{"openidConfiguration", "token", "ingestRegistrations"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(p.journal(t, c.ns))
			id := "msal-py-" + c.userRealm
			cfg := with(cfg, "base", p.https+nsPrefix(c.ns), "clientSecret", c.secret, "userRealm", c.userRealm, "batch", registration(id))
			var out msalOut
			run(t, dir, trust, cfg, &out, py, "msal_password.py").mustSucceed(t, "msal python")
			// MSAL Python keeps the host without its port as the environment.
			out.check(t, p, c.ns, c.application, "127.0.0.1", id, before, c.ops)
		})
	}

	for _, c := range []struct {
		name string
		env  []string
		cfg  map[string]any
		want []string
	}{
		{"user realm lookup neither on 443 nor skipped", trust, with(cfg, "userRealm", "none"),
			[]string{"host='127.0.0.1', port=443", "/common/userrealm/operator@sandbox.test"}},
		{"without the CA", nil, with(cfg, "userRealm", "skip"), []string{"CERTIFICATE_VERIFY_FAILED"}},
		{"on http", trust, with(cfg, "userRealm", "skip", "base", p.plain), []string{"should consist of an https url"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg["userRealm"] == "none" {
				if conn, err := net.DialTimeout("tcp", "127.0.0.1:443", time.Second); err == nil {
					conn.Close()
					t.Skip("something listens on 127.0.0.1:443: MSAL's lookup would reach it")
				}
			}
			run(t, dir, c.env, with(c.cfg, "batch", registration("refused")), nil, py, "msal_password.py").mustFailWith(t, "msal python "+c.name, c.want...)
		})
	}
}

// oauthlibOut is what python/oauthlib_password.py prints.
type oauthlibOut struct {
	TokenType        string    `json:"token_type"`
	ExpiresIn        float64   `json:"expires_in"`
	RefreshExpiresIn float64   `json:"refresh_expires_in"`
	Scope            []string  `json:"scope"`
	IDToken          bool      `json:"id_token"`
	Claims           jwtClaims `json:"claims"`
	Refreshed        struct {
		Claims  jwtClaims `json:"claims"`
		Rotated bool      `json:"rotated"`
	} `json:"refreshed"`
	Resource struct {
		Status int `json:"status"`
		Body   any `json:"body"`
	} `json:"resource"`
	Version map[string]string `json:"version"`
}

// TestRequestsOAuthlib: Debian's requests-oauthlib gets a Centili token
// with LegacyApplicationClient and fetch_token (the client in HTTP Basic, as
// it sends it by default), refreshes it and calls Data Gifting, over HTTPS
// with REQUESTS_CA_BUNDLE and without OAUTHLIB_INSECURE_TRANSPORT. Keycloak
// adds its default scopes to what was asked, which oauthlib reports as a
// changed scope unless the client asks for all of them (or none).
func TestRequestsOAuthlib(t *testing.T) {
	t.Parallel()
	py, dir := python(t, "requests_oauthlib", "python3-requests-oauthlib")
	p := startSandbox(t)
	trust := []string{"REQUESTS_CA_BUNDLE=" + p.caFile}
	token := "/centili/realms/api/protocol/openid-connect/token"
	cfg := map[string]any{"tokenUrl": p.https + token, "clientId": "datagifting", "username": ctUser, "password": ctPassword,
		"resourceUrl": p.https + "/centili/datagifting/v1/services/balance?serviceKey=" + ctService + "&operator=FR_ORANGE"}
	balance := []any{map[string]any{"operator": "FR_ORANGE", "totalAmount": 100000.0, "assignedAmount": 0.0, "expirationDate": "2030-12-31 23:59:59"}}

	for _, c := range []struct {
		name    string
		cfg     map[string]any
		scope   []string
		idToken bool
		azp     string
	}{
		{"public client, no scope", cfg, []string{"email", "profile"}, false, "datagifting"},
		{"confidential client, openid email profile",
			with(cfg, "clientId", ctConfidential, "clientSecret", ctSecret, "scope", []string{"openid", "email", "profile"}),
			[]string{"openid", "email", "profile"}, true, ctConfidential},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(p.journal(t, ""))
			var out oauthlibOut
			run(t, dir, trust, c.cfg, &out, py, "oauthlib_password.py").mustSucceed(t, "requests-oauthlib")
			t.Logf("versions %v", out.Version)
			if out.TokenType != "Bearer" || out.ExpiresIn != 300 || out.RefreshExpiresIn != 1800 || !slices.Equal(out.Scope, c.scope) || out.IDToken != c.idToken {
				t.Errorf("token_type %q, expires_in %v, refresh_expires_in %v, scope %q, id token %v", out.TokenType, out.ExpiresIn, out.RefreshExpiresIn, out.Scope, out.IDToken)
			}
			claims := map[string]any{"iss": p.https + "/centili/realms/api", "azp": c.azp, "preferred_username": ctUser, "merchantId": 11111, "typ": "Bearer"}
			out.Claims.want(t, "access token", claims)
			out.Refreshed.Claims.want(t, "refreshed access token", claims)
			if !out.Refreshed.Rotated {
				t.Error("the refresh answered the same refresh token")
			}
			if out.Resource.Status != 200 || !jsonEqual(out.Resource.Body, balance) {
				t.Errorf("balance: %d %v", out.Resource.Status, out.Resource.Body)
			}
			if ops := checkJournal(t, p, "")[before:]; !slices.Equal(ops, []string{"keycloakToken", "keycloakToken", "getBalance"}) {
				t.Errorf("requests: %q", ops)
			}
		})
	}

	for _, c := range []struct {
		name string
		env  []string
		cfg  map[string]any
		want []string
	}{
		{"openid alone", trust, with(cfg, "scope", []string{"openid"}), []string{`Warning: Scope has changed from "openid" to "`}},
		{"without the CA", nil, cfg, []string{"CERTIFICATE_VERIFY_FAILED"}},
		{"on http", trust, with(cfg, "tokenUrl", p.plain+token), []string{"InsecureTransportError", "OAuth 2 MUST utilize https."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			run(t, dir, c.env, c.cfg, nil, py, "oauthlib_password.py").mustFailWith(t, "requests-oauthlib "+c.name, c.want...)
		})
	}
}
