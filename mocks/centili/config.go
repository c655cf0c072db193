package centili

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// timeLayout is Centili's timestamp format ("2017-08-07 12:44:19"), used for
// timeCreated and expirationDate in responses and in the scenario. Times are UTC.
const timeLayout = "2006-01-02 15:04:05"

// Config is the scenario's `centili:` section: the Keycloak realm (clients,
// users, token lifespans) and the Data Gifting world (services, packages,
// pools, the msisdn-prefix table and the magic msisdns).
type Config struct {
	// Realm is the Keycloak realm name in the token URL (Centili's is "api").
	Realm string `yaml:"realm" json:"realm"`
	// AccessTokenLifespan is the access token lifetime in seconds (Keycloak's
	// realm setting of the same name; default 300).
	AccessTokenLifespan int `yaml:"accessTokenLifespan" json:"accessTokenLifespan"`
	// SsoSessionIdleTimeout is how long, in seconds, a session lives without a
	// refresh; it is the refresh token lifetime (default 1800).
	SsoSessionIdleTimeout int `yaml:"ssoSessionIdleTimeout" json:"ssoSessionIdleTimeout"`
	// SsoSessionMaxLifespan caps a session's whole life in seconds, however
	// often it is refreshed (default 36000).
	SsoSessionMaxLifespan int `yaml:"ssoSessionMaxLifespan" json:"ssoSessionMaxLifespan"`
	// RevokeRefreshToken is Keycloak's realm setting "Revoke Refresh Token"
	// (default false): when true, a refresh token may be used only
	// RefreshTokenMaxReuse+1 times, and a reuse beyond that, or the use of a
	// token older than the last refresh, ends the session.
	RevokeRefreshToken bool `yaml:"revokeRefreshToken" json:"revokeRefreshToken"`
	// RefreshTokenMaxReuse is Keycloak's "Refresh Token Max Reuse" (default
	// 0: each refresh token works once when RevokeRefreshToken is on).
	RefreshTokenMaxReuse int `yaml:"refreshTokenMaxReuse" json:"refreshTokenMaxReuse"`
	// IntrospectionAudienceCheck is the check Keycloak 26.6.2 added to token
	// introspection (CVE-2026-37979, keycloak/keycloak#49131): a token is
	// active only for a client named in its `aud`. Off (default) is Keycloak
	// 26.6.1, the release the sandbox follows; on, a client testing an
	// upgrade sees every token whose aud does not name it turn
	// {"active":false} (the realm's refresh tokens always: their aud is the
	// issuer, as in Keycloak from 26.6.2 until keycloak/keycloak#51552).
	IntrospectionAudienceCheck bool `yaml:"introspectionAudienceCheck" json:"introspectionAudienceCheck"`
	// MaxBodyBytes caps request bodies on the Centili mount (default 16384): a
	// transaction is a few dozen bytes, so anything larger is a client bug.
	MaxBodyBytes int64 `yaml:"maxBodyBytes" json:"maxBodyBytes"`
	// Clients are the realm's OAuth clients.
	Clients []ClientConfig `yaml:"clients" json:"clients"`
	// Users are the realm's users; each belongs to one merchant.
	Users []UserConfig `yaml:"users" json:"users"`
	// Operators maps msisdn prefixes to operator codes; the longest matching
	// prefix wins.
	Operators []OperatorPrefix `yaml:"operators" json:"operators"`
	// Services are the merchants' Data Gifting services with packages and pools.
	Services []ServiceConfig `yaml:"services" json:"services"`
	// MagicMsisdns make a transaction fail with a chosen business error, like
	// the test card numbers of payment sandboxes.
	MagicMsisdns []MagicMsisdn `yaml:"magicMsisdns" json:"magicMsisdns"`
	// Limits bound what a namespace keeps.
	Limits LimitsConfig `yaml:"limits" json:"limits"`
}

// LimitsConfig bounds a namespace's Centili state.
type LimitsConfig struct {
	// MaxTransactions is how many transactions (COMPLETED and FAILED) the
	// transaction log keeps; beyond it the oldest are dropped. Their
	// (serviceKey, clientId) stay known, so a retry is never assigned
	// again (default 100,000).
	MaxTransactions int `yaml:"maxTransactions" json:"maxTransactions"`
}

