package netrefer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/netrefer"
)

// durableScenario has two clients (their stores are apart), Microsoft's
// issuers (so a token's bytes do not depend on the harness's address and
// one sandbox's token is good in the other: tokens share the process's
// key), a rate limit and a quota to carry over, and room for three refresh
// tokens, so that some are forgotten.
func durableScenario(rateCalls int) string {
	return frozen + twoClients(fmt.Sprintf("  token: {issuer: microsoft}\n  rateLimit: {calls: %d, renewalPeriodSeconds: 60}\n"+
		"  quota: {calls: 5000, renewalPeriodSeconds: 3600}\n  limits: {maxRefreshTokens: 3}\n", rateCalls), "")
}

// durablePair is the property under test: sandbox a's state keeps itself
// in rs as it changes; sandbox b, built from the same scenario (and the
// same snapshot, when there is one), gets rs through LoadRecords as after
// a restart, and must then be a's twin.
type durablePair struct {
	a, b *sandboxtest.Harness
	rs   *sandbox.RecordSet
}

func newDurablePair(t *testing.T, scenario string, base []byte) *durablePair {
	t.Helper()
	p := &durablePair{a: sandboxtest.New(t, scenario), b: sandboxtest.New(t, scenario), rs: sandbox.NewRecordSet()}
	if base != nil {
		p.a.Restore("", base).WantStatus(200)
		p.b.Restore("", base).WantStatus(200)
	}
	netrefer.UseRecords(p.a.With(t).ProviderState("", "netrefer"), p.rs)
	return p
}

// load hands b what a kept and checks that both save the same bytes.
func (p *durablePair) load(t *testing.T) {
	t.Helper()
	if p.rs.Err != nil {
		t.Fatalf("a record could not be encoded: %v", p.rs.Err)
	}
	if err := p.b.With(t).ProviderState("", "netrefer").(sandbox.Durable).LoadRecords(p.rs.Records()); err != nil {
		t.Fatalf("LoadRecords: %v", err)
	}
	p.sameState(t)
}

func (p *durablePair) sameState(t *testing.T) {
	t.Helper()
	if a, b := p.a.With(t).SavedState("", "netrefer"), p.b.With(t).SavedState("", "netrefer"); !bytes.Equal(a, b) {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		from := max(i-200, 0)
		t.Fatalf("the loaded state saves other bytes from byte %d:\nloaded: %.400s\nlive:   %.400s", i, b[from:], a[from:])
	}
}

// answer is what a client sees of a response, the request id aside.
type answer struct {
	status                    int
	hint, retryAfter, traceID string
	body                      string
}

func answerOf(r *sandboxtest.Response) answer {
	return answer{r.Status, r.Header.Get("X-Sandbox-Hint"), r.Header.Get("Retry-After"), r.Header.Get("x-ms-request-id"), string(r.Body)}
}

// call is one request, sent alike to either sandbox.
type call func(h *sandboxtest.Harness) *sandboxtest.Response

// both sends c to a and b and fails unless they answer alike; it returns
// a's answer.
func (p *durablePair) both(t *testing.T, c call) answer {
	t.Helper()
	a, b := answerOf(c(p.a.With(t))), answerOf(c(p.b.With(t)))
	if a != b {
		t.Errorf("the loaded sandbox answers\n%+v\nthe live one\n%+v", b, a)
	}
	return a
}

// key is a client's subscription key and one of its access tokens.
type key struct{ sub, token string }

func send(k key, path string, events ...any) call {
	return func(h *sandboxtest.Harness) *sandboxtest.Response {
		return h.Do("POST", "/netrefer/di/v1/"+path, sandboxtest.JSONBody(events),
			sandboxtest.Header("Ocp-Apim-Subscription-Key", k.sub), sandboxtest.Bearer(k.token))
	}
}

func tokenCall(f url.Values) call {
	return func(h *sandboxtest.Harness) *sandboxtest.Response {
		return h.Do("POST", tokenPath, sandboxtest.FormBody(f))
	}
}

func tokenV1Call(f url.Values) call {
	return func(h *sandboxtest.Harness) *sandboxtest.Response {
		return h.Do("POST", tokenV1Path, sandboxtest.FormBody(f))
	}
}

