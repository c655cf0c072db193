package centili

import "github.com/provider-sandbox/provider-sandbox/internal/postman"

// postmanPlan gives the Postman collection the scenario's first enabled
// user, a client that may use the password grant (a public one if there is
// one, so no secret is needed) and that user's first active service: the
// token request is Keycloak's password grant, and the Data Gifting calls
// send its token as a Bearer token.
func postmanPlan(cfg any) postman.Plan {
	c := cfg.(*Config)
	var user UserConfig
	for _, u := range c.Users {
		if u.enabled() {
			user = u
			break
		}
	}
	var client *ClientConfig
	for i := range c.Clients {
		cl := &c.Clients[i]
		if cl.directGrants() && (client == nil || cl.PublicClient && !client.PublicClient) {
			client = cl
		}
	}
	service := ""
	for _, s := range c.Services {
		if s.active() && s.MerchantID == user.MerchantID {
			service = s.ServiceKey
			break
		}
	}
	plan := postman.Plan{
		Vars: []postman.Var{
			{Key: "centiliRealm", Value: c.Realm, Fills: []string{"realm"}},
			{Key: "centiliUsername", Value: user.Username, Fills: []string{"username"}},
			{Key: "centiliPassword", Value: user.Password, Fills: []string{"password"}},
			{Key: "centiliServiceKey", Value: service, Fills: []string{"serviceKey"}},
		},
		// The OIDC calls after Data Gifting send the folder's tokens: userinfo,
		// introspection and revocation the access token, logout (last, as it
		// ends the session) the refresh token. The token request itself
		// ignores refresh_token with the password grant, and asks for openid,
		// which userinfo requires. POST userinfo sends the token in the form
		// only (its first security requirement is none): Keycloak refuses a
		// token sent both ways.
		Values: map[string]string{"grant_type": "password", "scope": "openid", "token": "{{centiliToken}}",
			"access_token": "{{centiliToken}}", "refresh_token": "{{centiliRefreshToken}}"},
		Auth: map[string]string{"bearer": "{{centiliToken}}"},
		Token: &postman.Token{Operation: "keycloakToken", Field: "access_token", Var: "centiliToken",
			Also: map[string]string{"refresh_token": "centiliRefreshToken"}},
	}
	// Introspection is for confidential clients only: it authenticates the
	// scenario's first one with HTTP Basic.
	for _, cl := range c.Clients {
		if !cl.PublicClient {
			plan.Auth["clientBasic"] = cl.ClientID + ":" + cl.Secret
			break
		}
	}
	if client != nil {
		plan.Vars = append(plan.Vars, postman.Var{Key: "centiliClientId", Value: client.ClientID, Fills: []string{"client_id"}})
		if !client.PublicClient {
			plan.Vars = append(plan.Vars, postman.Var{Key: "centiliClientSecret", Value: client.Secret, Fills: []string{"client_secret"}})
		}
	}
	return plan
}
