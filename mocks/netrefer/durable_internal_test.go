package netrefer

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// durableState is a state of the default configuration keeping itself in
// rs (NoRecords when rs is nil).
func durableState(t testing.TB, rs sandbox.Records) *state {
	t.Helper()
	st, err := newState(sandbox.Env{Namespace: "default", Seed: 7, Config: newConfig(), Records: rs})
	if err != nil {
		t.Fatal(err)
	}
	return st.(*state)
}

// baselineRecords are the records of a registration, an update, a deposit,
// an activity and its correction, plus a refresh token, a window and the
// counters written as the live state writes them.
func baselineRecords(t testing.TB) []sandbox.Record {
	t.Helper()
	rs := sandbox.NewRecordSet()
	s := durableState(t, rs)
	cl := s.order[0]
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, p := range []struct {
		k    kind
		body string
	}{
		{kRegistration, `{"eventId":"r1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T09:00:00Z","registrationDate":"2026-11-22T09:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}`},
		{kCustomerUpdate, `{"eventId":"u1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T09:00:00Z","status":"Blocked"}`},
		{kDeposit, `{"eventId":"d1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T09:00:00Z","transactionId":"t1","amount":10.5,"currency":"EUR","depositMethod":"Skrill"}`},
		{kActivity, `{"eventId":"a1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T09:00:00Z","transactionId":"t2","productId":1,"turnover":5,"grossRevenue":1,"bonus":0,"currency":"EUR","activityDate":"2026-11-22T09:00:00Z"}`},
		{kCorrection, `{"eventId":"k1","customerId":"c1","brandId":1,"timestamp":"2026-11-22T09:00:00Z","originalTransactionId":"t2","turnover":7,"grossRevenue":2,"bonus":0}`},
	} {
		if status, body := s.ingest(cl, p.k, "application/json", []byte(p.body), now); status != 200 {
			t.Fatalf("%s: %d %+v", p.k, status, body)
		}
	}
	rs.Put(kindRefresh, "0.sandbox.rt1", recRefresh{N: 1, ClientID: DefaultClientID, Username: DefaultUsername, Scope: "x offline_access", Tenant: DefaultTenant})
	rs.Put(kindWindow, DefaultClientID, savedWindow{ClientID: DefaultClientID, RateStart: now, Rate: 3, QuotaStart: now, Quota: 3})
	rs.Put(kindMeta, "", recMeta{IDSeq: 9, StoredEvents: 5})
	if rs.Err != nil {
		t.Fatal(rs.Err)
	}
	return rs.Records()
}

