// Package netfinity emulates Netfinity's v2 messaging API (SMS notification)
// as a Laravel ≤ 8 application answers it: IP- and capability-bound bearer
// tokens, 406/401/403/429/422 in Netfinity's order with Laravel's exact
// bodies and throttle headers, and asynchronous "Pingback" callbacks that
// walk each message through its processing and delivery statuses on the
// sandbox clock. See docs/netfinity.md.
package netfinity

import (
	"fmt"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

func init() {
	sandbox.Register(&sandbox.Provider{
		Name:        "netfinity",
		Title:       "Netfinity messaging (v2)",
		Spec:        specs.Must("netfinity.yaml"),
		NewConfig:   func() any { return defaultConfig() },
		New:         func(env sandbox.Env) (any, error) { return newState(env) },
		Operations:  map[string]sandbox.Handler{"sendSmsNotification": send},
		Guard:       guard,
		WriteError:  writeError,
		Banner:      banner,
		Postman:     postmanPlan,
		AdminRoutes: adminRoutes,
		// The real host (docs/hosts.md), whose paths are the mount's.
		Hosts: []sandbox.ProviderHost{{Name: "api", Host: "api.netfinity.bg", Paths: []sandbox.HostPath{{Prefix: "/", Target: "/"}}}},
	})
}

// banner prints the endpoint and the demo tokens at start-up.
func banner(cfg any, baseURL string) []string {
	c := cfg.(*Config)
	lines := []string{fmt.Sprintf("send SMS\tPOST %s/v2/sms/notification/send (Accept and Content-Type: application/json)", baseURL)}
	for _, t := range c.Tokens {
		ips := "any IP"
		if len(t.AllowedIPs) > 0 {
			ips = "IPs " + strings.Join(t.AllowedIPs, ", ")
		}
		caps := "no capability"
		if len(t.Capabilities) > 0 {
			caps = strings.Join(t.Capabilities, ", ")
		}
		cb := "no callbacks"
		if t.CallbackURL != "" {
			cb = "callbacks to " + t.CallbackURL
		}
		lines = append(lines, fmt.Sprintf("token\tBearer %s (%s; %s; %s)", t.Token, ips, caps, cb))
	}
	return lines
}
