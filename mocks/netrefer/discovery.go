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
// document. Every endpoint in it points back at the sandbox; the issuer is
// the one tokens carry, so OIDC libraries accept both.
func (s *state) openIDConfiguration(version string) sandbox.Handler {
	return func(c *sandbox.Call) {
		tenant, ok := s.discoveryTenant(c)
		if !ok {
			return
		}
		path := c.Params["tenant"]
		login := c.BaseURL() + "/login/" + path
		doc := map[string]any{
			"token_endpoint":                        login + "/oauth2/v2.0/token",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"jwks_uri":                              login + "/discovery/v2.0/keys",
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"issuer":                                s.issuer(c.BaseURL(), tenant, version),
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
			doc["jwks_uri"] = login + "/discovery/keys"
			doc["token_endpoint"] = login + "/oauth2/token"
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

// handleInstanceDiscovery answers MSAL's instance-discovery call with the
// sandbox as the only cloud alias, so MSAL keeps talking to the sandbox.
func (s *state) handleInstanceDiscovery(c *sandbox.Call) {
	tenant := c.Params["tenant"]
	if ae := c.R.URL.Query().Get("authorization_endpoint"); ae != "" {
		if u, err := url.Parse(ae); err == nil {
			segs := strings.Split(strings.Trim(u.Path, "/"), "/")
			for i, seg := range segs {
				if seg == "oauth2" && i > 0 {
					tenant = segs[i-1]
					break
				}
			}
		}
	}
	host := c.Host()
	cacheable(c)
	c.JSON(http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": c.BaseURL() + "/login/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           []string{host},
		}},
	})
}