// TestLoadRecordsRefusesWhatItCannotUse: a record LoadRecords cannot use
// is refused with an error naming its kind and key and what is wrong.
func TestLoadRecordsRefusesWhatItCannotUse(t *testing.T) {
	t.Parallel()
	base := baselineRecords(t)
	if err := durableState(t, nil).LoadRecords(base); err != nil {
		t.Fatalf("the baseline does not load: %v", err)
	}
	c := DefaultClientID
	n := func(i string) string { return "/000000000000000" + i }
	tests := []struct {
		name string
		kind string
		key  string // the record changed, added when missing
		val  string // "" removes it
		want string
	}{
		{"unknown kind", "zz", "k", `{}`, `netrefer record zz "k": NetRefer keeps no record of this kind`},
		{"value not JSON", kindCustomer, c + "/c1", `{`, `netrefer record cust "` + c + `/c1": unexpected end of JSON input`},
		{"key without a client", kindCustomer, "c1", `{}`, `netrefer record cust "c1": the key is not {clientId}/...`},
		{"unknown client", kindTx, "6b435207-8838-46fe-9bd4-2547de652e87/t9", `{}`, `netrefer record tx "6b435207-8838-46fe-9bd4-2547de652e87/t9": the scenario has no client "6b435207-8838-46fe-9bd4-2547de652e87"`},
		{"customer at a gap", kindCustomer, c + "/c1", `{"pos":2,"id":"c1","registeredBy":"r1"}`, `netrefer record cust "` + c + `/c1": pos 2 is not the next place among 0 customers`},
		{"customer named otherwise", kindCustomer, c + "/c1", `{"pos":0,"id":"c2","registeredBy":"r1"}`, `netrefer record cust "` + c + `/c1": the value is customer "c2"`},
		{"customer without registration", kindCustomer, c + "/c1", `{"pos":0,"id":"c1"}`, `netrefer record cust "` + c + `/c1": a registered customer has a registeredBy eventId and no updates`},
		{"customer missing", kindCustomer, c + "/c1", "", `netrefer record tx "` + c + `/t1": customer "c1" is not registered`},
		{"update at a gap", kindUpdate, c + "/c1" + n("2"), `{"eventId":"u2"}`, `netrefer record cupd "` + c + `/c1` + n("2") + `": update 2 is not the next after 1`},
		{"update key without N", kindUpdate, c + "/c1/1", `{"eventId":"u2"}`, `netrefer record cupd "` + c + `/c1/1": the key does not end in /{16 digits}`},
		{"update without eventId", kindUpdate, c + "/c1" + n("0"), `{"status":"Active"}`, `netrefer record cupd "` + c + `/c1` + n("0") + `": the eventId is empty`},
		{"money with five decimals", kindTx, c + "/t1", `{"pos":0,"id":"t1","customerId":"c1","amount":1.00001}`, `netrefer record tx "` + c + `/t1": amount 1.00001 has more than 4 fractional digits`},
		{"unknown method", kindTx, c + "/t1", `{"pos":0,"id":"t1","customerId":"c1","methodId":84,"history":[{"eventId":"d1","kind":"Deposit"}]}`, `netrefer record tx "` + c + `/t1": methodId 84 is not a method id (0 to 83)`},
		{"unknown transaction type", kindTx, c + "/t1", `{"pos":0,"id":"t1","type":7,"customerId":"c1","history":[{"eventId":"d1","kind":"Deposit"}]}`, `netrefer record tx "` + c + `/t1": type 7 is not 0 (deposit), 1 (withdrawal) or 2 (activity)`},
		{"transaction with a long history", kindTx, c + "/t1", `{"pos":0,"id":"t1","customerId":"c1","history":[{"eventId":"d1","kind":"Deposit"},{"eventId":"d2","kind":"Chargeback"}]}`, `netrefer record tx "` + c + `/t1": the history is not the one Deposit event that created it`},
		{"history entry of a creation", kindChange, c + "/t2" + n("1"), `{"eventId":"k1","kind":"Activity"}`, `netrefer record txh "` + c + `/t2` + n("1") + `": kind "Activity" is not Correction, DepositCorrection, Chargeback or BetVoid`},
		{"chargeback of an activity", kindChange, c + "/t2" + n("1"), `{"eventId":"k1","kind":"Chargeback"}`, `netrefer record txh "` + c + `/t2` + n("1") + `": a Chargeback changes a Deposit, not an Activity`},
		{"history of an unknown transaction", kindChange, c + "/t9" + n("1"), `{"eventId":"k9","kind":"BetVoid"}`, `netrefer record txh "` + c + `/t9` + n("1") + `": transaction "t9" does not exist`},
		{"refresh token of no client", kindRefresh, "0.sandbox.rt1", `{"n":1,"clientId":"nobody"}`, `netrefer record rt "0.sandbox.rt1": the scenario has no client "nobody"`},
		{"refresh token of no user", kindRefresh, "0.sandbox.rt1", `{"n":1,"clientId":"` + c + `","username":"ghost"}`, `netrefer record rt "0.sandbox.rt1": client "` + c + `" has no user "ghost"`},
		{"refresh token issued twice", kindRefresh, "0.sandbox.rt0", `{"n":1,"clientId":"` + c + `"}`, `netrefer record rt "0.sandbox.rt1": n 1 is not after the 1 tokens issued before`},
		{"window of no client", kindWindow, "nobody", `{}`, `netrefer record win "nobody": the scenario has no client "nobody"`},
		{"counters not an object", kindMeta, "", `"x"`, `netrefer record meta "": json: cannot unmarshal string into Go value of type netrefer.recMeta`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recs := slices.Clone(base)
			i := slices.IndexFunc(recs, func(r sandbox.Record) bool { return r.Kind == tc.kind && r.Key == tc.key })
			switch {
			case tc.val == "":
				recs = slices.Delete(recs, i, i+1)
			case i >= 0:
				recs[i].Value = json.RawMessage(tc.val)
			default:
				recs = append(recs, sandbox.Record{Kind: tc.kind, Key: tc.key, Value: json.RawMessage(tc.val)})
				slices.SortFunc(recs, func(a, b sandbox.Record) int {
					return strings.Compare(a.Kind+"\x00"+a.Key, b.Kind+"\x00"+b.Key)
				})
			}
			err := durableState(t, nil).LoadRecords(recs)
			if err == nil || err.Error() != tc.want {
				t.Errorf("LoadRecords: %v\nwant %s", err, tc.want)
			}
		})
	}
}

