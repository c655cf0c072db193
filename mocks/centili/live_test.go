package centili_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

const poolsPath = "/__sandbox/centili/pools"

const smallPoolScenario = frozenScenario + `centili:
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      name: Small pool
      merchantId: 11111
      packages:
        - {operator: AT_A1, amounts: [100]}
        - {operator: FR_ORANGE, amounts: [100]}
      pools:
        - {operator: AT_A1, totalAmount: 1000, expirationDate: "2030-12-31 23:59:59"}
`

func changePool(h *sandboxtest.Harness, body string) *sandboxtest.Response {
	return h.Do("POST", poolsPath, sandboxtest.RawBody("application/json", []byte(body)))
}

// TestTopUpPoolKeepsState tops up an existing pool and creates a new one in
// a running namespace: transactions and the journal are kept, and the
// gifts the new balance allows succeed.
func TestTopUpPoolKeepsState(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, smallPoolScenario)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	for i := 0; i < 10; i++ {
		h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", fmt.Sprintf("drain-%d", i), 100), tok).WantStatus(200)
	}
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "empty", 100), tok).WantStatus(422)

	res := changePool(h, `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","addAmount":500}`).WantStatus(200)
	if !res.Matched {
		t.Error("the answer was not checked against specs/admin.yaml")
	}
	res.WantJSON(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","totalAmount":1500,"assignedAmount":1000,"balance":500,"expirationDate":"2030-12-31 23:59:59","expired":false,"created":false}`)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "after-top-up", 100), tok).WantStatus(200)

	// No FR_ORANGE pool yet: UNSUPPORTED_OPERATOR, then a pool is added
	// (expiring a year after the sandbox clock when no date is given).
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "33612345678", "fr-before", 100), tok).WantStatus(422)
	changePool(h, `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"FR_ORANGE","addAmount":1000}`).WantStatus(200).
		WantJSON(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"FR_ORANGE","totalAmount":1000,"assignedAmount":0,"balance":1000,"expirationDate":"2027-03-01 10:00:00","expired":false,"created":true}`)
	changePool(h, `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"FR_ORANGE","addAmount":200,"expirationDate":"2026-06-30 00:00:00"}`).WantStatus(200).
		WantJSON(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"FR_ORANGE","totalAmount":200,"assignedAmount":0,"balance":200,"expirationDate":"2026-06-30 00:00:00","expired":false,"created":true}`)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "33612345678", "fr-after", 100), tok).WantStatus(200)

	st := state(t, h, "")
	if len(st.Transactions) != 14 {
		t.Errorf("%d transactions, want the 14 sent (state kept)", len(st.Transactions))
	}
	var pools []pool
	for _, sv := range st.Services {
		if sv.ServiceKey == serviceKey {
			pools = sv.Pools
		}
	}
	// Pools are kept soonest-expiring first: the June pool gave the last gift.
	want := `[{FR_ORANGE 200 100 100 2026-06-30 00:00:00 false} {FR_ORANGE 1000 0 1000 2027-03-01 10:00:00 false} {AT_A1 1500 1100 400 2030-12-31 23:59:59 false}]`
	if got := fmt.Sprint(pools); got != want {
		t.Errorf("pools = %s\nwant    %s", got, want)
	}
	var journal []map[string]any
	h.Admin("GET", "", "/requests?provider=centili&operation=assignData", nil, &journal)
	if len(journal) != 14 {
		t.Errorf("journal has %d gifts, want 14 (kept)", len(journal))
	}
	// A reset goes back to the scenario's pools.
	h.Admin("POST", "", "/reset", nil, nil)
	if p := poolOf(t, state(t, h, ""), serviceKey, "AT_A1"); p.TotalAmount != 1000 || p.AssignedAmount != 0 {
		t.Errorf("after reset: %+v", p)
	}
}

type topUpCase struct {
	name, contentType, body string
	status                  int
	want                    string
}

