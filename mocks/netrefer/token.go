package netrefer

import (
	"encoding/base64"
	"encoding/json"
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
	ClientInfo   string `json:"client_info,omitempty"`
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

// tokenRequest is what the checks both token endpoints share established:
// the form, the authenticated client and the user the grant is for.
type tokenRequest struct {
	form   map[string]string
	client *client
	user   *UserConfig
	tenant string
	// refresh is the grant a refresh_token request redeems (nil for the
	// password grant).
	refresh *refreshGrant
}

// missingParam answers AADSTS900144 for a required parameter.
func (s *state) missingParam(c *sandbox.Call, p string) {
	s.writeAAD(c, 400, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", p))
}

// authenticate runs what the v1 and v2 token endpoints check alike, in
// Azure AD's order: tenant, form, grant type, client and its secret, then
// the user's credentials or the refresh token. It returns nil when it has
// answered with the error.
func (s *state) authenticate(c *sandbox.Call) *tokenRequest {
	tenantParam := c.Params["tenant"]
	lt := strings.ToLower(tenantParam)
	tenant, known := s.tenants[lt]
	multi := lt == "common" || lt == "consumers" || lt == "organizations"
	if !known && !multi {
		s.writeAAD(c, 400, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", shorten(tenantParam)))
		return nil
	}
	form := parseTokenForm(c.R.Header.Get("Content-Type"), c.Body)
	grant := form["grant_type"]
	if grant == "" {
		s.missingParam(c, "grant_type")
		return nil
	}
	if grant != "password" && grant != "refresh_token" {
		s.writeAAD(c, 400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", shorten(grant)))
		return nil
	}
	if lt == "common" || lt == "consumers" {
		s.writeAAD(c, 400, "invalid_request", 9001023, "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
		return nil
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
		s.missingParam(c, "client_id")
		return nil
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
		return nil
	}
	if secret == "" && !cl.cfg.AllowPublicClient {
		s.writeAAD(c, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return nil
	}
	if secret != "" && secret != cl.cfg.ClientSecret {
		s.writeAAD(c, 401, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", cl.cfg.ClientID))
		return nil
	}
	tr := &tokenRequest{form: form, client: cl, tenant: cl.cfg.Tenant}
	if grant == "refresh_token" {
		rt := form["refresh_token"]
		if rt == "" {
			s.missingParam(c, "refresh_token")
			return nil
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
			return nil
		}
		tr.user, tr.refresh = g.user, &g
		return tr
	}
	if form["username"] == "" {
		s.missingParam(c, "username")
		return nil
	}
	if form["password"] == "" {
		s.missingParam(c, "password")
		return nil
	}
	u := cl.users[strings.ToLower(form["username"])]
	if u == nil || u.Password != form["password"] {
		s.writeAAD(c, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
		return nil
	}
	tr.user = u
	return tr
}

// handleToken is the v2 endpoint: the scope names the API permission.
func (s *state) handleToken(c *sandbox.Call) {
	tr := s.authenticate(c)
	if tr == nil {
		return
	}
	scope := tr.form["scope"]
	if scope == "" && tr.refresh != nil {
		scope = tr.refresh.scope
	}
	if strings.TrimSpace(scope) == "" {
		s.writeAAD(c, 400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter.")
		return
	}
	granted, openid, offline, bad := s.parseScope(tr.client, scope)
	if bad != "" {
		s.writeAAD(c, 400, "invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", shorten(bad)))
		return
	}
	s.issue(c, tr, scope, granted, openid, offline)
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

// issuer returns the `iss` of tokens for a tenant and format, and the
// issuer of the matching discovery document: Microsoft's own
// (https://sts.windows.net/{tid}/ for v1, https://login.microsoftonline.com/{tid}/v2.0
// for v2) in issuer mode "microsoft" and for every request that reached
// Azure AD by its real host name (docs/hosts.md), as real tokens carry;
// otherwise the sandbox's URL of the tenant, so that discovery through the
// sandbox verifies.
func (s *state) issuer(c *sandbox.Call, tenant, format string) string {
	if s.cfg.Token.Issuer == "microsoft" || c.ProviderHost() != "" {
		return microsoftIssuer(tenant, format)
	}
	return sandboxIssuer(c.BaseURL(), tenant, format)
}

// microsoftIssuer is Azure AD's issuer of a tenant's tokens in a format.
func microsoftIssuer(tenant, format string) string {
	if format == "v2" {
		return "https://login.microsoftonline.com/" + tenant + "/v2.0"
	}
	return "https://sts.windows.net/" + tenant + "/"
}

// sandboxIssuer is the issuer under a mount URL (or path), in issuer mode
// "sandbox".
func sandboxIssuer(base, tenant, format string) string {
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
// aud overrides the v1 format's audience (the v1 endpoint's resource, as
// the client named it); "" is the default api://{client}.
func (s *state) accessClaims(c *sandbox.Call, cl *client, u *UserConfig, tenant, aud string, now time.Time) map[string]any {
	life := int64(s.cfg.Token.LifetimeSeconds)
	claims := map[string]any{
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + life,
		"aio": s.guid(), "uti": s.guid(), "rh": "0.sandbox",
		"tid": tenant, "oid": s.oid(u), "sub": s.sub(cl, u),
		"scp": ScopeName, "name": u.Name,
	}
	if s.cfg.Token.Format == "v2" {
		claims["iss"] = s.issuer(c, tenant, "v2")
		claims["aud"] = cl.cfg.ClientID
		claims["azp"] = cl.cfg.ClientID
		claims["azpacr"] = "1"
		claims["preferred_username"] = u.Username
		claims["ver"] = "2.0"
	} else {
		if aud == "" {
			aud = "api://" + cl.cfg.ClientID
		}
		claims["iss"] = s.issuer(c, tenant, "v1")
		claims["aud"] = aud
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

// oid is the user's object id, the same for every client.
func (s *state) oid(u *UserConfig) string {
	return guidFrom(s.seed, "oid", strings.ToLower(u.Username))
}

// sub is the user's pairwise subject for a client.
func (s *state) sub(cl *client, u *UserConfig) string {
	return guidFrom(s.seed, "sub", cl.cfg.ClientID, strings.ToLower(u.Username))
}

// idClaims builds an id token in the v2 endpoint's format or the v1
// endpoint's ("v1": issuer of v1 tokens, upn and unique_name).
func (s *state) idClaims(c *sandbox.Call, tr *tokenRequest, format string, now time.Time) map[string]any {
	u := tr.user
	claims := map[string]any{
		"iss": s.issuer(c, tr.tenant, format), "aud": tr.client.cfg.ClientID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 3600,
		"tid": tr.tenant, "oid": s.oid(u), "sub": s.sub(tr.client, u), "name": u.Name,
	}
	if format == "v1" {
		claims["amr"] = []string{"pwd"}
		claims["upn"] = u.Username
		claims["unique_name"] = u.Username
		claims["ver"] = "1.0"
	} else {
		claims["preferred_username"] = u.Username
		claims["ver"] = "2.0"
	}
	return claims
}

// clientInfo is Azure AD's client_info: base64url JSON of the user's object
// id and home tenant, from which MSAL builds its account id (uid.utid).
func clientInfo(uid, utid string) string {
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{uid, utid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// minted is what one token request hands out, whichever endpoint.
type minted struct{ access, id, refresh, clientInfo string }

// mint signs the access token for aud (see accessClaims), the id token when
// idFormat is set, and keeps a refresh token for keep when it is not nil.
// client_info comes along when the request asked with client_info=1. It
// reports false when it has already answered with an internal error.
func (s *state) mint(c *sandbox.Call, tr *tokenRequest, aud, idFormat string, keep *refreshGrant) (minted, bool) {
	now := c.Now()
	var out minted
	var err error
	fail := func(err error) (minted, bool) {
		c.Fail(&sandbox.Error{Kind: sandbox.ErrInternal, Status: 500, Message: "signing failed: " + err.Error()})
		return minted{}, false
	}
	if out.access, err = s.tokens.Sign(s.accessClaims(c, tr.client, tr.user, tr.tenant, aud, now)); err != nil {
		return fail(err)
	}
	if idFormat != "" {
		if out.id, err = s.tokens.Sign(s.idClaims(c, tr, idFormat, now)); err != nil {
			return fail(err)
		}
	}
	if keep != nil {
		out.refresh = "0.sandbox." + strings.ReplaceAll(s.guid(), "-", "") + strings.ReplaceAll(s.guid(), "-", "")
		s.rtMu.Lock()
		s.refresh[out.refresh] = *keep
		old, full := s.rtOrder.Add(out.refresh)
		if full {
			delete(s.refresh, old)
		}
		if s.durable {
			s.putRefresh(out.refresh, keep, old, full)
		}
		s.rtMu.Unlock()
	}
	if tr.form["client_info"] == "1" {
		out.clientInfo = clientInfo(s.oid(tr.user), tr.tenant)
	}
	return out, true
}

// issue answers the v2 endpoint: the id token with openid, a refresh token
// with offline_access.
func (s *state) issue(c *sandbox.Call, tr *tokenRequest, requested, granted string, openid, offline bool) {
	idFormat := ""
	if openid {
		idFormat = "v2"
	}
	var keep *refreshGrant
	if offline {
		keep = &refreshGrant{client: tr.client, user: tr.user, scope: requested, tenant: tr.tenant}
	}
	m, ok := s.mint(c, tr, "", idFormat, keep)
	if !ok {
		return
	}
	life := s.cfg.Token.LifetimeSeconds
	noStore(c, s.guid())
	c.JSON(http.StatusOK, tokenResponse{TokenType: "Bearer", Scope: granted, ExpiresIn: life, ExtExpiresIn: life,
		AccessToken: m.access, RefreshToken: m.refresh, IDToken: m.id, ClientInfo: m.clientInfo})
}