// FuzzLoadRecords adds one record of any kind, key and value to a valid
// set: LoadRecords never panics, and what it accepts is a state whose
// snapshot restores.
func FuzzLoadRecords(f *testing.F) {
	for _, r := range baselineRecords(f) {
		f.Add(r.Kind, r.Key, []byte(r.Value))
	}
	f.Add(kindChange, DefaultClientID+"/t1/0000000000000001", []byte(`{"eventId":"x","kind":"Chargeback"}`))
	f.Add(kindUpdate, DefaultClientID+"/c1/0000000000000001", []byte(`{"eventId":"x","status":"Closed"}`))
	f.Add(kindRefresh, "0.sandbox.rt2", []byte(`{"n":2,"clientId":"`+DefaultClientID+`","tenant":"t"}`))
	base := baselineRecords(f)
	f.Fuzz(func(t *testing.T, kind, key string, value []byte) {
		recs := slices.DeleteFunc(slices.Clone(base), func(r sandbox.Record) bool { return r.Kind == kind && r.Key == key })
		recs = append(recs, sandbox.Record{Kind: kind, Key: key, Value: value})
		slices.SortFunc(recs, func(a, b sandbox.Record) int {
			if c := strings.Compare(a.Kind, b.Kind); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
		s := durableState(t, nil)
		if err := s.LoadRecords(recs); err != nil {
			if !strings.HasPrefix(err.Error(), "netrefer record ") {
				t.Fatalf("the error names no record: %v", err)
			}
			return
		}
		_ = s.Snapshot() // the state view reads every loaded value
		saved, err := s.SaveState()
		if err != nil {
			t.Fatalf("SaveState of a loaded state: %v", err)
		}
		if err := durableState(t, nil).RestoreState(saved); err != nil {
			t.Fatalf("the loaded state's snapshot does not restore: %v\n%s", err, saved)
		}
	})
}

// TestRestoreStateRefusesAnUnknownMethod: a snapshot's transaction with a
// method id outside the table was restored, and the state view then
// panicked on it; it is refused as LoadRecords refuses it.
func TestRestoreStateRefusesAnUnknownMethod(t *testing.T) {
	t.Parallel()
	s := durableState(t, nil)
	if err := s.LoadRecords(baselineRecords(t)); err != nil {
		t.Fatal(err)
	}
	saved, err := s.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(saved), `"methodId":7,`, `"methodId":84,`, 1)
	if bad == string(saved) {
		t.Fatalf("no methodId 7 in %s", saved)
	}
	err = durableState(t, nil).RestoreState(json.RawMessage(bad))
	if want := "clients[0].transactions[0]: methodId 84 is not a method id (0 to 83)"; err == nil || err.Error() != want {
		t.Errorf("RestoreState: %v, want %s", err, want)
	}
}
