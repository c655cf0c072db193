package netfinity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/examples/netfinity"
	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// These tests run the client against the sandbox: in-process by default, or
// in a fresh namespace of the sandbox at SANDBOX_URL. Either way the
// pingback receiver is an httptest server of the test's own on 127.0.0.1,
// which the sandbox calls.

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// inbox is the app's store of pingbacks: what PingbackHandler hands over.
type inbox struct {
	mu   sync.Mutex
	got  []netfinity.Pingback
	fail int // refuse this many pingbacks first, as a store that is down would
}

func (in *inbox) store(_ context.Context, p netfinity.Pingback) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.fail > 0 {
		in.fail--
		return errors.New("the database is down")
	}
	in.got = append(in.got, p)
	return nil
}

// of returns the pingbacks stored for a message, in arrival order.
func (in *inbox) of(uuid string) []netfinity.Pingback {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []netfinity.Pingback
	for _, p := range in.got {
		if p.UUID == uuid {
			out = append(out, p)
		}
	}
	return out
}

func (in *inbox) codes(uuid string) []int {
	var codes []int
	for _, p := range in.of(uuid) {
		codes = append(codes, p.Payload.Status.Code)
	}
	return codes
}

// setup starts the receiver, points the sandbox's token at it (as Netfinity
// configures a service's callback URL) and returns a client.
func setup(t *testing.T, in *inbox) (*sandboxtest.Sandbox, *netfinity.Client) {
	app := httptest.NewServer(netfinity.PingbackHandler(in.store))
	t.Cleanup(app.Close)
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	cred := sb.Netfinity()
	url := app.URL + "/pingback"
	res, err := sb.Admin().ChangeNetfinityTokenWithResponse(t.Context(), cred.Token, adminclient.NetfinityTokenPatch{CallbackURL: &url})
	if err != nil || res.StatusCode() != http.StatusOK {
		t.Fatalf("setting the callback URL: %v %s", err, res.Body)
	}
	return sb, netfinity.New(netfinity.Config{
		BaseURL: cred.BaseURL, Token: cred.Token, HTTPClient: sb.HTTPClient(),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond,
	})
}

// A send is accepted with a uuid; its four statuses then arrive at the
// receiver in order as sandbox time passes, each confirmed at the first try.
func TestSendAndReceivePingbacks(t *testing.T) {
	in := &inbox{}
	sb, c := setup(t, in)

	acc, err := c.Send(t.Context(), netfinity.SMS{MSISDN: "359881234567", Text: "Your code is 1234", ID: "order42"})
	if err != nil {
		t.Fatal(err)
	}
	if acc.ID == nil || *acc.ID != "order42" {
		t.Fatalf("accepted %+v, want the id echoed", acc)
	}
	sb.Advance(time.Minute) // the path takes 10 s of sandbox time
	callbacks := sb.WaitCallbacksSettled(10 * time.Second)

	if got, want := in.codes(acc.UUID), []int{201, 202, 203, 204}; !slices.Equal(got, want) {
		t.Fatalf("received statuses %v, want %v", got, want)
	}
	for _, cb := range callbacks {
		if cb.State != sandboxtest.CallbackDelivered || len(cb.Attempts) != 1 || cb.Attempts[0].Status != http.StatusOK {
			t.Errorf("callback %s: %s after %d attempt(s), want delivered at the first", cb.ID, cb.State, len(cb.Attempts))
		}
	}
	got := in.of(acc.UUID)
	last := got[len(got)-1]
	if !last.Payload.Status.Final() || last.Payload.Status.Description != "Delivered to end user" || last.ID == nil || *last.ID != "order42" {
		t.Fatalf("last pingback %+v, want the final 204 for order42", last)
	}
}

// When the app cannot store a pingback, the handler answers 503 and
// Netfinity sends it again (3 s of sandbox time later): nothing is lost.
func TestRefusedPingbackComesAgain(t *testing.T) {
	in := &inbox{fail: 1}
	sb, c := setup(t, in)

	acc, err := c.Send(t.Context(), netfinity.SMS{MSISDN: "359880000400", Text: "Your code is 1234"}) // rejected for funds: one status
	if err != nil {
		t.Fatal(err)
	}
	// The 400 is due after 1 s, its retry 3 s after the refused attempt:
	// a minute later both are past.
	sb.Advance(time.Minute)
	callbacks := sb.WaitCallbacksSettled(10 * time.Second)

	if got := in.codes(acc.UUID); !slices.Equal(got, []int{netfinity.StatusRejectedFunds}) {
		t.Fatalf("received %v, want the one 400 status", got)
	}
	if len(callbacks) != 1 || len(callbacks[0].Attempts) != 2 ||
		callbacks[0].Attempts[0].Status != http.StatusServiceUnavailable || callbacks[0].Attempts[1].Status != http.StatusOK {
		t.Fatalf("callbacks %+v, want one delivery: 503, then 200", callbacks)
	}
}

// A 422 names every failed rule per field, as Laravel does.
func TestInvalidSendIsExplained(t *testing.T) {
	_, c := setup(t, &inbox{})
	_, err := c.Send(t.Context(), netfinity.SMS{MSISDN: "12", Text: "Привет"})
	var nfErr *netfinity.Error
	if !errors.As(err, &nfErr) || nfErr.Status != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v, want a 422 *netfinity.Error", err)
	}
	want := map[string][]string{
		"msisdn": {"The msisdn must be between 8 and 20 digits."},
		"text":   {"The text format is invalid."},
	}
	for field, msgs := range want {
		if !slices.Equal(nfErr.Fields[field], msgs) {
			t.Errorf("Fields[%q] = %q, want %q", field, nfErr.Fields[field], msgs)
		}
	}
}

// A throttled send is sent again after Retry-After (0 s here, so the test
// does not wait); the refused attempt did not count against the limit.
func TestThrottledSendIsRetried(t *testing.T) {
	sb, c := setup(t, &inbox{})
	sb.AddFault(sandboxtest.Fault{
		Match:    sandboxtest.FaultMatch{Provider: "netfinity", Operation: "sendSmsNotification"},
		Times:    1,
		Throttle: &sandboxtest.FaultThrottle{RetryAfter: 0},
	})
	if _, err := c.Send(t.Context(), netfinity.SMS{MSISDN: "359881234567", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	sends := sandboxtest.RequestFilter{Provider: "netfinity", Operation: "sendSmsNotification"}
	sb.ExpectRequests(sends).Count(2)
	sends.Status = http.StatusTooManyRequests
	sb.ExpectRequests(sends).Once()
}
