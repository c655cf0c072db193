package sandboxtest

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/provider-sandbox/provider-sandbox/mocks/centili"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget"
	"github.com/provider-sandbox/provider-sandbox/mocks/netfinity"
	"github.com/provider-sandbox/provider-sandbox/mocks/netrefer"
)

// scenarioView is the part of GET /__sandbox/scenario the credentials come
// from, decoded into the providers' own configuration types.
type scenarioView struct {
	Centili   centili.Config   `json:"centili"`
	NetRefer  netrefer.Config  `json:"netrefer"`
	Netfinity netfinity.Config `json:"netfinity"`
	InTarget  intarget.Config  `json:"intarget"`
}

func (sb *Sandbox) scenario() scenarioView {
	sb.t.Helper()
	res, err := sb.ac.GetScenarioWithResponse(ctx)
	sb.must("reading the scenario", err, res.HTTPResponse, res.Body, http.StatusOK)
	var v scenarioView
	sb.decode("reading the scenario", res.Body, &v)
	return v
}

// NetReferCredentials are what a NetRefer Data Ingestion client needs: an
// Azure AD password grant at TokenURL with the scope, then the ingestion
// calls at BaseURL with the subscription key.
type NetReferCredentials struct {
	Tenant          string
	TokenURL        string // .../netrefer/login/{tenant}/oauth2/v2.0/token
	ClientID        string
	ClientSecret    string
	Username        string
	Password        string
	Scope           string // api://{client}/Events.Injestion
	SubscriptionKey string // header Ocp-Apim-Subscription-Key
	BaseURL         string // .../netrefer/di/v1: BaseURL+"/registrations", ...
	Brands          []int
}

// NetRefer returns the first client of the namespace's scenario with its
// first user and first subscription key (for the default scenario, the
// values of the README's table).
func (sb *Sandbox) NetRefer() NetReferCredentials {
	sb.t.Helper()
	cfg := sb.scenario().NetRefer
	if len(cfg.Clients) == 0 {
		sb.t.Fatalf("sandboxtest: the scenario has no NetRefer client")
	}
	cl := cfg.Clients[0]
	c := NetReferCredentials{Tenant: cl.Tenant, ClientID: cl.ClientID, ClientSecret: cl.ClientSecret,
		Scope: "api://" + cl.ClientID + "/" + netrefer.ScopeName, BaseURL: sb.base + "/netrefer/di/v1", Brands: cl.Brands}
	if c.Tenant == "" && len(cfg.Tenants) > 0 {
		c.Tenant = cfg.Tenants[0]
	}
	c.TokenURL = sb.base + "/netrefer/login/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/token"
	if len(cl.Users) > 0 {
		c.Username, c.Password = cl.Users[0].Username, cl.Users[0].Password
	}
	if len(cl.SubscriptionKeys) > 0 {
		c.SubscriptionKey = cl.SubscriptionKeys[0]
	}
	return c
}

// CentiliCredentials are what a Centili Data Gifting client needs: a
// Keycloak password grant at TokenURL, then the calls at BaseURL.
type CentiliCredentials struct {
	Realm    string
	TokenURL string // .../centili/realms/{realm}/protocol/openid-connect/token
	// ClientID is a public client that may use the password grant.
	ClientID string
	// ConfidentialClientID and ClientSecret are a confidential client, when
	// the scenario has one.
	ConfidentialClientID string
	ClientSecret         string
	Username             string
	Password             string
	MerchantID           int64
	BaseURL              string // .../centili/datagifting/v1
	// ServiceKey is the user's merchant's first active service.
	ServiceKey string
}

// Centili returns the first enabled user of the namespace's scenario, the
// first public client allowed the password grant, the first confidential
// client and the user's first active service.
func (sb *Sandbox) Centili() CentiliCredentials {
	sb.t.Helper()
	cfg := sb.scenario().Centili
	c := CentiliCredentials{Realm: cfg.Realm, BaseURL: sb.base + "/centili/datagifting/v1",
		TokenURL: sb.base + "/centili/realms/" + url.PathEscape(cfg.Realm) + "/protocol/openid-connect/token"}
	for _, cl := range cfg.Clients {
		direct := cl.DirectAccessGrantsEnabled == nil || *cl.DirectAccessGrantsEnabled
		switch {
		case cl.PublicClient && direct && c.ClientID == "":
			c.ClientID = cl.ClientID
		case !cl.PublicClient && direct && c.ConfidentialClientID == "":
			c.ConfidentialClientID, c.ClientSecret = cl.ClientID, cl.Secret
		}
	}
	for _, u := range cfg.Users {
		if u.Enabled == nil || *u.Enabled {
			c.Username, c.Password, c.MerchantID = u.Username, u.Password, u.MerchantID
			break
		}
	}
	for _, s := range cfg.Services {
		if s.MerchantID == c.MerchantID && (s.Active == nil || *s.Active) {
			c.ServiceKey = s.ServiceKey
			break
		}
	}
	return c
}

// NetfinityCredentials are a bearer token for Netfinity messaging and its
// base URL.
type NetfinityCredentials struct {
	Token   string // Authorization: Bearer <Token>
	BaseURL string // .../netfinity/v2: BaseURL+"/sms/notification/send"
}

// Netfinity returns the scenario's first token that may send SMS from any
// address.
func (sb *Sandbox) Netfinity() NetfinityCredentials {
	sb.t.Helper()
	c := NetfinityCredentials{BaseURL: sb.base + "/netfinity/v2"}
	for _, tok := range sb.scenario().Netfinity.Tokens {
		if len(tok.AllowedIPs) == 0 && slices.Contains(tok.Capabilities, "sms.notification") {
			c.Token = tok.Token
			break
		}
	}
	return c
}

// InTargetCredentials are how the reference product API wants to be
// called.
type InTargetCredentials struct {
	// BaseURL is the reference API's base, as the verifier takes it:
	// BaseURL+"/api/users?from=...&to=..." is the users feed.
	BaseURL string
	// Auth is basic, header or none.
	Auth string
	// Username and Password are for HTTP Basic.
	Username, Password string
	// Header and Token are for header auth (Header: Token).
	Header, Token string
}

// InTarget returns the reference API's credentials from the scenario.
func (sb *Sandbox) InTarget() InTargetCredentials {
	sb.t.Helper()
	a := sb.scenario().InTarget.Auth
	return InTargetCredentials{BaseURL: sb.base + "/intarget", Auth: a.Type,
		Username: a.Username, Password: a.Password, Header: a.Header, Token: a.Token}
}
