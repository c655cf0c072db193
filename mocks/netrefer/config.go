package netrefer

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// Config is the scenario's `netrefer:` section. Its defaults are the default
// scenario's values, so a scenario may omit the section entirely.
type Config struct {
	// Tenants are the Azure AD tenant ids the token service answers for;
	// any other tenant gets AADSTS90002.
	Tenants []string `yaml:"tenants" json:"tenants"`
	// Clients are the onboarded NetRefer clients: an app registration with
	// its users, APIM subscription keys and brands.
	Clients []ClientConfig `yaml:"clients" json:"clients"`
	// Token shapes the access tokens.
	Token TokenConfig `yaml:"token" json:"token"`
	// Limits are the Data Ingestion payload limits.
	Limits LimitsConfig `yaml:"limits" json:"limits"`
	// RateLimit is APIM's rate-limit policy per subscription, i.e. per
	// client, all its keys together (off when calls is 0).
	RateLimit WindowConfig `yaml:"rateLimit" json:"rateLimit"`
	// Quota is APIM's quota policy per subscription (off when calls is 0).
	Quota WindowConfig `yaml:"quota" json:"quota"`
}

// ClientConfig is one onboarded client.
type ClientConfig struct {
	ClientID     string `yaml:"clientId" json:"clientId"`
	ClientSecret string `yaml:"clientSecret" json:"clientSecret"`
	// Tenant is the tenant the app is registered in (default: the first tenant).
	Tenant string       `yaml:"tenant" json:"tenant"`
	Users  []UserConfig `yaml:"users" json:"users"`
	// SubscriptionKeys are active APIM keys of the client's subscription.
	SubscriptionKeys []string `yaml:"subscriptionKeys" json:"subscriptionKeys"`
	// InactiveSubscriptionKeys exist but are suspended: APIM answers them
	// like unknown keys.
	InactiveSubscriptionKeys []string `yaml:"inactiveSubscriptionKeys" json:"inactiveSubscriptionKeys"`
	// Brands are the brand ids events may carry.
	Brands []int `yaml:"brands" json:"brands"`
	// AllowPublicClient is the app registration's "Allow public client
	// flows" (manifest allowPublicClient): the password and refresh grants
	// succeed without a client secret, as public clients such as
	// azure-identity's UsernamePasswordCredential send them. Off by
	// default, as NetRefer's docs send a secret: then a request without
	// one gets AADSTS7000218. A secret that is sent is still checked.
	AllowPublicClient bool `yaml:"allowPublicClient" json:"allowPublicClient"`
}

// UserConfig is a directory user that may use the password grant.
type UserConfig struct {
	Username string `yaml:"username" json:"username"`
	Password string `yaml:"password" json:"password"`
	// Name is the display name put in the `name` claim.
	Name string `yaml:"name" json:"name"`
}

// TokenConfig shapes issued access tokens.
type TokenConfig struct {
	// Format is "v1" (default; what an api:// app gets unless its manifest
	// says accessTokenAcceptedVersion 2) or "v2".
	Format string `yaml:"format" json:"format"`
	// LifetimeSeconds is expires_in and exp-iat (default 3599).
	LifetimeSeconds int `yaml:"lifetimeSeconds" json:"lifetimeSeconds"`
	// Issuer is "sandbox" (default: iss and discovery are the sandbox's own
	// URLs, so OIDC libraries verify tokens through discovery) or "microsoft"
	// (iss is https://sts.windows.net/{tid}/ or
	// https://login.microsoftonline.com/{tid}/v2.0, as the real tokens).
	Issuer string `yaml:"issuer" json:"issuer"`
}

// LimitsConfig holds the payload limits of the ingestion API and the
// bound of what a namespace stores.
type LimitsConfig struct {
	// MaxPayloadBytes: larger bodies get 413 after the gateway checks,
	// before parsing (default 921600).
	MaxPayloadBytes int64 `yaml:"maxPayloadBytes" json:"maxPayloadBytes"`
	// MaxEvents: more events in one payload get a whole-payload 400 (default 2500).
	MaxEvents int `yaml:"maxEvents" json:"maxEvents"`
	// MaxStoredEvents [sandbox] bounds the accepted events a namespace
	// stores, all clients together (default 100,000). Every stored event
	// is needed for later answers (duplicate eventIds, originals of
	// corrections, registered customers), so none is dropped: a payload
	// that arrives once the namespace holds this many is refused whole
	// with 507 and X-Sandbox-Hint.
	MaxStoredEvents int `yaml:"maxStoredEvents" json:"maxStoredEvents"`
	// MaxRefreshTokens [sandbox] bounds the refresh tokens (offline_access)
	// a namespace remembers (default 100,000). Azure AD's stay valid for
	// months and a refresh issues a new one without revoking the old, so
	// without a bound every token request would be kept for good; past
	// it the oldest is forgotten and refused as an unknown one is.
	MaxRefreshTokens int `yaml:"maxRefreshTokens" json:"maxRefreshTokens"`
}

// WindowConfig is a fixed window counter on the sandbox clock.
type WindowConfig struct {
	// Calls allowed per window; 0 switches the policy off.
	Calls int `yaml:"calls" json:"calls"`
	// RenewalPeriodSeconds is the window length.
	RenewalPeriodSeconds int `yaml:"renewalPeriodSeconds" json:"renewalPeriodSeconds"`
}

// Default credentials of the default scenario (DESIGN.md §6).
const (
	DefaultTenant          = "0e0b50ac-5253-4347-b528-251b2f17cfc6"
	DefaultClientID        = "5a324196-7727-45fd-8ac3-1436cd541d76"
	DefaultClientSecret    = "sandbox-netrefer-secret"
	DefaultUsername        = "operator@sandbox.test"
	DefaultPassword        = "sandbox-password"
	DefaultSubscriptionKey = "baea25a9f0fe4687845575c07e539a9e9"
	// ScopeName is the scope NetRefer exposes ("Injestion" is their spelling).
	ScopeName = "Events.Injestion"
)

