package centili

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// The endpoints OIDC client libraries call besides the token endpoint:
// userinfo, introspection (RFC 7662), back-channel logout and revocation
// (RFC 7009). Their checks and texts follow Keycloak's UserInfoEndpoint,
// TokenIntrospectionEndpoint, LogoutEndpoint and TokenRevocationEndpoint.

const (
	descTokenVerification = "Token verification failed"
	descSessionNotActive  = "Session not active"
	descReuseExceeded     = "Maximum allowed refresh token reuse exceeded"
	descStaleToken        = "Stale token"
	descNoRequiredClient  = "Session doesn't have required client"
	descAuthFailed        = "Authentication failed."
)

// liveToken verifies a token for introspection and reports its claims and
// whether it is active: signed here, unexpired, not revoked, of the wanted
// type, its session alive with the token's client still attached, and (for
// a refresh token, when the realm revokes refresh tokens) not used up or
// stale, as Keycloak's AccessTokenIntrospectionProvider and
// RefreshTokenIntrospectionProvider check. A logout therefore ends the
// session's access tokens.
func (s *State) liveToken(c *sandbox.Call, raw string, types ...string) (*accessClaims, bool) {
	var cl accessClaims
	if err := s.tokens.Verify(raw, &cl); err != nil || !s.issuedHere(c, cl.Iss) {
		return nil, false
	}
	typeOK := false
	for _, t := range types {
		typeOK = typeOK || cl.Typ == t
	}
	now := c.Now()
	if !typeOK || now.Unix() >= cl.Exp {
		return &cl, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, revoked := s.revoked[cl.Jti]; revoked {
		return &cl, false
	}
	se, ok := s.sessions[cl.Sid]
	if !ok || !se.hasClient(cl.Azp) || !s.sessionAlive(se, now) {
		return &cl, false
	}
	return &cl, cl.Typ != "Refresh" || s.reuseCheckLocked(se, &cl, false) == ""
}

// hasClient reports whether the session still has the client: a session
// has one client here, which a refused refresh-token reuse detaches
// (Keycloak's clientSession.detachFromUserSession) while the user session
// itself lives on until it idles out.
func (se *session) hasClient(clientID string) bool {
	return se.ClientID == clientID && !se.Detached
}

// keycloakBearer reads the Authorization header as Keycloak's AppAuthManager
// does for userinfo: the scheme before the first space is "Bearer" in any
// case, and the token after it is not blank and holds no space. Data
// Gifting, which is Centili's API and not Keycloak's, reads the header more
// leniently (authorizationBearer).
func keycloakBearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || scheme == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" || strings.Contains(tok, " ") {
		return "", false
	}
	return tok, true
}

// authorizationBearer reads "Authorization: Bearer <t>" (scheme
// case-insensitive, surrounding spaces ignored) for Data Gifting.
func authorizationBearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// challenge is a userinfo error as Keycloak (19 and later, OAuth2Error with
// json(false)) answers it: the status, an empty text/plain body, and the
// error only in WWW-Authenticate. An empty code is the bare challenge of a
// request without a token. anyOrigin marks the errors Keycloak answers
// before it knows the token's client, while its CORS policy still allows
// every origin.
type challenge struct {
	status     int
	code, desc string
	anyOrigin  bool
}

// Userinfo's challenges, verbatim from Keycloak's UserInfoEndpoint (the
// session ones are the UserSessionUtil error codes it passes on).
var (
	challengeMissing      = &challenge{status: http.StatusUnauthorized, anyOrigin: true}
	challengeDuplicate    = &challenge{status: http.StatusBadRequest, code: "invalid_request", desc: "Duplicate parameter"}
	challengeTwoMethods   = &challenge{status: http.StatusBadRequest, code: "invalid_request", desc: "More than one method used for including an access token", anyOrigin: true}
	challengeVerification = &challenge{status: http.StatusUnauthorized, code: "invalid_token", desc: descTokenVerification, anyOrigin: true}
	challengeNoOpenID     = &challenge{status: http.StatusForbidden, code: "insufficient_scope", desc: "Missing openid scope", anyOrigin: true}
	challengeNoClient     = &challenge{status: http.StatusUnauthorized, code: "invalid_token", desc: "Client not found", anyOrigin: true}
	challengeRevoked      = &challenge{status: http.StatusUnauthorized, code: "invalid_token", desc: descTokenVerification}
	challengeNoSession    = &challenge{status: http.StatusUnauthorized, code: "invalid_token", desc: "user_session_not_found"}
	challengeExpired      = &challenge{status: http.StatusUnauthorized, code: "invalid_token", desc: "session_expired"}
	challengeNoUser       = &challenge{status: http.StatusUnauthorized, code: "invalid_token", desc: "User not found"}
	challengeUserDisabled = &challenge{status: http.StatusUnauthorized, code: "invalid_token", desc: "User disabled"}
)

