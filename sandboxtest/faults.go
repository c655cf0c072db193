package sandboxtest

import (
	"net/http"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
)

// Fault is a fault rule: which requests it matches and what it does to
// them. It is the admin API's rule (POST /__sandbox/faults; the same as a
// scenario's faults: entry) with Go types for times and durations; zero
// fields are left out. docs/scenarios.md describes every field.
//
//	sb.AddFault(sandboxtest.Fault{
//		Match:   sandboxtest.FaultMatch{Provider: "centili", Operation: "assignData"},
//		Respond: &sandboxtest.FaultResponse{Status: 503},
//		Times:   2, // fail twice, then let requests through
//	})
type Fault struct {
	// ID names the rule in the journal (Request.Faults); the sandbox picks
	// one when empty.
	ID          string
	Description string
	Match       FaultMatch

	// Actions: Delay runs first, then at most one of Respond, Throttle,
	// Reset (the connection) and Hang; CutBody lets the provider answer and
	// cuts its body short.
	Respond  *FaultResponse
	Delay    *FaultDelay
	Reset    bool
	Hang     bool
	CutBody  bool
	Throttle *FaultThrottle

	// Times fires at most this many times (0: no limit); After lets the
	// first After matching requests through.
	Times int
	After int
	// From and Until bound the rule to a window of sandbox time; StartIn
	// and For to a window that begins when the rule is added.
	From, Until  time.Time
	StartIn, For time.Duration
}

// FaultMatch selects requests; every field given must match. Path,
// Namespace and the values of Headers, Query and Body are regular
// expressions (Go RE2); Body keys are dotted JSON paths such as
// items.0.msisdn.
type FaultMatch struct {
	Provider  string
	Operation string // an operationId, e.g. assignData
	Method    string
	Path      string // below the provider's mount, e.g. ^/di/v1/deposits$
	Headers   map[string]string
	Query     map[string]string
	Body      map[string]string
	Namespace string
	// Nth fires only on the n-th matching request (1-based).
	Nth int
	// Probability in (0, 1] draws from the scenario's seeded generator; 0
	// means always.
	Probability float64
}

// FaultResponse answers instead of the provider: with the provider's own
// error body for Status, or with Body and Headers as given (a literal
// answer, which is not checked against the provider's document).
type FaultResponse struct {
	Status  int
	Body    string
	Headers map[string]string
}

// FaultDelay waits before anything else: Fixed, or a random time in
// [Min, Max] drawn from the scenario's seed.
type FaultDelay struct {
	Fixed, Min, Max time.Duration
}

// FaultThrottle answers the provider's own 429 with its rate-limit headers
// and Retry-After in seconds.
type FaultThrottle struct {
	RetryAfter int
}

// opt returns a pointer to v, or nil for the zero value: the admin API's
// rule leaves out what is not set.
func opt[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// optList is opt for a filter the API lets repeat: one value, or none.
func optList[T comparable](v T) *[]T {
	var zero T
	if v == zero {
		return nil
	}
	return &[]T{v}
}

// optMap is opt for maps: nil for an empty one.
func optMap(m map[string]string) *map[string]string {
	if len(m) == 0 {
		return nil
	}
	return &m
}

// duration writes d as the admin API reads it ("" for 0, so it is left out).
func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// rule is the fault as the admin API and the scenario read it.
func (f Fault) rule() adminclient.Rule {
	m := f.Match
	r := adminclient.Rule{ID: opt(f.ID), Description: opt(f.Description),
		Match: &adminclient.RuleMatch{Provider: opt(m.Provider), Operation: opt(m.Operation), Method: opt(m.Method), Path: opt(m.Path),
			Headers: optMap(m.Headers), Query: optMap(m.Query), Body: optMap(m.Body), Namespace: opt(m.Namespace),
			Nth: opt(m.Nth), Probability: opt(m.Probability)},
		Reset: opt(f.Reset), Hang: opt(f.Hang), CutBody: opt(f.CutBody), Times: opt(f.Times), After: opt(f.After),
		From: opt(instant(f.From)), Until: opt(instant(f.Until)), StartIn: opt(duration(f.StartIn)), For: opt(duration(f.For))}
	if x := f.Respond; x != nil {
		r.Respond = &adminclient.RuleRespond{Status: x.Status, Body: opt(x.Body), Headers: optMap(x.Headers)}
	}
	if d := f.Delay; d != nil {
		r.Delay = &adminclient.RuleDelay{Fixed: opt(duration(d.Fixed)), Min: opt(duration(d.Min)), Max: opt(duration(d.Max))}
	}
	if th := f.Throttle; th != nil {
		r.Throttle = &adminclient.RuleThrottle{RetryAfter: th.RetryAfter}
	}
	return r
}

// AddFault adds a fault rule to the namespace (after the scenario's own)
// and returns its id. A rule the sandbox refuses (an unknown operation, a
// bad regular expression) fails the test with the sandbox's reasons.
func (sb *Sandbox) AddFault(f Fault) string {
	sb.t.Helper()
	res, err := sb.ac.AddFaultWithResponse(ctx, f.rule())
	sb.must("adding a fault rule", err, res.HTTPResponse, res.Body, http.StatusCreated)
	return *res.JSON201.ID
}

// RemoveFault removes one rule by id (the scenario's or an added one).
func (sb *Sandbox) RemoveFault(id string) {
	sb.t.Helper()
	res, err := sb.ac.DeleteFaultWithResponse(ctx, id)
	sb.must("removing fault rule "+id, err, res.HTTPResponse, res.Body, http.StatusNoContent)
}

// ClearFaults removes every fault rule, the scenario's included, until the
// next Reset.
func (sb *Sandbox) ClearFaults() {
	sb.t.Helper()
	res, err := sb.ac.ClearFaultsWithResponse(ctx)
	sb.must("clearing the fault rules", err, res.HTTPResponse, res.Body, http.StatusNoContent)
}

// FaultStatus is a rule in force with its counters.
type FaultStatus struct {
	ID string
	// Matched counts the requests the rule matched, Fired those it acted on.
	Matched, Fired int
}

// Faults lists the rules in force, in the order they are evaluated.
func (sb *Sandbox) Faults() []FaultStatus {
	sb.t.Helper()
	res, err := sb.ac.ListFaultsWithResponse(ctx)
	sb.must("listing the fault rules", err, res.HTTPResponse, res.Body, http.StatusOK)
	out := make([]FaultStatus, 0, len(*res.JSON200))
	for _, r := range *res.JSON200 {
		out = append(out, FaultStatus{ID: deref(r.ID), Matched: r.Matched, Fired: r.Fired})
	}
	return out
}

// deref reads an optional field of the generated types.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
