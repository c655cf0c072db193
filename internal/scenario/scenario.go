// Package scenario reads scenario files: the initial world and the rules of a
// sandbox run (credentials, seed data, clock, limits, faults).
//
// A scenario is YAML (JSON works too, being YAML) and is decoded strictly: an
// unknown key, a wrong type or a value that fails validation is reported as a
// Problem that names the file, the line, the field path and a hint. Provider
// sections (top-level keys such as "netrefer") are kept as raw YAML nodes here
// and decoded by the provider that owns them, so the core does not need to
// know any provider's schema.
package scenario

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// CurrentVersion is the only scenario format version this sandbox reads.
const CurrentVersion = 1

// Scenario is the provider-independent part of a scenario file.
type Scenario struct {
	// Version of the file format; must be 1.
	Version int `yaml:"version" json:"version"`
	// Name and Description say what the scenario demonstrates.
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
	// Seed drives every pseudo-random choice, so a run is reproducible.
	Seed int64 `yaml:"seed" json:"seed"`
	// Clock sets where sandbox time starts and whether it runs.
	Clock ClockConfig `yaml:"clock" json:"clock"`
	// Keys fixes the token-signing key; without it a key is generated once per process.
	Keys KeysConfig `yaml:"keys" json:"keys"`
	// HTTP holds limits that apply to every mount.
	HTTP HTTPConfig `yaml:"http" json:"http"`
	// PreferHeader lets a request force its own outcome with
	// `Prefer: status=503` or `Prefer: delay=2s` (default true).
	PreferHeader *bool `yaml:"preferHeader" json:"preferHeader,omitempty"`
	// Reload says what a hot reload (--watch) does with existing namespaces.
	Reload ReloadConfig `yaml:"reload" json:"reload"`
	// Journal says what the request journal keeps.
	Journal JournalConfig `yaml:"journal" json:"journal"`
	// Snapshot names a namespace snapshot file (GET /__sandbox/snapshot),
	// relative to the scenario file, to start from instead of a scenario
	// of its own: the snapshot carries its scenario, clock, faults and
	// provider state. The core reads it (sandbox.LoadScenarioFile).
	Snapshot string `yaml:"snapshot" json:"-"`
	// Source is where GET /__sandbox/scenario says the scenario came from.
	// It is accepted and ignored on load, so that what GET returns can be
	// PUT back unchanged.
	Source string `yaml:"source" json:"-"`

	// Providers holds each provider's section, keyed by provider name,
	// undecoded. Unknown top-level keys land here too and are reported by
	// the core when no provider claims them.
	Providers map[string]yaml.Node `yaml:",inline" json:"-"`
}

// ClockConfig is the scenario's `clock:` section.
type ClockConfig struct {
	// Start is an RFC 3339 instant; empty means the real time.
	Start string `yaml:"start" json:"start,omitempty"`
	// Frozen stops the clock at Start (or at load time) until moved by the admin API.
	Frozen bool `yaml:"frozen" json:"frozen"`
}

// KeysConfig is the scenario's `keys:` section.
type KeysConfig struct {
	// SigningKeyPEM is an RSA private key (PKCS#1 or PKCS#8 PEM) used to sign
	// every token, for byte-reproducible tokens across runs.
	SigningKeyPEM string `yaml:"signingKeyPEM" json:"signingKeyPEM,omitempty"`
}

// HTTPConfig is the scenario's `http:` section.
type HTTPConfig struct {
	// MaxBodyBytes caps request bodies on every mount (default 1 MiB). A
	// provider may set a tighter limit of its own.
	MaxBodyBytes int64 `yaml:"maxBodyBytes" json:"maxBodyBytes,omitempty"`
}

// ReloadConfig is the scenario's `reload:` section.
type ReloadConfig struct {
	// Reset makes a hot reload reset every existing namespace to the new
	// scenario; without it only namespaces created afterwards use it.
	Reset bool `yaml:"reset" json:"reset"`
}

// JournalConfig is the scenario's `journal:` section.
type JournalConfig struct {
	// RedactSecrets replaces credentials, tokens and cookies with a mark
	// in what the journal keeps and serves (default true); false keeps
	// them whole, for debugging a client's authentication.
	RedactSecrets *bool `yaml:"redactSecrets" json:"redactSecrets,omitempty"`
}

// RedactsSecrets reports whether the journal redacts secrets.
func (j JournalConfig) RedactsSecrets() bool { return j.RedactSecrets == nil || *j.RedactSecrets }