// userinfo serves GET and POST {realm}/protocol/openid-connect/userinfo in
// Keycloak's order: the token (header, and for POST the form), its
// verification, the openid scope, the client, revocation, the session, the
// user.
func (s *State) userinfo(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	raw, ch := userinfoToken(c)
	var user *userEntry
	if ch == nil {
		user, ch = s.userinfoUser(c, raw)
	}
	if ch != nil {
		writeChallenge(c, s.cfg.Realm, ch)
		return
	}
	claims := map[string]any{"sub": user.id, "email_verified": true, "preferred_username": strings.ToLower(user.Username)}
	if strings.Contains(user.Username, "@") {
		claims["email"] = strings.ToLower(user.Username)
	}
	if user.MerchantID != 0 {
		claims["merchantId"] = user.MerchantID
	}
	c.W.Header().Set("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, claims)
}

// userinfoToken finds the access token: the Authorization header first;
// then, for a POST with a form body, the form's access_token, which may not
// be repeated and may not come on top of the header. GET reads the header
// only (a query parameter is not looked at). A form that cannot be decoded
// is read as having no access_token.
func userinfoToken(c *sandbox.Call) (string, *challenge) {
	// JAX-RS's getHeaderString joins repeated headers with a comma, so two
	// Authorization headers read as one value that is no Bearer token.
	raw, have := keycloakBearer(strings.Join(c.R.Header.Values("Authorization"), ","))
	if c.R.Method == http.MethodPost {
		if f, fail := parseTokenForm(c.R.Header.Get("Content-Type"), c.Body, nil); fail == nil {
			switch vals := f.values["access_token"]; {
			case len(vals) > 1:
				return "", challengeDuplicate
			case len(vals) == 1 && have:
				return "", challengeTwoMethods
			case len(vals) == 1:
				raw, have = vals[0], true
			}
		}
	}
	if !have {
		return "", challengeMissing
	}
	return raw, nil
}

// userinfoUser runs Keycloak's checks on the token and returns its user.
func (s *State) userinfoUser(c *sandbox.Call, raw string) (*userEntry, *challenge) {
	var cl accessClaims
	now := c.Now()
	if err := s.tokens.Verify(raw, &cl); err != nil || !s.issuedHere(c, cl.Iss) || cl.Typ != "Bearer" || now.Unix() >= cl.Exp {
		return nil, challengeVerification
	}
	if !slices.Contains(strings.Fields(cl.Scope), "openid") {
		return nil, challengeNoOpenID
	}
	if _, ok := s.clients[cl.Azp]; !ok {
		return nil, challengeNoClient
	}
	s.mu.Lock()
	_, revoked := s.revoked[cl.Jti]
	se, found := s.sessions[cl.Sid]
	found = found && se.hasClient(cl.Azp)
	alive := found && s.sessionAlive(se, now)
	s.mu.Unlock()
	switch {
	case revoked:
		return nil, challengeRevoked
	case !found:
		return nil, challengeNoSession
	case !alive:
		return nil, challengeExpired
	}
	user, ok := s.usersByID[cl.Sub]
	if !ok {
		return nil, challengeNoUser
	}
	if !user.enabled() {
		return nil, challengeUserDisabled
	}
	return user, nil
}

// writeChallenge answers a userinfo error. With an Origin header, the
// errors Keycloak answers while every origin is allowed carry its CORS
// headers; after the client is known its web origins apply, which for the
// realm's clients are the tokens' allowed-origins ("/*", which matches no
// origin), so those errors and the 200 carry none.
func writeChallenge(c *sandbox.Call, realm string, ch *challenge) {
	h := c.W.Header()
	value := `Bearer realm="` + realm + `"`
	if ch.code != "" {
		value += `, error="` + ch.code + `", error_description="` + ch.desc + `"`
	}
	h.Set("WWW-Authenticate", value)
	if origin := c.R.Header.Get("Origin"); origin != "" && ch.anyOrigin {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "Access-Control-Allow-Methods, WWW-Authenticate")
	}
	h.Set("Content-Type", "text/plain;charset=utf-8")
	c.W.WriteHeader(ch.status)
}

// clientForm parses a client-authenticated form (introspect, logout,
// revoke) and authenticates the client as the token endpoint does.
func (s *State) clientForm(c *sandbox.Call) (*tokenForm, *ClientConfig, *oauthFailure) {
	f, fail := parseTokenForm(c.R.Header.Get("Content-Type"), c.Body, c.R.Header.Values("Authorization"))
	if fail != nil {
		return nil, nil, fail
	}
	client, fail := s.authenticateClient(f)
	return f, client, fail
}

