package centili

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// Keycloak's OAuth error codes and descriptions, verbatim.
const (
	descInvalidClient     = "Invalid client or Invalid client credentials"
	descNotActive         = "Token is not active"
	descInvalidRefresh    = "Invalid refresh token"
	descClientMismatch    = "Invalid refresh token. Token client and authorized client don't match"
	descInvalidUserCreds  = "Invalid user credentials"
	descRealmDoesNotExist = "Realm does not exist"
)

// defaultScopes are the client scopes Keycloak puts in every token of the
// realm; "openid" may be requested on top and adds an ID token.
var defaultScopes = []string{"email", "profile"}

// realmURL is the realm's URL in the form the caller used, namespace
// included (or on the host it came to: https://auth-capi.centili.com/realms/api):
// the token's issuer and the base of every discovery URL.
func (s *State) realmURL(c *sandbox.Call) string {
	if operations[c.Operation].legacy {
		return c.URL("/auth/realms/" + s.cfg.Realm)
	}
	return c.URL("/realms/" + s.cfg.Realm)
}

// realmOK answers Keycloak's 404 when the path names another realm.
func (s *State) realmOK(c *sandbox.Call) bool {
	name, err := url.PathUnescape(c.Params["realm"])
	if err != nil || name != s.cfg.Realm {
		c.W.Header().Set("Cache-Control", "no-store")
		c.JSON(http.StatusNotFound, oauthError{Error: descRealmDoesNotExist})
		return false
	}
	return true
}

// tokenResponse is Keycloak's token endpoint answer.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	IDToken          string `json:"id_token,omitempty"`
	NotBeforePolicy  int64  `json:"not-before-policy"`
	SessionState     string `json:"session_state"`
	Scope            string `json:"scope"`
}

// accessClaims are the claims of a Keycloak access token plus Centili's
// merchantId. The same struct reads tokens back in the Data Gifting guard.
type accessClaims struct {
	Exp               int64          `json:"exp"`
	Iat               int64          `json:"iat"`
	AuthTime          int64          `json:"auth_time,omitempty"`
	Jti               string         `json:"jti"`
	Iss               string         `json:"iss"`
	Aud               any            `json:"aud,omitempty"`
	Sub               string         `json:"sub"`
	Typ               string         `json:"typ"`
	Azp               string         `json:"azp"`
	Sid               string         `json:"sid"`
	SessionState      string         `json:"session_state"`
	Acr               string         `json:"acr,omitempty"`
	AllowedOrigins    []string       `json:"allowed-origins,omitempty"`
	RealmAccess       *roles         `json:"realm_access,omitempty"`
	ResourceAccess    map[string]any `json:"resource_access,omitempty"`
	Scope             string         `json:"scope,omitempty"`
	AtHash            string         `json:"at_hash,omitempty"`
	EmailVerified     *bool          `json:"email_verified,omitempty"`
	PreferredUsername string         `json:"preferred_username,omitempty"`
	Email             string         `json:"email,omitempty"`
	MerchantID        int64          `json:"merchantId,omitempty"`
}

type roles struct {
	Roles []string `json:"roles"`
}

// token serves POST {realm}/protocol/openid-connect/token in Keycloak's
// order: realm, grant_type, client authentication, duplicated parameters,
// then the grant itself.
func (s *State) token(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	f, fail := parseTokenForm(c.R.Header.Get("Content-Type"), c.Body, c.R.Header.Values("Authorization"))
	if fail == nil {
		fail = s.grant(c, f)
	}
	if fail != nil {
		writeOAuth(c, fail.status, fail.code, fail.description)
	}
}