// PreferEnabled reports whether the Prefer header may force outcomes.
func (s *Scenario) PreferEnabled() bool { return s.PreferHeader == nil || *s.PreferHeader }

// StartTime parses Clock.Start; the zero time means "real time".
func (s *Scenario) StartTime() (time.Time, error) {
	if s.Clock.Start == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s.Clock.Start)
}

// File is a parsed scenario file: its common part, and the YAML tree that
// provider sections and line look-ups are served from.
type File struct {
	Name     string // file name used in problems
	Source   []byte
	Scenario Scenario
	root     *yaml.Node // document's top mapping
}

// Parse reads a scenario file. It returns every problem it finds in the common
// part; provider sections are checked later with DecodeSection.
func Parse(name string, data []byte) (*File, Problems) {
	f := &File{Name: name, Source: data}
	doc, prob := parseOne(name, data, "a scenario is one YAML document")
	if prob != nil {
		return nil, Problems{*prob}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, Problems{{File: name, Line: 1, Message: "the file is empty", Hint: "start with `version: 1`"}}
	}
	f.root = doc.Content[0]
	if f.root.Kind != yaml.MappingNode {
		return nil, Problems{{File: name, Line: f.root.Line, Message: "a scenario must be a mapping of keys to values", Hint: "start with `version: 1`"}}
	}
	probs := f.dropDuplicateKeys(f.root, "")
	probs = append(probs, f.decode(f.root, &f.Scenario, "")...)
	probs = append(probs, f.validateCommon()...)
	return f, probs
}

// Keys returns the top-level keys the file writes, in file order.
func (f *File) Keys() []string {
	var out []string
	for i := 0; i+1 < len(f.root.Content); i += 2 {
		out = append(out, f.root.Content[i].Value)
	}
	return out
}

// DecodeValue strictly decodes a document that is one mapping (the JSON or
// YAML body of a live-change admin endpoint) into into, reporting unknown
// keys and wrong types with field paths and hints, exactly as in a scenario
// file. name is the file name problems carry. Validation is left to the
// caller, which knows the context (the namespace's current world).
func DecodeValue(name string, data []byte, into any) Problems {
	doc, prob := parseOne(name, data, "send one JSON object and nothing after it")
	if prob != nil {
		return Problems{*prob}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return Problems{{File: name, Message: "the body is empty", Hint: "send a JSON object"}}
	}
	f := &File{Name: name, Source: data, root: doc.Content[0]}
	if f.root.Kind != yaml.MappingNode {
		return Problems{{File: name, Line: f.root.Line, Message: "expected a JSON object", Hint: "send a JSON object of fields, e.g. {\"name\": \"value\"}"}}
	}
	probs := f.dropDuplicateKeys(f.root, "")
	return append(probs, f.decode(f.root, into, "")...).Sorted()
}

// DecodeSection strictly decodes the top-level section key into into (a
// pointer that already holds the provider's defaults). A section that is
// absent leaves the defaults alone. If into implements Validator, its
// problems are returned too, with lines filled in.
func (f *File) DecodeSection(key string, into any) Problems {
	var probs Problems
	if node, ok := f.Scenario.Providers[key]; ok && !(node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		probs = append(probs, f.decode(&node, into, key)...)
	}
	if r, ok := into.(Reconciler); ok {
		r.Reconcile(writtenKeys(f.Scenario.Providers[key]))
	}
	// Validation runs even when decoding found problems, so that one pass
	// reports everything (a bad IP is not hidden behind an unrelated bad
	// duration). yaml.v3 decodes every field it can; a field it could not
	// decode keeps its default, so validation problems at or below a path
	// already reported are dropped as consequences of that report.
	if v, ok := into.(Validator); ok {
		decoded := len(probs)
		for _, p := range v.Validate() {
			p = f.locate(prefixed(key, p))
			if !coveredBy(p.Path, probs[:decoded]) {
				probs = append(probs, p)
			}
		}
	}
	return probs
}

// coveredBy reports whether path is, or lies below, or above the path of
// one of probs: a problem there already explains it.
func coveredBy(path string, probs Problems) bool {
	for _, p := range probs {
		if p.Path == "" {
			return true // a problem with the whole section
		}
		if under(path, p.Path) || under(p.Path, path) {
			return true
		}
	}
	return false
}

