package centili_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/centili"
)

// durableScenario keeps four transactions (so that the log drops and
// clientIds are remembered as fingerprints), rotates refresh tokens with
// one reuse, has a FR_ORANGE pool that expires half an hour in and a
// service whose timeCreated comes from the clock.
const durableScenario = frozenScenario + `centili:
  revokeRefreshToken: true
  refreshTokenMaxReuse: 1
  limits: {maxTransactions: 4}
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      merchantId: 11111
      name: Durable gifts
      packages: [{operator: FR_ORANGE, amounts: [100, 500]}, {operator: AT_A1, amounts: [100, 1000]}]
      pools:
        - {operator: FR_ORANGE, totalAmount: 1500, assignedAmount: 200, expirationDate: "2026-03-01 10:30:00"}
        - {operator: FR_ORANGE, totalAmount: 2000, expirationDate: "2030-12-31 23:59:59"}
        - {operator: AT_A1, totalAmount: 4000, expirationDate: "2030-12-31 23:59:59"}
    - serviceKey: d41d8cd98f00b204e9800998ecf8427e
      name: Other
      merchantId: 22222
      packages: [{operator: AT_A1, amounts: [500]}]
      pools: [{operator: AT_A1, totalAmount: 20000, expirationDate: "2030-12-31 23:59:59"}]
`

const (
	durableNS   = "d"
	durableBase = "/ns/d/centili"
	// durableHost is the Host of every Centili request of a twin: tokens
	// name it in their issuer, so both sandboxes sign the same bytes.
	durableHost = "sandbox.test"
)

// twin drives one namespace in two sandboxes: a, whose Centili state
// writes records, and b, a fresh sandbox that is reset and given a's
// records with LoadRecords (a restart). Once b is loaded, every request
// goes to both and the answers must be the same bytes.
type twin struct {
	t      *testing.T
	a, b   *sandboxtest.Harness
	rs     *sandbox.RecordSet
	loaded bool
	// completed is the MB a's COMPLETED gifts took, by serviceKey/operator.
	completed map[string]int64
	// outcomes is the first answer of each serviceKey/clientId that
	// recorded a transaction (200 or a FAILED 422).
	outcomes map[string]*sandboxtest.Response
	order    []string // outcomes' keys, first use first
	// initial is the scenario's assigned MB, by serviceKey/operator.
	initial map[string]int64
}

func newTwin(t *testing.T, scenario string) *twin {
	w := &twin{t: t, a: sandboxtest.New(t, scenario), b: sandboxtest.New(t, scenario), rs: sandbox.NewRecordSet(),
		completed: map[string]int64{}, outcomes: map[string]*sandboxtest.Response{}}
	w.change(w.a, func(st any) { centili.KeepRecords(st, w.rs) })
	w.initial = assignedBy(state(t, w.a, durableNS))
	return w
}

func (w *twin) change(h *sandboxtest.Harness, fn func(st any)) {
	w.t.Helper()
	ns, err := h.Server.Namespace(durableNS)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := ns.Change("centili", fn); err != nil {
		w.t.Fatal(err)
	}
}

func (w *twin) saved(h *sandboxtest.Harness) []byte {
	w.t.Helper()
	var out []byte
	w.change(h, func(st any) {
		var err error
		if out, err = st.(sandbox.Persistent).SaveState(); err != nil {
			w.t.Fatal(err)
		}
	})
	return out
}

// comparedHeaders are the headers of an answer a client reads.
var comparedHeaders = []string{"Content-Type", centili.HeaderReplay, sandbox.HeaderHint, "WWW-Authenticate", "Cache-Control"}

// do sends a request to a and, once b is loaded, to b, and compares them.
func (w *twin) do(method, path string, body *sandboxtest.Body, opts ...sandboxtest.Option) *sandboxtest.Response {
	w.t.Helper()
	if !strings.Contains(path, "/__sandbox/") {
		opts = append(opts, sandboxtest.Host(durableHost))
	}
	ra := w.a.Do(method, path, body, opts...)
	if !w.loaded {
		return ra
	}
	rb := w.b.Do(method, path, body, opts...)
	if ra.Status != rb.Status || !bytes.Equal(ra.Body, rb.Body) {
		w.t.Fatalf("%s %s after LoadRecords:\nbefore the restart %d %s\nafter it          %d %s", method, path, ra.Status, ra.Body, rb.Status, rb.Body)
	}
	for _, k := range comparedHeaders {
		if ra.Header.Get(k) != rb.Header.Get(k) {
			w.t.Fatalf("%s %s after LoadRecords: %s %q, want %q", method, path, k, rb.Header.Get(k), ra.Header.Get(k))
		}
	}
	return ra
}

