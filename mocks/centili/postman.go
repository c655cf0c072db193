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
		Values: map[string]string{"grant_type": "password"},
		Auth:   map[string]string{"bearer": "{{centiliToken}}"},
		Token:  &postman.Token{Operation: "keycloakToken", Field: "access_token", Var: "centiliToken"},
	}
	if client != nil {
		plan.Vars = append(plan.Vars, postman.Var{Key: "centiliClientId", Value: client.ClientID, Fills: []string{"client_id"}})
		if !client.PublicClient {
			plan.Vars = append(plan.Vars, postman.Var{Key: "centiliClientSecret", Value: client.Secret, Fills: []string{"client_secret"}})
		}
	}
	return plan
}
