package centili_test

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestDefaultNamespaceHasTwoURLs: the bare URLs and /ns/default are the
// same namespace, so an access token (and a refresh token) issued under
// either is accepted under the other.
func TestDefaultNamespaceHasTwoURLs(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	for _, tc := range []struct{ from, to string }{{"/centili", "/ns/default/centili"}, {"/ns/default/centili", "/centili"}} {
		tok := login(t, h, tc.from, merchantUser)
		h.Do("GET", tc.to+"/datagifting/v1/services", nil, sandboxtest.Bearer(tok.AccessToken)).WantStatus(200)
		refresh(h, tc.to, publicClient, tok.RefreshToken).WantStatus(200)
	}
}

// Authentication comes first (before any validation), accepts the token in
// Authorization or in Centili's `token` header, and refuses with RFC 6750's
// challenges.
func TestDataGiftingAuthentication(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	user := login(t, h, "/centili", merchantUser)
	legacy := h.Do("POST", "/centili"+legacyPath, sandboxtest.FormBody(passwordForm(publicClient, merchantUser, password))).WantStatus(200)
	var legacyTok tokenResponse
	legacy.JSON(&legacyTok)
	foreignNS := login(t, h, "/ns/elsewhere/centili", merchantUser)
	idRes := h.Do("POST", "/centili"+tokenPath, sandboxtest.FormBody(func() map[string][]string {
		v := passwordForm(publicClient, merchantUser, password)
		v.Set("scope", "openid")
		return v
	}())).WantStatus(200)
	var withID tokenResponse
	idRes.JSON(&withID)

	// A token with the right claims signed by a key that is not the realm's.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	forged, _ := jwt.Signed(signer).Claims(claims(t, user.AccessToken)).Serialize()

	const (
		noToken = `Bearer realm="api"`
		invalid = `Bearer realm="api", error="invalid_token"`
	)
	missing := `{"errorType":"UNAUTHORIZED","errorMessage":"Missing bearer token: send Authorization: Bearer <access_token> (or a token header) obtained from the token URL"}`
	tests := []struct {
		name      string
		opts      []sandboxtest.Option
		body      string
		want      int
		challenge string
		wantBody  string
	}{
		{"Authorization: Bearer", []sandboxtest.Option{sandboxtest.Bearer(user.AccessToken)}, "", 200, "", ""},
		{"scheme is case-insensitive", []sandboxtest.Option{sandboxtest.Header("Authorization", "bearer "+user.AccessToken)}, "", 200, "", ""},
		{"token header, bare", []sandboxtest.Option{sandboxtest.Header("token", user.AccessToken)}, "", 200, "", ""},
		{"token header with Bearer", []sandboxtest.Option{sandboxtest.Header("token", "Bearer "+user.AccessToken)}, "", 200, "", ""},
		{"token of the legacy URL form", []sandboxtest.Option{sandboxtest.Bearer(legacyTok.AccessToken)}, "", 200, "", ""},
		{"no token", nil, "", 401, noToken, missing},
		{"no token, and a bad body: auth first", nil, `{"amount":"x"}`, 401, noToken, missing},
		{"Basic is not a bearer token", []sandboxtest.Option{sandboxtest.Header("Authorization", "Basic YTpi")}, "", 401, noToken, missing},
		{"garbage", []sandboxtest.Option{sandboxtest.Bearer("abc")}, "", 401, invalid,
			`{"errorType":"INVALID_TOKEN","errorMessage":"Invalid bearer token: the token is not a JWT signed by this realm"}`},
		{"signed by another key", []sandboxtest.Option{sandboxtest.Bearer(forged)}, "", 401, invalid,
			`{"errorType":"INVALID_TOKEN","errorMessage":"Invalid bearer token: the token is not a JWT signed by this realm"}`},
		{"refresh token", []sandboxtest.Option{sandboxtest.Bearer(user.RefreshToken)}, "", 401, invalid,
			`{"errorType":"INVALID_TOKEN","errorMessage":"Invalid bearer token: a \"Refresh\" token is not an access token"}`},
		{"ID token", []sandboxtest.Option{sandboxtest.Bearer(withID.IDToken)}, "", 401, invalid,
			`{"errorType":"INVALID_TOKEN","errorMessage":"Invalid bearer token: a \"ID\" token is not an access token"}`},
		{"token of another namespace", []sandboxtest.Option{sandboxtest.Bearer(foreignNS.AccessToken)}, "", 401, invalid,
			fmt.Sprintf(`{"errorType":"INVALID_TOKEN","errorMessage":"Invalid bearer token: the token was issued by %s/ns/elsewhere/centili/realms/api, not by this realm"}`, h.URL)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			var res *sandboxtest.Response
			if tc.body != "" {
				res = h.Do("POST", "/centili"+txPath, sandboxtest.JSONBody(tc.body), tc.opts...)
			} else {
				res = h.Do("GET", "/centili/datagifting/v1/services", nil, tc.opts...)
			}
			res.WantStatus(tc.want)
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			if tc.wantBody != "" {
				res.WantJSON(tc.wantBody)
			}
		})
	}

	// Access tokens expire with the sandbox clock (300 s).
	t.Run("expired", func(t *testing.T) {
		h := sandboxtest.New(t, frozenScenario)
		tok := login(t, h, "/centili", merchantUser)
		advance(t, h, "", "299s")
		h.Do("GET", "/centili/datagifting/v1/services", nil, sandboxtest.Bearer(tok.AccessToken)).WantStatus(200)
		advance(t, h, "", "1s")
		res := h.Do("GET", "/centili/datagifting/v1/services", nil, sandboxtest.Bearer(tok.AccessToken)).WantStatus(401)
		res.WantJSON(`{"errorType":"INVALID_TOKEN","errorMessage":"Invalid bearer token: Token is not active (expired at 2026-03-01 10:05:00)"}`)
		if res.Header.Get("WWW-Authenticate") != invalid {
			t.Errorf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
		}
	})
}