// ClientConfig is one OAuth client of the realm.
type ClientConfig struct {
	ClientID string `yaml:"clientId" json:"clientId"`
	// PublicClient clients send no secret; confidential ones must send Secret
	// in the form (client_secret) or with HTTP Basic.
	PublicClient bool   `yaml:"publicClient" json:"publicClient"`
	Secret       string `yaml:"secret" json:"secret,omitempty"`
	// DirectAccessGrantsEnabled allows the password grant; absent means true.
	DirectAccessGrantsEnabled *bool `yaml:"directAccessGrantsEnabled" json:"directAccessGrantsEnabled,omitempty"`
	// Audience names other clients of the realm that the access tokens
	// issued to this client list in `aud` beside "account": Keycloak's
	// Audience protocol mapper ("Included Client Audience"), which is how a
	// resource server that introspects gets past the audience check.
	Audience []string `yaml:"audience" json:"audience,omitempty"`
}

// directGrants reports whether the client may use the password grant.
func (c *ClientConfig) directGrants() bool {
	return c.DirectAccessGrantsEnabled == nil || *c.DirectAccessGrantsEnabled
}

// UserConfig is one user of the realm.
type UserConfig struct {
	Username string `yaml:"username" json:"username"`
	Password string `yaml:"password" json:"password"`
	// ID is the token's `sub`; empty means a UUID derived from the username.
	ID string `yaml:"id" json:"id,omitempty"`
	// MerchantID goes into the token's merchantId claim.
	MerchantID int64 `yaml:"merchantId" json:"merchantId"`
	// Enabled false answers "Account disabled"; absent means true.
	Enabled *bool `yaml:"enabled" json:"enabled,omitempty"`
}

func (u *UserConfig) enabled() bool { return u.Enabled == nil || *u.Enabled }

// OperatorPrefix maps an msisdn prefix (country code and maybe more digits)
// to an operator code.
type OperatorPrefix struct {
	Prefix   string `yaml:"prefix" json:"prefix"`
	Operator string `yaml:"operator" json:"operator"`
}

// ServiceConfig is one Data Gifting service.
type ServiceConfig struct {
	ServiceKey string `yaml:"serviceKey" json:"serviceKey"`
	Name       string `yaml:"name" json:"name"`
	MerchantID int64  `yaml:"merchantId" json:"merchantId"`
	// Active false answers SERVICE_INACTIVE to every transaction; absent means true.
	Active      *bool           `yaml:"active" json:"active,omitempty"`
	TimeCreated string          `yaml:"timeCreated" json:"timeCreated"`
	Packages    []PackageConfig `yaml:"packages" json:"packages"`
	Pools       []PoolConfig    `yaml:"pools" json:"pools"`
}

func (s *ServiceConfig) active() bool { return s.Active == nil || *s.Active }

// PackageConfig lists the amounts (MB) a service may gift on one operator.
type PackageConfig struct {
	Operator string  `yaml:"operator" json:"operator"`
	Amounts  []int64 `yaml:"amounts" json:"amounts"`
}

// PoolConfig is one data pool of a service on one operator, in MB.
type PoolConfig struct {
	Operator       string `yaml:"operator" json:"operator"`
	TotalAmount    int64  `yaml:"totalAmount" json:"totalAmount"`
	AssignedAmount int64  `yaml:"assignedAmount" json:"assignedAmount"`
	// ExpirationDate is "yyyy-MM-dd HH:mm:ss" UTC; the pool is usable up to
	// and including that second of sandbox time.
	ExpirationDate string `yaml:"expirationDate" json:"expirationDate"`
}

// MagicMsisdn forces a business error for transactions to one msisdn.
type MagicMsisdn struct {
	Msisdn    string `yaml:"msisdn" json:"msisdn"`
	ErrorType string `yaml:"errorType" json:"errorType"`
}

// Business error types (422) a magic msisdn may force.
var magicErrorTypes = []string{
	errUnsupportedOperator, errInvalidPackage, errInsufficientBalance, errPoolExpired, errServiceInactive,
}

