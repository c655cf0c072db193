package netrefer

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// aadError is Azure AD's token-service error body.
type aadError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

// tokenResponse is the token service's success body.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

const aadTimeLayout = "2006-01-02 15:04:05Z"

// noStore sets the headers Azure AD sends on every token-service answer.
func noStore(c *sandbox.Call, traceID string) {
	h := c.W.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("x-ms-request-id", traceID)
}

// writeAAD answers with an Azure AD error: status, OAuth error, AADSTS code
// and text; trace and correlation ids (the client's client-request-id when
// it sent one, as Azure AD does).
func (s *state) writeAAD(c *sandbox.Call, status int, oauthErr string, code int, text string) {
	trace := s.guid()
	corr := c.R.Header.Get("client-request-id")
	if corr == "" || len(corr) > 64 {
		corr = s.guid()
	}
	ts := c.Now().UTC().Format(aadTimeLayout)
	noStore(c, trace)
	c.JSON(status, aadError{
		Error:            oauthErr,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", code, text, trace, corr, ts),
		ErrorCodes:       []int{code},
		Timestamp:        ts,
		TraceID:          trace,
		CorrelationID:    corr,
		ErrorURI:         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
	})
}

// parseTokenForm reads the token request's parameters. Azure AD reads only
// form-encoded bodies: any other content type yields no parameters (and so
// the AADSTS900144 "must contain grant_type" answer). A malformed pair is
// skipped; the well-formed ones are kept. The first value of a repeated
// parameter wins.
func parseTokenForm(contentType string, body []byte) map[string]string {
	out := map[string]string{}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return out
	}
	vals, _ := url.ParseQuery(string(body))
	for k, v := range vals {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// basicCredentials reads client_secret_basic credentials (RFC 6749 §2.3.1:
// form-urlencoded id and secret in HTTP Basic).
func basicCredentials(r *http.Request) (id, secret string, ok bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return "", "", false
	}
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if du, err := url.QueryUnescape(u); err == nil {
		u = du
	}
	if dp, err := url.QueryUnescape(p); err == nil {
		p = dp
	}
	return u, p, true
}

