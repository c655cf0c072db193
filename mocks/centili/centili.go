// Package centili emulates Centili's Data Gifting API and the Keycloak realm
// that secures it (see docs/centili.md).
//
// Two halves share one mount: the Keycloak token service (both URL forms,
// /auth/realms/{realm} of the WildFly era and /realms/{realm} of current
// Keycloak, with discovery and JWKS so that OIDC libraries work unchanged),
// and the four Data Gifting operations over a model of merchants, services,
// packages, per-operator data pools and a transaction log. Errors come in the
// shape of the half that was called.
package centili

import (
	"fmt"
	"net/http"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

// opInfo describes an operation of the spec: which half it belongs to, for
// the Keycloak ones whether it is the legacy /auth URL form, and for the Data
// Gifting ones which query parameters it accepts.
type opInfo struct {
	keycloak bool
	legacy   bool
	query    []string
}

var operations = map[string]opInfo{
	"keycloakTokenLegacy":        {keycloak: true, legacy: true},
	"keycloakToken":              {keycloak: true},
	"keycloakDiscoveryLegacy":    {keycloak: true, legacy: true},
	"keycloakDiscovery":          {keycloak: true},
	"keycloakCertsLegacy":        {keycloak: true, legacy: true},
	"keycloakCerts":              {keycloak: true},
	"keycloakRealmLegacy":        {keycloak: true, legacy: true},
	"keycloakRealm":              {keycloak: true},
	"keycloakUserinfoLegacy":     {keycloak: true, legacy: true},
	"keycloakUserinfo":           {keycloak: true},
	"keycloakUserinfoPostLegacy": {keycloak: true, legacy: true},
	"keycloakUserinfoPost":       {keycloak: true},
	"keycloakIntrospectLegacy":   {keycloak: true, legacy: true},
	"keycloakIntrospect":         {keycloak: true},
	"keycloakLogoutLegacy":       {keycloak: true, legacy: true},
	"keycloakLogout":             {keycloak: true},
	"keycloakRevokeLegacy":       {keycloak: true, legacy: true},
	"keycloakRevoke":             {keycloak: true},
	"assignData":                 {},
	"listTransactions":           {query: []string{"serviceKey", "msisdn"}},
	"listServices":               {query: []string{"merchantId"}},
	"getBalance":                 {query: []string{"serviceKey", "operator"}},
}

// handlers binds each operation to its method on the namespace's State.
func handlers() map[string]sandbox.Handler {
	methods := map[string]func(*State, *sandbox.Call){
		"keycloakTokenLegacy": (*State).token, "keycloakToken": (*State).token,
		"keycloakDiscoveryLegacy": (*State).discovery, "keycloakDiscovery": (*State).discovery,
		"keycloakCertsLegacy": (*State).certs, "keycloakCerts": (*State).certs,
		"keycloakRealmLegacy": (*State).realm, "keycloakRealm": (*State).realm,
		"keycloakUserinfoLegacy": (*State).userinfo, "keycloakUserinfo": (*State).userinfo,
		"keycloakUserinfoPostLegacy": (*State).userinfo, "keycloakUserinfoPost": (*State).userinfo,
		"keycloakIntrospectLegacy": (*State).introspect, "keycloakIntrospect": (*State).introspect,
		"keycloakLogoutLegacy": (*State).logout, "keycloakLogout": (*State).logout,
		"keycloakRevokeLegacy": (*State).revoke, "keycloakRevoke": (*State).revoke,
		"assignData": (*State).assignData, "listTransactions": (*State).listTransactions,
		"listServices": (*State).listServices, "getBalance": (*State).getBalance,
	}
	out := make(map[string]sandbox.Handler, len(methods))
	for id, f := range methods {
		out[id] = func(c *sandbox.Call) { f(c.State.(*State), c) }
	}
	return out
}

func init() {
	sandbox.Register(&sandbox.Provider{
		Name:       "centili",
		Title:      "Centili Data Gifting",
		Spec:       specs.Must("centili.yaml"),
		NewConfig:  newConfig,
		New:        newState,
		Operations: handlers(),
		Guard:      guard,
		WriteError: writeError,
		Banner:     banner,
		Postman:    postmanPlan,
		AdminRoutes: []sandbox.AdminRoute{
			{Method: http.MethodPost, Path: "/centili/pools", Body: sandbox.BodyDocument, Handler: adminPools},
		},
		// The real hosts (docs/hosts.md): the Data Gifting API and the old
		// Keycloak (/auth/realms/...) on api.centili.com, the current
		// Keycloak (/realms/...) on auth-capi.centili.com.
		Hosts: []sandbox.ProviderHost{
			{Name: "api", Host: "api.centili.com", Paths: []sandbox.HostPath{
				{Prefix: "/datagifting/", Target: "/datagifting/"}, {Prefix: "/auth/realms/", Target: "/auth/realms/"}}},
			{Name: "auth", Host: "auth-capi.centili.com", Paths: []sandbox.HostPath{{Prefix: "/realms/", Target: "/realms/"}}},
		},
	})
}

// banner prints the demo credentials at start-up.
func banner(cfg any, baseURL string) []string {
	c := cfg.(*Config)
	lines := []string{
		fmt.Sprintf("token URL\t%s/realms/%s/protocol/openid-connect/token (also %s/auth/realms/%s/...)", baseURL, c.Realm, baseURL, c.Realm),
		fmt.Sprintf("datagifting\t%s/datagifting/v1/...", baseURL),
	}
	for _, cl := range c.Clients {
		if cl.PublicClient {
			lines = append(lines, fmt.Sprintf("client\t%s (public)", cl.ClientID))
		} else {
			lines = append(lines, fmt.Sprintf("client\t%s / secret %s", cl.ClientID, cl.Secret))
		}
	}
	for _, u := range c.Users {
		if u.enabled() {
			lines = append(lines, fmt.Sprintf("user\t%s / %s (merchantId %d)", u.Username, u.Password, u.MerchantID))
		}
	}
	for _, s := range c.Services {
		if s.active() {
			lines = append(lines, fmt.Sprintf("service\t%s (merchant %d)", s.ServiceKey, s.MerchantID))
		}
	}
	return lines
}
