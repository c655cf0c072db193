package sandboxtest

import (
	"net/http"
	"net/url"
	"time"
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

// wireRule is a Fault as the admin API reads it (specs/admin.yaml, Rule).
type wireRule struct {
	ID          string       `json:"id,omitempty"`
	Description string       `json:"description,omitempty"`
	Match       wireMatch    `json:"match"`
	Respond     *wireRespond `json:"respond,omitempty"`
	Delay       *wireDelay   `json:"delay,omitempty"`
	Reset       bool         `json:"reset,omitempty"`
	Hang        bool         `json:"hang,omitempty"`
	CutBody     bool         `json:"cutBody,omitempty"`
	Throttle    *struct {
		RetryAfter int `json:"retryAfter"`
	} `json:"throttle,omitempty"`
	Times   int    `json:"times,omitempty"`
	After   int    `json:"after,omitempty"`
	From    string `json:"from,omitempty"`
	Until   string `json:"until,omitempty"`
	StartIn string `json:"startIn,omitempty"`
	For     string `json:"for,omitempty"`
}

type wireMatch struct {
	Provider    string            `json:"provider,omitempty"`
	Operation   string            `json:"operation,omitempty"`
	Method      string            `json:"method,omitempty"`
	Path        string            `json:"path,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Query       map[string]string `json:"query,omitempty"`
	Body        map[string]string `json:"body,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Nth         int               `json:"nth,omitempty"`
	Probability float64           `json:"probability,omitempty"`
}

type wireRespond struct {
	Status  int               `json:"status"`
	Body    string            `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

type wireDelay struct {
	Fixed string `json:"fixed,omitempty"`
	Min   string `json:"min,omitempty"`
	Max   string `json:"max,omitempty"`
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

func (f Fault) wire() wireRule {
	m := f.Match
	w := wireRule{ID: f.ID, Description: f.Description,
		Match: wireMatch{Provider: m.Provider, Operation: m.Operation, Method: m.Method, Path: m.Path,
			Headers: m.Headers, Query: m.Query, Body: m.Body, Namespace: m.Namespace, Nth: m.Nth, Probability: m.Probability},
		Reset: f.Reset, Hang: f.Hang, CutBody: f.CutBody, Times: f.Times, After: f.After,
		From: instant(f.From), Until: instant(f.Until), StartIn: duration(f.StartIn), For: duration(f.For)}
	if r := f.Respond; r != nil {
		w.Respond = &wireRespond{Status: r.Status, Body: r.Body, Headers: r.Headers}
	}
	if d := f.Delay; d != nil {
		w.Delay = &wireDelay{Fixed: duration(d.Fixed), Min: duration(d.Min), Max: duration(d.Max)}
	}
	if th := f.Throttle; th != nil {
		w.Throttle = &struct {
			RetryAfter int `json:"retryAfter"`
		}{th.RetryAfter}
	}
	return w
}

// AddFault adds a fault rule to the namespace (after the scenario's own)
// and returns its id. A rule the sandbox refuses (an unknown operation, a
// bad regular expression) fails the test with the sandbox's reasons.
func (sb *Sandbox) AddFault(f Fault) string {
	sb.t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	sb.admin(http.MethodPost, "/faults", f.wire(), &out, http.StatusCreated)
	return out.ID
}

// RemoveFault removes one rule by id (the scenario's or an added one).
func (sb *Sandbox) RemoveFault(id string) {
	sb.t.Helper()
	sb.admin(http.MethodDelete, "/faults/"+url.PathEscape(id), nil, nil, http.StatusNoContent)
}

// ClearFaults removes every fault rule, the scenario's included, until the
// next Reset.
func (sb *Sandbox) ClearFaults() {
	sb.t.Helper()
	sb.admin(http.MethodDelete, "/faults", nil, nil, http.StatusNoContent)
}

// FaultStatus is a rule in force with its counters.
type FaultStatus struct {
	ID string `json:"id"`
	// Matched counts the requests the rule matched, Fired those it acted on.
	Matched int `json:"matched"`
	Fired   int `json:"fired"`
}

// Faults lists the rules in force, in the order they are evaluated.
func (sb *Sandbox) Faults() []FaultStatus {
	sb.t.Helper()
	var out []FaultStatus
	sb.admin(http.MethodGet, "/faults", nil, &out, http.StatusOK)
	return out
}
