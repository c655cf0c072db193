package clients

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's interpreter, where apt installs python3-msal and
// python3-requests-oauthlib (the python3 on PATH may be pyenv's).
const debianPython = "/usr/bin/python3"

// runScript runs a client script with a 60s bound and the CA trusted the
// way the library documents (env), and decodes its one-line JSON answer;
// a script failing prints its JSON error, which the test shows.
func runScript(t *testing.T, env []string, v any, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, stderr, err := script(ctx, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s: output is not JSON (%v):\n%s\nstderr: %s", args[0], err, out, stderr.String())
	}
}

// untrusting are the variables that would make a library trust more than
// the CA a test names, or skip a check: scripts run without them.
var untrusting = []string{"NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "OAUTHLIB_INSECURE_TRANSPORT", "OAUTHLIB_RELAX_TOKEN_SCOPE"}

// script runs name with this process's environment less untrusting, plus env.
func script(ctx context.Context, env []string, name string, args ...string) (stdout []byte, stderr *strings.Builder, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(untrusting, k) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	stdout, err = cmd.Output()
	return stdout, stderr, err
}

// runScriptFails runs a client script as runScript does and fails the test
// unless the script fails with every one of want in its output.
func runScriptFails(t *testing.T, env, want []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, stderr, err := script(ctx, env, name, args...)
	all := string(out) + stderr.String()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("%s %s: %v, want a failure with %q\n%s", name, strings.Join(args, " "), err, want, all)
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s: the output lacks %q:\n%s", args[0], w, all)
		}
	}
}

// pythonModule says whether Debian's python3 imports module.
func pythonModule(module string) bool {
	return exec.Command(debianPython, "-c", "import "+module).Run() == nil
}

// nodeModules is SANDBOX_NODE_MODULES when it holds pkg (and node runs), or "".
func nodeModules(pkg string) string {
	dir := os.Getenv("SANDBOX_NODE_MODULES")
	if dir == "" {
		return ""
	}
	if _, err := exec.LookPath("node"); err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, pkg, "package.json")); err != nil {
		return ""
	}
	return dir
}

// nrClaims are the access-token claims the NetRefer tests check.
type nrClaims struct {
	Iss, Aud, Scp, Upn, Tid, Appid, Ver string
}

// checkNetReferClaims checks a v1 access token of the tenant under base
// (sb.https or a namespace's URL).
func checkNetReferClaims(t *testing.T, c nrClaims, base string) {
	t.Helper()
	want := nrClaims{Iss: base + "/netrefer/login/" + nrTenant + "/", Aud: "api://" + nrClientID, Scp: "Events.Injestion",
		Upn: nrUser, Tid: nrTenant, Appid: nrClientID, Ver: "1.0"}
	if c != want {
		t.Errorf("access token claims\n got %+v\nwant %+v", c, want)
	}
}

// TestMSALPython is Debian's python3-msal: acquire_token_by_username_password
// through a ConfidentialClientApplication with instance_discovery=False,
// the CA in REQUESTS_CA_BUNDLE; the token then passes the gateway.
func TestMSALPython(t *testing.T) {
	t.Parallel()
	why := msalPythonMissing()
	need(t, why != "", why)
	checkMSAL(t, "MSAL Python", sb.https, nrSecret, []string{"REQUESTS_CA_BUNDLE=" + sb.caFile}, debianPython, "python/msal_password.py")
}