func (s *State) grant(c *sandbox.Call, f *tokenForm) *oauthFailure {
	grantType, ok := f.get("grant_type")
	if !ok {
		return &oauthFailure{http.StatusBadRequest, "invalid_request", "Missing form parameter: grant_type"}
	}
	if grantType != "password" && grantType != "refresh_token" {
		return &oauthFailure{http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type"}
	}
	client, fail := s.authenticateClient(f)
	if fail != nil {
		return fail
	}
	if f.duplicated != "" {
		return &oauthFailure{http.StatusBadRequest, "invalid_request", "duplicated parameter"}
	}
	if grantType == "password" {
		return s.passwordGrant(c, f, client)
	}
	return s.refreshGrant(c, f, client)
}

// authenticateClient is Keycloak's client-id-and-secret authenticator.
//
// Its Basic challenge (401 with `WWW-Authenticate: Basic realm="..."` and
// no entity) never reaches the client as built: AuthorizeClientUtil throws
// it as a WebApplicationException, and since its response has no entity
// Quarkus REST hands the exception to KeycloakErrorHandler (an
// ExceptionMapper<Throwable>), which answers a new response, the
// exception's message as the error, without the challenge header, as
// Keycloak's admin API answers its own entity-less 401s.
func (s *State) authenticateClient(f *tokenForm) (*ClientConfig, *oauthFailure) {
	if f.basicChallenge {
		return nil, &oauthFailure{http.StatusUnauthorized, "HTTP 401 Unauthorized", ""}
	}
	if !f.hasClientID {
		return nil, &oauthFailure{http.StatusBadRequest, "invalid_client", "Missing client_id parameter"}
	}
	client, ok := s.clients[f.clientID]
	if !ok {
		return nil, &oauthFailure{http.StatusUnauthorized, "invalid_client", descInvalidClient}
	}
	if !client.PublicClient && subtle.ConstantTimeCompare([]byte(f.clientSecret), []byte(client.Secret)) != 1 {
		return nil, &oauthFailure{http.StatusUnauthorized, "unauthorized_client", descInvalidClient}
	}
	return client, nil
}

// checkScope validates the requested scope like Keycloak: only the realm's
// scopes may be asked for. It returns the granted scope and whether the
// request is an OpenID one (which adds an ID token).
func checkScope(requested string) (string, bool, *oauthFailure) {
	openid := false
	for _, sc := range strings.Fields(requested) {
		switch sc {
		case "openid":
			openid = true
		case "email", "profile":
		default:
			return "", false, &oauthFailure{http.StatusBadRequest, "invalid_scope", "Invalid scopes: " + requested}
		}
	}
	granted := strings.Join(defaultScopes, " ")
	if openid {
		granted = "openid " + granted
	}
	return granted, openid, nil
}

func (s *State) passwordGrant(c *sandbox.Call, f *tokenForm, client *ClientConfig) *oauthFailure {
	if !client.directGrants() {
		return &oauthFailure{http.StatusBadRequest, "unauthorized_client", "Client not allowed for direct access grants"}
	}
	requested, _ := f.get("scope")
	scope, openid, fail := checkScope(requested)
	if fail != nil {
		return fail
	}
	username, ok := f.get("username")
	if !ok {
		return &oauthFailure{http.StatusUnauthorized, "invalid_request", "Missing parameter: username"}
	}
	password, _ := f.get("password")
	// Keycloak's direct-grant flow validates the username (unknown user,
	// disabled account) before the password.
	user, ok := s.users[strings.ToLower(username)]
	if !ok {
		return &oauthFailure{http.StatusUnauthorized, "invalid_grant", descInvalidUserCreds}
	}
	if !user.enabled() {
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", "Account disabled"}
	}
	if subtle.ConstantTimeCompare([]byte(password), []byte(user.Password)) != 1 {
		return &oauthFailure{http.StatusUnauthorized, "invalid_grant", descInvalidUserCreds}
	}
	now := c.Now()
	s.mu.Lock()
	se := &session{ID: s.newUUIDLocked(), UserID: user.id, Username: user.Username, ClientID: client.ClientID, Started: now, LastUsed: now}
	s.sweepSessionsLocked(now)
	s.sessions[se.ID] = se
	s.putMetaLocked() // first: a session id is never drawn twice
	s.putSessionLocked(se)
	s.mu.Unlock()
	return s.issue(c, se, user, scope, openid)
}

// sweepSessionsLocked drops sessions that can no longer be refreshed, so
// that a long-running sandbox does not accumulate them.
func (s *State) sweepSessionsLocked(now time.Time) {
	if len(s.sessions)%256 != 255 {
		return
	}
	for id, se := range s.sessions {
		if !s.sessionAlive(se, now) {
			s.endSessionLocked(id)
		}
	}
}

// sessionAlive: idle for no longer than the idle timeout, and younger than
// the max lifespan.
func (s *State) sessionAlive(se *session, now time.Time) bool {
	idle := time.Duration(s.cfg.SsoSessionIdleTimeout) * time.Second
	max := time.Duration(s.cfg.SsoSessionMaxLifespan) * time.Second
	return !now.After(se.LastUsed.Add(idle)) && !now.After(se.Started.Add(max))
}

// readRefreshToken reads the form's refresh_token as Keycloak's
// verifyRefreshToken does (the refresh grant and logout share it): present,
// signed here, a refresh token, issued by this realm in this namespace.
func (s *State) readRefreshToken(c *sandbox.Call, f *tokenForm) (*accessClaims, *oauthFailure) {
	raw, ok := f.get("refresh_token")
	if !ok {
		return nil, &oauthFailure{http.StatusBadRequest, "invalid_request", "No refresh token"}
	}
	var rc accessClaims
	if err := s.tokens.Verify(raw, &rc); err != nil || rc.Typ != "Refresh" || !s.issuedHere(c, rc.Iss) {
		return nil, &oauthFailure{http.StatusBadRequest, "invalid_grant", descInvalidRefresh}
	}
	return &rc, nil
}

func (s *State) refreshGrant(c *sandbox.Call, f *tokenForm, client *ClientConfig) *oauthFailure {
	rc, fail := s.readRefreshToken(c, f)
	if fail != nil {
		return fail
	}
	now := c.Now()
	if now.Unix() >= rc.Exp {
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descNotActive}
	}
	if rc.Azp != client.ClientID {
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descClientMismatch}
	}
	s.mu.Lock()
	se, ok := s.sessions[rc.Sid]
	if ok && !s.sessionAlive(se, now) {
		s.endSessionLocked(se.ID)
		ok = false
	}
	if !ok {
		s.mu.Unlock()
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descSessionNotActive}
	}
	// Keycloak's TokenManager.validateToken: a live session whose client
	// was detached (a refused reuse) no longer refreshes.
	if se.Detached {
		s.mu.Unlock()
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descNoRequiredClient}
	}
	if fail := s.checkReuseLocked(se, rc); fail != nil {
		s.mu.Unlock()
		return fail
	}
	se.LastUsed = now
	se.lastIssued = now.Unix()
	se.Refreshes++
	s.putSessionLocked(se)
	cp := *se
	s.mu.Unlock()
	user, ok := s.usersByID[cp.UserID]
	if !ok {
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descNotActive}
	}
	openid := false
	for _, sc := range strings.Fields(rc.Scope) {
		openid = openid || sc == "openid"
	}
	return s.issue(c, &cp, user, rc.Scope, openid)
}

