// Package faults scripts misbehaviour: rules that match requests and make the
// sandbox answer with an error, slow down, drop the connection, hang, cut a
// body short or throttle — reproducibly, per namespace.
//
// A rule is written in a scenario (`faults:`) or posted at run time to
// /__sandbox/faults. Matching is cheap (compiled regexes, cheapest checks
// first, the body parsed at most once and only when a rule needs it), so
// hundreds of rules cost microseconds per request.
package faults

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// Rule is one fault rule as written in a scenario or posted to the admin API.
type Rule struct {
	// ID names the rule in the journal and the admin API; generated when empty.
	ID          string `yaml:"id" json:"id"`
	Description string `yaml:"description" json:"description,omitempty"`
	Match       Match  `yaml:"match" json:"match"`

	// Actions. Several may combine: delay runs first, then at most one of
	// respond, throttle, reset, hang; cutBody lets the handler answer and
	// cuts its body short.
	Respond  *Respond  `yaml:"respond" json:"respond,omitempty"`
	Delay    *Delay    `yaml:"delay" json:"delay,omitempty"`
	Reset    bool      `yaml:"reset" json:"reset,omitempty"`
	Hang     bool      `yaml:"hang" json:"hang,omitempty"`
	CutBody  bool      `yaml:"cutBody" json:"cutBody,omitempty"`
	Throttle *Throttle `yaml:"throttle" json:"throttle,omitempty"`

	// Lifetime. Times: fire at most N times (0 = no limit). After: let the
	// first N matching requests through. From/Until: a window on the sandbox
	// clock (RFC 3339). StartIn/For: a window relative to the moment the rule
	// is loaded into a namespace ("503 for five minutes from now").
	Times   int    `yaml:"times" json:"times,omitempty"`
	After   int    `yaml:"after" json:"after,omitempty"`
	From    string `yaml:"from" json:"from,omitempty"`
	Until   string `yaml:"until" json:"until,omitempty"`
	StartIn string `yaml:"startIn" json:"startIn,omitempty"`
	For     string `yaml:"for" json:"for,omitempty"`
}

// Match selects requests. Every field set must match; regexes are Go RE2.
type Match struct {
	Provider  string `yaml:"provider" json:"provider,omitempty"`
	Operation string `yaml:"operation" json:"operation,omitempty"` // operationId
	Method    string `yaml:"method" json:"method,omitempty"`
	// Path is a regex on the path below the mount, e.g. ^/di/v1/deposits$.
	Path string `yaml:"path" json:"path,omitempty"`
	// Headers, Query: name → regex on the value (a missing one never matches).
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	Query   map[string]string `yaml:"query" json:"query,omitempty"`
	// Body: dotted JSON path (items.0.msisdn) → regex on the value's text.
	Body map[string]string `yaml:"body" json:"body,omitempty"`
	// Namespace is a regex on the namespace name.
	Namespace string `yaml:"namespace" json:"namespace,omitempty"`
	// Nth fires only on the n-th matching request (1-based).
	Nth int `yaml:"nth" json:"nth,omitempty"`
	// Probability in [0, 1] draws from the scenario's seeded generator.
	Probability *float64 `yaml:"probability" json:"probability,omitempty"`
}

