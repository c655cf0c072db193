package clients

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestLibrariesRefuse: each library refuses what is not HTTPS it trusts,
// before it sends a token request: an http:// authority or issuer, and the
// sandbox's certificate without its CA (the CA variable unset; the scripts
// run without any variable that would widen trust). That is why the sandbox
// serves HTTPS, and proof that the tests above use no insecure switch. Two
// refusals come from the sandbox and show how a library reports them: a
// public client where the app registration does not allow it (Azure AD's
// AADSTS7000218) and oauthlib's "Scope has changed" when Keycloak adds its
// default scopes to openid.
func TestLibrariesRefuse(t *testing.T) {
	t.Parallel()
	nodeCA := func(dir string) []string {
		return []string{"NODE_EXTRA_CA_CERTS=" + sb.caFile, "SANDBOX_NODE_MODULES=" + dir}
	}
	nodeNoCA := func(dir string) []string { return []string{"SANDBOX_NODE_MODULES=" + dir} }
	pyCA := func(string) []string { return []string{"REQUESTS_CA_BUNDLE=" + sb.caFile} }
	pyNoCA := func(string) []string { return nil }
	msalArgs := func(base, secret string) []string {
		return []string{base, nrTenant, nrClientID, secret, nrUser, password}
	}
	realm := func(base string) string { return base + "/centili/realms/api" }
	oidcArgs := func(base string) []string {
		return []string{realm(base), "datagifting", "-", ceUser, password, "openid"}
	}
	oauthlibArgs := func(base string, scope ...string) []string {
		return append([]string{base, "datagifting", ceUser, password}, scope...)
	}
	const msalNode, oidcNode = "node/msal_password.mjs", "node/openid_client.mjs"
	const msalPy, oauthlibPy = "python/msal_password.py", "python/oauthlib_password.py"
	openidMissing := func() string {
		if nodeModules("openid-client") == "" {
			return "no node or no openid-client in SANDBOX_NODE_MODULES"
		}
		return ""
	}
	oauthlibMissing := func() string {
		if !pythonModule("requests_oauthlib") {
			return debianPython + " has no requests_oauthlib: apt-get install python3-requests-oauthlib"
		}
		return ""
	}

	t.Run("go-oidc without the CA", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// The system roots: the sandbox's CA is not among them.
		_, err := oidc.NewProvider(oidc.ClientContext(ctx, &http.Client{Timeout: 10 * time.Second}), realm(sb.https))
		if !errors.As(err, new(x509.UnknownAuthorityError)) || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
			t.Errorf("discovery: %v, want x509: certificate signed by unknown authority", err)
		}
	})
	for _, c := range []struct {
		name        string
		missing     func() string
		env         func(nodeModules string) []string
		interpreter string
		args        []string
		want        []string
	}{
		{"MSAL Node on http", msalNodeMissing, nodeCA, "node", append([]string{msalNode}, msalArgs(sb.base, nrSecret)...),
			[]string{"authority_uri_insecure"}},
		// MSAL reports the failed handshake of its discovery so.
		{"MSAL Node without the CA", msalNodeMissing, nodeNoCA, "node", append([]string{msalNode}, msalArgs(sb.https, nrSecret)...),
			[]string{"endpoints_resolution_error"}},
		{"MSAL Node public client not allowed", msalNodeMissing, nodeCA, "node", append([]string{msalNode}, msalArgs(sb.https, "-")...),
			[]string{"invalid_client", "AADSTS7000218"}},
		{"openid-client on http", openidMissing, nodeCA, "node", append([]string{oidcNode}, oidcArgs(sb.base)...),
			[]string{"OAUTH_HTTP_REQUEST_FORBIDDEN", "only requests to HTTPS are allowed"}},
		{"openid-client without the CA", openidMissing, nodeNoCA, "node", append([]string{oidcNode}, oidcArgs(sb.https)...),
			[]string{"self-signed certificate in certificate chain"}},
		{"MSAL Python on http", msalPythonMissing, pyCA, debianPython, append([]string{msalPy}, msalArgs(sb.base, nrSecret)...),
			[]string{"should consist of an https url"}},
		{"MSAL Python without the CA", msalPythonMissing, pyNoCA, debianPython, append([]string{msalPy}, msalArgs(sb.https, nrSecret)...),
			[]string{"CERTIFICATE_VERIFY_FAILED"}},
		{"MSAL Python public client not allowed", msalPythonMissing, pyCA, debianPython, append([]string{msalPy}, msalArgs(sb.https, "-")...),
			[]string{"invalid_client", "AADSTS7000218"}},
		{"requests-oauthlib on http", oauthlibMissing, pyCA, debianPython, append([]string{oauthlibPy}, oauthlibArgs(sb.base)...),
			[]string{"InsecureTransportError", "OAuth 2 MUST utilize https."}},
		{"requests-oauthlib without the CA", oauthlibMissing, pyNoCA, debianPython, append([]string{oauthlibPy}, oauthlibArgs(sb.https)...),
			[]string{"CERTIFICATE_VERIFY_FAILED"}},
		{"requests-oauthlib asking for openid alone", oauthlibMissing, pyCA, debianPython, append([]string{oauthlibPy}, oauthlibArgs(sb.https, "openid")...),
			[]string{`Warning: Scope has changed from "openid" to "`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			why := c.missing()
			need(t, why != "", why)
			runScriptFails(t, c.env(os.Getenv("SANDBOX_NODE_MODULES")), c.want, c.interpreter, c.args...)
		})
	}
}