// issuedHere reports whether iss is this realm in this namespace, in either
// URL form. Only the path is compared, so a token obtained through
// 127.0.0.1 still works through localhost or a Docker host name, and one
// obtained from the bare URL works under /ns/default (the same namespace).
// With host routing on, a token from Centili's own hosts is good too (its
// issuer names no namespace).
func (s *State) issuedHere(c *sandbox.Call, iss string) bool {
	u, err := url.Parse(iss)
	if err != nil {
		return false
	}
	for _, rel := range []string{"/realms/" + s.cfg.Realm, "/auth/realms/" + s.cfg.Realm} {
		for _, mount := range c.MountPaths() {
			if u.Path == mount+rel {
				return true
			}
		}
		if slices.Contains(c.HostPaths(rel), u.Path) {
			return true
		}
	}
	return false
}

// issue signs the access, refresh and (for openid) ID tokens of a session.
func (s *State) issue(c *sandbox.Call, se *session, user *userEntry, scope string, openid bool) *oauthFailure {
	now := c.Now()
	iss := s.realmURL(c)
	end := se.Started.Add(time.Duration(s.cfg.SsoSessionMaxLifespan) * time.Second)
	accessExp := minTime(now.Add(time.Duration(s.cfg.AccessTokenLifespan)*time.Second), end)
	refreshExp := minTime(now.Add(time.Duration(s.cfg.SsoSessionIdleTimeout)*time.Second), end)
	s.mu.Lock()
	jtis := [3]string{s.newUUIDLocked(), s.newUUIDLocked(), s.newUUIDLocked()}
	s.putMetaLocked()
	s.mu.Unlock()
	verified := true
	access := accessClaims{
		Exp: accessExp.Unix(), Iat: now.Unix(), AuthTime: se.Started.Unix(), Jti: jtis[0], Iss: iss, Aud: s.accessAudience(se.ClientID),
		Sub: user.id, Typ: "Bearer", Azp: se.ClientID, Sid: se.ID, SessionState: se.ID, Acr: "1",
		AllowedOrigins: []string{"/*"},
		RealmAccess:    &roles{Roles: []string{"offline_access", "default-roles-" + s.cfg.Realm, "uma_authorization"}},
		ResourceAccess: map[string]any{"account": roles{Roles: []string{"manage-account", "manage-account-links", "view-profile"}}},
		Scope:          scope, EmailVerified: &verified, PreferredUsername: strings.ToLower(user.Username),
		MerchantID: user.MerchantID,
	}
	if strings.Contains(user.Username, "@") {
		access.Email = strings.ToLower(user.Username)
	}
	at, err := s.tokens.Sign(access)
	if err != nil {
		return &oauthFailure{http.StatusInternalServerError, "unknown_error", "token could not be signed: " + err.Error()}
	}
	refresh := accessClaims{
		Exp: refreshExp.Unix(), Iat: now.Unix(), Jti: jtis[1], Iss: iss, Aud: iss, Sub: user.id, Typ: "Refresh",
		Azp: se.ClientID, Sid: se.ID, SessionState: se.ID, Scope: scope,
	}
	rt, err := s.tokens.Sign(refresh)
	if err != nil {
		return &oauthFailure{http.StatusInternalServerError, "unknown_error", "token could not be signed: " + err.Error()}
	}
	resp := tokenResponse{
		AccessToken: at, ExpiresIn: int64(accessExp.Sub(now) / time.Second), RefreshToken: rt,
		RefreshExpiresIn: int64(refreshExp.Sub(now) / time.Second), TokenType: "Bearer",
		SessionState: se.ID, Scope: scope,
	}
	if openid {
		sum := sha256.Sum256([]byte(at))
		id := access
		id.Jti, id.Aud, id.Typ, id.AtHash = jtis[2], se.ClientID, "ID", base64.RawURLEncoding.EncodeToString(sum[:16])
		id.AllowedOrigins, id.RealmAccess, id.ResourceAccess, id.Scope = nil, nil, nil, ""
		if resp.IDToken, err = s.tokens.Sign(id); err != nil {
			return &oauthFailure{http.StatusInternalServerError, "unknown_error", "token could not be signed: " + err.Error()}
		}
	}
	h := c.W.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	c.JSON(http.StatusOK, resp)
	return nil
}