// reload is a restart of b: reset to the scenario, LoadRecords with every
// record a has written, the clock set to a's. Then SaveState must give
// the same bytes, and check must pass.
func (w *twin) reload() {
	w.t.Helper()
	if st := w.b.Admin("POST", durableNS, "/reset", nil, nil); st != 200 {
		w.t.Fatalf("reset: %d", st)
	}
	if w.rs.Err != nil {
		w.t.Fatal(w.rs.Err)
	}
	var err error
	w.change(w.b, func(st any) { err = st.(sandbox.Durable).LoadRecords(w.rs.Records()) })
	if err != nil {
		w.t.Fatalf("LoadRecords: %v", err)
	}
	var clk struct {
		Now time.Time `json:"now"`
	}
	w.a.Admin("GET", durableNS, "/clock", nil, &clk)
	if st := w.b.Admin("POST", durableNS, "/clock", map[string]string{"set": clk.Now.Format(time.RFC3339Nano)}, nil); st != 200 {
		w.t.Fatalf("setting b's clock: %d", st)
	}
	if a, b := w.saved(w.a), w.saved(w.b); !bytes.Equal(a, b) {
		w.t.Fatalf("SaveState after LoadRecords differs:\nbefore the restart %s\nafter it          %s", a, b)
	}
	w.loaded = true
	w.check()
}

// check asserts on b (just restarted) that no pool is oversubscribed, that
// the assigned amounts are the scenario's plus every COMPLETED gift, and
// that every clientId used answers as before: its original answer
// replayed while its transaction is kept, 409 once it is dropped.
func (w *twin) check() {
	w.t.Helper()
	view := state(w.t, w.b, durableNS)
	after := assignedBy(view)
	for _, sv := range view.Services {
		for _, p := range sv.Pools {
			if p.AssignedAmount < 0 || p.AssignedAmount > p.TotalAmount || p.Balance != p.TotalAmount-p.AssignedAmount {
				w.t.Errorf("%s %s pool oversubscribed after LoadRecords: %+v", sv.ServiceKey, p.Operator, p)
			}
		}
	}
	for k, v := range after {
		if v-w.initial[k] != w.completed[k] {
			w.t.Errorf("%s: %d MB assigned beyond the scenario's, but the COMPLETED gifts took %d", k, v-w.initial[k], w.completed[k])
		}
	}
	kept := map[string]bool{}
	for _, tx := range view.Transactions {
		kept[tx.ServiceKey+"/"+tx.ClientID] = true
	}
	tokens := map[string]string{}
	for _, k := range w.order {
		sk, clientID, _ := strings.Cut(k, "/")
		if tokens[sk] == "" {
			user := merchantUser
			if sk == otherKey {
				user = otherUser
			}
			tokens[sk] = w.login(publicClient, user).AccessToken
		}
		tok := tokens[sk]
		res := w.do("POST", durableBase+txPath, txBody(sk, "4366124567", clientID, 100), sandboxtest.Header("token", tok))
		if res.Header.Get(centili.HeaderReplay) != "true" {
			w.t.Errorf("retry of %s is no replay", k)
		}
		if kept[k] {
			if orig := w.outcomes[k]; res.Status != orig.Status || !bytes.Equal(res.Body, orig.Body) {
				w.t.Errorf("retry of %s after LoadRecords: %d %s, want the original %d %s", k, res.Status, res.Body, orig.Status, orig.Body)
			}
			continue
		}
		want, _ := json.Marshal(apiError{ErrorType: "CLIENT_ID_ALREADY_USED", ErrorMessage: fmt.Sprintf(
			"clientId %q was already used on service %s; its transaction is no longer kept, so its outcome cannot be replayed. Nothing was assigned", clientID, sk)})
		if res.Status != 409 || !bytes.Equal(res.Body, want) {
			w.t.Errorf("retry of dropped %s after LoadRecords: %d %s, want 409 %s", k, res.Status, res.Body, want)
		}
	}
}