// Respond answers instead of the handler: with the provider's native error
// body for Status, or with a literal Body and Headers when Body is set.
type Respond struct {
	Status  int               `yaml:"status" json:"status"`
	Body    string            `yaml:"body" json:"body,omitempty"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
}

// Delay waits before anything else happens: Fixed, or uniformly in [Min, Max].
type Delay struct {
	Fixed string `yaml:"fixed" json:"fixed,omitempty"`
	Min   string `yaml:"min" json:"min,omitempty"`
	Max   string `yaml:"max" json:"max,omitempty"`
}

// Throttle answers the provider's own 429 with its headers.
type Throttle struct {
	RetryAfter int `yaml:"retryAfter" json:"retryAfter"`
}

// ScenarioShape words a type error at delay: the rule takes a mapping, and
// a bare duration is the likely mistake.
func (Delay) ScenarioShape() (expected, hint string) {
	return "a mapping {fixed: 2s} or {min: 1s, max: 3s}",
		"delay waits a fixed time or a random time in a range: write delay: {fixed: 2s} or delay: {min: 1s, max: 3s}"
}

// ScenarioShape words a type error at respond (`respond: 503` is the likely
// mistake).
func (Respond) ScenarioShape() (expected, hint string) {
	return "a mapping such as {status: 503}",
		"write respond: {status: 503}; add body and headers to answer with a literal response"
}

// ScenarioShape words a type error at throttle.
func (Throttle) ScenarioShape() (expected, hint string) {
	return "a mapping such as {retryAfter: 30}",
		"write throttle: {retryAfter: 30}, the seconds for the 429's Retry-After"
}

// ScenarioShape words a type error at match.
func (Match) ScenarioShape() (expected, hint string) {
	return "a mapping of conditions such as {provider: centili, operation: assignData}",
		"write match: {provider: ..., operation: ...}; every condition given must hold"
}

// Operations tells validation which providers and operationIds exist, so a
// rule that can never match is refused when it is loaded.
type Operations interface {
	HasProvider(name string) bool
	HasOperation(provider, operationID string) bool
	OperationNames(provider string) []string
	ProviderNames() []string
}

// httpMethods are the methods match.method may name.
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// List is the `faults:` section of a scenario.
type List []Rule

// compiled is a rule ready to match.
type compiled struct {
	Rule
	path, namespace *regexp.Regexp
	headers, query  []kv
	body            []kv
	from, until     time.Time // zero = open
	startIn, dur    time.Duration
	delayMin        time.Duration
	delayMax        time.Duration
	method          string
}

type kv struct {
	key string
	re  *regexp.Regexp
}

// Check validates a list of rules; paths are relative to the section
// ("[2].match.operation"), for scenario.File.DecodeSection to prefix.
func (l List) Check(ops Operations) []scenario.Problem {
	var out []scenario.Problem
	ids := map[string]int{}
	for i := range l {
		prefix := fmt.Sprintf("[%d]", i)
		_, probs := compile(&l[i], ops)
		for _, p := range probs {
			p.Path = prefix + "." + p.Path
			out = append(out, p)
		}
		if id := l[i].ID; id != "" {
			if j, dup := ids[id]; dup {
				out = append(out, scenario.Problemf(prefix+".id", "give every rule its own id", "id %q is already used by rule %d", id, j))
			}
			ids[id] = i
		}
	}
	return out
}

// compile checks a rule and prepares it for matching. Problem paths are
// relative to the rule.
func compile(r *Rule, ops Operations) (*compiled, []scenario.Problem) {
	c := &compiled{Rule: *r, method: strings.ToUpper(r.Match.Method)}
	var probs []scenario.Problem
	bad := func(path, hint, format string, args ...any) {
		probs = append(probs, scenario.Problemf(path, hint, format, args...))
	}
	re := func(path, expr string) *regexp.Regexp {
		if expr == "" {
			return nil
		}
		x, err := regexp.Compile(expr)
		if err != nil {
			bad(path, "use Go (RE2) syntax; escape literal dots as \\.", "regex %q does not compile: %v", expr, err)
		}
		return x
	}
	m := r.Match
	if m.Provider != "" && ops != nil && !ops.HasProvider(m.Provider) {
		bad("match.provider", scenario.SuggestOneOf(m.Provider, ops.ProviderNames()), "unknown provider %q", m.Provider)
	}
	if m.Operation != "" && ops != nil {
		if m.Provider == "" {
			bad("match.operation", "name the provider too, e.g. match: {provider: centili, operation: ...}", "operation %q needs match.provider", m.Operation)
		} else if ops.HasProvider(m.Provider) && !ops.HasOperation(m.Provider, m.Operation) {
			bad("match.operation", scenario.SuggestOneOf(m.Operation, ops.OperationNames(m.Provider)),
				"provider %q has no operation %q, so this rule can never match", m.Provider, m.Operation)
		}
	}
	if c.method != "" {
		switch c.method {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		default:
			bad("match.method", scenario.SuggestOneOf(c.method, httpMethods), "unknown method %q", m.Method)
		}
	}
	c.path = re("match.path", m.Path)
	c.namespace = re("match.namespace", m.Namespace)
	for _, name := range sortedKeys(m.Headers) {
		c.headers = append(c.headers, kv{http.CanonicalHeaderKey(name), re("match.headers."+name, m.Headers[name])})
	}
	for _, name := range sortedKeys(m.Query) {
		c.query = append(c.query, kv{name, re("match.query."+name, m.Query[name])})
	}
	for _, name := range sortedKeys(m.Body) {
		c.body = append(c.body, kv{name, re("match.body."+name, m.Body[name])})
	}
	if m.Nth < 0 {
		bad("match.nth", "1 is the first matching request", "nth must be positive, got %d", m.Nth)
	}
	if p := m.Probability; p != nil && (*p < 0 || *p > 1) {
		bad("match.probability", "0.25 means one request in four", "probability %v is outside [0, 1]", *p)
	}
	if r.Times < 0 {
		bad("times", "omit it for no limit", "times must not be negative, got %d", r.Times)
	}
	if r.After < 0 {
		bad("after", "omit it to fire from the first request", "after must not be negative, got %d", r.After)
	}
	parseTime := func(path, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			bad(path, "for example 2026-11-22T10:00:00Z", "%q is not an RFC 3339 time", s)
		}
		return t
	}
	c.from = parseTime("from", r.From)
	c.until = parseTime("until", r.Until)
	if !c.from.IsZero() && !c.until.IsZero() && !c.until.After(c.from) {
		bad("until", "until must be after from", "the window [%s, %s) is empty, so this rule can never fire", r.From, r.Until)
	}
	parseDur := func(path, s string, allowZero bool) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || (d == 0 && !allowZero) {
			bad(path, "a Go duration such as 500ms, 30s or 5m", "%q is not a positive duration", s)
		}
		return d
	}
	c.startIn = parseDur("startIn", r.StartIn, true)
	c.dur = parseDur("for", r.For, false)
	if (r.From != "" || r.Until != "") && (r.StartIn != "" || r.For != "") {
		bad("for", "use from/until for fixed times or startIn/for relative to loading, not both", "absolute and relative windows are mixed")
	}

	terminal := 0
	if r.Respond != nil {
		terminal++
		st := r.Respond.Status
		if st < 100 || st > 599 {
			bad("respond.status", "an HTTP status such as 503", "status %d is not an HTTP status", st)
		} else if r.Respond.Body == "" && st < 400 {
			bad("respond.status", "give a literal body for a success answer, or use a 4xx/5xx status", "the provider's native error shape needs an error status, got %d", st)
		}
	}
	if r.Throttle != nil {
		terminal++
		if r.Throttle.RetryAfter < 0 {
			bad("throttle.retryAfter", "seconds until the client may retry", "retryAfter must not be negative")
		}
	}
	if r.Reset {
		terminal++
	}
	if r.Hang {
		terminal++
	}
	if terminal > 1 {
		bad("respond", "combine delay with one of them; cutBody works with the handler's own answer", "respond, throttle, reset and hang exclude each other")
	}
	if r.CutBody && terminal > 0 {
		bad("cutBody", "cutBody cuts the handler's own answer; drop respond/throttle/reset/hang", "cutBody cannot combine with respond, throttle, reset or hang")
	}
	if d := r.Delay; d != nil {
		if d.Fixed != "" && (d.Min != "" || d.Max != "") {
			bad("delay", "either fixed: 2s, or min: 100ms with max: 2s", "fixed and min/max exclude each other")
		}
		if d.Fixed != "" {
			c.delayMin = parseDur("delay.fixed", d.Fixed, false)
			c.delayMax = c.delayMin
		} else {
			c.delayMin = parseDur("delay.min", d.Min, true)
			c.delayMax = parseDur("delay.max", d.Max, false)
			if c.delayMax < c.delayMin {
				bad("delay.max", "max must be at least min", "delay range [%s, %s] is empty", d.Min, d.Max)
			}
		}
	}
	if terminal == 0 && !r.CutBody && r.Delay == nil {
		bad("respond", "give respond, delay, throttle, reset, hang or cutBody", "the rule does nothing")
	}
	return c, probs
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// ParsePrefer reads the Prefer header's sandbox tokens: status=NNN and
// delay=DURATION (Prism-style). Other preferences (return=minimal, ...) are
// ignored. ok is false when the header asks nothing of the sandbox.
//
// Only an error status (400-599) can be forced. A success or redirect
// status is refused rather than faked: the sandbox would have to invent a
// body the operation never produced (an empty 200 is not what any provider
// answers), and a client that wants the success answer gets it by leaving
// status= out. The error text is the whole message every provider answers
// with, in its own error shape, so it reads the same everywhere.
func ParsePrefer(h string) (status int, delay time.Duration, ok bool, err error) {
	for _, part := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch key := strings.ToLower(strings.TrimSpace(k)); key {
		case "status", "code":
			n, e := strconv.Atoi(v)
			switch {
			case e != nil || n < 100 || n > 599:
				return 0, 0, false, fmt.Errorf("Prefer: %s=%s is not an HTTP status; only an error status (400-599) can be forced, e.g. Prefer: status=503", key, v)
			case n < 400:
				return 0, 0, false, fmt.Errorf("Prefer: %s=%d is refused: only an error status (400-599) can be forced; without %s= the operation answers normally", key, n, key)
			}
			status, ok = n, true
		case "delay":
			d, e := time.ParseDuration(v)
			if e != nil {
				if ms, e2 := strconv.Atoi(v); e2 == nil {
					d, e = time.Duration(ms)*time.Millisecond, nil
				}
			}
			if e != nil || d < 0 || d > 5*time.Minute {
				return 0, 0, false, fmt.Errorf("Prefer: delay=%s is not a duration up to 5m, e.g. Prefer: delay=2s (or delay=1500 for milliseconds)", v)
			}
			delay, ok = d, true
		}
	}
	return status, delay, ok, nil
}