// TestTopUpRefusals checks the refusals: every problem at once with field
// paths and hints (the scenario file's rules), nothing changed.
func TestTopUpRefusals(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, smallPoolScenario)
	cases := []topUpCase{
		{"every problem", "application/json", `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263b","operator":"AT_A","addAmount":0,"expirationDate":"2030-12-31"}`, 400,
			`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 4 problem(s); nothing was changed","problems":[` +
				`{"path":"serviceKey","message":"no service \"3586a2363bcd51a2b3c4d5f34918263b\"","hint":"did you mean \"3586a2363bcd51a2b3c4d5f34918263a\"?"},` +
				`{"path":"operator","message":"operator \"AT_A\" has no prefix in centili.operators, so no msisdn reaches it","hint":"did you mean \"AT_A1\"?"},` +
				`{"path":"addAmount","message":"addAmount must be positive, got 0","hint":"MB to add, e.g. 1000"},` +
				`{"path":"expirationDate","message":"expirationDate \"2030-12-31\" is not a Centili timestamp","hint":"yyyy-MM-dd HH:mm:ss UTC, e.g. 2030-12-31 23:59:59"}]}`},
		{"unknown field and wrong type", "application/json", "{\"serviceKey\": \"3586a2363bcd51a2b3c4d5f34918263a\",\n \"operator\": \"AT_A1\",\n \"amount\": 5,\n \"addAmount\": \"lots\"}", 400,
			`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 2 problem(s); nothing was changed","problems":[` +
				`{"file":"request body","line":3,"path":"amount","message":"unknown key \"amount\"","hint":"did you mean \"addAmount\"?"},` +
				`{"file":"request body","line":4,"path":"addAmount","message":"\"lots\" is a string, expected a whole number","hint":"write the number without quotes, e.g. 100"}]}`},
		{"missing service key", "application/json", `{"operator":"AT_A1","addAmount":5}`, 400,
			`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 1 problem(s); nothing was changed","problems":[` +
				`{"path":"serviceKey","message":"serviceKey is missing","hint":"e.g. 3586a2363bcd51a2b3c4d5f34918263a"}]}`},
		{"an operator the service sells no package on", "application/json", `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"RS_MTS","addAmount":5}`, 400,
			`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 1 problem(s); nothing was changed","problems":[` +
				`{"path":"operator","message":"service 3586a2363bcd51a2b3c4d5f34918263a sells no package on RS_MTS, so no gift could use the pool","hint":"its packages are on AT_A1, FR_ORANGE; for RS_MTS add a package with PATCH /__sandbox/scenario (which resets the namespace)"}]}`},
		{"a new pool expiring in the past", "application/json", `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"FR_ORANGE","addAmount":5,"expirationDate":"2026-03-01 09:59:59"}`, 400,
			`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 1 problem(s); nothing was changed","problems":[` +
				`{"path":"expirationDate","message":"expirationDate \"2026-03-01 09:59:59\" is in the past; a pool expiring then could never be used","hint":"give a date after sandbox now (2026-03-01 10:00:00), or leave it out to top up the live pool"}]}`},
		{"a fraction of a MB", "application/json", `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","addAmount":1.5}`, 400,
			`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 1 problem(s); nothing was changed","problems":[` +
				`{"file":"request body","line":1,"path":"addAmount","message":"\"1.5\" is not a whole number","hint":"this field counts whole units; use 1 or 2"}]}`},
		{"not an object", "application/json", `[1]`, 400,
			`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 1 problem(s); nothing was changed","problems":[` +
				`{"file":"request body","line":1,"message":"expected a JSON object","hint":"send a JSON object of fields, e.g. {\"name\": \"value\"}"}]}`},
	}
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "text/plain"} {
		cases = append(cases, topUpCase{"Content-Type " + ct, ct, `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","addAmount":5}`, 415,
			`{"type":"about:blank","title":"Unsupported body type","status":415,"detail":"Content-Type \"` + ct + `\" is not JSON or YAML; send application/json or a YAML document as application/yaml"}`})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := h.With(t).Do("POST", poolsPath, sandboxtest.RawBody(c.contentType, []byte(c.body))).WantStatus(c.status)
			if !res.Matched {
				t.Error("the answer was not checked against specs/admin.yaml")
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			res.WantJSON(c.want)
		})
	}
	if p := poolOf(t, state(t, h, ""), serviceKey, "AT_A1"); p.TotalAmount != 1000 {
		t.Errorf("pool changed: %+v", p)
	}
}