var (
	reServiceKey = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
	reOperator   = regexp.MustCompile(`^[A-Z]{2}_[A-Z0-9]+$`)
	reDigits     = regexp.MustCompile(`^[0-9]+$`)
	reMsisdn     = regexp.MustCompile(`^[0-9]{8,15}$`)
)

func boolPtr(b bool) *bool { return &b }

// newConfig returns the defaults: exactly the default scenario's section, so
// that a scenario without a `centili:` key still has the demo world.
func newConfig() any {
	return &Config{
		Realm:                 "api",
		AccessTokenLifespan:   300,
		SsoSessionIdleTimeout: 1800,
		SsoSessionMaxLifespan: 36000,
		MaxBodyBytes:          16384,
		Clients: []ClientConfig{
			{ClientID: "datagifting", PublicClient: true},
			{ClientID: "datagifting-confidential", Secret: "sandbox-centili-secret"},
			{ClientID: "datagifting-no-direct-grants", PublicClient: true, DirectAccessGrantsEnabled: boolPtr(false)},
		},
		Users: []UserConfig{
			{Username: "merchant@sandbox.test", Password: "sandbox-password", MerchantID: 11111},
			{Username: "other-merchant@sandbox.test", Password: "sandbox-password", MerchantID: 22222},
			{Username: "disabled@sandbox.test", Password: "sandbox-password", MerchantID: 11111, Enabled: boolPtr(false)},
		},
		Operators: []OperatorPrefix{
			{Prefix: "33", Operator: "FR_ORANGE"},
			{Prefix: "43", Operator: "AT_A1"},
			{Prefix: "381", Operator: "RS_MTS"},
		},
		Services: []ServiceConfig{
			{
				ServiceKey: "3586a2363bcd51a2b3c4d5f34918263a", Name: "Sandbox data gifts", MerchantID: 11111,
				TimeCreated: "2024-01-15 09:30:00",
				Packages: []PackageConfig{
					{Operator: "FR_ORANGE", Amounts: []int64{100, 500, 1000}},
					{Operator: "AT_A1", Amounts: []int64{100, 500, 1000}},
				},
				Pools: []PoolConfig{
					{Operator: "FR_ORANGE", TotalAmount: 100000, ExpirationDate: "2030-12-31 23:59:59"},
					{Operator: "AT_A1", TotalAmount: 50000, ExpirationDate: "2030-12-31 23:59:59"},
				},
			},
			{
				ServiceKey: "7c1e0f3a9b2d4e5f8a6b7c8d9e0f1a2b", Name: "Retired campaign", MerchantID: 11111,
				Active: boolPtr(false), TimeCreated: "2023-03-01 08:00:00",
				Packages: []PackageConfig{{Operator: "FR_ORANGE", Amounts: []int64{100}}},
				Pools:    []PoolConfig{{Operator: "FR_ORANGE", TotalAmount: 10000, ExpirationDate: "2030-12-31 23:59:59"}},
			},
			{
				ServiceKey: "d41d8cd98f00b204e9800998ecf8427e", Name: "Other merchant's gifts", MerchantID: 22222,
				TimeCreated: "2024-02-01 10:00:00",
				Packages:    []PackageConfig{{Operator: "AT_A1", Amounts: []int64{500}}},
				Pools:       []PoolConfig{{Operator: "AT_A1", TotalAmount: 20000, ExpirationDate: "2030-12-31 23:59:59"}},
			},
		},
		MagicMsisdns: []MagicMsisdn{
			{Msisdn: "33600000001", ErrorType: errUnsupportedOperator},
			{Msisdn: "33600000002", ErrorType: errInvalidPackage},
			{Msisdn: "33600000003", ErrorType: errInsufficientBalance},
			{Msisdn: "33600000004", ErrorType: errPoolExpired},
			{Msisdn: "33600000005", ErrorType: errServiceInactive},
			{Msisdn: "4366000001", ErrorType: errUnsupportedOperator},
			{Msisdn: "4366000002", ErrorType: errInvalidPackage},
			{Msisdn: "4366000003", ErrorType: errInsufficientBalance},
			{Msisdn: "4366000004", ErrorType: errPoolExpired},
			{Msisdn: "4366000005", ErrorType: errServiceInactive},
		},
		Limits: LimitsConfig{MaxTransactions: 100000},
	}
}

