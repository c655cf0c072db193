package netfinity

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// ServiceSMS is the capability (service identifier) of SMS notification. It
// names the service in rate-limit keys and in every pingback envelope.
const ServiceSMS = "sms.notification"

// Config is the scenario's `netfinity:` section. Its defaults are those of
// the default scenario, so a scenario may leave the section out.
type Config struct {
	// Tokens are the bearer tokens the API accepts.
	Tokens []TokenConfig `yaml:"tokens" json:"tokens"`
	// TrustedProxies lists the addresses (IPs or CIDRs) whose X-Forwarded-For
	// header is believed when finding the client's IP.
	TrustedProxies []string `yaml:"trustedProxies" json:"trustedProxies"`
	// CountryCode turns national numbers (leading 0) into E.164 (Bulgaria: 359).
	CountryCode string `yaml:"countryCode" json:"countryCode"`
	// FloodWindow is how long the same text to the same number counts as flood.
	FloodWindow scenario.Duration `yaml:"floodWindow" json:"floodWindow"`
	// MaxBodyBytes caps request bodies (answered 413).
	MaxBodyBytes int64 `yaml:"maxBodyBytes" json:"maxBodyBytes"`
	// Networks is the coverage table: a number outside it is a rejected destination.
	Networks []NetworkConfig `yaml:"networks" json:"networks"`
	// Paths are the named status paths a message can walk.
	Paths map[string][]StepConfig `yaml:"paths" json:"paths"`
	// Rules choose a path by msisdn (first match wins); numbers no rule
	// matches take DefaultPath when covered, UncoveredPath otherwise.
	Rules         []RuleConfig `yaml:"rules" json:"rules"`
	DefaultPath   string       `yaml:"defaultPath" json:"defaultPath"`
	UncoveredPath string       `yaml:"uncoveredPath" json:"uncoveredPath"`
	// FloodPath is walked by messages that flood protection rejects.
	FloodPath string `yaml:"floodPath" json:"floodPath"`
	// Callback sets how pingbacks are delivered.
	Callback CallbackConfig `yaml:"callback" json:"callback"`
	// Limits bound what a namespace keeps.
	Limits LimitsConfig `yaml:"limits" json:"limits"`
}

// LimitsConfig bounds a namespace's Netfinity state; history beyond a limit
// is dropped oldest first.
type LimitsConfig struct {
	// MaxMessages is how many messages the state view keeps with their
	// status histories (default 100,000). A dropped message still walks
	// its status path and sends its pingbacks, and its client id still
	// counts for flood protection.
	MaxMessages int `yaml:"maxMessages" json:"maxMessages"`
	// MaxPingbacks is how many settled pingback deliveries (delivered,
	// failed or cancelled) GET /__sandbox/callbacks keeps (default
	// 100,000); pending ones are always kept.
	MaxPingbacks int `yaml:"maxPingbacks" json:"maxPingbacks"`
}

// TokenConfig is one bearer token and what it may do.
type TokenConfig struct {
	Token string `yaml:"token" json:"token"`
	// Name labels the token in state and logs.
	Name string `yaml:"name" json:"name"`
	// AllowedIPs are IPs or CIDRs the token may be used from; empty means any.
	AllowedIPs []string `yaml:"allowedIps" json:"allowedIps"`
	// Capabilities are the services the token may use (sms.notification).
	Capabilities []string `yaml:"capabilities" json:"capabilities"`
	// RateLimit is the requests per minute per service (0 means 60).
	RateLimit int `yaml:"rateLimit" json:"rateLimit"`
	// Prefix is the account's text prefix, prepended to every message.
	Prefix string `yaml:"prefix" json:"prefix"`
	// CallbackURL receives the pingbacks; empty means none are sent (the
	// status history is still recorded).
	CallbackURL string `yaml:"callbackUrl" json:"callbackUrl"`
}

// NetworkConfig is one covered mobile network.
type NetworkConfig struct {
	Name     string   `yaml:"name" json:"name"`
	Prefixes []string `yaml:"prefixes" json:"prefixes"`
}

// StepConfig is one status of a path, reached After the previous one (or
// after acceptance, for the first).
type StepConfig struct {
	Code  int               `yaml:"code" json:"code"`
	After scenario.Duration `yaml:"after" json:"after"`
	// Voucher adds meta.voucher {uuid, expires} (only meaningful for 301),
	// expiring this long after the status.
	Voucher scenario.Duration `yaml:"voucher" json:"voucher,omitempty"`
}

// RuleConfig picks a path for an exact normalised msisdn or a prefix of it.
type RuleConfig struct {
	Msisdn string `yaml:"msisdn" json:"msisdn,omitempty"`
	Prefix string `yaml:"prefix" json:"prefix,omitempty"`
	Path   string `yaml:"path" json:"path"`
}

