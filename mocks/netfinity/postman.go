package netfinity

import (
	"slices"

	"github.com/provider-sandbox/provider-sandbox/internal/postman"
)

// postmanPlan gives the Postman collection the first token that may send SMS
// from any address (else the first token, whose answer then shows why not).
// Netfinity's tokens are static: there is no token request.
func postmanPlan(cfg any) postman.Plan {
	c := cfg.(*Config)
	token := ""
	if len(c.Tokens) > 0 {
		token = c.Tokens[0].Token
	}
	for _, t := range c.Tokens {
		if len(t.AllowedIPs) == 0 && slices.Contains(t.Capabilities, ServiceSMS) {
			token = t.Token
			break
		}
	}
	return postman.Plan{
		Vars: []postman.Var{{Key: "netfinityToken", Value: token}},
		Auth: map[string]string{"bearer": "{{netfinityToken}}"},
	}
}
