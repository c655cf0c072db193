package sandboxtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// loadScenario replaces the namespace's scenario (PUT /scenario): the
// namespace restarts from it.
func (sb *Sandbox) loadScenario(name string, data []byte) {
	sb.t.Helper()
	if code, body := sb.send(sb.base+"/__sandbox/scenario", http.MethodPut, rawBody{"application/yaml", data}); code != http.StatusOK {
		sb.t.Fatalf("sandboxtest.New: scenario %s is refused (%d): %s", name, code, problemText(body))
	}
}

// patchScenario makes the options' clock and fault rules part of the
// namespace's scenario with one merge patch (the namespace restarts from
// it), so that Reset comes back to them. A merge patch replaces arrays
// whole: the rules are appended to the scenario's own, read first.
func (sb *Sandbox) patchScenario(clock *time.Time, faults []Fault) {
	sb.t.Helper()
	patch := map[string]any{}
	if clock != nil {
		patch["clock"] = map[string]any{"start": clock.UTC().Format(time.RFC3339Nano), "frozen": true}
	}
	if len(faults) > 0 {
		var cur struct {
			Faults []json.RawMessage `json:"faults"`
		}
		sb.admin(http.MethodGet, "/scenario", nil, &cur, http.StatusOK)
		rules := make([]any, 0, len(cur.Faults)+len(faults))
		for _, r := range cur.Faults {
			rules = append(rules, r)
		}
		for _, f := range faults {
			rules = append(rules, f.wire())
		}
		patch["faults"] = rules
	}
	data, err := json.Marshal(patch)
	if err != nil {
		sb.t.Fatalf("sandboxtest: %v", err)
	}
	if code, body := sb.send(sb.base+"/__sandbox/scenario", http.MethodPatch, rawBody{"application/merge-patch+json", data}); code != http.StatusOK {
		sb.t.Fatalf("sandboxtest.New: the sandbox refuses the options' clock or fault rules (%d): %s", code, problemText(body))
	}
}

// deleteNamespace ends the test's namespace on the shared sandbox; one
// already gone (evicted, or never created) is fine.
func (sb *Sandbox) deleteNamespace() {
	sb.t.Helper()
	sb.rootAdmin(http.MethodDelete, "/namespaces/"+url.PathEscape(sb.namespace), nil,
		http.StatusNoContent, http.StatusNotFound)
}

// Reset brings the namespace back to its scenario's initial state: state,
// clock, journal, pending callbacks and fault rules (POST /__sandbox/reset).
// WithClock and WithFault are part of that scenario; rules added with
// AddFault are not and are gone afterwards.
func (sb *Sandbox) Reset() {
	sb.t.Helper()
	sb.admin(http.MethodPost, "/reset", nil, nil, http.StatusOK)
}

// clockView is GET and POST /__sandbox/clock's answer.
type clockView struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

func (sb *Sandbox) postClock(body map[string]any) clockView {
	sb.t.Helper()
	var v clockView
	sb.admin(http.MethodPost, "/clock", body, &v, http.StatusOK)
	return v
}

// Now is the sandbox clock's reading: the time the providers see.
func (sb *Sandbox) Now() time.Time {
	sb.t.Helper()
	var v clockView
	sb.admin(http.MethodGet, "/clock", nil, &v, http.StatusOK)
	return v.Now
}

// Frozen reports whether the sandbox clock stands still.
func (sb *Sandbox) Frozen() bool {
	sb.t.Helper()
	var v clockView
	sb.admin(http.MethodGet, "/clock", nil, &v, http.StatusOK)
	return v.Frozen
}

// SetClock moves the sandbox clock to t (forward or back). Timers that
// come due (token expiry, delayed callbacks) fire before it returns.
func (sb *Sandbox) SetClock(t time.Time) {
	sb.t.Helper()
	sb.postClock(map[string]any{"set": t.UTC().Format(time.RFC3339Nano)})
}

// Advance moves the sandbox clock forward by d; due timers fire before it
// returns, so a token that lives 300 s is expired after Advance(301*time.Second).
func (sb *Sandbox) Advance(d time.Duration) {
	sb.t.Helper()
	sb.postClock(map[string]any{"advance": d.String()})
}

// Freeze stops the sandbox clock where it is.
func (sb *Sandbox) Freeze() {
	sb.t.Helper()
	sb.postClock(map[string]any{"frozen": true})
}

// Unfreeze lets the sandbox clock run again from where it stands.
func (sb *Sandbox) Unfreeze() {
	sb.t.Helper()
	sb.postClock(map[string]any{"frozen": false})
}
