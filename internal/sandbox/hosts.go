package sandbox

import (
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// Host routing ("transparent mode") lets an application keep its
// production URLs: once login.microsoftonline.com or api.centili.com
// resolves to the sandbox (an /etc/hosts line, a container network alias,
// the sandbox as HTTP(S) proxy), a request is routed by its Host header to
// the provider that owns that name, its path mapped onto the mount's. Each
// provider declares its real host names (Provider.Hosts); the scenario's
// `hosts:` section turns routing on and may rename them, and --hosts
// (Config.Hosts) turns it on whatever the scenario says. The core knows no
// provider's names: it only matches what providers declared.

// HeaderNamespace selects the namespace of a request routed by its Host
// header: a production URL has no room for /ns/{name}. Absent, the request
// belongs to the default namespace. Requests routed by path ignore it
// (their namespace is in the path).
const HeaderNamespace = "X-Sandbox-Namespace"

// hostsKey is the scenario's top-level key for host routing.
const hostsKey = "hosts"

// ProviderHost is one host name of the real service a provider emulates,
// and how that host's paths map onto the provider's mount.
type ProviderHost struct {
	// Name identifies the host in the scenario: hosts.names.{provider}.{Name}
	// renames it (e.g. "apim" for NetRefer's API Management host).
	Name string
	// Host is the real host name, lower case ("api.centili.com"). Empty
	// when the service has no host of its own (InTarget calls an
	// operator's API): then it is served only once the scenario names one.
	Host string
	// Paths map the host's request paths to paths below the mount, the
	// first whose Prefix starts the path winning; a path no Prefix starts
	// gets the provider's 404, as an unknown path under the mount does.
	Paths []HostPath
}

// HostPath maps request paths under Prefix on a provider host to Target
// and the rest below the mount: {"/", "/login/"} serves
// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token as
// /netrefer/login/{tenant}/oauth2/v2.0/token. Read backwards it gives the
// URLs the sandbox hands out on that host (Call.URL).
type HostPath struct {
	Prefix string
	Target string
}

// checkHosts reports why p's host declarations are malformed; registryMu is
// held. Names clashing between providers are a scenario problem (they can
// be renamed), not a registration one.
func checkHosts(p *Provider) error {
	seen := map[string]bool{}
	for _, h := range p.Hosts {
		if h.Name == "" || strings.ContainsAny(h.Name, ". ") {
			return fmt.Errorf("provider %q: host %q needs a Name without dots or spaces", p.Name, h.Host)
		}
		if seen[h.Name] {
			return fmt.Errorf("provider %q: host name %q is declared twice", p.Name, h.Name)
		}
		seen[h.Name] = true
		if h.Host != "" {
			if msg := hostNameProblem(h.Host); msg != "" || h.Host != strings.ToLower(h.Host) {
				return fmt.Errorf("provider %q: host %q: %s (lower case)", p.Name, h.Host, msg)
			}
		}
		if len(h.Paths) == 0 {
			return fmt.Errorf("provider %q: host %q maps no paths", p.Name, h.Name)
		}
		for _, m := range h.Paths {
			if !strings.HasPrefix(m.Prefix, "/") || !strings.HasPrefix(m.Target, "/") {
				return fmt.Errorf("provider %q: host %q path %q → %q: both must start with /", p.Name, h.Name, m.Prefix, m.Target)
			}
		}
	}
	return nil
}

// hostNameProblem says why name is not a host name a client could send in
// its Host header to reach a provider, or "" when it is one.
func hostNameProblem(name string) string {
	switch {
	case strings.ContainsAny(name, ":/@ ?#"):
		return "a host name such as api.example.test, without scheme, port or path"
	case name == "localhost" || strings.HasSuffix(name, ".localhost"):
		return "localhost names the sandbox itself (its admin API and path mounts)"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "an IP address names the sandbox itself (its admin API and path mounts); use a host name"
	}
	if len(name) > 253 {
		return "a host name is at most 253 characters"
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "each dot-separated label has 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "a host name holds only letters, digits, hyphens and dots"
			}
		}
	}
	return ""
}

