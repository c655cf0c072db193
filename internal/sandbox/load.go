package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	// Snapshot, when set, is restored into every world built from the
	// scenario (ParseSnapshot): a reset goes back to it.
	Snapshot *Snapshot
}

// Common returns the provider-independent part of the scenario.
func (s *Scenario) Common() *scenario.Scenario { return &s.File.Scenario }

// LoadScenario parses and checks a scenario file against every registered
// provider. It returns all problems at once, located in the file. A
// scenario loaded this way (sent over the admin API, embedded) cannot name
// a snapshot file: only LoadScenarioFile reads one.
func LoadScenario(name string, data []byte) (*Scenario, scenario.Problems) {
	return loadScenario(name, data, nil)
}

// LoadScenarioFile is LoadScenario for a scenario read from the file at
// path: a `snapshot:` key in it names a snapshot file relative to path's
// directory (or absolute), which the namespaces then start from.
func LoadScenarioFile(path string, data []byte) (*Scenario, scenario.Problems) {
	return loadScenario(path, data, func(rel string) (string, []byte, error) {
		if !filepath.IsAbs(rel) {
			rel = filepath.Join(filepath.Dir(path), rel)
		}
		st, err := os.Stat(rel)
		if err == nil && st.Size() > MaxSnapshotBytes {
			return rel, nil, fmt.Errorf("it is larger than %d bytes", MaxSnapshotBytes)
		}
		b, err := os.ReadFile(rel)
		return rel, b, err
	})
}

// snapshotKeys are the keys a scenario that names a snapshot may write
// beside it; everything else comes from the snapshot.
var snapshotKeys = map[string]bool{"version": true, "name": true, "description": true, "snapshot": true, "source": true}

func loadScenario(name string, data []byte, read func(rel string) (path string, data []byte, err error)) (*Scenario, scenario.Problems) {
	f, probs := scenario.Parse(name, data)
	if f == nil {
		return nil, probs
	}
	if f.Scenario.Snapshot != "" {
		return fromSnapshot(f, probs, read)
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
			Hint:    scenario.Suggest(k, append(known, "version", "name", "description", "seed", "clock", "keys", "http", "faults", "hosts", "preferHeader", "reload", "journal", "source", "snapshot")),
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

// fromSnapshot loads a scenario file that names a snapshot: the snapshot
// file is read, parsed and restored once into a world that is thrown away,
// so that every problem shows when the scenario is loaded, located at its
// snapshot key.
func fromSnapshot(f *scenario.File, probs scenario.Problems, read func(string) (string, []byte, error)) (*Scenario, scenario.Problems) {
	at := func(path, hint, format string, args ...any) scenario.Problem {
		return scenario.Problem{File: f.Name, Line: f.Line(path), Path: path, Message: fmt.Sprintf(format, args...), Hint: hint}
	}
	for _, k := range f.Keys() {
		if !snapshotKeys[k] {
			probs = append(probs, at(k, "the snapshot carries the scenario its namespace was built from; change that scenario and save a new snapshot",
				"%s cannot be combined with snapshot: only version, name, description and snapshot are read beside it", k))
		}
	}
	if read == nil {
		probs = append(probs, at("snapshot", "PUT the snapshot file to /__sandbox/snapshot instead",
			"a scenario sent to the sandbox cannot name a snapshot file; only a scenario file (--scenario, sandbox scenario validate) can"))
	}
	if len(probs) > 0 {
		return nil, probs.Sorted()
	}
	path, data, err := read(f.Scenario.Snapshot)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, scenario.Problems{at("snapshot", "the path is relative to the scenario file; save one with sandbox snapshot save -o FILE",
				"snapshot file %s does not exist", path)}
		}
		return nil, scenario.Problems{at("snapshot", "", "snapshot file %s cannot be read: %v", path, err)}
	}
	sc, err := ParseSnapshot(data)
	if err == nil {
		err = CheckSnapshot(sc)
	}
	if err != nil {
		var se *SnapshotError
		if errors.As(err, &se) && len(se.Problems) > 0 {
			out := scenario.Problems{at("snapshot", "", "snapshot file %s is refused: %s", path, se.Detail)}
			for _, p := range se.Problems {
				out = append(out, at("snapshot", "", "snapshot file %s: %s", path, p.String()))
			}
			return nil, out
		}
		return nil, scenario.Problems{at("snapshot", "save it again with GET /__sandbox/snapshot (sandbox snapshot save)", "snapshot file %s is refused: %v", path, err)}
	}
	return sc, nil
}