// CallbackConfig is the pingback delivery policy ([doc]: 30 s timeout,
// 3 retries, 3,000 ms apart).
type CallbackConfig struct {
	Timeout     scenario.Duration `yaml:"timeout" json:"timeout"`
	Retries     int               `yaml:"retries" json:"retries"`
	RetryDelay  scenario.Duration `yaml:"retryDelay" json:"retryDelay"`
	MaxInFlight int               `yaml:"maxInFlight" json:"maxInFlight"`
	// MaxInFlightPerReceiver bounds attempts at one receiver (default
	// maxInFlight/2), so a slow receiver leaves workers for the others.
	MaxInFlightPerReceiver int `yaml:"maxInFlightPerReceiver" json:"maxInFlightPerReceiver"`
	// ShutdownTimeout is how long a reset or shutdown waits for attempts in flight.
	ShutdownTimeout scenario.Duration `yaml:"shutdownTimeout" json:"shutdownTimeout"`
}

func step(code int, after time.Duration) StepConfig {
	return StepConfig{Code: code, After: scenario.Duration(after)}
}

// defaultConfig is the default scenario's section.
func defaultConfig() *Config {
	delivered := []StepConfig{step(201, time.Second), step(202, 2*time.Second), step(203, 2*time.Second), step(204, 5*time.Second)}
	delayed := append([]StepConfig{{Code: 301, After: scenario.Duration(time.Second), Voucher: scenario.Duration(24 * time.Hour)}, step(201, 30*time.Second)}, delivered[1:]...)
	return &Config{
		Tokens: []TokenConfig{
			{Token: "sandbox-netfinity-token", Name: "default", AllowedIPs: []string{}, Capabilities: []string{ServiceSMS}, RateLimit: 60},
			{Token: "sandbox-netfinity-foreign-ip", Name: "foreign-ip", AllowedIPs: []string{"203.0.113.7"}, Capabilities: []string{ServiceSMS}, RateLimit: 60},
			{Token: "sandbox-netfinity-no-sms", Name: "no-sms", Capabilities: []string{}, RateLimit: 60},
		},
		TrustedProxies: []string{},
		CountryCode:    "359",
		FloodWindow:    scenario.Duration(10 * time.Minute),
		MaxBodyBytes:   64 << 10,
		Networks: []NetworkConfig{
			{Name: "A1", Prefixes: []string{"35988", "359988", "359989"}},
			{Name: "Yettel", Prefixes: []string{"35989"}},
			{Name: "Vivacom", Prefixes: []string{"35987"}},
		},
		Paths: map[string][]StepConfig{
			"delivered":            delivered,
			"delayedThenDelivered": delayed,
			"delayedThenRejected":  {{Code: 301, After: scenario.Duration(time.Second), Voucher: scenario.Duration(24 * time.Hour)}, step(400, 30*time.Second)},
			"rejectedFunds":        {step(400, time.Second)},
			"flood":                {step(401, time.Second)},
			"rejectedDestination":  {step(501, time.Second)},
			"remoteNetworkFailed":  {step(201, time.Second), step(202, 2*time.Second), step(503, 5*time.Second)},
			"internalError":        {step(201, time.Second), step(502, 2*time.Second)},
		},
		Rules: []RuleConfig{
			{Msisdn: "359880000301", Path: "delayedThenDelivered"},
			{Msisdn: "359880000302", Path: "delayedThenRejected"},
			{Msisdn: "359880000400", Path: "rejectedFunds"},
			{Msisdn: "359880000401", Path: "flood"},
			{Msisdn: "359880000501", Path: "rejectedDestination"},
			{Msisdn: "359880000502", Path: "internalError"},
			{Msisdn: "359880000503", Path: "remoteNetworkFailed"},
		},
		DefaultPath:   "delivered",
		UncoveredPath: "rejectedDestination",
		FloodPath:     "flood",
		Callback: CallbackConfig{
			Timeout: scenario.Duration(30 * time.Second), Retries: 3, RetryDelay: scenario.Duration(3 * time.Second),
			MaxInFlight: 16, MaxInFlightPerReceiver: 8, ShutdownTimeout: scenario.Duration(5 * time.Second),
		},
		Limits: LimitsConfig{MaxMessages: 100000, MaxPingbacks: 100000},
	}
}

