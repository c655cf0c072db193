package intarget

import "github.com/provider-sandbox/provider-sandbox/internal/postman"

// postmanPlan gives the Postman collection the reference API's credentials:
// HTTP Basic, or a token in the header the scenario names (sent with every
// request, since the spec's headerToken scheme names only X-Api-Key), or
// none.
func postmanPlan(cfg any) postman.Plan {
	c := cfg.(*Config)
	switch c.Auth.Type {
	case "basic", "":
		return postman.Plan{
			Vars: []postman.Var{
				{Key: "intargetUsername", Value: c.Auth.Username},
				{Key: "intargetPassword", Value: c.Auth.Password},
			},
			Auth: map[string]string{"basic": "{{intargetUsername}}:{{intargetPassword}}"},
		}
	case "header":
		return postman.Plan{
			Vars:    []postman.Var{{Key: "intargetToken", Value: c.Auth.Token}},
			Headers: map[string]string{c.Auth.Header: "{{intargetToken}}"},
		}
	}
	return postman.Plan{}
}