func TestAssignData(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tok := sandboxtest.Header("token", login(t, h, "/centili", merchantUser).AccessToken)

	res := h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "454585", 500), tok).WantStatus(200)
	res.WantJSON(`{"transactionId":"17000000001","serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"454585","amount":500,"operator":"AT_A1","status":"COMPLETED","errorType":null,"errorMessage":null,"timeCreated":"2026-03-01 10:00:00"}`)
	if res.Header.Get("X-Sandbox-Idempotent-Replay") != "" {
		t.Error("first request marked as a replay")
	}
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "33612345678", "454586", 1000), tok).WantStatus(200)

	// The same clientId again (even with another amount) answers the original
	// transaction and assigns nothing.
	res = h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "454585", 100), tok).WantStatus(200)
	var replay transaction
	res.JSON(&replay)
	if replay.TransactionID != "17000000001" || replay.Amount != 500 || res.Header.Get("X-Sandbox-Idempotent-Replay") != "true" {
		t.Errorf("replay = %+v, header %q", replay, res.Header.Get("X-Sandbox-Idempotent-Replay"))
	}

	st := state(t, h, "")
	if p := poolOf(t, st, serviceKey, "AT_A1"); p.AssignedAmount != 500 || p.Balance != 49500 {
		t.Errorf("AT_A1 pool = %+v, want 500 assigned", p)
	}
	if p := poolOf(t, st, serviceKey, "FR_ORANGE"); p.AssignedAmount != 1000 {
		t.Errorf("FR_ORANGE pool = %+v, want 1000 assigned", p)
	}
	if len(st.Transactions) != 2 {
		t.Errorf("state has %d transactions, want 2 (a replay records nothing)", len(st.Transactions))
	}
	h.Do("GET", "/centili/datagifting/v1/services/balance?serviceKey="+serviceKey+"&operator=AT_A1", nil, tok).WantStatus(200).
		WantJSON(`[{"operator":"AT_A1","totalAmount":50000,"assignedAmount":500,"expirationDate":"2030-12-31 23:59:59"}]`)
}