// Reconcile fits the defaults the section did not write to an `operators`
// table it did write: the default magic msisdns that match none of its
// prefixes are left out (they would name no operator; UNSUPPORTED_OPERATOR
// ones need none and stay), and so are the default services' packages and
// pools of operators the table no longer has. What the section writes
// itself is validated as written.
func (c *Config) Reconcile(written func(key string) bool) {
	if !written("operators") {
		return
	}
	if !written("magicMsisdns") {
		c.MagicMsisdns = slices.DeleteFunc(c.MagicMsisdns, func(m MagicMsisdn) bool {
			return m.ErrorType != errUnsupportedOperator && !c.hasPrefix(m.Msisdn)
		})
	}
	if !written("services") {
		ops := c.operatorCodes()
		for i := range c.Services {
			sv := &c.Services[i]
			sv.Packages = slices.DeleteFunc(sv.Packages, func(p PackageConfig) bool { return !slices.Contains(ops, p.Operator) })
			sv.Pools = slices.DeleteFunc(sv.Pools, func(p PoolConfig) bool { return !slices.Contains(ops, p.Operator) })
		}
	}
}

// parseTime reads a Centili timestamp as UTC.
func parseTime(s string) (time.Time, error) {
	return time.ParseInLocation(timeLayout, s, time.UTC)
}