// introspect serves POST {realm}/protocol/openid-connect/token/introspect.
// Only confidential clients may introspect; any live token of the realm
// answers its claims with "active": true, anything else {"active": false}.
// With introspectionAudienceCheck (Keycloak 26.6.2 and later) a live token
// whose aud does not name the introspecting client is inactive too; the
// check comes last, after the session and reuse checks, as in Keycloak's
// AccessTokenIntrospectionProvider.introspectionChecks.
// A client that fails authentication (no client_id, unknown, wrong secret)
// gets Keycloak's catch-all "Authentication failed." (TokenIntrospection-
// Endpoint.authorizeClient, up to Keycloak 26.6), not the token endpoint's
// errors.
func (s *State) introspect(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	f, client, fail := s.clientForm(c)
	if fail != nil && f != nil {
		fail = &oauthFailure{http.StatusUnauthorized, "invalid_request", descAuthFailed}
	}
	if fail == nil && client.PublicClient {
		fail = &oauthFailure{http.StatusForbidden, "invalid_request", "Client not allowed."}
	}
	if fail == nil && f.duplicated != "" {
		fail = &oauthFailure{http.StatusBadRequest, "invalid_request", "duplicated parameter"}
	}
	if fail != nil {
		writeIntrospectionError(c, fail.status, fail.code, fail.description)
		return
	}
	hint, ok := f.get("token_type_hint")
	if !ok {
		hint = "access_token"
	}
	raw, ok := f.get("token")
	if !ok {
		writeIntrospectionError(c, http.StatusBadRequest, "invalid_request", "Token not provided.")
		return
	}
	if hint != "access_token" && hint != "refresh_token" {
		writeIntrospectionError(c, http.StatusBadRequest, "invalid_request", "Unsupported token type.")
		return
	}
	// @NoCache on TokenIntrospectionEndpoint.introspect: a handler on the
	// method's own answer, so the 200s carry it and the errors (mapped
	// exceptions) do not.
	c.W.Header().Set("Cache-Control", "no-cache")
	// The hint only speeds up Keycloak's look-up; either type is found.
	cl, live := s.liveToken(c, raw, "Bearer", "Refresh")
	if live && s.cfg.IntrospectionAudienceCheck && !slices.Contains(audienceNames(cl.Aud), client.ClientID) {
		live = false
	}
	if !live {
		c.JSON(http.StatusOK, map[string]bool{"active": false})
		return
	}
	b, err := json.Marshal(cl)
	if err != nil {
		writeIntrospectionError(c, http.StatusInternalServerError, "unknown_error", err.Error())
		return
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		writeIntrospectionError(c, http.StatusInternalServerError, "unknown_error", err.Error())
		return
	}
	out["active"], out["client_id"], out["token_type"] = true, cl.Azp, cl.Typ
	if user, ok := s.usersByID[cl.Sub]; ok {
		out["username"] = strings.ToLower(user.Username)
	}
	c.JSON(http.StatusOK, out)
}

// writeIntrospectionError answers an introspection failure as Keycloak's
// error handler does: the JSON error with no cache headers (the endpoint's
// @NoCache applies to its own answers only, and unlike the token endpoint it
// sets none on the response itself).
func writeIntrospectionError(c *sandbox.Call, status int, code, description string) {
	c.W.Header().Del("Cache-Control")
	c.JSON(status, oauthError{Error: code, ErrorDescription: description})
}

// logout serves POST {realm}/protocol/openid-connect/logout with a refresh
// token: the back-channel logout of python-keycloak's logout(). It ends the
// token's session, so its refresh tokens fail with "Session not active" and
// its access tokens turn inactive. The refresh token's expiry is not checked.
func (s *State) logout(c *sandbox.Call) {
	s.clientEndpoint(c, false, s.endSession, http.StatusNoContent)
}

// clientEndpoint runs a client-authenticated form endpoint (logout,
// revoke): realm, client authentication, duplicated parameters when the
// endpoint refuses them, then do; success is status with no body.
func (s *State) clientEndpoint(c *sandbox.Call, refuseDuplicates bool, do func(*sandbox.Call, *tokenForm, *ClientConfig) *oauthFailure, status int) {
	if !s.realmOK(c) {
		return
	}
	f, client, fail := s.clientForm(c)
	if fail == nil && refuseDuplicates && f.duplicated != "" {
		fail = &oauthFailure{http.StatusBadRequest, "invalid_request", "duplicated parameter"}
	}
	if fail == nil {
		fail = do(c, f, client)
	}
	if fail != nil {
		writeOAuth(c, fail.status, fail.code, fail.description)
		return
	}
	c.W.Header().Set("Cache-Control", "no-store")
	c.W.WriteHeader(status)
}