// HostsConfig is the scenario's `hosts:` section.
type HostsConfig struct {
	// Enabled routes requests by their Host header as well as by path
	// (--hosts turns it on too).
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Names renames providers' hosts: provider → host name → the name
	// clients use ("" serves none). Hosts left out keep their real names.
	Names map[string]map[string]string `yaml:"names" json:"names"`
}

// hostEntry is one served host name.
type hostEntry struct {
	host     string // lower case, no port
	provider string
	name     string // the ProviderHost.Name
	paths    []HostPath
	written  bool // named by the scenario, not the provider's own name
}

// route maps a request path on the host to the path below the mount.
func (e *hostEntry) route(path string) (string, bool) {
	for _, m := range e.paths {
		if rest, ok := strings.CutPrefix(path, m.Prefix); ok {
			return m.Target + rest, true
		}
	}
	return "", false
}

// reverse maps a path below the mount to the host's path, if the host
// serves it.
func (e *hostEntry) reverse(rel string) (string, bool) {
	for _, m := range e.paths {
		if rest, ok := strings.CutPrefix(rel, m.Target); ok {
			return m.Prefix + rest, true
		}
	}
	return "", false
}

// hostTable is a scenario's host routing, compiled when it is loaded.
type hostTable struct {
	enabled bool
	byHost  map[string]*hostEntry
	// names is every declared host with its effective name ("" for none),
	// provider → name → host, as GET /__sandbox/scenario shows it.
	names map[string]map[string]string
	// byProvider lists each provider's served hosts in declaration order.
	byProvider map[string][]*hostEntry
}

// compileHosts checks a scenario's hosts section against the registered
// providers' declarations and builds the routing table. Problem paths are
// relative to the section.
func compileHosts(cfg HostsConfig) (*hostTable, []scenario.Problem) {
	t := &hostTable{enabled: cfg.Enabled, byHost: map[string]*hostEntry{}, names: map[string]map[string]string{}, byProvider: map[string][]*hostEntry{}}
	var probs []scenario.Problem
	providers := Providers()
	known := make([]string, 0, len(providers))
	declared := map[string]*Provider{}
	for _, p := range providers {
		if len(p.Hosts) > 0 {
			known = append(known, p.Name)
			declared[p.Name] = p
		}
	}
	for _, prov := range sortedKeys(cfg.Names) {
		p, ok := declared[prov]
		if !ok {
			probs = append(probs, scenario.Problemf("names."+prov, scenario.SuggestOneOf(prov, known), "no provider %q has hosts to name", prov))
			continue
		}
		for _, name := range sortedKeys(cfg.Names[prov]) {
			if !hasHost(p, name) {
				probs = append(probs, scenario.Problemf("names."+prov+"."+name, scenario.SuggestOneOf(name, hostNamesOf(p)), "%s has no host %q", prov, name))
			}
		}
	}
	for _, p := range providers {
		for _, h := range p.Hosts {
			host := h.Host
			path := "names." + p.Name + "." + h.Name
			v, written := cfg.Names[p.Name][h.Name]
			if written {
				host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
				if host != "" {
					if msg := hostNameProblem(host); msg != "" {
						probs = append(probs, scenario.Problemf(path, msg, "%q is not a host name", v))
						continue
					}
				}
			}
			if t.names[p.Name] == nil {
				t.names[p.Name] = map[string]string{}
			}
			t.names[p.Name][h.Name] = host
			if host == "" {
				continue
			}
			if other, taken := t.byHost[host]; taken {
				// Reported where the scenario wrote the name: the clash
				// is the renaming's.
				at, self, them := path, p.Name+"'s host \""+h.Name+"\"", other.provider+"'s host \""+other.name+"\""
				if !written && other.written {
					at, self, them = "names."+other.provider+"."+other.name, them, self
				}
				probs = append(probs, scenario.Problemf(at, "give one of them another name under hosts.names",
					"host %q of %s is also %s", host, self, them))
				continue
			}
			e := &hostEntry{host: host, provider: p.Name, name: h.Name, paths: h.Paths, written: written}
			t.byHost[host] = e
			t.byProvider[p.Name] = append(t.byProvider[p.Name], e)
		}
	}
	return t, probs
}

