package netrefer

import "github.com/provider-sandbox/provider-sandbox/internal/postman"

// postmanPlan gives the Postman collection the scenario's first client
// (tenant, credentials, first user, first subscription key): its token
// request is the password grant, and the ingestion calls send the token it
// stores and the key in the header, APIM's first way.
func postmanPlan(cfg any) postman.Plan {
	c := cfg.(*Config)
	if len(c.Clients) == 0 {
		return postman.Plan{}
	}
	cl := c.Clients[0]
	var user UserConfig
	if len(cl.Users) > 0 {
		user = cl.Users[0]
	}
	key := ""
	if len(cl.SubscriptionKeys) > 0 {
		key = cl.SubscriptionKeys[0]
	}
	return postman.Plan{
		Vars: []postman.Var{
			{Key: "netreferTenant", Value: cl.Tenant, Fills: []string{"tenant"}},
			{Key: "netreferClientId", Value: cl.ClientID, Fills: []string{"client_id"}},
			{Key: "netreferClientSecret", Value: cl.ClientSecret, Fills: []string{"client_secret"}},
			{Key: "netreferUsername", Value: user.Username, Fills: []string{"username", "user"}},
			{Key: "netreferPassword", Value: user.Password, Fills: []string{"password"}},
			{Key: "netreferScope", Value: "api://" + cl.ClientID + "/" + ScopeName, Fills: []string{"scope"}},
			{Key: "netreferResource", Value: "api://" + cl.ClientID, Fills: []string{"resource"}},
			{Key: "netreferSubscriptionKey", Value: key},
		},
		Values: map[string]string{"grant_type": "password"},
		Auth: map[string]string{
			"subscriptionKeyHeader": "{{netreferSubscriptionKey}}",
			"bearer":                "{{netreferToken}}",
		},
		Token: &postman.Token{Operation: "token", Field: "access_token", Var: "netreferToken"},
	}
}