// assignedBy sums the assigned MB of a state view by serviceKey/operator.
func assignedBy(v stateView) map[string]int64 {
	out := map[string]int64{}
	for _, sv := range v.Services {
		for _, p := range sv.Pools {
			out[sv.ServiceKey+"/"+p.Operator] += p.AssignedAmount
		}
	}
	return out
}

func (w *twin) login(client, user string) tokenResponse {
	w.t.Helper()
	v := passwordForm(client, user, password)
	if client == confClient {
		v.Set("client_secret", confSecret)
	}
	var tr tokenResponse
	w.do("POST", durableBase+tokenPath, sandboxtest.FormBody(v)).WantStatus(200).JSON(&tr)
	return tr
}

// gift sends a transaction and keeps its outcome for the checks of reload.
func (w *twin) gift(key, msisdn, clientID string, amount int64, tok string) *sandboxtest.Response {
	w.t.Helper()
	res := w.do("POST", durableBase+txPath, txBody(key, msisdn, clientID, amount), sandboxtest.Header("token", tok))
	k := key + "/" + clientID
	if res.Header.Get(centili.HeaderReplay) == "" && (res.Status == 200 || res.Status == 422) {
		if _, seen := w.outcomes[k]; seen {
			w.t.Fatalf("%s recorded a second transaction: %d %s", k, res.Status, res.Body)
		}
		w.outcomes[k] = res
		w.order = append(w.order, k)
		if res.Status == 200 {
			var tx transaction
			res.JSON(&tx)
			w.completed[key+"/"+*tx.Operator] += tx.Amount
		}
	}
	return res
}