// accessAudience is an access token's aud: "account" (Keycloak's default
// roles give every user the account client's roles), after the clients the
// issuing client's Audience mapper names [sandbox: that order]. One value is
// a string, several an array, as Keycloak writes them.
func (s *State) accessAudience(clientID string) any {
	cl, ok := s.clients[clientID]
	if !ok || len(cl.Audience) == 0 {
		return "account"
	}
	return append(slices.Clone(cl.Audience), "account")
}

// audienceNames reads a token's aud, a string or an array of strings.
func audienceNames(aud any) []string {
	switch v := aud.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// discoveryDocument is the realm's OpenID Provider metadata. It lists what
// Keycloak lists for the flows Centili allows; the browser endpoints are
// named (OpenID discovery requires authorization_endpoint) but not served.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JwksURI                           string   `json:"jwks_uri"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	UserinfoSigningAlgValuesSupported []string `json:"userinfo_signing_alg_values_supported"`
	IntrospectionAuthMethods          []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationAuthMethods             []string `json:"revocation_endpoint_auth_methods_supported"`
	BackchannelLogoutSupported        bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported bool     `json:"backchannel_logout_session_supported"`
}

// discoveryCacheControl is CacheControlUtil.noCache() as JAX-RS writes it:
// no-cache, must-revalidate and no-store set, no-transform by default.
const discoveryCacheControl = "no-cache, must-revalidate, no-transform, no-store"

