package netrefer_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/examples/netrefer"
	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// These tests run the client against the sandbox: in-process by default, or
// in a fresh namespace of the sandbox at SANDBOX_URL.

// start is the sandbox's frozen clock; NetRefer refuses events after it.
var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// newClient points a client at sb with short retry waits, so that a retried
// call in a test takes milliseconds rather than NetRefer's seconds.
func newClient(t *testing.T, sb *sandboxtest.Sandbox) *netrefer.Client {
	cred := sb.NetRefer()
	return netrefer.New(t.Context(), netrefer.Config{
		TokenURL:        cred.TokenURL,
		ClientID:        cred.ClientID,
		ClientSecret:    cred.ClientSecret,
		Username:        cred.Username,
		Password:        cred.Password,
		Scope:           cred.Scope,
		SubscriptionKey: cred.SubscriptionKey,
		BaseURL:         cred.BaseURL,
		HTTPClient:      sb.HTTPClient(),
		RetryWaitMin:    time.Millisecond,
		RetryWaitMax:    10 * time.Millisecond,
	})
}

func registration(eventID, customerID string) netrefer.Registration {
	at := start.Add(-time.Hour)
	return netrefer.Registration{
		EventID: eventID, CustomerID: customerID, BrandID: 1, Timestamp: at,
		RegistrationDate: at, CountryCode: "MT", Currency: "EUR", BTag: "a_1b_2",
	}
}

// A batch whose events are all valid is a 200; one with an EventID already
// processed is a 207 whose results say which event was refused and why,
// while the rest of the batch is stored.
func TestBatchWithADuplicateEventIsPartlyAccepted(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	c := newClient(t, sb)
	ctx := t.Context()

	first, err := c.SendRegistrations(ctx, []netrefer.Registration{registration("reg-1", "alice"), registration("reg-2", "bob")})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != http.StatusOK || first.Accepted != 2 {
		t.Fatalf("first batch: %d, %d accepted; want 200 and 2", first.Status, first.Accepted)
	}

	second, err := c.SendRegistrations(ctx, []netrefer.Registration{registration("reg-3", "carol"), registration("reg-1", "dave")})
	if err != nil {
		t.Fatal(err)
	}
	if second.Status != http.StatusMultiStatus || second.Received != 2 || second.Accepted != 1 || second.Rejected != 1 {
		t.Fatalf("second batch: %d with %d/%d/%d received/accepted/rejected; want 207 with 2/1/1",
			second.Status, second.Received, second.Accepted, second.Rejected)
	}
	dup := second.RejectedWith(netrefer.CodeAlreadyProcessed)
	if len(dup) != 1 || dup[0].EventID != "reg-1" || dup[0].Index != 1 {
		t.Fatalf("rejected as already processed: %+v; want reg-1 at index 1", dup)
	}
	if e := dup[0].Errors[0]; e.Field != "eventId" || e.Message != "eventId 'reg-1' was already processed." {
		t.Fatalf("the rejection is %+v", e)
	}

	var customers []string
	for _, cl := range sb.NetReferState().Clients {
		for _, cu := range cl.Customers {
			customers = append(customers, cu.CustomerID)
		}
	}
	if want := []string{"alice", "bob", "carol"}; !slices.Equal(customers, want) {
		t.Fatalf("stored customers %v, want %v (dave's event reused reg-1)", customers, want)
	}
}

// A 503 from the gateway is retried: the second attempt goes through and the
// caller sees only the success. The journal shows both attempts.
func TestA503IsRetried(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start), sandboxtest.WithFault(sandboxtest.Fault{
		ID:      "deposits-down-once",
		Match:   sandboxtest.FaultMatch{Provider: "netrefer", Operation: "ingestDeposits"},
		Times:   1,
		Respond: &sandboxtest.FaultResponse{Status: http.StatusServiceUnavailable},
	}))
	c := newClient(t, sb)
	ctx := t.Context()
	if _, err := c.SendRegistrations(ctx, []netrefer.Registration{registration("reg-1", "alice")}); err != nil {
		t.Fatal(err)
	}

	fee := netrefer.MustMoney("0.25")
	res, err := c.SendDeposits(ctx, []netrefer.Deposit{{
		EventID: "dep-1", CustomerID: "alice", BrandID: 1, Timestamp: start.Add(-time.Minute),
		TransactionID: "tx-1", Amount: netrefer.MustMoney("100.5"), Fee: &fee, Currency: "EUR", DepositMethod: "Skrill",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || res.Accepted != 1 {
		t.Fatalf("deposit batch: %d, %d accepted; want 200 and 1", res.Status, res.Accepted)
	}

	deposits := sandboxtest.RequestFilter{Provider: "netrefer", Operation: "ingestDeposits"}
	sb.ExpectRequests(deposits).Count(2)
	deposits.Status = http.StatusServiceUnavailable
	sb.ExpectRequests(deposits).Once()
	// One token for both calls: x/oauth2 reused it.
	sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "netrefer", Operation: "token"}).Once()
}

// A 503 that outlasts the retries reaches the caller as a temporary
// *APIError, for its own queue to send the batch again later.
func TestALongOutageIsReportedAsTemporary(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start), sandboxtest.WithFault(sandboxtest.Fault{
		Match:   sandboxtest.FaultMatch{Provider: "netrefer", Operation: "ingestRegistrations"},
		Respond: &sandboxtest.FaultResponse{Status: http.StatusServiceUnavailable},
	}))
	c := newClient(t, sb)
	_, err := c.SendRegistrations(context.Background(), []netrefer.Registration{registration("reg-1", "alice")})
	if !netrefer.IsTemporary(err) {
		t.Fatalf("err = %v, want a temporary *APIError", err)
	}
	sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "netrefer", Operation: "ingestRegistrations"}).Count(5) // 1 + 4 retries
}