// A scripted run over everything Centili keeps: gifts that complete, fail,
// replay and drain the soonest-expiring pool, a log that drops its oldest,
// password logins of both clients, refresh-token rotation up to reuse,
// logout, revocation of an access token, a pool top-up that creates a
// pool, and the clock passing a pool's expiry. After each stage b is
// restarted from a's records and must go on exactly as a does.
func TestDurableCentiliScripted(t *testing.T) {
	t.Parallel()
	w := newTwin(t, durableScenario)
	pub := w.login(publicClient, merchantUser)
	tok := pub.AccessToken
	w.gift(serviceKey, "33612345678", "g1", 500, tok).WantStatus(200)
	w.gift(serviceKey, "33612345678", "g2", 1000, tok).WantStatus(422) // no 1000 MB package on FR_ORANGE
	w.gift(serviceKey, "4366124567", "g3", 1000, tok).WantStatus(200)
	w.gift(serviceKey, "33600000003", "g4", 100, tok).WantStatus(422) // magic: insufficient balance
	w.gift(serviceKey, "33612345678", "g1", 100, tok).WantStatus(200) // replay
	w.reload()

	w.gift(serviceKey, "33612345678", "g5", 500, tok).WantStatus(200)
	w.gift(serviceKey, "33612345678", "g6", 500, tok).WantStatus(200) // the first pool is short: the second gives; g2 is dropped
	w.gift(serviceKey, "4466000000", "g7", 100, tok).WantStatus(422)  // unknown operator
	var next tokenResponse
	w.do("POST", durableBase+tokenPath, sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", pub.RefreshToken))).WantStatus(200).JSON(&next)
	conf := w.login(confClient, merchantUser)
	w.do("POST", durableBase+"/realms/api/protocol/openid-connect/revoke", sandboxtest.FormBody(values("client_id", confClient, "client_secret", confSecret, "token", conf.AccessToken))).WantStatus(200)
	other := w.login(publicClient, otherUser)
	w.gift(otherKey, "4366124567", "o1", 500, other.AccessToken).WantStatus(200)
	w.reload()

	// next's refresh token may be used twice (one reuse); the third use
	// ends the session.
	refreshOld := func() *sandboxtest.Response {
		return w.do("POST", durableBase+tokenPath, sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", next.RefreshToken)))
	}
	refreshOld().WantStatus(200)
	refreshOld().WantStatus(200)
	w.do("POST", durableBase+"/realms/api/protocol/openid-connect/logout", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", other.RefreshToken))).WantStatus(204)
	w.do("POST", "/ns/d/__sandbox/centili/pools", sandboxtest.JSONBody(map[string]any{"serviceKey": serviceKey, "operator": "AT_A1", "addAmount": 700, "expirationDate": "2031-06-30 00:00:00"})).WantStatus(200)
	w.reload()

	refreshOld().WantStatus(400).WantJSON(`{"error":"invalid_grant","error_description":"Maximum allowed refresh token reuse exceeded"}`)
	w.reload()
	// The refused reuse detached the client: the session lives on without it.
	refreshOld().WantStatus(400).WantJSON(`{"error":"invalid_grant","error_description":"Session doesn't have required client"}`)
	w.do("POST", durableBase+"/realms/api/protocol/openid-connect/token/introspect", sandboxtest.FormBody(values("client_id", confClient, "client_secret", confSecret, "token", conf.AccessToken))).
		WantStatus(200).WantJSON(inactive)
	w.do("POST", "/ns/d/__sandbox/clock", sandboxtest.JSONBody(map[string]string{"advance": "31m"})).WantStatus(200)
	tok = w.login(publicClient, merchantUser).AccessToken
	// The first FR_ORANGE pool has expired: gifts drain the second.
	w.gift(serviceKey, "33612345679", "g8", 500, tok).WantStatus(200)
	w.reload()
	w.gift(serviceKey, "33612345679", "g9", 500, tok).WantStatus(200)
	w.do("GET", durableBase+"/datagifting/v1/services/balance?serviceKey="+serviceKey, nil, sandboxtest.Header("token", tok)).WantStatus(200).
		WantJSON(`[{"operator":"FR_ORANGE","totalAmount":1500,"assignedAmount":1200,"expirationDate":"2026-03-01 10:30:00"},{"operator":"FR_ORANGE","totalAmount":2000,"assignedAmount":1500,"expirationDate":"2030-12-31 23:59:59"},{"operator":"AT_A1","totalAmount":4000,"assignedAmount":1000,"expirationDate":"2030-12-31 23:59:59"},{"operator":"AT_A1","totalAmount":700,"assignedAmount":0,"expirationDate":"2031-06-30 00:00:00"}]`)
	w.do("GET", durableBase+"/datagifting/v1/transaction?serviceKey="+serviceKey, nil, sandboxtest.Header("token", tok)).WantStatus(200)
}

// Random sequences of the same operations, with b restarted from a's
// records every few steps and then sent every request a is sent.
func TestDurableCentiliRandomised(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			runRandomDurable(t, seed, 70)
		})
	}
}

type durableSession struct {
	client, user string
	access       string
	refresh      []string // every refresh token it was given, oldest first
}