func (s *State) endSession(c *sandbox.Call, f *tokenForm, client *ClientConfig) *oauthFailure {
	rc, fail := s.readRefreshToken(c, f)
	if fail != nil {
		return fail
	}
	if rc.Azp != client.ClientID {
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descClientMismatch}
	}
	s.mu.Lock()
	s.endSessionLocked(rc.Sid)
	s.mu.Unlock()
	return nil
}

// revoke serves POST {realm}/protocol/openid-connect/revoke. Revoking a
// refresh token removes the client's session (each session here has one
// client, so the session ends); revoking an access token revokes just it.
// A token Keycloak cannot decode or whose session is gone answers 200 with
// {"error":"invalid_token"}, as Keycloak does; success is 200 and no body.
// The token's own expiry is not checked (TokenRevocationEndpoint decodes
// the signature only), so an expired token of a live session is revoked.
func (s *State) revoke(c *sandbox.Call) {
	s.clientEndpoint(c, true, s.revokeToken, http.StatusOK)
}

func (s *State) revokeToken(c *sandbox.Call, f *tokenForm, client *ClientConfig) *oauthFailure {
	raw, ok := f.get("token")
	if !ok {
		return &oauthFailure{http.StatusBadRequest, "invalid_request", "Token not provided"}
	}
	invalid := &oauthFailure{http.StatusOK, "invalid_token", "Invalid token"}
	var cl accessClaims
	if err := s.tokens.Verify(raw, &cl); err != nil || !s.issuedHere(c, cl.Iss) {
		return invalid
	}
	if cl.Typ != "Refresh" && cl.Typ != "Bearer" {
		return &oauthFailure{http.StatusBadRequest, "unsupported_token_type", "Unsupported token type"}
	}
	if cl.Azp != client.ClientID {
		return &oauthFailure{http.StatusBadRequest, "invalid_request", "Unmatching clients"}
	}
	// Keycloak decodes the token (signature only: an expired token of a
	// live session is still revoked) and looks up its session.
	now := c.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[cl.Sid]
	if !ok || !se.hasClient(cl.Azp) || !s.sessionAlive(se, now) {
		return invalid
	}
	if cl.Typ == "Refresh" {
		s.endSessionLocked(se.ID)
		return nil
	}
	s.sweepRevokedLocked(now)
	s.revokeLocked(cl.Jti, time.Unix(cl.Exp, 0))
	return nil
}

// sweepRevokedLocked forgets revoked access tokens that have expired anyway.
func (s *State) sweepRevokedLocked(now time.Time) {
	if len(s.revoked)%256 != 255 {
		return
	}
	for jti, exp := range s.revoked {
		if !now.Before(exp) {
			s.unrevokeLocked(jti)
		}
	}
}

// checkReuseLocked is Keycloak's refresh-token reuse check on a refresh,
// active when the realm revokes refresh tokens (TokenManager.
// validateTokenReuseForRefresh): a refresh token that is not the session's
// current one becomes current (unless it predates the last refresh: "Stale
// token"); the current one may be used refreshTokenMaxReuse+1 times. A
// failure detaches the client from the session, which lives on: the
// session's later refreshes fail with "Session doesn't have required
// client", its access tokens are refused by userinfo and inactive.
func (s *State) checkReuseLocked(se *session, rc *accessClaims) *oauthFailure {
	if !s.cfg.RevokeRefreshToken {
		return nil
	}
	if desc := s.reuseCheckLocked(se, rc, true); desc != "" {
		se.Detached = true
		s.putSessionLocked(se)
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", desc}
	}
	se.RefreshTokenUses++
	return nil
}

// reuseCheckLocked is TokenManager.validateTokenReuse: it returns the
// refusal's description, or "" when the refresh token may be used. With
// refresh set (a refresh, not an introspection) a token that is not the
// current one becomes current with no uses yet; an introspection of such a
// token passes unchanged.
func (s *State) reuseCheckLocked(se *session, rc *accessClaims, refresh bool) string {
	if !s.cfg.RevokeRefreshToken {
		return ""
	}
	if se.currentRefresh != "" && rc.Jti != se.currentRefresh && rc.Iat < se.lastIssued {
		return descStaleToken
	}
	if rc.Jti != se.currentRefresh {
		if !refresh {
			return ""
		}
		se.currentRefresh, se.RefreshTokenUses = rc.Jti, 0
	}
	if se.RefreshTokenUses > s.cfg.RefreshTokenMaxReuse {
		return descReuseExceeded
	}
	return ""
}
