package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// Request is what a rule can look at.
type Request struct {
	Provider  string
	Operation string
	Method    string
	Path      string // below the mount
	RawQuery  string
	Namespace string
	Header    http.Header
	Body      []byte
	Now       time.Time // sandbox clock

	query     url.Values
	parsed    bool
	bodyValue any
	bodyOK    bool
}

// Decision is what the fired rules ask for, combined.
type Decision struct {
	// Rules lists the ids of the rules that fired, for the journal.
	Rules    []string
	Delay    time.Duration
	Respond  *Respond
	Throttle *Throttle
	Reset    bool
	Hang     bool
	CutBody  bool
}

// Fired reports whether any rule fired.
func (d Decision) Fired() bool { return len(d.Rules) > 0 }

// live is a compiled rule with its counters in one namespace.
type live struct {
	*compiled
	start, end time.Time // window on the sandbox clock; zero = open
	seen       int       // requests that matched the criteria
	fired      int
}

// Set is the rules of one namespace with their counters. It is safe for
// concurrent use.
type Set struct {
	mu     sync.Mutex
	rules  []*live
	rng    *rand.Rand
	src    *rand.PCG // rng's source, whose state a snapshot saves
	nextID int
	ops    Operations
	// count mirrors len(rules) so that the per-request "any rules?" check
	// takes no lock.
	count atomic.Int32
}

// NewSet loads rules into a namespace whose sandbox clock reads now; relative
// windows (startIn/for) start from now. seed drives probabilities.
func NewSet(rules List, ops Operations, seed int64, now time.Time) (*Set, []scenario.Problem) {
	src := rand.NewPCG(uint64(seed), 0x5eed)
	s := &Set{rng: rand.New(src), src: src, ops: ops}
	var probs []scenario.Problem
	for i := range rules {
		if _, p := s.add(rules[i], now); len(p) > 0 {
			for _, pr := range p {
				pr.Path = fmt.Sprintf("[%d].%s", i, pr.Path)
				probs = append(probs, pr)
			}
		}
	}
	return s, probs
}

// Add compiles and appends a rule at run time, returning it with its id.
func (s *Set) Add(r Rule, now time.Time) (Rule, []scenario.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(r, now)
}

func (s *Set) add(r Rule, now time.Time) (Rule, []scenario.Problem) {
	c, probs := compile(&r, s.ops)
	if len(probs) > 0 {
		return r, probs
	}
	if c.ID == "" {
		for {
			s.nextID++
			c.ID = "rule-" + strconv.Itoa(s.nextID)
			if s.find(c.ID) < 0 {
				break
			}
		}
	} else if s.find(c.ID) >= 0 {
		return r, []scenario.Problem{scenario.Problemf("id", "choose another id or DELETE the old rule first", "a rule with id %q exists", c.ID)}
	}
	l := &live{compiled: c, start: c.from, end: c.until}
	if c.startIn > 0 || c.dur > 0 {
		l.start = now.Add(c.startIn)
		if c.dur > 0 {
			l.end = l.start.Add(c.dur)
		}
	}
	s.rules = append(s.rules, l)
	s.count.Store(int32(len(s.rules)))
	return c.Rule, nil
}

func (s *Set) find(id string) int {
	for i, l := range s.rules {
		if l.ID == id {
			return i
		}
	}
	return -1
}

// Remove deletes a rule by id.
func (s *Set) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return false
	}
	s.rules = append(s.rules[:i:i], s.rules[i+1:]...)
	s.count.Store(int32(len(s.rules)))
	return true
}

// View is a rule with its counters, as the admin API lists it.
type View struct {
	Rule
	Matched     int        `json:"matched"`
	Fired       int        `json:"fired"`
	ActiveFrom  *time.Time `json:"activeFrom,omitempty"`
	ActiveUntil *time.Time `json:"activeUntil,omitempty"`
}

// List returns every rule with its counters, in evaluation order.
func (s *Set) List() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

func (s *Set) listLocked() []View {
	out := make([]View, 0, len(s.rules))
	for _, l := range s.rules {
		v := View{Rule: l.Rule, Matched: l.seen, Fired: l.fired}
		if !l.start.IsZero() {
			t := l.start
			v.ActiveFrom = &t
		}
		if !l.end.IsZero() {
			t := l.end
			v.ActiveUntil = &t
		}
		out = append(out, v)
	}
	return out
}

// Saved is a rule set as a namespace snapshot keeps it: every rule with
// its counters and window in evaluation order, the id counter and the
// seeded generator's state, so the restored set fires exactly as this one
// would have.
type Saved struct {
	Rules  []View `json:"rules"`
	NextID int    `json:"nextId"`
	// Generator is the PCG state (math/rand/v2's binary form, base64).
	Generator []byte `json:"generator"`
}

// Save returns the set for a snapshot.
func (s *Set) Save() Saved {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen, _ := s.src.MarshalBinary() // PCG's never fails
	// A rule's window is kept as it was fixed when the rule was loaded
	// (activeFrom/activeUntil), startIn/for included.
	return Saved{Rules: s.listLocked(), NextID: s.nextID, Generator: gen}
}