func runRandomDurable(t *testing.T, seed uint64, steps int) {
	w := newTwin(t, durableScenario)
	r := rand.New(rand.NewPCG(seed, 14))
	pick := func(list ...string) string { return list[r.IntN(len(list))] }
	var sessions []*durableSession
	newSession := func() {
		s := &durableSession{client: pick(publicClient, confClient), user: pick(merchantUser, merchantUser, otherUser)}
		tr := w.login(s.client, s.user)
		s.access, s.refresh = tr.AccessToken, []string{tr.RefreshToken}
		sessions = append(sessions, s)
	}
	clientForm := func(s *durableSession, kv ...string) *sandboxtest.Body {
		kv = append([]string{"client_id", s.client}, kv...)
		if s.client == confClient {
			kv = append(kv, "client_secret", confSecret)
		}
		return sandboxtest.FormBody(values(kv...))
	}
	oidc := durableBase + "/realms/api/protocol/openid-connect"
	newSession()
	clientIDs := 0
	for step := 1; step <= steps; step++ {
		s := sessions[r.IntN(len(sessions))]
		switch op := r.IntN(100); {
		case op < 45:
			key := pick(serviceKey, serviceKey, serviceKey, otherKey)
			var clientID string
			if len(w.order) > 0 && r.IntN(3) == 0 {
				_, clientID, _ = strings.Cut(w.order[r.IntN(len(w.order))], "/")
			} else {
				clientIDs++
				clientID = fmt.Sprintf("c-%d", clientIDs)
			}
			msisdn := pick("4366124567", "4366124568", "33612345678", "33612345679", "38160000000", "4466000000", "33600000003", "4366000002")
			amount := []int64{100, 100, 500, 1000, 7}[r.IntN(5)]
			w.gift(key, msisdn, clientID, amount, s.access)
		case op < 55:
			newSession()
		case op < 67:
			rt := s.refresh[r.IntN(len(s.refresh))]
			var tr tokenResponse
			if res := w.do("POST", oidc+"/token", clientForm(s, "grant_type", "refresh_token", "refresh_token", rt)); res.Status == 200 {
				res.JSON(&tr)
				s.access, s.refresh = tr.AccessToken, append(s.refresh, tr.RefreshToken)
			}
		case op < 71:
			w.do("POST", oidc+"/logout", clientForm(s, "refresh_token", s.refresh[len(s.refresh)-1]))
		case op < 76:
			w.do("POST", oidc+"/revoke", clientForm(s, "token", s.access, "token_type_hint", "access_token"))
		case op < 80:
			w.do("POST", oidc+"/token/introspect", sandboxtest.FormBody(values("client_id", confClient, "client_secret", confSecret, "token", s.access)))
			w.do("GET", oidc+"/userinfo", nil, sandboxtest.Bearer(s.access))
		case op < 86:
			body := map[string]any{"serviceKey": pick(serviceKey, otherKey), "operator": pick("FR_ORANGE", "AT_A1"), "addAmount": 100 * (1 + r.IntN(20))}
			if r.IntN(2) == 0 {
				body["expirationDate"] = pick("2030-12-31 23:59:59", "2031-06-30 00:00:00", "2026-03-01 10:30:00")
			}
			w.do("POST", "/ns/d/__sandbox/centili/pools", sandboxtest.JSONBody(body))
		case op < 92:
			w.do("POST", "/ns/d/__sandbox/clock", sandboxtest.JSONBody(map[string]string{"advance": fmt.Sprintf("%ds", 1+r.IntN(900))})).WantStatus(200)
		default:
			q := pick("/datagifting/v1/services/balance?serviceKey=", "/datagifting/v1/transaction?serviceKey=")
			w.do("GET", durableBase+q+pick(serviceKey, otherKey), nil, sandboxtest.Header("token", s.access))
		}
		if step%15 == 0 {
			w.reload()
		}
	}
	w.reload()
}