// TestTopUpDuringAGiftRace tops a pool up while many clients gift from it:
// every top-up counts, no gift is lost or doubled, and the pool is never
// oversubscribed (run under -race).
func TestTopUpDuringAGiftRace(t *testing.T) {
	t.Parallel()
	const clients, gifts, topUps, topUp = 8, 20, 10, 500
	h := sandboxtest.New(t, smallPoolScenario)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	var wg sync.WaitGroup
	var mu sync.Mutex
	completed, refused := 0, 0
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < gifts; i++ {
				res := h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", fmt.Sprintf("c%d-%d", c, i), 100), tok)
				mu.Lock()
				switch res.Status {
				case 200:
					completed++
				case 422:
					refused++
				default:
					t.Errorf("gift answered %d: %s", res.Status, res.Body)
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < topUps; i++ {
			if res := changePool(h, `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","addAmount":500}`); res.Status != 200 {
				t.Errorf("top-up answered %d: %s", res.Status, res.Body)
			}
		}
	}()
	wg.Wait()
	p := poolOf(t, state(t, h, ""), serviceKey, "AT_A1")
	if p.TotalAmount != 1000+topUps*topUp {
		t.Errorf("totalAmount %d, want %d: a top-up was lost", p.TotalAmount, 1000+topUps*topUp)
	}
	if p.AssignedAmount != int64(completed)*100 || p.AssignedAmount > p.TotalAmount || p.Balance != p.TotalAmount-p.AssignedAmount {
		t.Errorf("pool %+v after %d completed gifts: oversubscribed or miscounted", p, completed)
	}
	if completed+refused != clients*gifts {
		t.Errorf("%d completed + %d refused, want %d answers", completed, refused, clients*gifts)
	}
}

// expiredPoolScenario has an AT_A1 pool that expired before sandbox now
// (2026-03-01 10:00:00) and a live one on FR_ORANGE.
const expiredPoolScenario = frozenScenario + `centili:
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      name: Expired pool
      merchantId: 11111
      packages:
        - {operator: AT_A1, amounts: [100]}
      pools:
        - {operator: AT_A1, totalAmount: 1000, expirationDate: "2026-02-28 23:59:59"}
`

// TestTopUpNeverFeedsAnExpiredPool: without a date the expired pool is
// skipped and a new one, expiring a year after sandbox now, takes the
// amount, so the next gift succeeds (it used to top up the expired pool,
// answer "expired":true, and gifts kept failing POOL_EXPIRED). Naming the
// expired pool by its date is refused.
func TestTopUpNeverFeedsAnExpiredPool(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, expiredPoolScenario)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "before", 100), tok).WantStatus(422)

	changePool(h, `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","addAmount":500,"expirationDate":"2026-02-28 23:59:59"}`).WantStatus(400).
		WantJSON(`{"type":"about:blank","title":"Invalid pool change","status":400,"detail":"the request has 1 problem(s); nothing was changed","problems":[` +
			`{"path":"expirationDate","message":"expirationDate \"2026-02-28 23:59:59\" is in the past; a pool expiring then could never be used","hint":"give a date after sandbox now (2026-03-01 10:00:00), or leave it out to top up the live pool"}]}`)
	changePool(h, `{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","addAmount":500}`).WantStatus(200).
		WantJSON(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","totalAmount":500,"assignedAmount":0,"balance":500,"expirationDate":"2027-03-01 10:00:00","expired":false,"created":true}`)
	// The next top-up goes into the new, live pool.
	// (as YAML, which the endpoint reads like JSON)
	h.Do("POST", poolsPath, sandboxtest.RawBody("application/yaml", []byte("serviceKey: 3586a2363bcd51a2b3c4d5f34918263a\noperator: AT_A1\naddAmount: 100\n"))).WantStatus(200).
		WantJSON(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","operator":"AT_A1","totalAmount":600,"assignedAmount":0,"balance":600,"expirationDate":"2027-03-01 10:00:00","expired":false,"created":false}`)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "after", 100), tok).WantStatus(200)

	var pools []pool
	for _, sv := range state(t, h, "").Services {
		if sv.ServiceKey == serviceKey {
			pools = sv.Pools
		}
	}
	want := `[{AT_A1 1000 0 1000 2026-02-28 23:59:59 true} {AT_A1 600 100 500 2027-03-01 10:00:00 false}]`
	if got := fmt.Sprint(pools); got != want {
		t.Errorf("pools = %s\nwant    %s", got, want)
	}
}
