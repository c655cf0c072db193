package sandboxtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
)

// Callback is one delivery the sandbox makes to your code (a Netfinity
// pingback) with every attempt and what your code answered.
type Callback struct {
	ID     string `json:"id"`
	Source string `json:"source,omitempty"` // the provider that sends it
	Key    string `json:"key,omitempty"`
	Method string `json:"method"`
	URL    string `json:"url"`
	// Header and Body are what is sent.
	Header map[string]string `json:"headers"`
	Body   json.RawMessage   `json:"body"`
	Meta   map[string]any    `json:"meta,omitempty"`
	// State is pending, sending, delivered, failed or cancelled.
	State         string            `json:"state"`
	CreatedAt     time.Time         `json:"createdAt"`               // sandbox time
	NextAttemptAt *time.Time        `json:"nextAttemptAt,omitempty"` // while pending
	FinishedAt    *time.Time        `json:"finishedAt,omitempty"`
	MaxAttempts   int               `json:"maxAttempts"`
	Attempts      []CallbackAttempt `json:"attempts"`
}

// CallbackAttempt is one try of a delivery.
type CallbackAttempt struct {
	N  int       `json:"n"`
	At time.Time `json:"at"` // sandbox time it was due
	// Status is your code's HTTP status; 0 when no answer came.
	Status       int     `json:"status,omitempty"`
	LatencyMs    float64 `json:"latencyMs"`
	Error        string  `json:"error,omitempty"`
	ResponseBody string  `json:"responseBody,omitempty"`
}

// Callback states.
const (
	CallbackPending   = "pending"
	CallbackSending   = "sending"
	CallbackDelivered = "delivered"
	CallbackFailed    = "failed"
	CallbackCancelled = "cancelled"
)

// CallbackFilter selects deliveries; every field given must match.
type CallbackFilter struct {
	Provider string    // e.g. netfinity
	State    string    // one of the Callback states
	Since    time.Time // created at or after it (sandbox time)
}

// Callbacks lists the deliveries the filter selects, oldest first per
// provider.
func (sb *Sandbox) Callbacks(f CallbackFilter) []Callback {
	sb.t.Helper()
	p := &adminclient.ListCallbacksParams{Provider: optList(f.Provider), State: optList(adminclient.ListCallbacksParamsState(f.State))}
	if !f.Since.IsZero() {
		p.Since = &f.Since
	}
	res, err := sb.ac.ListCallbacksWithResponse(ctx, p)
	sb.must("listing the callbacks", err, res.HTTPResponse, res.Body, http.StatusOK)
	var out []Callback
	sb.decode("listing the callbacks", res.Body, &out)
	return out
}

// settlePoll is how often WaitCallbacksSettled looks again.
const settlePoll = 5 * time.Millisecond

// WaitCallbacksSettled waits until no delivery is pending or being sent
// and returns them all. Deliveries are scheduled on the sandbox clock: one
// due later waits for the clock to get there, so with a frozen clock
// Advance it first. When timeout (real time) passes first, the test fails
// with the deliveries still open.
func (sb *Sandbox) WaitCallbacksSettled(timeout time.Duration) []Callback {
	sb.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		all := sb.Callbacks(CallbackFilter{})
		var open []Callback
		for _, c := range all {
			if c.State == CallbackPending || c.State == CallbackSending {
				open = append(open, c)
			}
		}
		if len(open) == 0 {
			return all
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			fmt.Fprintf(&b, "sandboxtest: %d of %d callbacks not settled after %s (sandbox time %s):",
				len(open), len(all), timeout, sb.Now().Format(time.RFC3339))
			for _, c := range open {
				fmt.Fprintf(&b, "\n  %s %s %s, %d attempt(s)", c.ID, c.State, c.URL, len(c.Attempts))
				if c.NextAttemptAt != nil {
					fmt.Fprintf(&b, ", next due at %s sandbox time", c.NextAttemptAt.Format(time.RFC3339))
				}
			}
			b.WriteString("\n(a delivery due later waits for the sandbox clock: Advance it)")
			sb.t.Fatalf("%s", b.String())
		}
		time.Sleep(settlePoll)
	}
}
