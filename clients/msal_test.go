package clients_test

import (
	"slices"
	"testing"
)

// msalOut is what node/msal-node.mjs and python/msal_password.py print.
type msalOut struct {
	Version     string   `json:"version"`
	Application string   `json:"application"`
	TokenType   string   `json:"tokenType"`
	Scopes      []string `json:"scopes"`
	TenantID    string   `json:"tenantId"` // MSAL Node only
	Account     struct {
		HomeAccountID string `json:"homeAccountId"`
		Username      string `json:"username"`
		Environment   string `json:"environment"`
	} `json:"account"`
	Claims  jwtClaims `json:"claims"`
	Gateway struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	} `json:"gateway"`
	SilentFromCache bool `json:"silentFromCache"` // MSAL Node only
	SilentSameToken bool `json:"silentSameToken"`
}

// check holds what both MSALs must have done in namespace ns of p: a token
// for the NetRefer scope from application, an account built from
// client_info with environment, the v1 access token of the namespace's
// issuer, the batch registration(id) accepted by the gateway, the second ask
// answered from the cache, and exactly the requests ops.
func (out msalOut) check(t *testing.T, p *proc, ns, application, environment, id string, before int, ops []string) {
	t.Helper()
	t.Logf("%s %s", out.Application, out.Version)
	if out.Application != application || out.TokenType != "Bearer" || !slices.Equal(out.Scopes, []string{nrScope}) {
		t.Errorf("%s: token type %q, scopes %q", out.Application, out.TokenType, out.Scopes)
	}
	if out.Account.HomeAccountID != nrOID+"."+nrTenant || out.Account.Username != nrUser || out.Account.Environment != environment {
		t.Errorf("account %+v, want home account %s.%s (client_info), user %s, environment %s", out.Account, nrOID, nrTenant, nrUser, environment)
	}
	out.Claims.want(t, "access token", map[string]any{"iss": p.https + nsPrefix(ns) + "/netrefer/login/" + nrTenant + "/",
		"aud": "api://" + nrClientID, "appid": nrClientID, "tid": nrTenant, "oid": nrOID, "upn": nrUser,
		"scp": "Events.Injestion", "ver": "1.0"})
	if out.Gateway.Status != 200 || !jsonEqual(out.Gateway.Body, accepted(id)) {
		t.Errorf("gateway: %d %v", out.Gateway.Status, out.Gateway.Body)
	}
	if !out.SilentSameToken {
		t.Error("the silent ask did not answer the cached token")
	}
	if got := checkJournal(t, p, ns)[before:]; !slices.Equal(got, ops) {
		t.Errorf("MSAL's requests: %q, want %q", got, ops)
	}
}