// discovery serves the realm's OpenID Provider metadata with the headers
// of Keycloak's RealmsResource.getWellKnownResponse: never cached, and
// readable from any origin (Cors allowAllOrigins with credentials, which
// answers only a request that names its Origin).
func (s *State) discovery(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	h := c.W.Header()
	h.Set("Cache-Control", discoveryCacheControl)
	if origin := c.R.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	base := s.realmURL(c)
	c.JSON(http.StatusOK, discoveryDocument{
		Issuer:                            base,
		AuthorizationEndpoint:             base + "/protocol/openid-connect/auth",
		TokenEndpoint:                     base + "/protocol/openid-connect/token",
		JwksURI:                           base + "/protocol/openid-connect/certs",
		IntrospectionEndpoint:             base + "/protocol/openid-connect/token/introspect",
		UserinfoEndpoint:                  base + "/protocol/openid-connect/userinfo",
		EndSessionEndpoint:                base + "/protocol/openid-connect/logout",
		RevocationEndpoint:                base + "/protocol/openid-connect/revoke",
		UserinfoSigningAlgValuesSupported: []string{"RS256", "none"},
		IntrospectionAuthMethods:          []string{"client_secret_basic", "client_secret_post"},
		RevocationAuthMethods:             []string{"client_secret_basic", "client_secret_post"},
		BackchannelLogoutSupported:        true,
		BackchannelLogoutSessionSupported: true,
		GrantTypesSupported:               []string{"password", "refresh_token"},
		ResponseTypesSupported:            []string{"code", "none", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token"},
		SubjectTypesSupported:             []string{"public", "pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		ScopesSupported:                   []string{"openid", "email", "profile"},
		ClaimsSupported:                   []string{"aud", "sub", "iss", "auth_time", "name", "preferred_username", "email", "email_verified", "acr", "azp", "sid", "merchantId"},
	})
}

func (s *State) certs(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	jwks, err := s.tokens.JWKS()
	if err != nil {
		c.Fail(&sandbox.Error{Kind: sandbox.ErrInternal, Status: http.StatusInternalServerError, Message: err.Error()})
		return
	}
	sandbox.WriteJSON(c.W, http.StatusOK, jwks)
}

// realmInfo is Keycloak's public realm document (GET {realm url}), which
// older adapters read the public key from.
type realmInfo struct {
	Realm           string `json:"realm"`
	PublicKey       string `json:"public_key"`
	TokenService    string `json:"token-service"`
	AccountService  string `json:"account-service"`
	TokensNotBefore int64  `json:"tokens-not-before"`
}

func (s *State) realm(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	pub, err := s.publicKey()
	if err != nil {
		c.Fail(&sandbox.Error{Kind: sandbox.ErrInternal, Status: http.StatusInternalServerError, Message: err.Error()})
		return
	}
	base := s.realmURL(c)
	c.JSON(http.StatusOK, realmInfo{Realm: s.cfg.Realm, PublicKey: pub,
		TokenService: base + "/protocol/openid-connect", AccountService: base + "/account"})
}

// publicKey returns the signing key as base64 DER SubjectPublicKeyInfo,
// read back from the JWKS the core publishes.
func (s *State) publicKey() (string, error) {
	jwks, err := s.tokens.JWKS()
	if err != nil {
		return "", err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return "", err
	}
	for _, k := range set.Keys {
		if pk, ok := k.Key.(*rsa.PublicKey); ok {
			der, err := x509.MarshalPKIXPublicKey(pk)
			if err != nil {
				return "", err
			}
			return base64.StdEncoding.EncodeToString(der), nil
		}
	}
	return "", errNoRSAKey
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoRSAKey = constError("the JWKS holds no RSA key")
