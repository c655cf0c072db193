package centili_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/examples/centili"
	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// These tests run the client against the sandbox: in-process by default, or
// in a fresh namespace of the sandbox at SANDBOX_URL.

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// smallPool is a scenario whose only service can give 600 MB on AT_A1 in
// packages of 500 MB: the second gift drains it.
const smallPool = `
version: 1
centili:
  services:
    - serviceKey: 0123456789abcdef0123456789abcdef
      name: Small pool
      merchantId: 11111
      packages:
        - {operator: AT_A1, amounts: [500]}
      pools:
        - {operator: AT_A1, totalAmount: 600, assignedAmount: 0, expirationDate: "2030-12-31 23:59:59"}
`

func newClient(t *testing.T, sb *sandboxtest.Sandbox) (*centili.Client, sandboxtest.CentiliCredentials) {
	cred := sb.Centili()
	return centili.New(t.Context(), centili.Config{
		TokenURL:     cred.TokenURL,
		ClientID:     cred.ClientID,
		Username:     cred.Username,
		Password:     cred.Password,
		BaseURL:      cred.BaseURL,
		HTTPClient:   sb.HTTPClient(),
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 10 * time.Millisecond,
	}), cred
}

// A gift assigns its package from the pool and is recorded as COMPLETED.
func TestGift(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	c, cred := newClient(t, sb)
	ctx := t.Context()

	tx, err := c.Gift(ctx, centili.GiftRequest{ServiceKey: cred.ServiceKey, MSISDN: "4366124567", ClientID: "order-1", AmountMB: 500})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Status != "COMPLETED" || tx.Operator != "AT_A1" || tx.AmountMB != 500 || tx.ErrorType != nil {
		t.Fatalf("transaction %+v, want COMPLETED, 500 MB on AT_A1", tx)
	}
	pools, err := c.Balance(ctx, cred.ServiceKey, "AT_A1")
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 1 || pools[0].AssignedAmount != 500 {
		t.Fatalf("pools %+v, want one with 500 MB assigned", pools)
	}
	sb.ExpectRequests(sandboxtest.RequestFilter{
		Provider: "centili", Operation: "assignData",
		BodyFields: map[string]string{"msisdn": "4366124567", "amount": "500"},
	}).Once()
}

// A gift the pool has no room for is refused with INSUFFICIENT_BALANCE,
// which the client surfaces as a typed error; the pool keeps what it had and
// Centili records the refusal as a FAILED transaction.
func TestGiftFromADrainedPool(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithScenarioYAML(smallPool), sandboxtest.WithClock(start))
	c, cred := newClient(t, sb)
	ctx := t.Context()

	if _, err := c.Gift(ctx, centili.GiftRequest{ServiceKey: cred.ServiceKey, MSISDN: "4366124567", ClientID: "order-1", AmountMB: 500}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Gift(ctx, centili.GiftRequest{ServiceKey: cred.ServiceKey, MSISDN: "4366124568", ClientID: "order-2", AmountMB: 500})
	if !errors.Is(err, centili.ErrInsufficientBalance) {
		t.Fatalf("second gift: %v, want ErrInsufficientBalance", err)
	}
	var apiErr *centili.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity {
		t.Fatalf("second gift: %#v, want a 422 *centili.Error", err)
	}

	pool, ok := sb.CentiliState().Pool(cred.ServiceKey, "AT_A1")
	if !ok || pool.AssignedAmount != 500 || pool.TotalAmount != 600 {
		t.Fatalf("pool %+v, want 500 of 600 MB assigned", pool)
	}
	txs, err := c.Transactions(ctx, cred.ServiceKey, "4366124568")
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 1 || txs[0].Status != "FAILED" || txs[0].ErrorType == nil || *txs[0].ErrorType != "INSUFFICIENT_BALANCE" {
		t.Fatalf("transactions of the refused msisdn: %+v, want one FAILED with INSUFFICIENT_BALANCE", txs)
	}
}

// A gift whose answer is lost on the way (the connection drops mid-body) is
// sent again by the client; Centili answers the repeated clientId with the
// first outcome, so the data is assigned once.
func TestLostAnswerIsRetriedWithoutGiftingTwice(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start), sandboxtest.WithFault(sandboxtest.Fault{
		Match:   sandboxtest.FaultMatch{Provider: "centili", Operation: "assignData"},
		Times:   1,
		CutBody: true,
	}))
	c, cred := newClient(t, sb)

	tx, err := c.Gift(t.Context(), centili.GiftRequest{ServiceKey: cred.ServiceKey, MSISDN: "4366124567", ClientID: "order-1", AmountMB: 100})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Status != "COMPLETED" {
		t.Fatalf("gift %+v, want COMPLETED", tx)
	}
	sent := sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "centili", Operation: "assignData"}).Count(2)
	if len(sent[0].Faults) == 0 || sent[1].Response.Header.Get("X-Sandbox-Idempotent-Replay") != "true" {
		t.Fatalf("want the cut answer, then a replay (X-Sandbox-Idempotent-Replay: true): %v, %v", sent[0], sent[1].Response.Header)
	}
	if pool, _ := sb.CentiliState().Pool(cred.ServiceKey, "AT_A1"); pool.AssignedAmount != 100 {
		t.Fatalf("%d MB assigned, want 100: the replay assigns nothing", pool.AssignedAmount)
	}
}

// An access token expires after 300 s of sandbox time while x/oauth2, on the
// machine's clock, still holds it valid: the 401 makes the client refresh it
// with the refresh token and send the call again.
func TestExpiredTokenIsRefreshed(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	c, cred := newClient(t, sb)
	ctx := t.Context()

	if _, err := c.Balance(ctx, cred.ServiceKey, "AT_A1"); err != nil {
		t.Fatal(err)
	}
	sb.Advance(301 * time.Second)
	if _, err := c.Balance(ctx, cred.ServiceKey, "AT_A1"); err != nil {
		t.Fatal(err)
	}

	tokens := sandboxtest.RequestFilter{Provider: "centili", Operation: "keycloakToken"}
	sb.ExpectRequests(tokens).Count(2)
	tokens.BodyContains = "grant_type=refresh_token"
	sb.ExpectRequests(tokens).Once()
	balance := sandboxtest.RequestFilter{Provider: "centili", Operation: "getBalance"}
	sb.ExpectRequests(balance).Count(3)
	balance.Status = http.StatusUnauthorized
	sb.ExpectRequests(balance).Once()
}

// Once the Keycloak session has idled out (1800 s), its refresh token is
// refused too ("Token is not active"): the client logs in again with the
// password.
func TestEndedSessionLogsInAgain(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	c, cred := newClient(t, sb)
	ctx := t.Context()

	if _, err := c.Balance(ctx, cred.ServiceKey, "AT_A1"); err != nil {
		t.Fatal(err)
	}
	sb.Advance(31 * time.Minute)
	if _, err := c.Balance(ctx, cred.ServiceKey, "AT_A1"); err != nil {
		t.Fatal(err)
	}

	tokens := sandboxtest.RequestFilter{Provider: "centili", Operation: "keycloakToken"}
	sb.ExpectRequests(tokens).Count(3) // password, refused refresh, password
	tokens.Status = http.StatusBadRequest
	refused := sb.ExpectRequests(tokens).Once()
	if !strings.Contains(string(refused.Response.Body), "Token is not active") {
		t.Fatalf("the refused refresh answered %s, want Keycloak's \"Token is not active\"", refused.Response.Body)
	}
	tokens.Status, tokens.BodyContains = 0, "grant_type=password"
	sb.ExpectRequests(tokens).Count(2)
}