func (s *state) handleToken(c *sandbox.Call) {
	tenantParam := c.Params["tenant"]
	lt := strings.ToLower(tenantParam)
	tenant, known := s.tenants[lt]
	multi := lt == "common" || lt == "consumers" || lt == "organizations"
	if !known && !multi {
		s.writeAAD(c, 400, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", shorten(tenantParam)))
		return
	}
	form := parseTokenForm(c.R.Header.Get("Content-Type"), c.Body)
	missing := func(p string) {
		s.writeAAD(c, 400, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", p))
	}
	grant := form["grant_type"]
	if grant == "" {
		missing("grant_type")
		return
	}
	if grant != "password" && grant != "refresh_token" {
		s.writeAAD(c, 400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", shorten(grant)))
		return
	}
	if lt == "common" || lt == "consumers" {
		s.writeAAD(c, 400, "invalid_request", 9001023, "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
		return
	}
	clientID, secret := form["client_id"], form["client_secret"]
	if bid, bsecret, ok := basicCredentials(c.R); ok {
		if clientID == "" {
			clientID = bid
		}
		if secret == "" {
			secret = bsecret
		}
	}
	if clientID == "" {
		missing("client_id")
		return
	}
	cl := s.clients[strings.ToLower(clientID)]
	if cl != nil && known && !strings.EqualFold(cl.cfg.Tenant, tenant) {
		cl = nil
	}
	dir := tenant
	if !known {
		dir = tenantParam
	}
	if cl == nil {
		s.writeAAD(c, 400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", shorten(clientID), shorten(dir)))
		return
	}
	tenant = cl.cfg.Tenant
	if secret == "" {
		s.writeAAD(c, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	if secret != cl.cfg.ClientSecret {
		s.writeAAD(c, 401, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", cl.cfg.ClientID))
		return
	}
	var user *UserConfig
	scope := form["scope"]
	if grant == "refresh_token" {
		rt := form["refresh_token"]
		if rt == "" {
			missing("refresh_token")
			return
		}
		s.rtMu.Lock()
		g, ok := s.refresh[rt]
		forgotten := s.rtOrder.Usage().Evicted
		s.rtMu.Unlock()
		if !ok || g.client != cl {
			if !ok && forgotten > 0 {
				c.W.Header().Set(sandbox.HeaderHint, fmt.Sprintf("this namespace keeps the newest %d refresh tokens (netrefer.limits.maxRefreshTokens) "+
					"and has forgotten %d older %s; it may be one of them", s.cfg.Limits.MaxRefreshTokens, forgotten, map[bool]string{true: "one", false: "ones"}[forgotten == 1]))
			}
			s.writeAAD(c, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
			return
		}
		user = g.user
		if scope == "" {
			scope = g.scope
		}
	} else {
		if form["username"] == "" {
			missing("username")
			return
		}
		if form["password"] == "" {
			missing("password")
			return
		}
		u := cl.users[strings.ToLower(form["username"])]
		if u == nil || u.Password != form["password"] {
			s.writeAAD(c, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
			return
		}
		user = u
	}
	if strings.TrimSpace(scope) == "" {
		s.writeAAD(c, 400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter.")
		return
	}
	granted, openid, offline, bad := s.parseScope(cl, scope)
	if bad != "" {
		s.writeAAD(c, 400, "invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", shorten(bad)))
		return
	}
	s.issue(c, cl, user, tenant, scope, granted, openid, offline)
}

// parseScope checks each requested scope: the client's own
// api://{client}/Events.Injestion (or /.default), plus the OIDC scopes.
func (s *state) parseScope(cl *client, scope string) (granted string, openid, offline bool, bad string) {
	resource := false
	prefix := "api://" + strings.ToLower(cl.cfg.ClientID) + "/"
	for _, sc := range strings.Fields(scope) {
		l := strings.ToLower(sc)
		switch {
		case l == "openid":
			openid = true
		case l == "offline_access":
			offline = true
		case l == "profile" || l == "email":
		case l == prefix+strings.ToLower(ScopeName) || l == prefix+".default":
			resource = true
		default:
			return "", false, false, sc
		}
	}
	if !resource {
		return "", false, false, scope
	}
	return "api://" + cl.cfg.ClientID + "/" + ScopeName, openid, offline, ""
}

// issuer returns the `iss` of tokens for a tenant and format, and the URL
// the matching discovery document lives under.
func (s *state) issuer(base, tenant, format string) string {
	if s.cfg.Token.Issuer == "microsoft" {
		if format == "v2" {
			return "https://login.microsoftonline.com/" + tenant + "/v2.0"
		}
		return "https://sts.windows.net/" + tenant + "/"
	}
	if format == "v2" {
		return base + "/login/" + tenant + "/v2.0"
	}
	return base + "/login/" + tenant + "/"
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// accessClaims builds the access token's claims in the scenario's format.
func (s *state) accessClaims(c *sandbox.Call, cl *client, u *UserConfig, tenant string, now time.Time) map[string]any {
	life := int64(s.cfg.Token.LifetimeSeconds)
	oid := guidFrom(s.seed, "oid", strings.ToLower(u.Username))
	claims := map[string]any{
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + life,
		"aio": s.guid(), "uti": s.guid(), "rh": "0.sandbox",
		"tid": tenant, "oid": oid, "sub": guidFrom(s.seed, "sub", cl.cfg.ClientID, strings.ToLower(u.Username)),
		"scp": ScopeName, "name": u.Name,
	}
	if s.cfg.Token.Format == "v2" {
		claims["iss"] = s.issuer(c.BaseURL(), tenant, "v2")
		claims["aud"] = cl.cfg.ClientID
		claims["azp"] = cl.cfg.ClientID
		claims["azpacr"] = "1"
		claims["preferred_username"] = u.Username
		claims["ver"] = "2.0"
	} else {
		claims["iss"] = s.issuer(c.BaseURL(), tenant, "v1")
		claims["aud"] = "api://" + cl.cfg.ClientID
		claims["appid"] = cl.cfg.ClientID
		claims["appidacr"] = "1"
		claims["acr"] = "1"
		claims["amr"] = []string{"pwd"}
		claims["ipaddr"] = clientIP(c.R)
		claims["upn"] = u.Username
		claims["unique_name"] = u.Username
		claims["ver"] = "1.0"
	}
	return claims
}

func (s *state) issue(c *sandbox.Call, cl *client, u *UserConfig, tenant, requested, granted string, openid, offline bool) {
	now := c.Now()
	at, err := s.tokens.Sign(s.accessClaims(c, cl, u, tenant, now))
	if err != nil {
		c.Fail(&sandbox.Error{Kind: sandbox.ErrInternal, Status: 500, Message: "signing failed: " + err.Error()})
		return
	}
	life := s.cfg.Token.LifetimeSeconds
	res := tokenResponse{TokenType: "Bearer", Scope: granted, ExpiresIn: life, ExtExpiresIn: life, AccessToken: at}
	if openid {
		res.IDToken, err = s.tokens.Sign(map[string]any{
			"iss": s.issuer(c.BaseURL(), tenant, "v2"), "aud": cl.cfg.ClientID, "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Unix() + 3600, "tid": tenant, "oid": guidFrom(s.seed, "oid", strings.ToLower(u.Username)),
			"sub": guidFrom(s.seed, "sub", cl.cfg.ClientID, strings.ToLower(u.Username)), "preferred_username": u.Username,
			"name": u.Name, "ver": "2.0",
		})
		if err != nil {
			c.Fail(&sandbox.Error{Kind: sandbox.ErrInternal, Status: 500, Message: "signing failed: " + err.Error()})
			return
		}
	}
	if offline {
		rt := "0.sandbox." + strings.ReplaceAll(s.guid(), "-", "") + strings.ReplaceAll(s.guid(), "-", "")
		s.rtMu.Lock()
		s.refresh[rt] = refreshGrant{client: cl, user: u, scope: requested, tenant: tenant}
		if old, full := s.rtOrder.Add(rt); full {
			delete(s.refresh, old)
		}
		s.rtMu.Unlock()
		res.RefreshToken = rt
	}
	noStore(c, s.guid())
	c.JSON(http.StatusOK, res)
}
