package netrefer

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// discoveryTenant resolves the {tenant} of a discovery URL: a configured
// tenant, or one of Azure AD's multi-tenant aliases whose documents use the
// {tenantid} placeholder. It answers AADSTS90002 for anything else.
func (s *state) discoveryTenant(c *sandbox.Call) (string, bool) {
	t := c.Params["tenant"]
	l := strings.ToLower(t)
	if known, ok := s.tenants[l]; ok {
		return known, true
	}
	if l == "common" || l == "organizations" || l == "consumers" {
		return "{tenantid}", true
	}
	s.writeAAD(c, 400, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", shorten(t)))
	return "", false
}

func cacheable(c *sandbox.Call) {
	h := c.W.Header()
	h.Set("Cache-Control", "max-age=86400, private")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Type", "application/json; charset=utf-8")
}

// openIDConfiguration serves the v2.0 (and, for v1 tokens, the v1) metadata
// document. Every endpoint in it points back at the sandbox, on the host the
// request came to (Azure AD's own paths on login.microsoftonline.com); the
// issuer is the one tokens carry, so OIDC libraries accept both.
func (s *state) openIDConfiguration(version string) sandbox.Handler {
	return func(c *sandbox.Call) {
		tenant, ok := s.discoveryTenant(c)
		if !ok {
			return
		}
		path := c.Params["tenant"]
		login := c.URL("/login/" + path)
		doc := map[string]any{
			"token_endpoint":                        login + "/oauth2/v2.0/token",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"jwks_uri":                              login + "/discovery/v2.0/keys",
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"issuer":                                s.issuer(c, tenant, version),
			"request_uri_parameter_supported":       false,
			"userinfo_endpoint":                     "https://graph.microsoft.com/oidc/userinfo",
			"authorization_endpoint":                login + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         login + "/oauth2/v2.0/devicecode",
			"http_logout_supported":                 true,
			"frontchannel_logout_supported":         true,
			"end_session_endpoint":                  login + "/oauth2/v2.0/logout",
			"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
				"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
			"tenant_region_scope":   "EU",
			"cloud_instance_name":   "microsoftonline.com",
			"cloud_graph_host_name": "graph.windows.net",
			"msgraph_host":          "graph.microsoft.com",
			"rbac_url":              "https://pas.windows.net",
			"kerberos_endpoint":     login + "/kerberos",
		}
		if version == "v1" {
			// The v1 document names the v1 protocol endpoints; of them
			// the sandbox serves the token endpoint and the keys.
			doc["jwks_uri"] = login + "/discovery/keys"
			doc["token_endpoint"] = login + "/oauth2/token"
			doc["authorization_endpoint"] = login + "/oauth2/authorize"
			doc["device_authorization_endpoint"] = login + "/oauth2/devicecode"
			doc["end_session_endpoint"] = login + "/oauth2/logout"
		}
		cacheable(c)
		c.JSON(http.StatusOK, doc)
	}
}

func (s *state) handleJWKS(c *sandbox.Call) {
	if _, ok := s.discoveryTenant(c); !ok {
		return
	}
	jwks, err := s.tokens.JWKS()
	if err != nil {
		c.Fail(&sandbox.Error{Kind: sandbox.ErrInternal, Status: 500, Message: "key set unavailable: " + err.Error()})
		return
	}
	cacheable(c)
	sandbox.WriteJSON(c.W, http.StatusOK, jwks)
}

// handleInstanceDiscovery answers MSAL's instance discovery
// (GET {host}/common/discovery/instance?api-version=…&authorization_endpoint=…)
// for whatever authority the client has: the authority's host is its own
// cloud's only alias and preferred name, so MSAL keeps its URLs as
// configured, and tenant_discovery_endpoint is the authority's own OpenID
// document (v2.0 for a v2.0 authorize endpoint, as MSAL sends it, v1
// otherwise). Real Azure AD answers invalid_instance for a host it does
// not know; the sandbox trusts every host, because the host is the
// sandbox. Without an authorization_endpoint the answer is the sandbox's
// own common authority.
func (s *state) handleInstanceDiscovery(c *sandbox.Call) {
	host := c.Host()
	endpoint := c.URL("/login/" + url.PathEscape(c.Params["tenant"]) + "/v2.0/.well-known/openid-configuration")
	if u, err := url.Parse(c.R.URL.Query().Get("authorization_endpoint")); err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http") {
		for suffix, doc := range map[string]string{"/oauth2/v2.0/authorize": "/v2.0/.well-known/openid-configuration", "/oauth2/authorize": "/.well-known/openid-configuration"} {
			if authority, ok := strings.CutSuffix(u.EscapedPath(), suffix); ok && authority != "" {
				host = u.Host
				endpoint = u.Scheme + "://" + u.Host + authority + doc
				break
			}
		}
	}
	version := c.R.URL.Query().Get("api-version")
	if version == "" {
		version = "1.1"
	}
	cacheable(c)
	c.JSON(http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": endpoint,
		"api-version":               version,
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           []string{host},
		}},
	})
}

// userRealm is the user-realm (home realm discovery) document.
type userRealm struct {
	Ver               string `json:"ver"`
	AccountType       string `json:"account_type"`
	DomainName        string `json:"domain_name,omitempty"`
	CloudInstanceName string `json:"cloud_instance_name"`
	CloudAudienceURN  string `json:"cloud_audience_urn,omitempty"`
}

// handleUserRealm answers the user-realm lookup MSAL makes before a
// username/password grant (GET /common/userrealm/{user}?api-version=1.0):
// account_type "Managed" for a user of a domain the directory has (the
// domain of any configured user), so MSAL goes on with the password grant;
// "Unknown" for any other, as Azure AD answers for a domain it does not
// know. The sandbox has no federated domains (no WS-Trust).
func (s *state) handleUserRealm(c *sandbox.Call) {
	user := strings.ToLower(c.Params["user"])
	doc := userRealm{Ver: "1.0", AccountType: "Unknown", CloudInstanceName: "microsoftonline.com"}
	if at := strings.LastIndexByte(user, '@'); at >= 0 && s.domains[user[at+1:]] {
		doc.AccountType, doc.DomainName, doc.CloudAudienceURN = "Managed", user[at+1:], "urn:federation:MicrosoftOnline"
	}
	noStore(c, s.guid())
	c.JSON(http.StatusOK, doc)
}