// Each business error: its status, errorType and message; 422s are
// recorded as FAILED transactions, 403/404 are not (the service is not the
// caller's to record under). A repeated clientId answers the same error.
func TestAssignBusinessErrors(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario+`centili:
  operators:
    - {prefix: "33", operator: FR_ORANGE}
    - {prefix: "43", operator: AT_A1}
    - {prefix: "381", operator: RS_MTS}
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      name: Gifts
      merchantId: 11111
      packages:
        - {operator: FR_ORANGE, amounts: [100, 500]}
        - {operator: AT_A1, amounts: [100]}
      pools:
        - {operator: FR_ORANGE, totalAmount: 1000, assignedAmount: 800, expirationDate: "2030-12-31 23:59:59"}
        - {operator: AT_A1, totalAmount: 1000, expirationDate: "2026-02-28 23:59:59"}
    - serviceKey: 7c1e0f3a9b2d4e5f8a6b7c8d9e0f1a2b
      name: Old
      merchantId: 11111
      active: false
    - serviceKey: d41d8cd98f00b204e9800998ecf8427e
      name: Theirs
      merchantId: 22222
`)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	tests := []struct {
		name     string
		key      string
		msisdn   string
		amount   int64
		status   int
		wantBody string
		recorded bool
	}{
		{"unknown service", "00000000000000000000000000000000", "33612345678", 100, 404,
			`{"errorType":"SERVICE_NOT_FOUND","errorMessage":"Service 00000000000000000000000000000000 not found"}`, false},
		{"another merchant's service", otherKey, "33612345678", 100, 403,
			`{"errorType":"FORBIDDEN","errorMessage":"Service d41d8cd98f00b204e9800998ecf8427e does not belong to merchant 11111"}`, false},
		{"inactive service", inactiveKey, "33612345678", 100, 422,
			`{"errorType":"SERVICE_INACTIVE","errorMessage":"Service 7c1e0f3a9b2d4e5f8a6b7c8d9e0f1a2b is not active"}`, true},
		{"msisdn of no known operator", serviceKey, "4912345678", 100, 422,
			`{"errorType":"UNSUPPORTED_OPERATOR","errorMessage":"No operator is known for msisdn 4912345678"}`, true},
		{"operator without a pool", serviceKey, "381641234567", 100, 422,
			`{"errorType":"UNSUPPORTED_OPERATOR","errorMessage":"Service 3586a2363bcd51a2b3c4d5f34918263a has no data pool for operator RS_MTS (msisdn 381641234567)"}`, true},
		{"amount not a package", serviceKey, "33612345678", 250, 422,
			`{"errorType":"INVALID_PACKAGE","errorMessage":"Amount 250 MB is not a package of service 3586a2363bcd51a2b3c4d5f34918263a on FR_ORANGE; packages: 100, 500 MB"}`, true},
		{"not enough left", serviceKey, "33612345678", 500, 422,
			`{"errorType":"INSUFFICIENT_BALANCE","errorMessage":"Not enough data in the FR_ORANGE pool of service 3586a2363bcd51a2b3c4d5f34918263a: 200 MB left, 500 MB requested"}`, true},
		{"expired pool", serviceKey, "4366124567", 100, 422,
			`{"errorType":"POOL_EXPIRED","errorMessage":"The AT_A1 data pool of service 3586a2363bcd51a2b3c4d5f34918263a expired at 2026-02-28 23:59:59"}`, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			clientID := fmt.Sprintf("err-%d", i)
			h.Do("POST", "/centili"+txPath, txBody(tc.key, tc.msisdn, clientID, tc.amount), tok).WantStatus(tc.status).WantJSON(tc.wantBody)
			again := h.Do("POST", "/centili"+txPath, txBody(tc.key, tc.msisdn, clientID, tc.amount), tok).WantStatus(tc.status)
			again.WantJSON(tc.wantBody)
			var found *transaction
			for _, tx := range state(t, h, "").Transactions {
				if tx.ClientID == clientID {
					if found != nil {
						t.Fatalf("clientId %s recorded twice", clientID)
					}
					found = &tx
				}
			}
			if (found != nil) != tc.recorded {
				t.Fatalf("recorded = %v, want %v", found != nil, tc.recorded)
			}
			if found != nil {
				var e apiError
				again.JSON(&e)
				if found.Status != "FAILED" || found.ErrorType == nil || *found.ErrorType != e.ErrorType || *found.ErrorMessage != e.ErrorMessage {
					t.Errorf("recorded transaction = %+v", *found)
				}
				if again.Header.Get("X-Sandbox-Idempotent-Replay") != "true" {
					t.Error("the repeated request is not marked as a replay")
				}
			}
		})
	}
	// Nothing was assigned by any of them.
	st := state(t, h, "")
	if p := poolOf(t, st, serviceKey, "FR_ORANGE"); p.AssignedAmount != 800 {
		t.Errorf("FR_ORANGE assigned = %d, want the initial 800", p.AssignedAmount)
	}
	// The FAILED ones show in the transaction list.
	var list []transaction
	h.Do("GET", "/centili/datagifting/v1/transaction?serviceKey="+serviceKey, nil, tok).WantStatus(200).JSON(&list)
	if len(list) != 5 {
		t.Errorf("transaction list has %d entries, want the 5 FAILED ones", len(list))
	}
}

