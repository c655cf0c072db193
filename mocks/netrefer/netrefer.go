// Package netrefer emulates NetRefer Data Ingestion end to end: the Azure AD
// v2 token service of NetRefer's tenant (password grant, discovery, JWKS),
// the API Management gateway in front of the ingestion API (subscription
// key, validate-jwt, rate limit, quota) and the ingestion backend itself
// (batches validated event by event, business rules, stored state).
// docs/netrefer.md describes it for users.
package netrefer

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

func init() {
	ops := map[string]sandbox.Handler{
		"token":                 withState((*state).handleToken),
		"tokenV1":               withState((*state).handleTokenV1),
		"userRealm":             withState((*state).handleUserRealm),
		"userRealmMixedCase":    withState((*state).handleUserRealm),
		"openidConfiguration":   func(c *sandbox.Call) { c.State.(*state).openIDConfiguration("v2")(c) },
		"openidConfigurationV1": func(c *sandbox.Call) { c.State.(*state).openIDConfiguration("v1")(c) },
		"jwks":                  withState((*state).handleJWKS),
		"jwksV1":                withState((*state).handleJWKS),
		"instanceDiscovery":     withState((*state).handleInstanceDiscovery),
	}
	for op, k := range ingestKinds {
		ops[op] = ingestHandler(k)
	}
	sandbox.Register(&sandbox.Provider{
		Name:       "netrefer",
		Title:      "NetRefer Data Ingestion",
		Spec:       specs.Must("netrefer.yaml"),
		NewConfig:  newConfig,
		New:        newState,
		Operations: ops,
		Guard:      guard,
		// APIM checks key, token and limits before the backend's 900 KB limit.
		BodyLimitAfterGuard: true,
		WriteError:          writeError,
		Banner:              banner,
		Postman:             postmanPlan,
		// MSAL asks these at the root of its authority's host, whatever
		// the authority's path: https://{host}/common/userrealm/{user}
		// (MSAL Go writes UserRealm), and its instance discovery.
		RootAliases: []sandbox.RootAlias{
			{Prefix: "/common/userrealm/", Target: "/login/common/userrealm/"},
			{Prefix: "/common/UserRealm/", Target: "/login/common/UserRealm/"},
			{Prefix: "/common/discovery/instance", Target: "/login/common/discovery/instance"},
		},
		// The real hosts (docs/hosts.md): Azure AD serves every tenant
		// path at its root, as /login/... below the mount; sts.windows.net,
		// the v1 tokens' issuer host, serves the same documents to
		// validators that discover from the issuer. NetRefer's API
		// reference is gated, so the ingestion API's path on its APIM host
		// is the sandbox's choice: https://api.netrefer.com/di/v1/...
		Hosts: []sandbox.ProviderHost{
			{Name: "login", Host: "login.microsoftonline.com", Paths: []sandbox.HostPath{{Prefix: "/", Target: "/login/"}}},
			{Name: "sts", Host: "sts.windows.net", Paths: []sandbox.HostPath{{Prefix: "/", Target: "/login/"}}},
			{Name: "apim", Host: "api.netrefer.com", Paths: []sandbox.HostPath{{Prefix: "/di/", Target: "/di/"}}},
		},
	})
}

func withState(f func(*state, *sandbox.Call)) sandbox.Handler {
	return func(c *sandbox.Call) { f(c.State.(*state), c) }
}

// isLogin reports whether the call is for Azure AD rather than APIM.
func isLogin(c *sandbox.Call) bool {
	if c.Operation != "" {
		_, ingest := ingestKinds[c.Operation]
		return !ingest
	}
	return false
}

// isTokenPath reports whether a path below the mount is a token endpoint
// (v2 or v1), which routing did not match because of its method.
func isTokenPath(rel string) bool {
	rest, ok := strings.CutPrefix(rel, "/login/")
	if !ok {
		return false
	}
	slashes := strings.Count(rest, "/")
	return strings.HasSuffix(rel, "/oauth2/v2.0/token") && slashes == 3 || strings.HasSuffix(rel, "/oauth2/token") && slashes == 2
}

