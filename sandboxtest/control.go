package sandboxtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
)

// loadScenario replaces the namespace's scenario (PUT /scenario): the
// namespace restarts from it.
func (sb *Sandbox) loadScenario(name string, data []byte) {
	sb.t.Helper()
	res, err := sb.ac.PutScenarioWithBodyWithResponse(ctx, &adminclient.PutScenarioParams{Name: &name}, "application/yaml", bytes.NewReader(data))
	sb.must("loading scenario "+name, err, res.HTTPResponse, res.Body, http.StatusOK)
}

// patchScenario makes the options' clock and fault rules part of the
// namespace's scenario with one merge patch (the namespace restarts from
// it), so that Reset comes back to them. A merge patch replaces arrays
// whole: the rules are appended to the scenario's own, read first.
func (sb *Sandbox) patchScenario(clock *time.Time, faults []Fault) {
	sb.t.Helper()
	patch := map[string]any{}
	if clock != nil {
		patch["clock"] = adminclient.ScenarioClock{Start: new(clock.UTC().Format(time.RFC3339Nano)), Frozen: true}
	}
	if len(faults) > 0 {
		res, err := sb.ac.GetScenarioWithResponse(ctx)
		sb.must("reading the scenario", err, res.HTTPResponse, res.Body, http.StatusOK)
		rules := res.JSON200.Faults
		for _, f := range faults {
			rules = append(rules, f.rule())
		}
		patch["faults"] = rules
	}
	data, err := json.Marshal(patch)
	if err != nil {
		sb.t.Fatalf("sandboxtest: %v", err)
	}
	res, err := sb.ac.PatchScenarioWithBodyWithResponse(ctx, "application/merge-patch+json", bytes.NewReader(data))
	sb.must("applying WithClock and WithFault to the scenario", err, res.HTTPResponse, res.Body, http.StatusOK)
}

// deleteNamespace ends the test's namespace on the shared sandbox; one
// already gone (evicted, or never created) is fine.
func (sb *Sandbox) deleteNamespace() {
	sb.t.Helper()
	res, err := sb.rootAC.DeleteNamespaceWithResponse(ctx, sb.namespace)
	sb.must("deleting namespace "+sb.namespace, err, res.HTTPResponse, res.Body, http.StatusNoContent, http.StatusNotFound)
}

// Reset brings the namespace back to its scenario's initial state: state,
// clock, journal, pending callbacks and fault rules (POST /__sandbox/reset).
// WithClock and WithFault are part of that scenario; rules added with
// AddFault are not and are gone afterwards.
func (sb *Sandbox) Reset() {
	sb.t.Helper()
	res, err := sb.ac.PostResetWithResponse(ctx)
	sb.must("reset", err, res.HTTPResponse, res.Body, http.StatusOK)
}

func (sb *Sandbox) clock() adminclient.Clock {
	sb.t.Helper()
	res, err := sb.ac.GetClockWithResponse(ctx)
	sb.must("reading the clock", err, res.HTTPResponse, res.Body, http.StatusOK)
	return *res.JSON200
}

func (sb *Sandbox) postClock(what string, body adminclient.PostClockJSONRequestBody) {
	sb.t.Helper()
	res, err := sb.ac.PostClockWithResponse(ctx, body)
	sb.must(what, err, res.HTTPResponse, res.Body, http.StatusOK)
}

// Now is the sandbox clock's reading: the time the providers see.
func (sb *Sandbox) Now() time.Time {
	sb.t.Helper()
	return sb.clock().Now
}

// Frozen reports whether the sandbox clock stands still.
func (sb *Sandbox) Frozen() bool {
	sb.t.Helper()
	return sb.clock().Frozen
}

// SetClock moves the sandbox clock to t (forward or back). Timers that
// come due (token expiry, delayed callbacks) fire before it returns.
func (sb *Sandbox) SetClock(t time.Time) {
	sb.t.Helper()
	sb.postClock("setting the clock", adminclient.PostClockJSONRequestBody{Set: &t})
}

// Advance moves the sandbox clock forward by d; due timers fire before it
// returns, so a token that lives 300 s is expired after Advance(301*time.Second).
func (sb *Sandbox) Advance(d time.Duration) {
	sb.t.Helper()
	sb.postClock("advancing the clock", adminclient.PostClockJSONRequestBody{Advance: new(d.String())})
}

// Freeze stops the sandbox clock where it is.
func (sb *Sandbox) Freeze() {
	sb.t.Helper()
	sb.postClock("freezing the clock", adminclient.PostClockJSONRequestBody{Frozen: new(true)})
}

// Unfreeze lets the sandbox clock run again from where it stands.
func (sb *Sandbox) Unfreeze() {
	sb.t.Helper()
	sb.postClock("unfreezing the clock", adminclient.PostClockJSONRequestBody{Frozen: new(false)})
}