// The magic msisdns documented in the default scenario reach each business
// error on the demo service, without touching its pools.
func TestMagicMsisdnsOfDefaultScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	tests := []struct {
		msisdn, errorType, message string
	}{
		{"33600000001", "UNSUPPORTED_OPERATOR", "No operator is known for msisdn 33600000001 (sandbox magic msisdn)"},
		{"33600000002", "INVALID_PACKAGE", "Amount 500 MB is not a package of service 3586a2363bcd51a2b3c4d5f34918263a on FR_ORANGE (sandbox magic msisdn)"},
		{"33600000003", "INSUFFICIENT_BALANCE", "Not enough data in the FR_ORANGE pool of service 3586a2363bcd51a2b3c4d5f34918263a: 500 MB requested (sandbox magic msisdn)"},
		{"33600000004", "POOL_EXPIRED", "The FR_ORANGE data pool of service 3586a2363bcd51a2b3c4d5f34918263a has expired (sandbox magic msisdn)"},
		{"33600000005", "SERVICE_INACTIVE", "Service 3586a2363bcd51a2b3c4d5f34918263a is not active (sandbox magic msisdn)"},
		{"4366000001", "UNSUPPORTED_OPERATOR", "No operator is known for msisdn 4366000001 (sandbox magic msisdn)"},
		{"4366000002", "INVALID_PACKAGE", "Amount 500 MB is not a package of service 3586a2363bcd51a2b3c4d5f34918263a on AT_A1 (sandbox magic msisdn)"},
		{"4366000003", "INSUFFICIENT_BALANCE", "Not enough data in the AT_A1 pool of service 3586a2363bcd51a2b3c4d5f34918263a: 500 MB requested (sandbox magic msisdn)"},
		{"4366000004", "POOL_EXPIRED", "The AT_A1 data pool of service 3586a2363bcd51a2b3c4d5f34918263a has expired (sandbox magic msisdn)"},
		{"4366000005", "SERVICE_INACTIVE", "Service 3586a2363bcd51a2b3c4d5f34918263a is not active (sandbox magic msisdn)"},
	}
	for _, tc := range tests {
		t.Run(tc.msisdn, func(t *testing.T) {
			h := h.With(t)
			res := h.Do("POST", "/centili"+txPath, txBody(serviceKey, tc.msisdn, "magic-"+tc.msisdn, 500), tok).WantStatus(422)
			var e apiError
			res.JSON(&e)
			if e.ErrorType != tc.errorType || e.ErrorMessage != tc.message {
				t.Errorf("got %+v, want %s %q", e, tc.errorType, tc.message)
			}
		})
	}
	st := state(t, h, "")
	for _, tx := range st.Transactions {
		if wantNull := *tx.ErrorType == "UNSUPPORTED_OPERATOR"; (tx.Operator == nil) != wantNull {
			t.Errorf("transaction to %s (%s) has operator %v", tx.Msisdn, *tx.ErrorType, tx.Operator)
		}
	}
	for _, op := range []string{"FR_ORANGE", "AT_A1"} {
		if p := poolOf(t, st, serviceKey, op); p.AssignedAmount != 0 {
			t.Errorf("%s pool assigned %d MB; magic msisdns must not touch pools", op, p.AssignedAmount)
		}
	}
	failed := 0
	for _, tx := range st.Transactions {
		if tx.Status == "FAILED" {
			failed++
		}
	}
	if failed != len(tests) {
		t.Errorf("%d FAILED transactions recorded, want %d", failed, len(tests))
	}
}

// N concurrent assignments against a pool with room for M < N: exactly M
// succeed, the pool ends exactly full, and the rest are FAILED with
// INSUFFICIENT_BALANCE. Concurrent repeats of one clientId assign once.
func TestAssignIsAtomicUnderConcurrency(t *testing.T) {
	t.Parallel()
	const n, m = 40, 7
	h := sandboxtest.New(t, frozenScenario+`centili:
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      name: Small pool
      merchantId: 11111
      packages:
        - {operator: AT_A1, amounts: [100]}
      pools:
        - {operator: AT_A1, totalAmount: 700, expirationDate: "2030-12-31 23:59:59"}
`)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i] = h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", fmt.Sprintf("c-%d", i), 100), tok).Status
		}(i)
	}
	wg.Wait()
	ok, insufficient := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 422:
			insufficient++
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if ok != m || insufficient != n-m {
		t.Fatalf("%d succeeded and %d were refused; want exactly %d and %d", ok, insufficient, m, n-m)
	}
	st := state(t, h, "")
	p := poolOf(t, st, serviceKey, "AT_A1")
	if p.AssignedAmount != p.TotalAmount || p.AssignedAmount != 700 {
		t.Fatalf("pool = %+v, want exactly full", p)
	}
	failed := 0
	for _, tx := range st.Transactions {
		if tx.Status == "FAILED" && *tx.ErrorType == "INSUFFICIENT_BALANCE" {
			failed++
		}
	}
	if failed != n-m || len(st.Transactions) != n {
		t.Errorf("%d transactions, %d FAILED INSUFFICIENT_BALANCE; want %d and %d", len(st.Transactions), failed, n, n-m)
	}

	// Same clientId from many goroutines at once: one assignment.
	h2 := sandboxtest.New(t, frozenScenario)
	tok2 := sandboxtest.Bearer(login(t, h2, "/centili", merchantUser).AccessToken)
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res := h2.Do("POST", "/centili"+txPath, txBody(serviceKey, "33612345678", "same", 100), tok2)
			var tx transaction
			if res.Status == 200 {
				res.JSON(&tx)
			}
			ids[i] = tx.TransactionID
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("concurrent repeats answered different transactions: %v", ids)
		}
	}
	if p := poolOf(t, state(t, h2, ""), serviceKey, "FR_ORANGE"); p.AssignedAmount != 100 {
		t.Errorf("FR_ORANGE assigned %d MB, want 100 (one assignment)", p.AssignedAmount)
	}
}