// Restore replaces the rules, counters and generator of the set with
// saved ones. Problem paths are relative to the saved value ("rules[2].match.operation").
// On a problem the set is left as it was.
func (s *Set) Restore(v Saved) []scenario.Problem {
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(v.Generator); err != nil {
		return []scenario.Problem{scenario.Problemf("generator", "save the snapshot again", "the generator state is not a PCG state: %v", err)}
	}
	var probs []scenario.Problem
	var rules []*live
	seen := map[string]bool{}
	for i, sr := range v.Rules {
		c, p := compile(&sr.Rule, s.ops)
		path := fmt.Sprintf("rules[%d]", i)
		for _, pr := range p {
			pr.Path = path + "." + pr.Path
			probs = append(probs, pr)
		}
		switch {
		case len(p) > 0:
			continue
		case c.ID == "":
			probs = append(probs, scenario.Problemf(path+".id", "a saved rule always has its id", "the rule has no id"))
			continue
		case seen[c.ID]:
			probs = append(probs, scenario.Problemf(path+".id", "give every rule its own id", "id %q is used twice", c.ID))
			continue
		case sr.Matched < 0 || sr.Fired < 0 || sr.Fired > sr.Matched:
			probs = append(probs, scenario.Problemf(path, "counters come from a running sandbox", "matched %d and fired %d are not counters of one rule", sr.Matched, sr.Fired))
			continue
		}
		seen[c.ID] = true
		l := &live{compiled: c, seen: sr.Matched, fired: sr.Fired}
		if sr.ActiveFrom != nil {
			l.start = *sr.ActiveFrom
		}
		if sr.ActiveUntil != nil {
			l.end = *sr.ActiveUntil
		}
		rules = append(rules, l)
	}
	if v.NextID < 0 {
		probs = append(probs, scenario.Problemf("nextId", "", "nextId must not be negative, got %d", v.NextID))
	}
	if len(probs) > 0 {
		return probs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules, s.nextID, s.src, s.rng = rules, v.NextID, src, rand.New(src)
	s.count.Store(int32(len(rules)))
	return nil
}

// Len returns the number of rules.
func (s *Set) Len() int { return int(s.count.Load()) }

// Clear removes every rule.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
	s.count.Store(0)
}

// Evaluate runs every rule against the request, updates counters and
// returns what the fired rules ask for. Delays add up; the first terminal
// action (respond, throttle, reset, hang) wins.
func (s *Set) Evaluate(req *Request) Decision {
	var d Decision
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.rules {
		if !l.matches(req) {
			continue
		}
		l.seen++
		if l.Match.Nth > 0 && l.seen != l.Match.Nth {
			continue
		}
		if l.seen <= l.After {
			continue
		}
		if l.Times > 0 && l.fired >= l.Times {
			continue
		}
		if p := l.Match.Probability; p != nil && s.rng.Float64() >= *p {
			continue
		}
		l.fired++
		d.Rules = append(d.Rules, l.ID)
		if l.delayMax > 0 {
			delay := l.delayMin
			if l.delayMax > l.delayMin {
				delay += time.Duration(s.rng.Int64N(int64(l.delayMax - l.delayMin + 1)))
			}
			d.Delay += delay
		}
		terminal := d.Respond != nil || d.Throttle != nil || d.Reset || d.Hang
		if !terminal {
			d.Respond, d.Throttle, d.Reset, d.Hang = l.Respond, l.Throttle, l.Reset, l.Hang
		}
		d.CutBody = d.CutBody || l.CutBody
	}
	return d
}

// matches checks the static criteria, cheapest first.
func (l *live) matches(r *Request) bool {
	m := &l.Match
	if m.Provider != "" && m.Provider != r.Provider {
		return false
	}
	if m.Operation != "" && m.Operation != r.Operation {
		return false
	}
	if l.method != "" && l.method != r.Method {
		return false
	}
	if !l.start.IsZero() && r.Now.Before(l.start) {
		return false
	}
	if !l.end.IsZero() && !r.Now.Before(l.end) {
		return false
	}
	if l.path != nil && !l.path.MatchString(r.Path) {
		return false
	}
	if l.namespace != nil && !l.namespace.MatchString(r.Namespace) {
		return false
	}
	for _, h := range l.headers {
		vals, ok := r.Header[h.key]
		if !ok || !anyMatch(h.re, vals) {
			return false
		}
	}
	if len(l.query) > 0 {
		if !r.parsed {
			r.query, _ = url.ParseQuery(r.RawQuery)
			r.parsed = true
		}
		for _, q := range l.query {
			vals, ok := r.query[q.key]
			if !ok || !anyMatch(q.re, vals) {
				return false
			}
		}
	}
	if len(l.body) > 0 {
		if !r.bodyOK {
			dec := json.NewDecoder(bytes.NewReader(r.Body))
			dec.UseNumber()
			if dec.Decode(&r.bodyValue) != nil {
				r.bodyValue = nil
			}
			r.bodyOK = true
		}
		for _, b := range l.body {
			if !jsonPathMatches(r.bodyValue, strings.Split(b.key, "."), b.re) {
				return false
			}
		}
	}
	return true
}

func anyMatch(re *regexp.Regexp, vals []string) bool {
	for _, v := range vals {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// jsonPathMatches follows a dotted path; a numeric segment indexes an array,
// any other segment applied to an array matches if any element matches (so
// `eventId` finds an event anywhere in a batch).
func jsonPathMatches(v any, path []string, re *regexp.Regexp) bool {
	if len(path) == 0 {
		switch x := v.(type) {
		case string:
			return re.MatchString(x)
		case json.Number:
			return re.MatchString(x.String())
		case bool:
			return re.MatchString(strconv.FormatBool(x))
		case nil:
			return re.MatchString("null")
		}
		return false
	}
	switch x := v.(type) {
	case map[string]any:
		child, ok := x[path[0]]
		return ok && jsonPathMatches(child, path[1:], re)
	case []any:
		if i, err := strconv.Atoi(path[0]); err == nil {
			return i >= 0 && i < len(x) && jsonPathMatches(x[i], path[1:], re)
		}
		for _, item := range x {
			if jsonPathMatches(item, path, re) {
				return true
			}
		}
	}
	return false
}