// under reports whether path equals or lies below parent in dotted notation.
func under(path, parent string) bool {
	if !strings.HasPrefix(path, parent) {
		return false
	}
	rest := path[len(parent):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// prefixed makes a section-relative problem path file-relative.
func prefixed(key string, p Problem) Problem {
	switch {
	case p.Path == "":
		p.Path = key
	case p.Path == key, strings.HasPrefix(p.Path, key+"."), strings.HasPrefix(p.Path, key+"["):
	case strings.HasPrefix(p.Path, "["):
		p.Path = key + p.Path
	default:
		p.Path = key + "." + p.Path
	}
	return p
}

// Locate makes a problem found outside DecodeSection (paths relative to
// section key) point at its file and line.
func (f *File) Locate(key string, p Problem) Problem { return f.locate(prefixed(key, p)) }

// Reconciler is implemented by configuration types whose defaults depend on
// each other, such as default entries that name a default table's keys.
// DecodeSection calls Reconcile after decoding and before Validate, with a
// function that says whether the section wrote a top-level key, so that a
// default the user never wrote can follow what they did write instead of
// failing validation because of it.
type Reconciler interface {
	Reconcile(written func(key string) bool)
}

// writtenKeys reports the top-level keys of a section's mapping node (none
// for an absent or null section).
func writtenKeys(node yaml.Node) func(key string) bool {
	keys := map[string]bool{}
	if node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(node.Content); i += 2 {
			keys[node.Content[i].Value] = true
		}
	}
	return func(key string) bool { return keys[key] }
}

// Validator is implemented by configuration types that check themselves
// after decoding. Paths in the returned problems are relative to the section.
type Validator interface {
	Validate() []Problem
}

// Problem is one thing wrong with a scenario, located as precisely as possible.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Path    string `json:"path,omitempty"` // dotted field path, e.g. centili.pools[0].totalAmount
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(p.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Problems is a list of problems that is also an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sorted returns the problems ordered by line, for stable output.
func (ps Problems) Sorted() Problems {
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// Problemf is a convenience for Validate implementations.
func Problemf(path, hint, format string, args ...any) Problem {
	return Problem{Path: path, Hint: hint, Message: fmt.Sprintf(format, args...)}
}

func (f *File) validateCommon() Problems {
	var probs Problems
	s := &f.Scenario
	switch {
	case s.Version == 0:
		probs = append(probs, f.locate(Problem{Path: "version", Message: "version is missing", Hint: "add `version: 1` at the top"}))
	case s.Version != CurrentVersion:
		probs = append(probs, f.locate(Problem{Path: "version", Message: fmt.Sprintf("unsupported version %d", s.Version), Hint: "this sandbox reads version 1"}))
	}
	if _, err := s.StartTime(); err != nil {
		probs = append(probs, f.locate(Problem{Path: "clock.start", Message: fmt.Sprintf("clock.start %q is not an RFC 3339 time", s.Clock.Start), Hint: "for example 2026-11-22T10:00:00Z"}))
	}
	if s.HTTP.MaxBodyBytes < 0 {
		probs = append(probs, f.locate(Problem{Path: "http.maxBodyBytes", Message: "http.maxBodyBytes must not be negative", Hint: "omit it for the default of 1048576"}))
	}
	if s.Keys.SigningKeyPEM != "" && !strings.Contains(s.Keys.SigningKeyPEM, "PRIVATE KEY") {
		probs = append(probs, f.locate(Problem{Path: "keys.signingKeyPEM", Message: "keys.signingKeyPEM is not a PEM private key", Hint: "paste the output of `openssl genrsa 2048`"}))
	}
	return probs
}

// decode strictly decodes node into out and turns yaml.v3's errors into
// located problems. prefix is the path of node in the file.
func (f *File) decode(node *yaml.Node, out any, prefix string) Problems {
	// Decoding straight from the node keeps the file's line numbers in
	// yaml.v3's errors. Node.Decode has no strict mode, so unknown keys are
	// found by walking the node next to the Go type (unknownKeys), which also
	// lets us name the field path and suggest the key that was meant.
	var probs Problems
	if err := node.Decode(out); err != nil {
		probs = append(probs, f.typeErrors(err, out, prefix)...)
	}
	probs = append(probs, f.unknownKeys(node, out, prefix)...)
	return probs
}

// typeErrors converts a yaml.TypeError (whose messages carry the original
// line numbers, since we decode from the node) into problems. The Go type
// yaml.v3 names is described in a user's words, found among the types
// reachable from out.
func (f *File) typeErrors(err error, out any, prefix string) Problems {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Problems{{File: f.Name, Path: prefix, Message: err.Error()}}
	}
	var sh shapes
	var probs Problems
	for _, msg := range te.Errors {
		line := 0
		rest := msg
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			if i := strings.Index(msg, ": "); i >= 0 {
				rest = msg[i+2:]
			}
		}
		if strings.HasPrefix(rest, "field ") && strings.Contains(rest, " not found in type") {
			continue // reported by unknownKeys, with a path and a suggestion
		}
		if sh == nil {
			sh = shapesOf(reflect.TypeOf(out))
		}
		var collection yaml.Kind
		switch {
		case strings.HasPrefix(rest, "cannot unmarshal !!seq "):
			collection = yaml.SequenceNode
		case strings.HasPrefix(rest, "cannot unmarshal !!map "):
			collection = yaml.MappingNode
		}
		p := Problem{File: f.Name, Line: line, Path: f.pathAtLine(line, offendingValue(rest), prefix, collection)}
		p.Message, p.Hint = humanTypeError(rest, sh)
		probs = append(probs, p)
	}
	return probs
}

// offendingValue is the value quoted in a type error: yaml.v3's backquoted
// one ("cannot unmarshal !!str `lots` into int64" → "lots"; yaml.v3 cuts a
// value longer than ten characters to its first seven and "...", which is
// kept so that pathAtLine matches it as a prefix), or the Go-quoted one a
// custom decoder such as Duration's leads with ("\"soon\" is not a
// duration" → "soon"); else "".
func offendingValue(msg string) string {
	if strings.HasPrefix(msg, `"`) {
		if q, err := strconv.QuotedPrefix(msg); err == nil {
			v, _ := strconv.Unquote(q)
			return v
		}
	}
	_, rest, ok := strings.Cut(msg, "`")
	if !ok {
		return ""
	}
	v, _, ok := strings.Cut(rest, "`")
	if !ok {
		return ""
	}
	return v
}

// valueMatches reports whether a scalar's text is the value a type error
// quoted, allowing for yaml.v3's "first seven characters..." cut.
func valueMatches(text, quoted string) bool {
	if text == quoted {
		return true
	}
	head, cut := strings.CutSuffix(quoted, "...")
	return cut && len(text) > 10 && strings.HasPrefix(text, head)
}

// humanTypeError rewrites a yaml.v3 type error ("cannot unmarshal !!str
// `abc` into faults.Delay") as what was found and what was expected, in
// words ("\"abc\" is a string, expected a mapping {fixed: 2s} or ..."),
// with a hint. Messages of our own decoders (scenario.Duration) pass
// through with their hint.
func humanTypeError(msg string, sh shapes) (message, hint string) {
	rest, ok := strings.CutPrefix(msg, "cannot unmarshal ")
	if !ok {
		if strings.Contains(msg, "is not a duration") || strings.Contains(msg, "expected a duration") {
			return msg, "a number and a unit: 500ms, 90s, 10m or 1h30m"
		}
		return msg, ""
	}
	var kind, val, into string
	if i := strings.Index(rest, " into "); i >= 0 {
		into = rest[i+len(" into "):]
		rest = rest[:i]
	}
	if j := strings.Index(rest, " "); j >= 0 {
		kind, val = rest[:j], rest[j+1:]
	} else {
		kind = rest
	}
	what := map[string]string{"!!str": "a string", "!!int": "a number", "!!float": "a number", "!!bool": "a boolean", "!!map": "a mapping", "!!seq": "a list", "!!null": "null", "!!timestamp": "a timestamp"}[kind]
	if what == "" {
		what = "a value of another kind"
	}
	expected, hint := sh.describe(into)
	if val != "" {
		return fmt.Sprintf("%q is %s, expected %s", strings.Trim(val, "`"), what, expected), hint
	}
	return fmt.Sprintf("found %s, expected %s", what, expected), hint
}

func syntaxProblem(name string, err error) Problem {
	msg := err.Error()
	line := 0
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i:], "line %d", &line)
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return Problem{File: name, Line: line, Message: "not valid YAML or JSON: " + msg, Hint: "check indentation (spaces, not tabs) and quoting around this line"}
}

// ReadAll reads a scenario from r with a size cap, so that an admin upload
// cannot exhaust memory.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("scenario larger than %d bytes", max)
	}
	return data, nil
}