// Validate reports every inconsistency of the section, so a scenario fails
// at load time rather than at the first request.
func (c *Config) Validate() []scenario.Problem {
	var ps []scenario.Problem
	add := func(path, hint, f string, a ...any) { ps = append(ps, scenario.Problemf(path, hint, f, a...)) }
	seen := map[string]bool{}
	for i, t := range c.Tokens {
		p := fmt.Sprintf("tokens[%d]", i)
		if t.Token != "" && seen[t.Token] {
			add(p+".token", "each token must be unique", "token %q is listed twice", t.Token)
		}
		seen[t.Token] = true
		ps = append(ps, t.validate(p)...)
	}
	for i, ip := range c.TrustedProxies {
		if _, err := parsePrefix(ip); err != nil {
			add(fmt.Sprintf("trustedProxies[%d]", i), "use an IP or a CIDR", "%v", err)
		}
	}
	if !isDigits(c.CountryCode) {
		add("countryCode", "Bulgaria is 359", "countryCode %q must be digits", c.CountryCode)
	}
	if c.FloodWindow < 0 {
		add("floodWindow", "use 0 to turn the text check off", "floodWindow must not be negative")
	}
	if c.Limits.MaxMessages < 1 {
		add("limits.maxMessages", "omit it for the default of 100000", "maxMessages must be at least 1, got %d", c.Limits.MaxMessages)
	}
	if c.Limits.MaxPingbacks < 1 {
		add("limits.maxPingbacks", "omit it for the default of 100000", "maxPingbacks must be at least 1, got %d", c.Limits.MaxPingbacks)
	}
	names := make([]string, 0, len(c.Paths))
	for name, steps := range c.Paths {
		names = append(names, name)
		if len(steps) == 0 {
			add("paths."+name, "give at least one status", "path %q is empty", name)
		}
		for i, s := range steps {
			if _, ok := statusText[s.Code]; !ok {
				add(fmt.Sprintf("paths.%s[%d].code", name, i), "known codes: "+knownCodes(), "unknown status code %d", s.Code)
			}
			if s.After < 0 {
				add(fmt.Sprintf("paths.%s[%d].after", name, i), "delays are counted from the previous status", "after must not be negative")
			}
		}
	}
	sort.Strings(names)
	checkPath := func(path, name string) {
		if _, ok := c.Paths[name]; !ok {
			add(path, scenario.SuggestOneOf(name, names), "no path named %q", name)
		}
	}
	checkPath("defaultPath", c.DefaultPath)
	checkPath("uncoveredPath", c.UncoveredPath)
	checkPath("floodPath", c.FloodPath)
	for i, r := range c.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		if (r.Msisdn == "") == (r.Prefix == "") {
			add(p, "give exactly one of msisdn or prefix (normalised E.164 digits)", "rule needs msisdn or prefix")
		}
		checkPath(p+".path", r.Path)
	}
	cb := c.Callback
	if cb.Retries < 0 || cb.RetryDelay < 0 || cb.Timeout <= 0 || cb.MaxInFlight < 0 || cb.MaxInFlightPerReceiver < 0 || cb.ShutdownTimeout < 0 {
		add("callback", "the documented policy is timeout 30s, retries 3, retryDelay 3s", "callback policy needs timeout > 0 and no negative values")
	}
	return ps
}

// Capabilities are the services a token may be granted: the operations of
// the API and the capability each needs.
var Capabilities = []string{ServiceSMS}

// validate checks one token on its own (uniqueness is the caller's); p is
// its path. The scenario file and the live-change admin endpoints share it.
func (t TokenConfig) validate(p string) []scenario.Problem {
	var ps []scenario.Problem
	add := func(path, hint, f string, a ...any) { ps = append(ps, scenario.Problemf(path, hint, f, a...)) }
	if p != "" {
		p += "."
	}
	if t.Token == "" {
		add(p+"token", "give the bearer token's text", "token is empty")
	}
	for j, ip := range t.AllowedIPs {
		if _, err := parsePrefix(ip); err != nil {
			add(fmt.Sprintf("%sallowedIps[%d]", p, j), "use an IP such as 203.0.113.7 or a CIDR such as 10.0.0.0/8", "%v", err)
		}
	}
	// A capability of another Netfinity service is allowed (it grants
	// nothing here, which is how a 403 "capabilities missing" is shown);
	// one a typo away from a known capability is a mistake. Since this
	// refuses the file, "a typo" is strict: two edits at most, ignoring
	// case. scenario.Closest's looser rule (a third of the length) would
	// take viber.notification or push.notification for sms.notification.
	for j, c := range t.Capabilities {
		if slices.Contains(Capabilities, c) {
			continue
		}
		for _, k := range Capabilities {
			if scenario.EditDistance(strings.ToLower(c), strings.ToLower(k)) <= 2 {
				add(fmt.Sprintf("%scapabilities[%d]", p, j), fmt.Sprintf("did you mean %q?", k), "unknown capability %q", c)
				break
			}
		}
	}
	if t.RateLimit < 0 {
		add(p+"rateLimit", "use 0 for the default of 60", "rateLimit must not be negative, got %d", t.RateLimit)
	}
	if t.CallbackURL != "" {
		if u, err := url.Parse(t.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(p+"callbackUrl", "use an http:// or https:// URL, or leave it empty for no callbacks", "callbackUrl %q is not an HTTP URL", t.CallbackURL)
		}
	}
	if _, bad := gsmSeptets(t.Prefix); bad {
		add(p+"prefix", "use GSM 03.38 characters only", "prefix %q has characters outside GSM 03.38", t.Prefix)
	}
	return ps
}

func knownCodes() string {
	codes := make([]int, 0, len(statusText))
	for c := range statusText {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	return strings.Trim(fmt.Sprint(codes), "[]")
}

// parsePrefix reads an IP or a CIDR as a prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