// checkMSAL runs an MSAL script (both print the same JSON) for the default
// NetRefer user under base (sb.https or a namespace's URL), as a
// confidential client with secret or, for "-", a public one, and checks its
// token, the account MSAL built and that the token passes the gateway.
func checkMSAL(t *testing.T, lib, base, secret string, env []string, interpreter, script string) {
	t.Helper()
	var out struct {
		Application, TokenType, Username, HomeAccountID string
		Claims                                          nrClaims
		AccessToken                                     string
	}
	runScript(t, env, &out, interpreter, script, base, nrTenant, nrClientID, secret, nrUser, password)
	checkNetReferClaims(t, out.Claims, base)
	if want := map[bool]string{true: "PublicClientApplication", false: "ConfidentialClientApplication"}[secret == "-"]; out.Application != want {
		t.Errorf("%s ran a %s, want a %s", lib, out.Application, want)
	}
	var oid struct{ Oid string }
	if err := json.Unmarshal(claimsJSON(t, out.AccessToken), &oid); err != nil || oid.Oid == "" {
		t.Fatalf("%s's token has no oid (%v)", lib, err)
	}
	// MSAL builds its account from client_info: uid.utid, the user's oid
	// and the tenant.
	if out.TokenType != "Bearer" || out.Username != nrUser || out.HomeAccountID != oid.Oid+"."+nrTenant {
		t.Errorf("%s: tokenType %q, username %q, homeAccountId %q (oid %s)", lib, out.TokenType, out.Username, out.HomeAccountID, oid.Oid)
	}
	if code, body := postBatch(t, base, out.AccessToken, strings.ReplaceAll(strings.ToLower(lib), " ", "-")); code != 200 {
		t.Errorf("batch POST with %s's token: %d %s", lib, code, body)
	}
}

// claimsJSON is the payload of a JWT.
func claimsJSON(t *testing.T, jwt string) []byte {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return b
}

// ceClaims are the Centili access-token claims the tests check.
type ceClaims struct {
	Iss, Azp, PreferredUsername, Typ string
	MerchantID                       int
}

func (c *ceClaims) UnmarshalJSON(b []byte) error {
	var raw struct {
		Iss, Azp, Typ     string
		PreferredUsername string `json:"preferred_username"`
		MerchantID        int    `json:"merchantId"`
	}
	err := json.Unmarshal(b, &raw)
	*c = ceClaims{raw.Iss, raw.Azp, raw.PreferredUsername, raw.Typ, raw.MerchantID}
	return err
}

func wantCentili(azp string) ceClaims {
	return ceClaims{Iss: sb.https + "/centili/realms/api", Azp: azp, PreferredUsername: ceUser, Typ: "Bearer", MerchantID: 11111}
}

// TestRequestsOAuthlib is Debian's python3-requests-oauthlib: the password
// grant (LegacyApplicationClient + fetch_token) and a refresh against
// Centili's Keycloak, over HTTPS without OAUTHLIB_INSECURE_TRANSPORT.
func TestRequestsOAuthlib(t *testing.T) {
	t.Parallel()
	need(t, !pythonModule("requests_oauthlib"), debianPython+" has no requests_oauthlib: apt-get install python3-requests-oauthlib")
	// script leaves OAUTHLIB_INSECURE_TRANSPORT out: HTTPS works without.
	env := []string{"REQUESTS_CA_BUNDLE=" + sb.caFile}
	for _, c := range []struct {
		name    string
		scope   []string // asked for; none: Keycloak's defaults
		granted []string
		idToken bool
	}{
		{"no scope", nil, []string{"email", "profile"}, false},
		// Keycloak adds its default scopes to openid: asking for all of
		// them keeps oauthlib's scope comparison quiet (openid alone: see
		// TestLibrariesRefuse).
		{"openid email profile", []string{"openid", "email", "profile"}, []string{"openid", "email", "profile"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out struct {
				Claims, Refreshed ceClaims
				Same              bool     `json:"same_access_token"`
				ExpiresIn         int      `json:"expires_in"`
				Scope             []string `json:"scope"`
				IDToken           bool     `json:"id_token"`
			}
			args := []string{"python/oauthlib_password.py", sb.https, "datagifting", ceUser, password}
			if c.scope != nil {
				args = append(args, strings.Join(c.scope, " "))
			}
			runScript(t, env, &out, debianPython, args...)
			if want := wantCentili("datagifting"); out.Claims != want || out.Refreshed != want {
				t.Errorf("claims\n got %+v\n and %+v (refreshed)\nwant %+v", out.Claims, out.Refreshed, want)
			}
			if out.Same || out.ExpiresIn != 300 {
				t.Errorf("refresh gave the same token: %v; expires_in %d, want 300", out.Same, out.ExpiresIn)
			}
			if !slices.Equal(out.Scope, c.granted) || out.IDToken != c.idToken {
				t.Errorf("granted scope %q, id token %v; want %q, %v", out.Scope, out.IDToken, c.granted, c.idToken)
			}
		})
	}
}