func offlineForm() url.Values {
	f := passwordForm()
	f.Set("scope", scope+" openid offline_access")
	return f
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "client_secret": {secret}, "refresh_token": {rt}}
}

func otherForm() url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {otherClient}, "client_secret": {"other-secret"},
		"username": {"other@sandbox.test"}, "password": {"other-password"}, "scope": {"api://" + otherClient + "/Events.Injestion"}}
}

// grant reads a token answer.
func grant(t *testing.T, a answer) (access, refresh string) {
	t.Helper()
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &tr) != nil {
		t.Fatalf("token: %d %s", a.status, a.body)
	}
	return tr.AccessToken, tr.RefreshToken
}

// accepted lists the eventIds an ingestion answer accepted.
func accepted(t *testing.T, a answer) []string {
	t.Helper()
	var res ingestResult
	if err := json.Unmarshal([]byte(a.body), &res); err != nil {
		return nil // a payload refused as a whole
	}
	var ids []string
	for _, r := range res.Results {
		if r.Status == "Accepted" {
			ids = append(ids, r.EventID)
		}
	}
	return ids
}

func evt(id, cust string, kv ...any) map[string]any {
	return with(map[string]any{"eventId": id, "customerId": cust, "brandId": 1, "timestamp": "2026-11-22T09:30:00Z"}, kv...)
}

// live sends c to a alone (before the load) and returns its answer.
func (p *durablePair) live(t *testing.T, c call) answer {
	t.Helper()
	return answerOf(c(p.a.With(t)))
}

// baseSnapshot is a namespace with a customer, an update, a deposit, an
// activity and two refresh tokens, saved: the scripted run starts from it
// in one of its cases, so records land after what RestoreState put back.
func baseSnapshot(t *testing.T) []byte {
	h := sandboxtest.New(t, durableScenario(40))
	p := &durablePair{a: h}
	access, _ := grant(t, p.live(t, tokenCall(offlineForm())))
	p.live(t, tokenCall(offlineForm()))
	k := key{subKey, access}
	for _, c := range []call{
		send(k, "registrations", reg("b-r0", "c0")),
		send(k, "customers", evt("b-u0", "c0", "status", "Inactive")),
		send(k, "deposits", dep("b-d0", "c0", "b-t0", 10)),
		send(k, "activities", act("b-a0", "c0", "b-t1", 10, 1, 0)),
	} {
		if a := p.live(t, c); a.status != 200 {
			t.Fatalf("base: %d %s", a.status, a.body)
		}
	}
	return h.Snapshot("", false)
}

