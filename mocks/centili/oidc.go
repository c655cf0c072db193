package centili

import (
	"encoding/json"
	"fmt"
	"net/http"
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
)

// liveToken verifies a token of this realm and namespace and reports its
// claims and whether it is still live: unexpired, not revoked, of the wanted
// type, and with its session alive. Keycloak checks the session for
// userinfo and introspection, so a logout ends the session's access tokens.
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
	return &cl, ok && s.sessionAlive(se, now) && se.ClientID == cl.Azp
}

// authorizationBearer reads "Authorization: Bearer <t>" (scheme
// case-insensitive); userinfo, unlike Data Gifting, has no token header.
func authorizationBearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// userinfo serves GET and POST {realm}/protocol/openid-connect/userinfo.
// POST may carry the token as the form parameter access_token when the
// header has none, as Keycloak allows.
func (s *State) userinfo(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	raw, ok := authorizationBearer(c.R.Header.Get("Authorization"))
	if !ok && c.R.Method == http.MethodPost {
		if f, fail := parseTokenForm(c.R.Header.Get("Content-Type"), c.Body, ""); fail == nil {
			raw, ok = f.get("access_token")
		}
	}
	if !ok {
		writeOAuth(c, http.StatusBadRequest, "invalid_request", "Token not provided")
		return
	}
	cl, live := s.liveToken(c, raw, "Bearer")
	if cl == nil || !live {
		s.unauthorizedUserinfo(c, cl)
		return
	}
	user, ok := s.usersByID[cl.Sub]
	if !ok {
		writeOAuth(c, http.StatusBadRequest, "invalid_request", "User not found")
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

// unauthorizedUserinfo answers Keycloak's 401s: a token that fails
// verification (signature, issuer, type, expiry, revocation) is "Token
// verification failed"; a verified token whose session is gone is "User
// session not found ..."; one whose session has expired, "Session expired".
func (s *State) unauthorizedUserinfo(c *sandbox.Call, cl *accessClaims) {
	code, desc := "invalid_token", descTokenVerification
	if cl != nil && cl.Typ == "Bearer" && c.Now().Unix() < cl.Exp {
		s.mu.Lock()
		_, revoked := s.revoked[cl.Jti]
		_, exists := s.sessions[cl.Sid]
		s.mu.Unlock()
		switch {
		case revoked:
		case !exists:
			code, desc = "invalid_request", "User session not found or doesn't have client attached on it"
		default:
			desc = "Session expired"
		}
	}
	c.W.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=%q, error_description=%q", s.cfg.Realm, code, desc))
	writeOAuth(c, http.StatusUnauthorized, code, desc)
}

// clientForm parses a client-authenticated form (introspect, logout,
// revoke) and authenticates the client as the token endpoint does.
func (s *State) clientForm(c *sandbox.Call) (*tokenForm, *ClientConfig, *oauthFailure) {
	f, fail := parseTokenForm(c.R.Header.Get("Content-Type"), c.Body, c.R.Header.Get("Authorization"))
	if fail != nil {
		return nil, nil, fail
	}
	client, fail := s.authenticateClient(f)
	return f, client, fail
}

// introspect serves POST {realm}/protocol/openid-connect/token/introspect.
// Only confidential clients may introspect; any live token of the realm
// answers its claims with "active": true, anything else {"active": false}.
func (s *State) introspect(c *sandbox.Call) {
	if !s.realmOK(c) {
		return
	}
	f, client, fail := s.clientForm(c)
	if fail == nil && client.PublicClient {
		fail = &oauthFailure{http.StatusForbidden, "invalid_request", "Client not allowed."}
	}
	if fail == nil && f.duplicated != "" {
		fail = &oauthFailure{http.StatusBadRequest, "invalid_request", "duplicated parameter"}
	}
	if fail != nil {
		writeOAuth(c, fail.status, fail.code, fail.description)
		return
	}
	hint, ok := f.get("token_type_hint")
	if !ok {
		hint = "access_token"
	}
	raw, ok := f.get("token")
	if !ok {
		writeOAuth(c, http.StatusBadRequest, "invalid_request", "Token not provided.")
		return
	}
	if hint != "access_token" && hint != "refresh_token" {
		writeOAuth(c, http.StatusBadRequest, "invalid_request", "Unsupported token type ["+hint+"].")
		return
	}
	h := c.W.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	// The hint only speeds up Keycloak's look-up; either type is found.
	cl, live := s.liveToken(c, raw, "Bearer", "Refresh")
	if !live {
		c.JSON(http.StatusOK, map[string]bool{"active": false})
		return
	}
	b, err := json.Marshal(cl)
	if err != nil {
		writeOAuth(c, http.StatusInternalServerError, "unknown_error", err.Error())
		return
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		writeOAuth(c, http.StatusInternalServerError, "unknown_error", err.Error())
		return
	}
	out["active"], out["client_id"], out["token_type"] = true, cl.Azp, cl.Typ
	if user, ok := s.usersByID[cl.Sub]; ok {
		out["username"] = strings.ToLower(user.Username)
	}
	c.JSON(http.StatusOK, out)
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
	now := c.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[cl.Sid]
	if !ok || !s.sessionAlive(se, now) || now.Unix() >= cl.Exp {
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

// checkReuseLocked is Keycloak's refresh-token reuse check, active when the
// realm revokes refresh tokens: a refresh token that is not the session's
// current one becomes current (unless it predates the last refresh: "Stale
// token"); the current one may be used refreshTokenMaxReuse+1 times. A
// failure ends the session, as Keycloak detaches the client session.
func (s *State) checkReuseLocked(se *session, rc *accessClaims) *oauthFailure {
	if !s.cfg.RevokeRefreshToken {
		return nil
	}
	if se.currentRefresh != "" && rc.Jti != se.currentRefresh && rc.Iat < se.lastIssued {
		s.endSessionLocked(se.ID)
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descStaleToken}
	}
	if rc.Jti != se.currentRefresh {
		se.currentRefresh, se.RefreshTokenUses = rc.Jti, 0
	}
	if se.RefreshTokenUses > s.cfg.RefreshTokenMaxReuse {
		s.endSessionLocked(se.ID)
		return &oauthFailure{http.StatusBadRequest, "invalid_grant", descReuseExceeded}
	}
	se.RefreshTokenUses++
	return nil
}