// A namespace restored from a snapshot brings its sessions back at every
// restart (RestoreState runs before LoadRecords): one that has ended since
// must stay ended, and the rest go on.
func TestDurableCentiliAfterASnapshot(t *testing.T) {
	t.Parallel()
	w := newTwin(t, durableScenario)
	ended := w.login(publicClient, merchantUser)
	kept := w.login(confClient, merchantUser)
	w.do("POST", durableBase+"/realms/api/protocol/openid-connect/revoke", sandboxtest.FormBody(values("client_id", confClient, "client_secret", confSecret, "token", kept.AccessToken))).WantStatus(200)
	w.gift(serviceKey, "33612345678", "s1", 500, ended.AccessToken).WantStatus(200)
	snap := w.a.Snapshot(durableNS, false)
	// The restore builds a new world: its records start afresh.
	w.a.Restore(durableNS, snap).WantStatus(200)
	w.rs = sandbox.NewRecordSet()
	w.change(w.a, func(st any) { centili.KeepRecords(st, w.rs) })
	w.do("POST", durableBase+"/realms/api/protocol/openid-connect/logout", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", ended.RefreshToken))).WantStatus(204)
	w.gift(serviceKey, "33612345678", "s2", 500, w.login(publicClient, merchantUser).AccessToken).WantStatus(200)
	// A restart of b: the scenario's snapshot restored, then the records.
	w.b.Restore(durableNS, snap).WantStatus(200)
	var err error
	w.change(w.b, func(st any) { err = st.(sandbox.Durable).LoadRecords(w.rs.Records()) })
	if err != nil {
		t.Fatal(err)
	}
	if a, b := w.saved(w.a), w.saved(w.b); !bytes.Equal(a, b) {
		t.Fatalf("SaveState after LoadRecords differs:\nbefore the restart %s\nafter it          %s", a, b)
	}
	var nulls []string
	for _, r := range w.rs.Records() {
		if string(r.Value) == "null" {
			nulls = append(nulls, r.Kind)
		}
	}
	if !slices.Equal(nulls, []string{"sess"}) {
		t.Errorf("null records of kinds %v, want one for the ended session of the snapshot", nulls)
	}
	w.loaded = true
	w.do("POST", durableBase+tokenPath, sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", ended.RefreshToken))).
		WantStatus(400).WantJSON(`{"error":"invalid_grant","error_description":"Session not active"}`)
	w.do("POST", durableBase+"/realms/api/protocol/openid-connect/token/introspect", sandboxtest.FormBody(values("client_id", confClient, "client_secret", confSecret, "token", kept.AccessToken))).
		WantStatus(200).WantJSON(inactive)
	w.do("POST", durableBase+tokenPath, sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", confClient, "client_secret", confSecret, "refresh_token", kept.RefreshToken))).WantStatus(200)
}

// LoadRecords refuses a record it cannot use, naming it.
func TestDurableCentiliRefusesBadRecords(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, durableScenario)
	tx := `{"transactionId":"17000000001","serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"a","amount":100,"operator":"AT_A1","status":"COMPLETED","errorType":null,"errorMessage":null,"timeCreated":"2026-03-01 10:00:00","httpStatus":200}`
	tests := []struct {
		name string
		recs []sandbox.Record
		want string
	}{
		{"unknown kind", []sandbox.Record{{Kind: "nope", Key: "x", Value: json.RawMessage(`{}`)}},
			`record nope "x": Centili writes no record of this kind`},
		{"meta not JSON", []sandbox.Record{{Kind: "meta", Key: "", Value: json.RawMessage(`{`)}},
			`record meta "": not a meta record: unexpected end of JSON input`},
		{"meta generator", []sandbox.Record{{Kind: "meta", Key: "", Value: json.RawMessage(`{"nextTransactionId":1,"evicted":0,"generator":"AAAA"}`)}},
			`record meta "": generator: not a PCG state: invalid PCG encoding`},
		{"meta key", []sandbox.Record{{Kind: "meta", Key: "x", Value: json.RawMessage(`{}`)}},
			`record meta "x": the meta record has the empty key`},
		{"pools of no service", []sandbox.Record{{Kind: "pools", Key: "abc", Value: json.RawMessage(`{"serviceKey":"abc","pools":[]}`)}},
			`record pools "abc": the scenario has no service "abc", or the record names another ("abc")`},
		{"pools of another service", []sandbox.Record{{Kind: "pools", Key: serviceKey, Value: json.RawMessage(`{"serviceKey":"` + otherKey + `","pools":[]}`)}},
			`record pools "` + serviceKey + `": the scenario has no service "` + serviceKey + `", or the record names another ("` + otherKey + `")`},
		{"oversubscribed pool", []sandbox.Record{{Kind: "pools", Key: serviceKey, Value: json.RawMessage(`{"serviceKey":"` + serviceKey + `","pools":[{"operator":"AT_A1","totalAmount":100,"assignedAmount":101,"expirationDate":"2030-12-31 23:59:59"}]}`)}},
			`record pools "` + serviceKey + `": pools[0]: assignedAmount 101 is not between 0 and totalAmount 100`},
		{"pool date", []sandbox.Record{{Kind: "pools", Key: serviceKey, Value: json.RawMessage(`{"serviceKey":"` + serviceKey + `","pools":[{"operator":"AT_A1","totalAmount":100,"assignedAmount":1,"expirationDate":"soon"}]}`)}},
			`record pools "` + serviceKey + `": pools[0].expirationDate: parsing time "soon" as "2006-01-02 15:04:05": cannot parse "soon" as "2006"`},
		{"service time", []sandbox.Record{{Kind: "svc", Key: serviceKey, Value: json.RawMessage(`{"timeCreated":"x"}`)}},
			`record svc "` + serviceKey + `": timeCreated: parsing time "x" as "2006-01-02 15:04:05": cannot parse "x" as "2006"`},
		{"tx key", []sandbox.Record{{Kind: "tx", Key: "12", Value: json.RawMessage(tx)}},
			`record tx "12": the key is not a 16-digit log sequence number`},
		{"tx gap", []sandbox.Record{{Kind: "tx", Key: "0000000000000000", Value: json.RawMessage(tx)}, {Kind: "tx", Key: "0000000000000002", Value: json.RawMessage(tx)}},
			`record tx "0000000000000002": transaction 1 is missing: the log has no gaps`},
		{"tx failed without error", []sandbox.Record{{Kind: "tx", Key: "0000000000000000", Value: json.RawMessage(strings.Replace(tx, "COMPLETED", "FAILED", 1))}},
			`record tx "0000000000000000": a FAILED transaction needs errorType, errorMessage and an error httpStatus`},
		{"key not UTF-8", []sandbox.Record{{Kind: "revoked", Key: "\xff", Value: json.RawMessage(`"2026-03-01T10:00:00Z"`)}},
			`record revoked "\xff": the key is not UTF-8 (Centili's keys are ids it issued)`},
		{"drop key", []sandbox.Record{{Kind: "drop", Key: "xyz", Value: json.RawMessage(`{}`)}},
			`record drop "xyz": the key is not a 16-digit hex fingerprint`},
		{"session id", []sandbox.Record{{Kind: "sess", Key: "s1", Value: json.RawMessage(`{"sessionId":"s2"}`)}},
			`record sess "s1": the record holds session "s2"`},
		{"session without id", []sandbox.Record{{Kind: "sess", Key: "s1", Value: json.RawMessage(`{"userId":"u"}`)}},
			`record sess "s1": sessionId is missing`},
		{"revoked not a time", []sandbox.Record{{Kind: "revoked", Key: "j", Value: json.RawMessage(`"later"`)}},
			`record revoked "j": not a revoked record: parsing time "later" as "2006-01-02T15:04:05Z07:00": cannot parse "later" as "2006"`},
	}
	ns, err := h.Server.Namespace(durableNS)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after []byte
			var err error
			if cerr := ns.Change("centili", func(st any) {
				before, _ = st.(sandbox.Persistent).SaveState()
				err = st.(sandbox.Durable).LoadRecords(tc.recs)
				after, _ = st.(sandbox.Persistent).SaveState()
			}); cerr != nil {
				t.Fatal(cerr)
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("LoadRecords: %v\nwant %s", err, tc.want)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("a refused LoadRecords changed the state:\n%s\nwas %s", after, before)
			}
		})
	}
}