// TestDurableStateScripted runs every kind of change once or more, loads
// the records into a second sandbox and checks that it is the first one's
// twin: the same saved bytes, every eventId accepted before (the 207
// batch's accepted ones included) refused as a duplicate, corrections and
// reversals applied, refresh tokens kept and forgotten alike, the rate
// limit's count carried over, the same ids generated next.
func TestDurableStateScripted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		base bool
	}{{"fresh", false}, {"on a restored snapshot", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var base []byte
			if tc.base {
				base = baseSnapshot(t)
			}
			p := newDurablePair(t, durableScenario(40), base)
			access, rt1 := grant(t, p.live(t, tokenCall(offlineForm())))
			_, rt2 := grant(t, p.live(t, tokenV1Call(form(passwordForm(), "resource", "api://"+clientID))))
			_, rt3 := grant(t, p.live(t, tokenCall(refreshForm(rt1))))
			otherAccess, _ := grant(t, p.live(t, tokenCall(otherForm())))
			if a := p.live(t, tokenCall(form(passwordForm(), "client_secret", "wrong"))); a.status != 401 {
				t.Fatalf("wrong secret: %d %s", a.status, a.body)
			}
			k, other := key{subKey, access}, key{"otherkey", otherAccess}
			var ids, otherIDs []string
			steps := []struct {
				c      call
				status int
				other  bool
			}{
				{send(k, "registrations", reg("r1", "c1"), reg("r2", "c2"), reg("r3", "c3")), 200, false},
				{send(k, "customers", evt("u1", "c1", "status", "Blocked", "countryCode", "DE")), 200, false},
				{send(k, "customers", evt("u2", "c1", "bTag", "b2", "username", "someone")), 200, false},
				{send(k, "deposits", dep("d1", "c1", "t-d1", 100), dep("d2", "c2", "t-d2", 50.5)), 200, false},
				{send(k, "withdrawals", with(dep("w1", "c1", "t-w1", 20), "depositMethod", nil, "withdrawalMethod", 3)), 200, false},
				{send(k, "activities", act("a1", "c1", "t-a1", 10, 2.5, 0), act("a2", "c2", "t-a2", 5, 1, 1)), 200, false},
				{send(k, "activities", act("a3", "c1", "t-a1", 12, 3, 0)), 200, false}, // a correction
				{send(k, "activities", act("a4", "c2", "t-a2", 0, 0, 0)), 200, false},  // a bet void
				{send(k, "deposits", dep("d3", "c2", "t-d2", 0)), 200, false},          // a chargeback
				{send(k, "corrections", evt("k1", "c1", "originalTransactionId", "t-a1", "turnover", 20, "grossRevenue", -4, "bonus", 1)), 200, false},
				{send(k, "deposit-corrections", evt("k2", "c1", "originalTransactionId", "t-d1", "amount", 90)), 200, false},
				{send(k, "adjustments", evt("k3", "c3", "originalTransactionId", "t-a3", "adjustmentType", "BetVoid")), 400, false},
				// A 207: accepted events between rejected ones, a duplicate in the batch.
				{send(k, "registrations", reg("r4", "c4"), reg("r1", "c5"), reg("r5", "c5"), reg("r5", "c6"), reg("r6", "nobody-twice"), reg("r6", "x")), 207, false},
				{send(k, "deposits", dep("d4", "c4", "t-d4", 7), dep("d5", "c9", "t-d5", 7), dep("d6", "c5", "t-d6", 1.2345)), 207, false},
				{send(k, "activities", act("a5", "c4", "t-a5", 1, 1, 0)), 200, false},
				{send(k, "adjustments", evt("k4", "c4", "originalTransactionId", "t-d4", "adjustmentType", "Chargeback")), 200, false},
				// The other client's store: the same ids are its own.
				{send(other, "registrations", reg("r1", "c1")), 200, true},
				{send(other, "deposits", dep("d1", "c1", "t-d1", 3)), 200, true},
			}
			if tc.base {
				steps = append(steps, []struct {
					c      call
					status int
					other  bool
				}{
					{send(k, "customers", evt("u3", "c0", "status", "Closed")), 200, false},
					{send(k, "corrections", evt("k5", "c0", "originalTransactionId", "b-t1", "turnover", 30, "grossRevenue", 3, "bonus", 0)), 200, false},
					{send(k, "deposits", dep("d7", "c0", "t-d7", 8)), 200, false},
					{send(k, "deposit-corrections", evt("k6", "c0", "originalTransactionId", "b-t0", "amount", 0)), 200, false},
				}...)
			}
			for i, s := range steps {
				a := p.live(t, s.c)
				if a.status != s.status {
					t.Fatalf("step %d: %d %s, want %d", i, a.status, a.body, s.status)
				}
				if s.other {
					otherIDs = append(otherIDs, accepted(t, a)...)
				} else {
					ids = append(ids, accepted(t, a)...)
				}
			}
			_, rt4 := grant(t, p.live(t, tokenCall(offlineForm()))) // rt1 is forgotten now (three kept)
			if tc.base {
				ids = append(ids, "b-r0", "b-u0", "b-d0", "b-a0")
			}
			kept := 0
			for _, r := range p.rs.Records() {
				if r.Kind == "rt" {
					kept++
				}
			}
			if kept != 3 {
				t.Errorf("%d refresh tokens are kept as records; the limit is 3 (a forgotten one is Deleted)", kept)
			}
			p.load(t)

			// Every eventId accepted before is refused as a duplicate, by
			// either client, as the live sandbox refuses it.
			for _, tc := range []struct {
				k   key
				ids []string
			}{{k, ids}, {other, otherIDs}} {
				dups := make([]any, len(tc.ids))
				for i, id := range tc.ids {
					dups[i] = reg(id, "fresh-"+id)
				}
				a := p.both(t, send(tc.k, "registrations", dups...))
				var res ingestResult
				if err := json.Unmarshal([]byte(a.body), &res); err != nil || a.status != 400 {
					t.Fatalf("duplicates: %d %s", a.status, a.body)
				}
				for i, code := range res.codes() {
					if code != "DI-1005 eventId" {
						t.Errorf("eventId %q sent again: %q, want DI-1005", tc.ids[i], code)
					}
				}
			}
			if n := len(ids); n != map[bool]int{false: 22, true: 30}[tc.base] {
				t.Errorf("%d eventIds accepted for the first client", n)
			}
			// What the loaded state goes on with: totals after corrections,
			// reversed transactions closed, the next customer's place.
			p.both(t, send(k, "deposit-corrections", evt("n1", "c2", "originalTransactionId", "t-d2", "amount", 5)))
			p.both(t, send(k, "corrections", evt("n2", "c1", "originalTransactionId", "t-a1", "turnover", 1, "grossRevenue", 1, "bonus", 0),
				evt("n3", "c2", "originalTransactionId", "t-a2", "turnover", 1, "grossRevenue", 1, "bonus", 0)))
			p.both(t, send(k, "registrations", reg("n4", "c1"), reg("n5", "c7")))
			p.both(t, send(k, "customers", evt("n6", "c1", "status", "Active")))
			p.both(t, send(k, "withdrawals", with(dep("n7", "c1", "t-w1", 20), "depositMethod", nil, "withdrawalMethod", 3)))
			// Refresh tokens: the forgotten one refused with the hint, the kept ones redeemed.
			forgotten := map[bool]string{false: "has forgotten 1 older one;", true: "has forgotten 3 older ones;"}[tc.base]
			if a := p.both(t, tokenCall(refreshForm(rt1))); a.status != 400 || !strings.Contains(a.hint, forgotten) {
				t.Errorf("forgotten refresh token: %+v", a)
			}
			for _, c := range []call{tokenV1Call(refreshForm(rt2)), tokenCall(refreshForm(rt3)), tokenCall(refreshForm(rt4))} {
				if a := p.both(t, c); a.status != 200 {
					t.Errorf("kept refresh token: %d %s", a.status, a.body)
				}
			}
			p.both(t, tokenCall(form(passwordForm(), "password", "wrong")))
			p.both(t, tokenCall(offlineForm()))
			p.both(t, func(h *sandboxtest.Harness) *sandboxtest.Response {
				return h.Do("GET", "/__sandbox/state/netrefer", nil)
			})
			// The rate limit's window: both refuse at the same call.
			for i := 0; ; i++ {
				a := p.both(t, send(k, "registrations", reg(fmt.Sprintf("x%d", i), fmt.Sprintf("cx%d", i))))
				if a.status == 429 {
					break
				}
				if i > 40 {
					t.Fatalf("no 429 after %d calls: %d %s", i, a.status, a.body)
				}
			}
			p.sameState(t)
		})
	}
}

