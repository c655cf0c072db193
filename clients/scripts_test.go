package clients

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s: output is not JSON (%v):\n%s\nstderr: %s", args[0], err, out, stderr.String())
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

func checkNetReferClaims(t *testing.T, c nrClaims) {
	t.Helper()
	want := nrClaims{Iss: sb.https + "/netrefer/login/" + nrTenant + "/", Aud: "api://" + nrClientID, Scp: "Events.Injestion",
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
	need(t, !pythonModule("msal"), debianPython+" has no msal: apt-get install python3-msal")
	checkMSAL(t, "MSAL Python", []string{"REQUESTS_CA_BUNDLE=" + sb.caFile}, debianPython, "python/msal_password.py")
}

// checkMSAL runs an MSAL script (both print the same JSON) for the default
// NetRefer user and checks its token, the account MSAL built and that the
// token passes the gateway.
func checkMSAL(t *testing.T, lib string, env []string, interpreter, script string) {
	t.Helper()
	var out struct {
		Claims                             nrClaims
		TokenType, Username, HomeAccountID string
		AccessToken                        string
	}
	runScript(t, env, &out, interpreter, script, sb.https, nrTenant, nrClientID, nrSecret, nrUser, password)
	checkNetReferClaims(t, out.Claims)
	var oid struct{ Oid string }
	if err := json.Unmarshal(claimsJSON(t, out.AccessToken), &oid); err != nil || oid.Oid == "" {
		t.Fatalf("%s's token has no oid (%v)", lib, err)
	}
	// MSAL builds its account from client_info: uid.utid, the user's oid
	// and the tenant.
	if out.TokenType != "Bearer" || out.Username != nrUser || out.HomeAccountID != oid.Oid+"."+nrTenant {
		t.Errorf("%s: tokenType %q, username %q, homeAccountId %q (oid %s)", lib, out.TokenType, out.Username, out.HomeAccountID, oid.Oid)
	}
	if code, body := postBatch(t, out.AccessToken, strings.ReplaceAll(strings.ToLower(lib), " ", "-")); code != 200 {
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
	var out struct {
		Claims, Refreshed ceClaims
		Same              bool `json:"same_access_token"`
		ExpiresIn         int  `json:"expires_in"`
	}
	env := []string{"REQUESTS_CA_BUNDLE=" + sb.caFile}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OAUTHLIB_INSECURE_TRANSPORT=") {
			t.Fatal("OAUTHLIB_INSECURE_TRANSPORT is set: unset it, the test proves HTTPS works without")
		}
	}
	runScript(t, env, &out, debianPython, "python/oauthlib_password.py", sb.https, "datagifting", ceUser, password)
	if want := wantCentili("datagifting"); out.Claims != want || out.Refreshed != want {
		t.Errorf("claims\n got %+v\n and %+v (refreshed)\nwant %+v", out.Claims, out.Refreshed, want)
	}
	if out.Same || out.ExpiresIn != 300 {
		t.Errorf("refresh gave the same token: %v; expires_in %d, want 300", out.Same, out.ExpiresIn)
	}
}

// TestMSALNode is @azure/msal-node: acquireTokenByUsernamePassword through
// a ConfidentialClientApplication with knownAuthorities, the CA in
// NODE_EXTRA_CA_CERTS; the token then passes the gateway.
func TestMSALNode(t *testing.T) {
	t.Parallel()
	dir := nodeModules("@azure/msal-node")
	need(t, dir == "", "no node or no @azure/msal-node in SANDBOX_NODE_MODULES (npm install --prefix DIR @azure/msal-node; SANDBOX_NODE_MODULES=DIR/node_modules)")
	checkMSAL(t, "MSAL Node", []string{"NODE_EXTRA_CA_CERTS=" + sb.caFile, "SANDBOX_NODE_MODULES=" + dir}, "node", "node/msal_password.mjs")
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out struct {
				Issuer, TokenEndpoint, IDTokenIssuer string
				Claims, Refreshed                    json.RawMessage
				SameAccessToken                      bool
				AccessToken                          string
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
			if tc.name == "centili" {
				var got, fresh ceClaims
				_ = json.Unmarshal(out.Claims, &got)
				_ = json.Unmarshal(out.Refreshed, &fresh)
				if want := wantCentili("datagifting"); got != want || fresh != want {
					t.Errorf("claims %+v, refreshed %+v, want %+v", got, fresh, want)
				}
				return
			}
			var got, fresh nrClaims
			_ = json.Unmarshal(out.Claims, &got)
			_ = json.Unmarshal(out.Refreshed, &fresh)
			checkNetReferClaims(t, got)
			checkNetReferClaims(t, fresh)
			if code, body := postBatch(t, out.AccessToken, "openid-client-"+strings.ReplaceAll(tc.name, " ", "-")); code != 200 {
				t.Errorf("batch POST with openid-client's refreshed token: %d %s", code, body)
			}
		})
	}
}