// A crash may lose the last records of a login: whatever prefix reached
// the disk, the restarted sandbox never hands out a session id it already
// holds (the generator's record goes first).
func TestDurableCentiliLoginPrefixes(t *testing.T) {
	t.Parallel()
	a, b := sandboxtest.New(t, durableScenario), sandboxtest.New(t, durableScenario)
	log := &centili.OpLog{}
	w := &twin{t: t, a: a}
	w.change(a, func(st any) { centili.KeepRecords(st, log) })
	for range 3 {
		w.login(publicClient, merchantUser)
	}
	refresh := w.login(confClient, otherUser)
	w.do("POST", durableBase+tokenPath, sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", confClient, "client_secret", confSecret, "refresh_token", refresh.RefreshToken))).WantStatus(200)
	wb := &twin{t: t, a: b}
	for n := 0; n <= len(log.Ops); n++ {
		if st := b.Admin("POST", durableNS, "/reset", nil, nil); st != 200 {
			t.Fatalf("reset: %d", st)
		}
		var err error
		wb.change(b, func(st any) { err = st.(sandbox.Durable).LoadRecords(log.UpTo(n)) })
		if err != nil {
			t.Fatalf("after %d of %d calls: %v", n, len(log.Ops), err)
		}
		held := map[string]bool{}
		for _, se := range state(t, b, durableNS).Sessions {
			held[se.SessionID] = true
		}
		if id := wb.login(publicClient, merchantUser).SessionState; held[id] {
			t.Errorf("after %d of %d calls: a login got session %s, which the sandbox already held", n, len(log.Ops), id)
		}
	}
}
