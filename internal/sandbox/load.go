package sandbox

import (
	"fmt"
	"sort"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

// faultsKey is the scenario's top-level key for fault rules.
const faultsKey = "faults"

// DefaultMaxBodyBytes caps request bodies when neither the scenario nor the
// provider says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Scenario is a scenario file checked and decoded for every registered
// provider: what a namespace is built from.
type Scenario struct {
	File *scenario.File
	// Configs holds each provider's decoded section (its defaults when the
	// file has none), keyed by provider name. Read-only once loaded.
	Configs map[string]any
	Start   time.Time
	Tokens  *tokens.Issuer
	// Faults are the scenario's fault rules, checked against the specs.
	Faults faults.List
	// hosts is the compiled `hosts:` section (never nil).
	hosts *hostTable
}

// Common returns the provider-independent part of the scenario.
func (s *Scenario) Common() *scenario.Scenario { return &s.File.Scenario }

// LoadScenario parses and checks a scenario file against every registered
// provider. It returns all problems at once, located in the file.
func LoadScenario(name string, data []byte) (*Scenario, scenario.Problems) {
	f, probs := scenario.Parse(name, data)
	if f == nil {
		return nil, probs
	}
	s := &Scenario{File: f, Configs: map[string]any{}}
	providers := Providers()
	known := make([]string, 0, len(providers))
	for _, p := range providers {
		known = append(known, p.Name)
		cfg := p.NewConfig()
		probs = append(probs, f.DecodeSection(p.Name, cfg)...)
		s.Configs[p.Name] = cfg
	}
	var rules faults.List
	if probs2 := f.DecodeSection(faultsKey, &rules); len(probs2) > 0 {
		probs = append(probs, probs2...)
	} else {
		for _, p := range rules.Check(registeredOps{}) {
			probs = append(probs, f.Locate(faultsKey, p))
		}
	}
	s.Faults = rules
	var hc HostsConfig
	if probs2 := f.DecodeSection(hostsKey, &hc); len(probs2) > 0 {
		probs = append(probs, probs2...)
	} else {
		table, hprobs := compileHosts(hc)
		for _, p := range hprobs {
			probs = append(probs, f.Locate(hostsKey, p))
		}
		s.hosts = table
	}
	var keys []string
	for k := range f.Scenario.Providers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := s.Configs[k]; ok || k == faultsKey || k == hostsKey {
			continue
		}
		probs = append(probs, scenario.Problem{
			File: name, Line: f.Line(k), Path: k,
			Message: fmt.Sprintf("unknown key %q", k),
			Hint:    scenario.Suggest(k, append(known, "version", "name", "description", "seed", "clock", "keys", "http", "faults", "hosts", "preferHeader", "reload", "journal", "source")),
		})
	}
	if len(probs) > 0 {
		return nil, probs.Sorted()
	}
	s.Start, _ = f.Scenario.StartTime()
	issuer, err := tokens.New(f.Scenario.Keys.SigningKeyPEM)
	if err != nil {
		return nil, scenario.Problems{{File: name, Line: f.Line("keys.signingKeyPEM"), Path: "keys.signingKeyPEM", Message: err.Error(), Hint: "use an RSA key in PKCS#1 or PKCS#8 PEM"}}
	}
	s.Tokens = issuer
	return s, nil
}
