package netrefer

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// tokenResponseV1 is the v1 endpoint's success body. Azure AD v1 writes its
// numbers as strings, and names the resource instead of scopes.
type tokenResponseV1 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// handleTokenV1 is Azure AD's v1 endpoint, /{tenant}/oauth2/token, which
// the v1 discovery document names: the same grants and checks as v2, but
// `resource` names the API (its App ID URI api://{client}, or its client
// id) and becomes the v1 token's audience as written; the granted
// permission comes back as the bare scope name. A refresh token comes with
// every answer (v1 has no offline_access), an id token when scope has
// openid.
func (s *state) handleTokenV1(c *sandbox.Call) {
	tr := s.authenticate(c)
	if tr == nil {
		return
	}
	resource := tr.form["resource"]
	if resource == "" && tr.refresh != nil {
		resource = tr.refresh.resource
	}
	if resource == "" {
		s.missingParam(c, "resource")
		return
	}
	aud, ok := v1Audience(tr.client, resource)
	if !ok {
		s.writeAAD(c, 400, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", shorten(resource), tr.tenant))
		return
	}
	idFormat := ""
	if hasScope(tr.form["scope"], "openid") {
		idFormat = "v1"
	}
	keep := &refreshGrant{client: tr.client, user: tr.user, resource: aud, tenant: tr.tenant}
	m, ok := s.mint(c, tr, aud, idFormat, keep)
	if !ok {
		return
	}
	now := c.Now().Unix()
	life := s.cfg.Token.LifetimeSeconds
	noStore(c, s.guid())
	c.JSON(http.StatusOK, tokenResponseV1{TokenType: "Bearer", Scope: ScopeName,
		ExpiresIn: strconv.Itoa(life), ExtExpiresIn: strconv.Itoa(life),
		ExpiresOn: strconv.FormatInt(now+int64(life), 10), NotBefore: strconv.FormatInt(now, 10),
		Resource: resource, AccessToken: m.access, RefreshToken: m.refresh, IDToken: m.id, ClientInfo: m.clientInfo})
}

// v1Audience reports the audience a v1 resource names: the client's App ID
// URI or its client id, in the scenario's spelling.
func v1Audience(cl *client, resource string) (string, bool) {
	id := cl.cfg.ClientID
	switch strings.ToLower(strings.TrimSuffix(resource, "/")) {
	case "api://" + strings.ToLower(id):
		return "api://" + id, true
	case strings.ToLower(id):
		return id, true
	}
	return "", false
}

// hasScope reports whether a space-separated scope list holds name.
func hasScope(list, name string) bool {
	for _, sc := range strings.Fields(list) {
		if strings.EqualFold(sc, name) {
			return true
		}
	}
	return false
}