// TestMSALNode is @azure/msal-node: acquireTokenByUsernamePassword through
// a ConfidentialClientApplication with knownAuthorities, the CA in
// NODE_EXTRA_CA_CERTS; the token then passes the gateway.
func TestMSALNode(t *testing.T) {
	t.Parallel()
	why := msalNodeMissing()
	need(t, why != "", why)
	dir := nodeModules("@azure/msal-node")
	checkMSAL(t, "MSAL Node", sb.https, nrSecret, []string{"NODE_EXTRA_CA_CERTS=" + sb.caFile, "SANDBOX_NODE_MODULES=" + dir}, "node", "node/msal_password.mjs")
}

// TestOpenIDClient is openid-client v6 against NetRefer's v2 and v1 issuers
// and Centili's realm: discovery, password grant (genericGrantRequest),
// refresh, over HTTPS with the CA in NODE_EXTRA_CA_CERTS and no insecure
// switch (allowInsecureRequests is never used).
func TestOpenIDClient(t *testing.T) {
	t.Parallel()
	dir := nodeModules("openid-client")
	need(t, dir == "", "no node or no openid-client in SANDBOX_NODE_MODULES (npm install --prefix DIR openid-client@6; SANDBOX_NODE_MODULES=DIR/node_modules)")
	nrLogin := sb.https + "/netrefer/login/" + nrTenant
	api := "api://" + nrClientID
	for _, tc := range []struct {
		name, issuer, tokenEndpoint, idIssuer string
		args                                  []string
	}{
		{"netrefer v2", nrLogin + "/v2.0", nrLogin + "/oauth2/v2.0/token", nrLogin + "/v2.0",
			[]string{nrClientID, nrSecret, nrUser, password, "openid offline_access " + api + "/Events.Injestion"}},
		{"netrefer v1", nrLogin + "/", nrLogin + "/oauth2/token", nrLogin + "/",
			[]string{nrClientID, nrSecret, nrUser, password, "openid", api}},
		{"centili", sb.https + "/centili/realms/api", sb.https + "/centili/realms/api/protocol/openid-connect/token", sb.https + "/centili/realms/api",
			[]string{"datagifting", "-", ceUser, password, "openid"}},
		{"centili confidential", sb.https + "/centili/realms/api", sb.https + "/centili/realms/api/protocol/openid-connect/token", sb.https + "/centili/realms/api",
			[]string{"datagifting-confidential", "sandbox-centili-secret", ceUser, password, "openid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out struct {
				Issuer, TokenEndpoint, IDTokenIssuer string
				Claims, Refreshed                    json.RawMessage
				SameAccessToken                      bool
				AccessToken                          string
				OIDC                                 *struct {
					UserinfoSub, UserinfoEmail, Subject, IntrospectedClient, AfterRevoke string
					Introspected, IntrospectedAfterRevoke                                bool
				}
			}
			runScript(t, []string{"NODE_EXTRA_CA_CERTS=" + sb.caFile, "SANDBOX_NODE_MODULES=" + dir}, &out, "node",
				append([]string{"node/openid_client.mjs", tc.issuer}, tc.args...)...)
			if out.Issuer != tc.issuer || out.TokenEndpoint != tc.tokenEndpoint || out.IDTokenIssuer != tc.idIssuer {
				t.Errorf("issuer %q, token endpoint %q, id token iss %q; want %q, %q, %q",
					out.Issuer, out.TokenEndpoint, out.IDTokenIssuer, tc.issuer, tc.tokenEndpoint, tc.idIssuer)
			}
			if out.SameAccessToken {
				t.Error("refresh gave the same access token")
			}
			if tc.name == "centili confidential" {
				// userinfo, introspection and revocation through openid-client.
				o := out.OIDC
				if o == nil {
					t.Fatal("no userinfo, introspection or revocation answers: does discovery list introspection_endpoint?")
				}
				if o.UserinfoSub != o.Subject || o.UserinfoEmail != ceUser || !o.Introspected || o.IntrospectedClient != "datagifting-confidential" ||
					o.AfterRevoke != "invalid_grant: Session not active" || o.IntrospectedAfterRevoke {
					t.Errorf("Keycloak endpoints through openid-client: %+v", *o)
				}
				return
			}
			if tc.name == "centili" {
				var got, fresh ceClaims
				_ = json.Unmarshal(out.Claims, &got)
				_ = json.Unmarshal(out.Refreshed, &fresh)
				if want := wantCentili("datagifting"); got != want || fresh != want {
					t.Errorf("claims %+v, refreshed %+v, want %+v", got, fresh, want)
				}
				if out.OIDC != nil {
					t.Errorf("a public client ran introspection: %+v", *out.OIDC)
				}
				return
			}
			var got, fresh nrClaims
			_ = json.Unmarshal(out.Claims, &got)
			_ = json.Unmarshal(out.Refreshed, &fresh)
			checkNetReferClaims(t, got, sb.https)
			checkNetReferClaims(t, fresh, sb.https)
			if code, body := postBatch(t, sb.https, out.AccessToken, "openid-client-"+strings.ReplaceAll(tc.name, " ", "-")); code != 200 {
				t.Errorf("batch POST with openid-client's refreshed token: %d %s", code, body)
			}
		})
	}
}