func newConfig() any {
	return &Config{
		Tenants: []string{DefaultTenant},
		Clients: []ClientConfig{{
			ClientID: DefaultClientID, ClientSecret: DefaultClientSecret, Tenant: DefaultTenant,
			Users:            []UserConfig{{Username: DefaultUsername, Password: DefaultPassword, Name: "Sandbox Operator"}},
			SubscriptionKeys: []string{DefaultSubscriptionKey},
			Brands:           []int{1, 2},
		}},
		Token:  TokenConfig{Format: "v1", LifetimeSeconds: 3599, Issuer: "sandbox"},
		Limits: LimitsConfig{MaxPayloadBytes: 921600, MaxEvents: 2500, MaxStoredEvents: 100000, MaxRefreshTokens: 100000},
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Validate reports every inconsistency of the section.
func (c *Config) Validate() []scenario.Problem {
	var ps []scenario.Problem
	add := func(path, hint, format string, args ...any) {
		ps = append(ps, scenario.Problemf(path, hint, format, args...))
	}
	if len(c.Tenants) == 0 {
		add("tenants", "list at least one tenant id", "no tenant configured")
	}
	tenants := map[string]bool{}
	for i, t := range c.Tenants {
		if !guidRE.MatchString(t) {
			add(fmt.Sprintf("tenants[%d]", i), "a tenant id is a GUID", "tenant %q is not a GUID", t)
		}
		tenants[strings.ToLower(t)] = true
	}
	clientIDs, keys := map[string]bool{}, map[string]bool{}
	for i := range c.Clients {
		cl := &c.Clients[i]
		p := fmt.Sprintf("clients[%d]", i)
		if cl.Tenant == "" && len(c.Tenants) > 0 {
			cl.Tenant = c.Tenants[0]
		}
		if !guidRE.MatchString(cl.ClientID) {
			add(p+".clientId", "an application (client) id is a GUID", "clientId %q is not a GUID", cl.ClientID)
		}
		if clientIDs[strings.ToLower(cl.ClientID)] {
			add(p+".clientId", "each client appears once", "clientId %q is listed twice", cl.ClientID)
		}
		clientIDs[strings.ToLower(cl.ClientID)] = true
		if cl.ClientSecret == "" && !cl.AllowPublicClient {
			add(p+".clientSecret", "set the secret the client sends, or allowPublicClient: true for an app used without one", "clientSecret is empty")
		}
		if !tenants[strings.ToLower(cl.Tenant)] {
			add(p+".tenant", scenario.SuggestOneOf(cl.Tenant, c.Tenants), "tenant %q is not listed under netrefer.tenants", cl.Tenant)
		}
		for j, u := range cl.Users {
			if u.Username == "" || u.Password == "" {
				add(fmt.Sprintf("%s.users[%d]", p, j), "set username and password", "user needs a username and a password")
			}
		}
		for j, k := range append(append([]string{}, cl.SubscriptionKeys...), cl.InactiveSubscriptionKeys...) {
			if k == "" {
				add(fmt.Sprintf("%s.subscriptionKeys[%d]", p, j), "remove the empty entry", "subscription key is empty")
			}
			if keys[k] {
				add(p+".subscriptionKeys", "a key belongs to one subscription", "subscription key %q is listed twice", k)
			}
			keys[k] = true
		}
		if len(cl.Brands) == 0 {
			add(p+".brands", "list the brand ids the client may send, e.g. [1, 2]", "client has no brand")
		}
	}
	switch c.Token.Format {
	case "v1", "v2":
	default:
		add("token.format", scenario.SuggestOneOf(c.Token.Format, []string{"v1", "v2"}), "unknown token format %q", c.Token.Format)
	}
	switch c.Token.Issuer {
	case "sandbox", "microsoft":
	default:
		add("token.issuer", scenario.SuggestOneOf(c.Token.Issuer, []string{"sandbox", "microsoft"}), "unknown issuer mode %q", c.Token.Issuer)
	}
	if c.Token.LifetimeSeconds < 1 {
		add("token.lifetimeSeconds", "for example 3599", "token lifetime must be at least 1 second, got %d", c.Token.LifetimeSeconds)
	}
	if c.Limits.MaxPayloadBytes < 1 {
		add("limits.maxPayloadBytes", "for example 921600", "maxPayloadBytes must be positive, got %d", c.Limits.MaxPayloadBytes)
	}
	if c.Limits.MaxEvents < 1 {
		add("limits.maxEvents", "for example 2500", "maxEvents must be positive, got %d", c.Limits.MaxEvents)
	}
	if c.Limits.MaxStoredEvents < 1 {
		add("limits.maxStoredEvents", "omit it for the default of 100000", "maxStoredEvents must be positive, got %d", c.Limits.MaxStoredEvents)
	}
	if c.Limits.MaxRefreshTokens < 1 {
		add("limits.maxRefreshTokens", "omit it for the default of 100000", "maxRefreshTokens must be positive, got %d", c.Limits.MaxRefreshTokens)
	}
	for name, w := range map[string]WindowConfig{"rateLimit": c.RateLimit, "quota": c.Quota} {
		if w.Calls < 0 {
			add(name+".calls", "use 0 to switch it off", "calls must not be negative, got %d", w.Calls)
		}
		if w.Calls > 0 && w.RenewalPeriodSeconds < 1 {
			add(name+".renewalPeriodSeconds", "for example 60", "renewalPeriodSeconds must be positive when calls is set")
		}
	}
	return ps
}