// Pools expire with the sandbox clock: usable through their expiration
// second, drained soonest-expiring first, then the next pool takes over.
func TestPoolExpiryFollowsSandboxClock(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario+`centili:
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      name: Two pools
      merchantId: 11111
      packages:
        - {operator: FR_ORANGE, amounts: [100]}
      pools:
        - {operator: FR_ORANGE, totalAmount: 5000, expirationDate: "2026-03-02 00:00:00"}
        - {operator: FR_ORANGE, totalAmount: 1000, expirationDate: "2026-03-01 10:05:00"}
`)
	tok := login(t, h, "/centili", merchantUser)
	n := 0
	assign := func(want int) *sandboxtest.Response {
		t.Helper()
		n++
		// A fresh token each time: the access token lives 300 s.
		tr := login(t, h, "/centili", merchantUser)
		return h.Do("POST", "/centili"+txPath, txBody(serviceKey, "33612345678", fmt.Sprint("e-", n), 100), sandboxtest.Bearer(tr.AccessToken)).WantStatus(want)
	}
	_ = tok
	assign(200)
	advance(t, h, "", "5m") // 10:05:00, the short pool's last second
	assign(200)
	var bal []pool
	tr := login(t, h, "/centili", merchantUser)
	h.Do("GET", "/centili/datagifting/v1/services/balance?serviceKey="+serviceKey, nil, sandboxtest.Bearer(tr.AccessToken)).WantStatus(200).JSON(&bal)
	if len(bal) != 2 || bal[0].ExpirationDate != "2026-03-01 10:05:00" || bal[0].AssignedAmount != 200 || bal[1].AssignedAmount != 0 {
		t.Fatalf("balance = %+v, want the soonest-expiring pool drained first", bal)
	}
	advance(t, h, "", "1s") // 10:05:01: the short pool is over, the long one serves
	assign(200)
	st := state(t, h, "")
	var short, long pool
	for _, p := range st.Services[0].Pools {
		if p.TotalAmount == 1000 {
			short = p
		} else {
			long = p
		}
	}
	if !short.Expired || short.AssignedAmount != 200 || long.AssignedAmount != 100 || long.Expired {
		t.Fatalf("pools = %+v / %+v", short, long)
	}
	advance(t, h, "", "14h") // past 2026-03-02 00:00:00
	res := assign(422)
	res.WantJSON(`{"errorType":"POOL_EXPIRED","errorMessage":"The FR_ORANGE data pool of service 3586a2363bcd51a2b3c4d5f34918263a expired at 2026-03-02 00:00:00"}`)
}