// publicClients loads the default scenario into namespace ns with NetRefer's
// app registration allowing public client flows (allowPublicClient), as a CI
// job testing a public client would, and returns the namespace's HTTPS URL.
func publicClients(t *testing.T, ns string) string {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "scenarios", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(def), "allowPublicClient: false", "allowPublicClient: true", 1)
	if yaml == string(def) {
		t.Fatal("scenarios/default.yaml no longer says allowPublicClient: false")
	}
	req, _ := http.NewRequest("PUT", sb.base+"/ns/"+ns+"/__sandbox/scenario", strings.NewReader(yaml))
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /ns/%s/__sandbox/scenario: %d %s", ns, resp.StatusCode, body)
	}
	return sb.https + "/ns/" + ns
}

// TestMSALPublicClients: MSAL Node's and MSAL Python's
// PublicClientApplication (no secret) get a token in a namespace whose
// scenario allows public clients, and it passes that namespace's gateway.
// Where the registration does not allow them, MSAL reports Azure AD's
// AADSTS7000218: see TestLibrariesRefuse.
func TestMSALPublicClients(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lib, ns         string
		missing         func() string
		env             func(modules string) []string
		interpreter, in string
	}{
		{"MSAL Node", "public-msal-node", msalNodeMissing,
			func(dir string) []string {
				return []string{"NODE_EXTRA_CA_CERTS=" + sb.caFile, "SANDBOX_NODE_MODULES=" + dir}
			},
			"node", "node/msal_password.mjs"},
		{"MSAL Python", "public-msal-python", msalPythonMissing,
			func(string) []string { return []string{"REQUESTS_CA_BUNDLE=" + sb.caFile} },
			debianPython, "python/msal_password.py"},
	} {
		t.Run(c.lib, func(t *testing.T) {
			t.Parallel()
			why := c.missing()
			need(t, why != "", why)
			base := publicClients(t, c.ns)
			checkMSAL(t, c.lib+" public", base, "-", c.env(os.Getenv("SANDBOX_NODE_MODULES")), c.interpreter, c.in)
		})
	}
}

// msalNodeMissing and msalPythonMissing say what is missing for the MSAL
// tests, or "".
func msalNodeMissing() string {
	if nodeModules("@azure/msal-node") == "" {
		return "no node or no @azure/msal-node in SANDBOX_NODE_MODULES (npm install --prefix DIR @azure/msal-node; SANDBOX_NODE_MODULES=DIR/node_modules)"
	}
	return ""
}

func msalPythonMissing() string {
	if !pythonModule("msal") {
		return debianPython + " has no msal: apt-get install python3-msal"
	}
	return ""
}