func hasHost(p *Provider, name string) bool {
	for _, h := range p.Hosts {
		if h.Name == name {
			return true
		}
	}
	return false
}

func hostNamesOf(p *Provider) []string {
	out := make([]string, 0, len(p.Hosts))
	for _, h := range p.Hosts {
		out = append(out, h.Name)
	}
	return out
}

// json is the section as GET /__sandbox/scenario shows it: the effective
// name of every declared host, so that the document says what is served
// and PUT accepts it back unchanged.
func (t *hostTable) json() HostsConfig {
	return HostsConfig{Enabled: t.enabled, Names: t.names}
}

// HostName is a served provider host, for listings (the start-up banner,
// the HTTPS certificate's names).
type HostName struct {
	Host     string // lower case, no port
	Provider string
	Name     string // ProviderHost.Name
}

// HostNames lists the provider hosts the scenario serves when host
// routing is on, sorted by host.
func (s *Scenario) HostNames() []HostName {
	out := make([]HostName, 0, len(s.hosts.byHost))
	for _, e := range s.hosts.byHost {
		out = append(out, HostName{Host: e.host, Provider: e.provider, Name: e.name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// HostsEnabled reports whether the scenario turns host routing on.
func (s *Scenario) HostsEnabled() bool { return s.hosts.enabled }

// hostsOn reports whether requests are routed by their Host header: --hosts,
// or the template scenario's hosts.enabled. The template decides for every
// namespace, since the host is read before the namespace is known.
func (s *Server) hostsOn() bool { return s.cfg.Hosts || s.template().hosts.enabled }

// HostsOn reports whether the server routes requests by their Host header.
func (s *Server) HostsOn() bool { return s.hostsOn() }

// providerHost returns the entry of a served provider host, when host
// routing is on.
func (s *Server) providerHost(hostport string) (*hostEntry, *hostTable, bool) {
	if !s.hostsOn() {
		return nil, nil, false
	}
	t := s.template().hosts
	e, ok := t.byHost[bareHost(hostport)]
	return e, t, ok
}

// IsProviderHost reports whether the server serves name (a Host header or
// a TLS server name) as a provider host right now.
func (s *Server) IsProviderHost(name string) bool {
	_, _, ok := s.providerHost(name)
	return ok
}

// hostTarget is where a request on a provider host goes: the namespace of
// its X-Sandbox-Namespace header and the path mapped below the mount;
// unmapped when no HostPath takes the path (the provider's 404).
func hostTarget(r *http.Request, e *hostEntry, t *hostTable) target {
	tg := target{namespace: DefaultNamespace, mount: e.provider, via: e, hosts: t}
	if ns, sent := r.Header[HeaderNamespace]; sent {
		tg.namespace = strings.TrimSpace(strings.Join(ns, ","))
	}
	if rel, ok := e.route(r.URL.Path); ok {
		tg.rel = rel
	} else {
		tg.rel, tg.unmapped = r.URL.Path, true
	}
	return tg
}

// RoutedPath is the path a request routed by its Host header would have
// under the path mounts (/ns/{namespace}/{mount}/...), for checking its
// answer against the provider's OpenAPI document; false for a request the
// server routes by path, or whose path maps nowhere.
func (s *Server) RoutedPath(r *http.Request) (string, bool) {
	e, t, ok := s.providerHost(r.Host)
	if !ok {
		return "", false
	}
	tg := hostTarget(r, e, t)
	if tg.unmapped || !ValidNamespaceName(tg.namespace) {
		return "", false
	}
	return "/ns/" + tg.namespace + "/" + tg.mount + tg.rel, true
}

// proxyHostsText lists the served provider hosts for a refused proxy
// request.
func (s *Server) proxyHostsText() string {
	names := s.template().HostNames()
	hosts := make([]string, 0, len(names))
	for _, n := range names {
		hosts = append(hosts, n.Host)
	}
	return strings.Join(hosts, ", ")
}