func TestListings(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	other := sandboxtest.Header("token", login(t, h, "/centili", otherUser).AccessToken)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "a", 100), tok).WantStatus(200)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "33612345678", "b", 500), tok).WantStatus(200)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "c", 333), tok).WantStatus(422)

	const ourServices = `[{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","name":"Sandbox data gifts","merchantId":11111,"active":true,"timeCreated":"2024-01-15 09:30:00","packages":[{"operator":"FR_ORANGE","amount":100},{"operator":"FR_ORANGE","amount":500},{"operator":"FR_ORANGE","amount":1000},{"operator":"AT_A1","amount":100},{"operator":"AT_A1","amount":500},{"operator":"AT_A1","amount":1000}]},{"serviceKey":"7c1e0f3a9b2d4e5f8a6b7c8d9e0f1a2b","name":"Retired campaign","merchantId":11111,"active":false,"timeCreated":"2023-03-01 08:00:00","packages":[{"operator":"FR_ORANGE","amount":100}]}]`
	tests := []struct {
		name   string
		path   string
		opt    sandboxtest.Option
		status int
		body   string
	}{
		{"services from the token's merchant", "/datagifting/v1/services", tok, 200, ourServices},
		{"services with the token's merchantId", "/datagifting/v1/services?merchantId=11111", tok, 200, ourServices},
		{"services of another merchant", "/datagifting/v1/services?merchantId=22222", tok, 403,
			`{"errorType":"FORBIDDEN","errorMessage":"Merchant 22222 is not the merchant of this token (11111)"}`},
		{"the other merchant's own services", "/datagifting/v1/services", other, 200,
			`[{"serviceKey":"d41d8cd98f00b204e9800998ecf8427e","name":"Other merchant's gifts","merchantId":22222,"active":true,"timeCreated":"2024-02-01 10:00:00","packages":[{"operator":"AT_A1","amount":500}]}]`},
		{"balance of one operator", "/datagifting/v1/services/balance?serviceKey=" + serviceKey + "&operator=FR_ORANGE", tok, 200,
			`[{"operator":"FR_ORANGE","totalAmount":100000,"assignedAmount":500,"expirationDate":"2030-12-31 23:59:59"}]`},
		{"balance of every operator", "/datagifting/v1/services/balance?serviceKey=" + serviceKey, tok, 200,
			`[{"operator":"FR_ORANGE","totalAmount":100000,"assignedAmount":500,"expirationDate":"2030-12-31 23:59:59"},{"operator":"AT_A1","totalAmount":50000,"assignedAmount":100,"expirationDate":"2030-12-31 23:59:59"}]`},
		{"balance of an operator without pools", "/datagifting/v1/services/balance?serviceKey=" + serviceKey + "&operator=DE_TELEKOM", tok, 200, `[]`},
		{"balance of another merchant's service", "/datagifting/v1/services/balance?serviceKey=" + serviceKey + "&operator=AT_A1", other, 403,
			`{"errorType":"FORBIDDEN","errorMessage":"Service 3586a2363bcd51a2b3c4d5f34918263a does not belong to merchant 22222"}`},
		{"balance of an unknown service", "/datagifting/v1/services/balance?serviceKey=abc&operator=AT_A1", tok, 404,
			`{"errorType":"SERVICE_NOT_FOUND","errorMessage":"Service abc not found"}`},
		{"transactions of another merchant's service", "/datagifting/v1/transaction?serviceKey=" + otherKey, tok, 403,
			`{"errorType":"FORBIDDEN","errorMessage":"Service d41d8cd98f00b204e9800998ecf8427e does not belong to merchant 11111"}`},
		{"transactions of an unknown service", "/datagifting/v1/transaction?serviceKey=ffff", tok, 404,
			`{"errorType":"SERVICE_NOT_FOUND","errorMessage":"Service ffff not found"}`},
		{"transactions of a service without any", "/datagifting/v1/transaction?serviceKey=" + inactiveKey, tok, 200, `[]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			h.Do("GET", "/centili"+tc.path, nil, tc.opt).WantStatus(tc.status).WantJSON(tc.body)
		})
	}
	var all, one []transaction
	h.Do("GET", "/centili/datagifting/v1/transaction?serviceKey="+serviceKey, nil, tok).WantStatus(200).JSON(&all)
	h.Do("GET", "/centili/datagifting/v1/transaction?serviceKey="+serviceKey+"&msisdn=4366124567", nil, tok).WantStatus(200).JSON(&one)
	if len(all) != 3 || all[0].ClientID != "a" || all[2].Status != "FAILED" {
		t.Errorf("all transactions = %+v", all)
	}
	if len(one) != 2 || one[0].Msisdn != "4366124567" || one[1].Msisdn != "4366124567" {
		t.Errorf("transactions of 4366124567 = %+v", one)
	}
}

// Bad input of every kind gets Centili's error shape with a message naming
// the field, and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	valid := `"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"x1"`
	tests := []struct {
		name   string
		method string
		path   string
		body   *sandboxtest.Body
		status int
		msg    string
	}{
		{"not JSON", "POST", txPath, sandboxtest.JSONBody(`serviceKey=abc`), 400, `Request body is not valid JSON: invalid character 's' looking for beginning of value (at byte 1)`},
		{"truncated JSON", "POST", txPath, sandboxtest.JSONBody(`{"serviceKey":`), 400, `Request body is not valid JSON: unexpected end of input`},
		{"empty body", "POST", txPath, sandboxtest.JSONBody(``), 400, `Request body is required: a JSON object with serviceKey, msisdn, clientId and amount`},
		{"an array", "POST", txPath, sandboxtest.JSONBody(`[{` + valid + `,"amount":100}]`), 400, `Request body must be a JSON object with serviceKey, msisdn, clientId and amount`},
		{"missing amount", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `}`), 400, `Field "amount" is required`},
		{"null amount", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":null}`), 400, `Field "amount" is required`},
		{"several missing", "POST", txPath, sandboxtest.JSONBody(`{"clientId":"x"}`), 400, `Fields "serviceKey", "msisdn" and "amount" are required`},
		{"amount as a string", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":"500"}`), 400, `Field "amount" must be a JSON number of MB, e.g. 500, not a string`},
		{"negative amount", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":-100}`), 400, `Field "amount" must be a positive number of MB; got -100`},
		{"zero amount", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":0}`), 400, `Field "amount" must be a positive number of MB; got 0`},
		{"fractional amount", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":100.5}`), 400, `Field "amount" must be a whole number of MB; got 100.5`},
		{"huge amount", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":1e30}`), 400, `Field "amount" must be at most 1000000000 MB; got 1e30`},
		{"boolean amount", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":true}`), 400, `Field "amount" must be a JSON number of MB, e.g. 500; got a boolean`},
		{"msisdn with +", "POST", txPath, sandboxtest.JSONBody(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"+4366124567","clientId":"x","amount":100}`), 400,
			`Field "msisdn" must be E.164 digits without the leading +, e.g. 4366124567; got "+4366124567"`},
		{"msisdn with letters", "POST", txPath, sandboxtest.JSONBody(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"43661abc67","clientId":"x","amount":100}`), 400,
			`Field "msisdn" must contain only digits (E.164 without +), e.g. 4366124567; got "43661abc67"`},
		{"msisdn as a number", "POST", txPath, sandboxtest.JSONBody(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":4366124567,"clientId":"x","amount":100}`), 400,
			`Field "msisdn" must be a string, e.g. "4366124567"; got a number`},
		{"msisdn too short", "POST", txPath, sandboxtest.JSONBody(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366","clientId":"x","amount":100}`), 400,
			`Field "msisdn" must be 8 to 15 digits; got 4`},
		{"bad serviceKey", "POST", txPath, sandboxtest.JSONBody(`{"serviceKey":"3586-a236","msisdn":"4366124567","clientId":"x","amount":100}`), 400,
			`Field "serviceKey" must be 1 to 32 letters or digits, e.g. 3586a2363bcd51a2b3c4d5f34918263a; got "3586-a236"`},
		{"empty clientId", "POST", txPath, sandboxtest.JSONBody(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"","amount":100}`), 400,
			`Field "clientId" must be 1 to 64 characters, your own reference for the transaction`},
		{"unknown field", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"ammount":100}`), 400, `Unknown field "ammount"; the fields are serviceKey, msisdn, clientId, amount`},
		{"repeated field", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":100,"amount":1000}`), 400, `Field "amount" is given more than once`},
		{"data after the object", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":100} {}`), 400, `Request body is not valid JSON: unexpected data after the object`},
		{"not UTF-8", "POST", txPath, sandboxtest.JSONBody([]byte("{\"clientId\":\"\xff\"}")), 400, `Request body is not valid UTF-8`},
		{"wrong content type", "POST", txPath, sandboxtest.RawBody("text/plain", []byte(`{`+valid+`,"amount":100}`)), 400, `Content-Type must be application/json, got "text/plain"`},
		{"query parameter on POST", "POST", txPath + "?amount=100", sandboxtest.JSONBody(`{` + valid + `,"amount":100}`), 400, `Unknown query parameter "amount": this operation takes no query parameters`},
		{"oversized body", "POST", txPath, sandboxtest.JSONBody(`{` + valid + `,"amount":100,"pad":"` + strings.Repeat("x", 16400) + `"}`), 413, `Request body exceeds the limit of 16384 bytes`},
		{"unknown query parameter", "GET", "/datagifting/v1/transaction?serviceKey=" + serviceKey + "&limit=5", nil, 400, `Unknown query parameter "limit"; this operation accepts serviceKey, msisdn`},
		{"repeated query parameter", "GET", "/datagifting/v1/transaction?serviceKey=" + serviceKey + "&serviceKey=" + otherKey, nil, 400, `Query parameter "serviceKey" is given more than once`},
		{"semicolon separator", "GET", "/datagifting/v1/transaction?serviceKey=" + serviceKey + ";msisdn=4366124567", nil, 400, `Query parameter "serviceKey" contains ';': separate query parameters with &`},
		{"bad escape in a query value", "GET", "/datagifting/v1/services/balance?serviceKey=%ZZ", nil, 400, `Query parameter "serviceKey" has a malformed %-escape in its value`},
		{"bad escape in the msisdn filter", "GET", "/datagifting/v1/transaction?serviceKey=" + serviceKey + "&msisdn=4366%G1", nil, 400, `Query parameter "msisdn" has a malformed %-escape in its value`},
		{"missing serviceKey", "GET", "/datagifting/v1/services/balance?operator=AT_A1", nil, 400, `query parameter "serviceKey" is required`},
		{"bad msisdn filter", "GET", "/datagifting/v1/transaction?serviceKey=" + serviceKey + "&msisdn=%2B4366124567", nil, 400, `query parameter "msisdn" must be 8 to 15 digits in E.164 without +, e.g. 4366124567`},
		{"merchantId not a number", "GET", "/datagifting/v1/services?merchantId=abc", nil, 400, `query parameter "merchantId" must be a positive whole number, e.g. 11111`},
		{"operator in lower case", "GET", "/datagifting/v1/services/balance?serviceKey=" + serviceKey + "&operator=at_a1", nil, 400, `query parameter "operator" must be an operator code such as FR_ORANGE`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do(tc.method, "/centili"+tc.path, tc.body, tok).WantStatus(tc.status)
			wantType := "VALIDATION_ERROR"
			if tc.status == 413 {
				wantType = "PAYLOAD_TOO_LARGE"
			}
			var e apiError
			res.JSON(&e)
			if e.ErrorType != wantType || e.ErrorMessage != tc.msg {
				t.Errorf("got %s %q\nwant %s %q", e.ErrorType, e.ErrorMessage, wantType, tc.msg)
			}
		})
	}
	st := state(t, h, "")
	if len(st.Transactions) != 0 {
		t.Errorf("bad input recorded %d transactions", len(st.Transactions))
	}
}

// Paths and methods the spec does not have answer in the shape of the half
// they aimed at.
func TestUnknownRoutesUseTheRightShape(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tests := []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/centili/datagifting/v1/transactions", 404, `{"errorType":"NOT_FOUND","errorMessage":"No endpoint GET /centili/datagifting/v1/transactions"}`, ""},
		{"GET", "/centili/datagifting/v1/service/transaction", 405, `{"errorType":"METHOD_NOT_ALLOWED","errorMessage":"Method GET is not supported here; use POST"}`, "POST"},
		{"DELETE", "/centili/datagifting/v1/services", 405, `{"errorType":"METHOD_NOT_ALLOWED","errorMessage":"Method DELETE is not supported here; use GET"}`, "GET"},
		{"GET", "/centili/realms/api/protocol/openid-connect/revoke", 405, `{"error":"HTTP 405 Method Not Allowed"}`, "POST"},
		{"GET", "/centili/realms/api/protocol/openid-connect/token", 405, `{"error":"HTTP 405 Method Not Allowed"}`, "POST"},
		{"GET", "/centili/realms/api/protocol/openid-connect/auth", 404, `{"error":"Unable to find matching target resource method"}`, ""},
		{"POST", "/ns/x/centili/auth/realms/api/protocol/openid-connect/login-status-iframe.html", 404, `{"error":"Unable to find matching target resource method"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			h := h.With(t)
			res := h.Do(tc.method, tc.path, nil).WantStatus(tc.status)
			res.WantJSON(tc.body)
			if res.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow = %q, want %q", res.Header.Get("Allow"), tc.allow)
			}
		})
	}
}

// A fault rule (here the Prefer header) that asks for a status Centili
// really answers gets that status's own errorType and headers, so that a
// client's 401/403/404 handling can be rehearsed; the token service answers
// in Keycloak's shape.
func TestFaultAnswersAreNative(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	balance := "/datagifting/v1/services/balance?serviceKey=" + serviceKey
	tests := []struct {
		name, method, path string
		body               *sandboxtest.Body
		status             int
		want, challenge    string
	}{
		{"401 on a transaction", "POST", txPath, txBody(serviceKey, "4366124567", "f1", 100), 401,
			`{"errorType":"INVALID_TOKEN","errorMessage":"Unauthorized"}`, `Bearer realm="api", error="invalid_token"`},
		{"401 on services", "GET", "/datagifting/v1/services", nil, 401,
			`{"errorType":"INVALID_TOKEN","errorMessage":"Unauthorized"}`, `Bearer realm="api", error="invalid_token"`},
		{"403 on a transaction", "POST", txPath, txBody(serviceKey, "4366124567", "f2", 100), 403,
			`{"errorType":"FORBIDDEN","errorMessage":"Forbidden"}`, ""},
		{"404 on balance", "GET", balance, nil, 404,
			`{"errorType":"SERVICE_NOT_FOUND","errorMessage":"Not Found"}`, ""},
		{"404 on a transaction", "POST", txPath, txBody(serviceKey, "4366124567", "f3", 100), 404,
			`{"errorType":"SERVICE_NOT_FOUND","errorMessage":"Not Found"}`, ""},
		{"404 on services", "GET", "/datagifting/v1/services", nil, 404,
			`{"errorType":"NOT_FOUND","errorMessage":"Not Found"}`, ""},
		{"413 on a transaction", "POST", txPath, txBody(serviceKey, "4366124567", "f4", 100), 413,
			`{"errorType":"PAYLOAD_TOO_LARGE","errorMessage":"Request Entity Too Large"}`, ""},
		{"503 on a transaction", "POST", txPath, txBody(serviceKey, "4366124567", "f5", 100), 503,
			`{"errorType":"SERVICE_UNAVAILABLE","errorMessage":"Service Unavailable"}`, ""},
		{"401 on the token endpoint", "POST", tokenPath, sandboxtest.FormBody(passwordForm(publicClient, merchantUser, password)), 401,
			`{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`, ""},
		{"400 on the token endpoint", "POST", tokenPath, sandboxtest.FormBody(passwordForm(publicClient, merchantUser, password)), 400,
			`{"error":"invalid_request","error_description":"Bad Request"}`, ""},
		{"503 on the token endpoint", "POST", legacyPath, sandboxtest.FormBody(passwordForm(publicClient, merchantUser, password)), 503,
			`{"error":"server_error","error_description":"Service Unavailable"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do(tc.method, "/centili"+tc.path, tc.body, tok, sandboxtest.Header("Prefer", fmt.Sprintf("status=%d", tc.status))).WantStatus(tc.status)
			res.WantJSON(tc.want)
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
		})
	}
	if st := state(t, h, ""); len(st.Transactions) != 0 {
		t.Errorf("fault answers recorded %d transactions", len(st.Transactions))
	}
}