// form returns a copy of f with the pairs set.
func form(f url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = slices.Clone(v)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// randomCalls draws n requests from r: batches of one to four events of
// every kind, from small pools of event, customer and transaction ids (so
// that duplicates, unknown customers, corrections and reversals of
// reversed transactions all happen), for either client, and token
// requests that issue, redeem and forget refresh tokens. rts are the
// refresh tokens issued so far (a's answers add to it as the calls run).
func randomCalls(r *rand.Rand, n int, keys []key, rts *[]string) []call {
	paths := []string{"registrations", "registrations", "customers", "deposits", "withdrawals", "activities", "adjustments", "corrections", "deposit-corrections"}
	money := []any{0, 1, 2.5, 10, 99.9999}
	pick := func(xs []any) any { return xs[r.IntN(len(xs))] }
	var out []call
	for range n {
		if r.IntN(6) == 0 {
			switch r.IntN(3) {
			case 0:
				out = append(out, tokenCall(offlineForm()))
			case 1:
				i := r.IntN(8) // an index into the tokens issued by then
				out = append(out, func(h *sandboxtest.Harness) *sandboxtest.Response {
					rt := "0.sandbox.never-issued"
					if len(*rts) > 0 {
						rt = (*rts)[i%len(*rts)]
					}
					return tokenCall(form(refreshForm(rt), "scope", scope+" offline_access"))(h)
				})
			default:
				out = append(out, tokenCall(form(passwordForm(), "password", "nope")))
			}
			continue
		}
		path := paths[r.IntN(len(paths))]
		var evs []any
		for range 1 + r.IntN(4) {
			id, cust, tx := fmt.Sprintf("e%d", r.IntN(400)), fmt.Sprintf("c%d", r.IntN(4)), fmt.Sprintf("t%d", r.IntN(8))
			var e map[string]any
			switch path {
			case "registrations":
				e = reg(id, cust)
			case "customers":
				e = evt(id, cust, "status", pick([]any{"Active", "Blocked", "Closed"}), "countryCode", pick([]any{"MT", "DE"}))
				if r.IntN(2) == 0 {
					e = with(e, "status", nil, "bTag", fmt.Sprintf("b%d", r.IntN(5)))
				}
			case "deposits":
				e = dep(id, cust, tx, pick(money))
			case "withdrawals":
				e = with(dep(id, cust, tx, pick(money)), "depositMethod", nil, "withdrawalMethod", r.IntN(5))
			case "activities":
				e = act(id, cust, tx, pick(money), pick(money), pick(money))
			case "adjustments":
				e = evt(id, cust, "originalTransactionId", tx, "adjustmentType", pick([]any{"BetVoid", "Chargeback"}))
			case "corrections":
				e = evt(id, cust, "originalTransactionId", tx, "turnover", pick(money), "grossRevenue", pick(money), "bonus", pick(money))
			default:
				e = evt(id, cust, "originalTransactionId", tx, "amount", pick(money))
			}
			evs = append(evs, e)
		}
		out = append(out, send(keys[r.IntN(len(keys))], path, evs...))
	}
	return out
}

// noteRefresh adds the refresh token an answer issued to rts.
func noteRefresh(a answer, rts *[]string) {
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if a.status == 200 && json.Unmarshal([]byte(a.body), &tr) == nil && tr.RefreshToken != "" {
		*rts = append(*rts, tr.RefreshToken)
	}
}

// TestDurableStateRandom: for random sequences (seeded, so a failure
// repeats), the loaded sandbox saves the live one's bytes and answers the
// next random requests exactly as it does.
func TestDurableStateRandom(t *testing.T) {
	t.Parallel()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			p := newDurablePair(t, durableScenario(1000), nil)
			access, _ := grant(t, p.live(t, tokenCall(passwordForm())))
			otherAccess, _ := grant(t, p.live(t, tokenCall(otherForm())))
			keys := []key{{subKey, access}, {subKey, access}, {"otherkey", otherAccess}}
			r := rand.New(rand.NewPCG(seed, 14))
			var rts []string
			statuses := map[int]int{}
			for _, c := range randomCalls(r, 120, keys, &rts) {
				a := p.live(t, c)
				statuses[a.status]++
				noteRefresh(a, &rts)
			}
			if statuses[200] == 0 || statuses[207] == 0 || statuses[400] == 0 {
				t.Fatalf("the sequence lacks 200, 207 or 400 answers: %v", statuses)
			}
			p.load(t)
			for _, c := range randomCalls(r, 40, keys, &rts) {
				noteRefresh(p.both(t, c), &rts)
			}
			p.sameState(t)
		})
	}
}

// TestDurableStateConcurrent: requests racing on one namespace (the same
// customers and ids, tokens issued at once) leave records that load into
// the state they made: every Put lands under the lock of its change, and
// the counters' last Put is their last value.
func TestDurableStateConcurrent(t *testing.T) {
	t.Parallel()
	p := newDurablePair(t, durableScenario(100000), nil)
	access, _ := grant(t, p.live(t, tokenCall(passwordForm())))
	otherAccess, _ := grant(t, p.live(t, tokenCall(otherForm())))
	keys := []key{{subKey, access}, {"otherkey", otherAccess}}
	var wg sync.WaitGroup
	for g := range uint64(4) {
		calls := randomCalls(rand.New(rand.NewPCG(g, 99)), 40, keys, new([]string))
		wg.Go(func() {
			for _, c := range calls {
				c(p.a)
			}
		})
	}
	wg.Wait()
	p.load(t)
}