// Validate reports every inconsistency of the section, so that a scenario
// that loads is one the handlers can trust (unique keys, parseable times,
// pools that add up).
func (c *Config) Validate() []scenario.Problem {
	var probs []scenario.Problem
	add := func(path, hint, format string, args ...any) {
		probs = append(probs, scenario.Problemf(path, hint, format, args...))
	}
	if c.Realm == "" || strings.ContainsAny(c.Realm, "/?#% ") {
		add("realm", "Centili's realm is `api`", "realm %q must be a non-empty name without /, ?, #, %% or spaces", c.Realm)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"accessTokenLifespan", c.AccessTokenLifespan}, {"ssoSessionIdleTimeout", c.SsoSessionIdleTimeout}, {"ssoSessionMaxLifespan", c.SsoSessionMaxLifespan}} {
		if f.v <= 0 {
			add(f.name, "give seconds, e.g. 300", "%s must be a positive number of seconds, got %d", f.name, f.v)
		}
	}
	if c.RefreshTokenMaxReuse < 0 {
		add("refreshTokenMaxReuse", "omit it for Keycloak's default of 0", "refreshTokenMaxReuse must not be negative, got %d", c.RefreshTokenMaxReuse)
	}
	if c.MaxBodyBytes < 0 {
		add("maxBodyBytes", "omit it for the default of 16384", "maxBodyBytes must not be negative, got %d", c.MaxBodyBytes)
	}
	if c.Limits.MaxTransactions < 1 {
		add("limits.maxTransactions", "omit it for the default of 100000", "maxTransactions must be at least 1, got %d", c.Limits.MaxTransactions)
	}
	seen := map[string]bool{}
	for i, cl := range c.Clients {
		p := fmt.Sprintf("clients[%d]", i)
		switch {
		case cl.ClientID == "":
			add(p+".clientId", "e.g. datagifting", "clientId is missing")
		case seen[cl.ClientID]:
			add(p+".clientId", "client ids are unique in a realm", "duplicate clientId %q", cl.ClientID)
		}
		seen[cl.ClientID] = true
		if !cl.PublicClient && cl.Secret == "" {
			add(p+".secret", "set `publicClient: true` or give a secret", "confidential client %q has no secret", cl.ClientID)
		}
	}
	probs = append(probs, c.validateAudiences(seen)...)
	seen = map[string]bool{}
	for i, u := range c.Users {
		p := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Username == "":
			add(p+".username", "e.g. merchant@sandbox.test", "username is missing")
		case seen[strings.ToLower(u.Username)]:
			add(p+".username", "usernames are unique (case-insensitive) in a realm", "duplicate username %q", u.Username)
		}
		seen[strings.ToLower(u.Username)] = true
		if u.MerchantID <= 0 {
			add(p+".merchantId", "e.g. 11111", "merchantId must be a positive number, got %d", u.MerchantID)
		}
	}
	seen = map[string]bool{}
	for i, op := range c.Operators {
		p := fmt.Sprintf("operators[%d]", i)
		if !reDigits.MatchString(op.Prefix) || len(op.Prefix) > 15 {
			add(p+".prefix", "digits only, country code first, e.g. \"33\"", "prefix %q must be 1 to 15 digits", op.Prefix)
		} else if seen[op.Prefix] {
			add(p+".prefix", "each prefix maps to one operator", "duplicate prefix %q", op.Prefix)
		}
		seen[op.Prefix] = true
		if !reOperator.MatchString(op.Operator) {
			add(p+".operator", "Centili writes CC_OPERATOR, e.g. FR_ORANGE", "operator %q is not an operator code", op.Operator)
		}
	}
	seen = map[string]bool{}
	operators := c.operatorCodes()
	for i, s := range c.Services {
		probs = append(probs, s.validate(fmt.Sprintf("services[%d]", i), seen, operators)...)
	}
	seen = map[string]bool{}
	for i, m := range c.MagicMsisdns {
		p := fmt.Sprintf("magicMsisdns[%d]", i)
		if !reMsisdn.MatchString(m.Msisdn) {
			add(p+".msisdn", "E.164 digits without +, e.g. 33600000001", "msisdn %q must be 8 to 15 digits", m.Msisdn)
		} else if seen[m.Msisdn] {
			add(p+".msisdn", "one error per msisdn", "duplicate magic msisdn %q", m.Msisdn)
		}
		seen[m.Msisdn] = true
		if !slices.Contains(magicErrorTypes, m.ErrorType) {
			add(p+".errorType", scenario.SuggestOneOf(m.ErrorType, magicErrorTypes), "errorType %q is not a business error", m.ErrorType)
		} else if m.ErrorType != errUnsupportedOperator && reMsisdn.MatchString(m.Msisdn) && !c.hasPrefix(m.Msisdn) {
			add(p+".msisdn", "add its prefix to operators, or use UNSUPPORTED_OPERATOR", "magic msisdn %q matches no operator prefix, so %s cannot name its operator", m.Msisdn, m.ErrorType)
		}
	}
	return probs
}

// validateAudiences checks each client's audience list against the realm's
// clients (ids): Keycloak's Audience mapper picks an existing client, and a
// typo would silently leave the check failing.
func (c *Config) validateAudiences(ids map[string]bool) []scenario.Problem {
	var probs []scenario.Problem
	known := make([]string, 0, len(c.Clients))
	for _, cl := range c.Clients {
		known = append(known, cl.ClientID)
	}
	for i, cl := range c.Clients {
		named := map[string]bool{}
		for j, aud := range cl.Audience {
			p := fmt.Sprintf("clients[%d].audience[%d]", i, j)
			switch {
			case aud == "" || !ids[aud]:
				probs = append(probs, scenario.Problemf(p, scenario.SuggestOneOf(aud, known), "audience %q is not a client of the realm", aud))
			case named[aud]:
				probs = append(probs, scenario.Problemf(p, "name each client once", "audience %q is listed twice", aud))
			}
			named[aud] = true
		}
	}
	return probs
}

// hasPrefix reports whether some operator prefix matches the msisdn.
func (c *Config) hasPrefix(msisdn string) bool {
	for _, op := range c.Operators {
		if op.Prefix != "" && strings.HasPrefix(msisdn, op.Prefix) {
			return true
		}
	}
	return false
}

// operatorCodes lists the operators of the prefix table, in order, once each.
func (c *Config) operatorCodes() []string {
	var out []string
	for _, op := range c.Operators {
		if !slices.Contains(out, op.Operator) {
			out = append(out, op.Operator)
		}
	}
	return out
}