// writeError renders core failures the way the real hosts do: APIM's
// {"statusCode","message"} for the gateway (404 for unknown operations and
// wrong methods alike), Azure AD's error body for the token service.
func writeError(c *sandbox.Call, e *sandbox.Error) {
	st, _ := c.State.(*state)
	if isLogin(c) && st != nil && e.Kind != sandbox.ErrNotFound && e.Kind != sandbox.ErrMethodNotAllowed {
		switch e.Kind {
		case sandbox.ErrInvalidRequest:
			st.writeAAD(c, 400, "invalid_request", 90014, "The request is malformed: "+e.Message)
		case sandbox.ErrBodyTooLarge:
			st.writeAAD(c, 413, "invalid_request", 90014, fmt.Sprintf("The request body exceeds %d bytes.", st.cfg.Limits.MaxPayloadBytes))
		case sandbox.ErrThrottled:
			c.W.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
			st.writeAAD(c, 429, "temporarily_unavailable", 90055, "The request was throttled. Please try again later.")
		default:
			status := e.Status
			if status < 400 {
				status = 500
			}
			st.writeAAD(c, status, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
		}
		return
	}
	c.W.Header().Del("Allow")
	// (OPTIONS, which Azure AD answers as a CORS preflight, is not emulated.)
	if e.Kind == sandbox.ErrMethodNotAllowed && st != nil && c.R.Method != http.MethodOptions && isTokenPath(c.Path()) {
		st.writeAAD(c, http.StatusBadRequest, "invalid_request", 900561,
			fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", shorten(c.R.Method)))
		return
	}
	switch e.Kind {
	case sandbox.ErrNotFound, sandbox.ErrMethodNotAllowed:
		writeAPIM(c, http.StatusNotFound, msgNotFound)
	case sandbox.ErrBodyTooLarge:
		limit := e.Limit
		size := fmt.Sprintf("%d bytes", limit)
		if limit%1024 == 0 {
			size += fmt.Sprintf(" (%d KB)", limit/1024)
		}
		writeAPIM(c, http.StatusRequestEntityTooLarge, "Request payload exceeds the maximum allowed size of "+size+".")
	case sandbox.ErrInvalidRequest:
		writeAPIM(c, http.StatusBadRequest, e.Message)
	case sandbox.ErrThrottled:
		c.W.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
		writeAPIM(c, http.StatusTooManyRequests, fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds.", e.RetryAfter))
	case sandbox.ErrUnavailable:
		status := e.Status
		if status < 400 {
			status = 503
		}
		msg := e.Message
		if msg == "" {
			msg = http.StatusText(status)
		}
		writeAPIM(c, status, msg)
	default:
		writeAPIM(c, http.StatusInternalServerError, "Internal server error")
	}
}

func banner(cfg any, baseURL string) []string {
	c := cfg.(*Config)
	var out []string
	for _, cl := range c.Clients {
		users := make([]string, 0, len(cl.Users))
		for _, u := range cl.Users {
			users = append(users, u.Username+" / "+u.Password)
		}
		out = append(out,
			fmt.Sprintf("token URL\t%s/login/%s/oauth2/v2.0/token (grant_type=password)", baseURL, cl.Tenant),
			fmt.Sprintf("client\t%s / %s", cl.ClientID, cl.ClientSecret),
			fmt.Sprintf("users\t%s", strings.Join(users, ", ")),
			fmt.Sprintf("scope\tapi://%s/%s", cl.ClientID, ScopeName),
			fmt.Sprintf("sub. key\t%s (Ocp-Apim-Subscription-Key)", strings.Join(cl.SubscriptionKeys, ", ")),
			fmt.Sprintf("ingestion\t%s/di/v1/{registrations,customers,deposits,withdrawals,activities,adjustments,corrections,deposit-corrections}", baseURL),
		)
	}
	return out
}