// checkOperator reports an operator code that is malformed, or that no
// prefix of the operators table maps to: no msisdn could ever reach a pool
// or package of it, which is nearly always a typo (FR_ORANGES).
func checkOperator(path, op string, operators []string) *scenario.Problem {
	if !reOperator.MatchString(op) {
		p := scenario.Problemf(path, "Centili writes CC_OPERATOR, e.g. FR_ORANGE", "operator %q is not an operator code", op)
		if k, ok := scenario.Closest(op, operators); ok {
			p.Hint = fmt.Sprintf("did you mean %q?", k)
		}
		return &p
	}
	if !slices.Contains(operators, op) {
		p := scenario.Problemf(path, scenario.SuggestOneOf(op, operators), "operator %q has no prefix in centili.operators, so no msisdn reaches it", op)
		return &p
	}
	return nil
}

// checkExpiration reports an expirationDate that is not a Centili timestamp.
func checkExpiration(path, s string) *scenario.Problem {
	if _, err := parseTime(s); err != nil {
		p := scenario.Problemf(path, "yyyy-MM-dd HH:mm:ss UTC, e.g. 2030-12-31 23:59:59", "expirationDate %q is not a Centili timestamp", s)
		return &p
	}
	return nil
}

func (s *ServiceConfig) validate(p string, seen map[string]bool, operators []string) []scenario.Problem {
	var probs []scenario.Problem
	add := func(path, hint, format string, args ...any) {
		probs = append(probs, scenario.Problemf(path, hint, format, args...))
	}
	if !reServiceKey.MatchString(s.ServiceKey) {
		add(p+".serviceKey", "32 lowercase hex characters, e.g. 3586a2363bcd51a2b3c4d5f34918263a", "serviceKey %q must be 1 to 32 letters or digits", s.ServiceKey)
	} else if seen[s.ServiceKey] {
		add(p+".serviceKey", "service keys are unique", "duplicate serviceKey %q", s.ServiceKey)
	}
	seen[s.ServiceKey] = true
	if s.MerchantID <= 0 {
		add(p+".merchantId", "e.g. 11111", "merchantId must be a positive number, got %d", s.MerchantID)
	}
	if s.TimeCreated != "" {
		if _, err := parseTime(s.TimeCreated); err != nil {
			add(p+".timeCreated", "yyyy-MM-dd HH:mm:ss, e.g. 2024-01-15 09:30:00", "timeCreated %q is not a Centili timestamp", s.TimeCreated)
		}
	}
	for j, pk := range s.Packages {
		pp := fmt.Sprintf("%s.packages[%d]", p, j)
		if bad := checkOperator(pp+".operator", pk.Operator, operators); bad != nil {
			probs = append(probs, *bad)
		}
		if len(pk.Amounts) == 0 {
			add(pp+".amounts", "e.g. [100, 500, 1000]", "a package needs at least one amount")
		}
		for k, a := range pk.Amounts {
			if a <= 0 {
				add(fmt.Sprintf("%s.amounts[%d]", pp, k), "amounts are MB, e.g. 500", "amount must be positive, got %d", a)
			}
		}
	}
	for j, pool := range s.Pools {
		pp := fmt.Sprintf("%s.pools[%d]", p, j)
		if bad := checkOperator(pp+".operator", pool.Operator, operators); bad != nil {
			probs = append(probs, *bad)
		}
		if pool.TotalAmount <= 0 {
			add(pp+".totalAmount", "MB, e.g. 100000", "totalAmount must be positive, got %d", pool.TotalAmount)
		}
		// Against a totalAmount that is not positive (reported above, or
		// left at zero by a type error) the bound would only echo that.
		if pool.AssignedAmount < 0 || (pool.TotalAmount > 0 && pool.AssignedAmount > pool.TotalAmount) {
			add(pp+".assignedAmount", "between 0 and totalAmount", "assignedAmount %d must be between 0 and totalAmount %d", pool.AssignedAmount, pool.TotalAmount)
		}
		if bad := checkExpiration(pp+".expirationDate", pool.ExpirationDate); bad != nil {
			probs = append(probs, *bad)
		}
	}
	return probs
}
