package centili

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

var durableStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// durableState builds the default world in namespace "n" at now.
func durableState(t testing.TB, cfg *Config, now time.Time, rec sandbox.Records) *State {
	t.Helper()
	st, err := newState(sandbox.Env{Namespace: "n", Seed: 7, Clock: clock.New(now, true), Config: cfg, Tokens: tokens.Shared(), Records: rec})
	if err != nil {
		t.Fatal(err)
	}
	return st.(*State)
}

// loggedState is the default world keeping at most limit transactions,
// its records written to an OpLog.
func loggedState(t testing.TB, limit int) (*State, *OpLog) {
	t.Helper()
	cfg := newConfig().(*Config)
	cfg.Limits.MaxTransactions = limit
	log := &OpLog{}
	return durableState(t, cfg, durableStart, log), log
}

func mustSave(t testing.TB, s *State) []byte {
	t.Helper()
	b, err := s.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A service the scenario gives no timeCreated was created when New ran:
// after a restart (a New at another time) it keeps the first time.
func TestDurableServiceCreationTime(t *testing.T) {
	t.Parallel()
	cfg := newConfig().(*Config)
	cfg.Services[1].TimeCreated = ""
	rs := sandbox.NewRecordSet()
	durableState(t, cfg, durableStart, rs)
	recs := rs.Records()
	want := `[{svc 7c1e0f3a9b2d4e5f8a6b7c8d9e0f1a2b {"timeCreated":"2026-03-01 10:00:00"}}]`
	if got := fmt.Sprintf("%s", recs); got != want {
		t.Fatalf("New put %s, want %s", got, want)
	}
	b := durableState(t, cfg, durableStart.Add(26*time.Hour), nil)
	if err := b.LoadRecords(recs); err != nil {
		t.Fatal(err)
	}
	for _, k := range b.order {
		if got, want := b.services[k].created.UTC().Format(timeLayout), "2026-03-01 10:00:00"; k == cfg.Services[1].ServiceKey && got != want {
			t.Errorf("%s created %s after LoadRecords, want %s", k, got, want)
		}
	}
	if got := b.services[cfg.Services[0].ServiceKey].created.UTC().Format(timeLayout); got != cfg.Services[0].TimeCreated {
		t.Errorf("a scenario timeCreated became %s", got)
	}
}

// The sweeps that forget dead sessions and expired revocations Delete
// their records, so a restart does not bring them back.
func TestDurableSweepsDeleteRecords(t *testing.T) {
	t.Parallel()
	rs := sandbox.NewRecordSet()
	cfg := newConfig().(*Config)
	a := durableState(t, cfg, durableStart, rs)
	now := durableStart.Add(time.Hour) // past every idle timeout below
	a.mu.Lock()
	for i := range 255 {
		se := &session{ID: fmt.Sprintf("s%03d", i), UserID: "u", Username: "x", ClientID: publicClientID, Started: durableStart, LastUsed: durableStart}
		if i == 0 {
			se.LastUsed = now // alive
		}
		a.sessions[se.ID] = se
		a.putSessionLocked(se)
		a.revokeLocked(fmt.Sprintf("j%03d", i), durableStart.Add(time.Duration(i)*time.Minute))
	}
	a.sweepSessionsLocked(now)
	a.sweepRevokedLocked(now)
	a.mu.Unlock()
	kinds := map[string][]string{}
	for _, r := range rs.Records() {
		kinds[r.Kind] = append(kinds[r.Kind], r.Key)
	}
	if got := fmt.Sprint(kinds[kindSession]); got != "[s000]" {
		t.Errorf("session records after the sweep: %s, want [s000]", got)
	}
	if got := len(kinds[kindRevoked]); got != 255-61 || kinds[kindRevoked][0] != "j061" {
		t.Errorf("%d revoked records after the sweep, first %v; want 194 from j061", got, kinds[kindRevoked][:1])
	}
	b := durableState(t, cfg, durableStart, nil)
	if err := b.LoadRecords(rs.Records()); err != nil {
		t.Fatal(err)
	}
	if sa, sb := mustSave(t, a), mustSave(t, b); !bytes.Equal(sa, sb) {
		t.Errorf("after LoadRecords:\n%s\nwant %s", sb, sa)
	}
}

const publicClientID = "datagifting"

// Without a data directory nothing is built for records: a state whose
// Env has no Records (tests) or NoRecords keeps none and never calls Put.
func TestDurableMemoryModeWritesNothing(t *testing.T) {
	t.Parallel()
	cfg := newConfig().(*Config)
	cfg.Services[1].TimeCreated = ""
	for _, rec := range []sandbox.Records{nil, sandbox.NoRecords, panicRecords{}} {
		s := durableState(t, cfg, durableStart, rec)
		if s.durable {
			t.Fatalf("durable with %T", rec)
		}
		s.mu.Lock()
		s.putMetaLocked()
		s.putPoolsLocked(s.services[s.order[0]])
		s.recordLocked("k", &Transaction{ClientID: "c"})
		se := &session{ID: "s"}
		s.sessions["s"] = se
		s.putSessionLocked(se)
		s.endSessionLocked("s")
		s.revokeLocked("j", durableStart)
		s.unrevokeLocked("j")
		s.mu.Unlock()
	}
}

// panicRecords is disabled and fails the test if anything is written.
type panicRecords struct{}

func (panicRecords) Enabled() bool { return false }
func (panicRecords) Put(kind, key string, _ any) {
	panic("Put " + kind + "/" + key + " with records disabled")
}
func (panicRecords) Delete(kind, key string) {
	panic("Delete " + kind + "/" + key + " with records disabled")
}
func (panicRecords) Atomic(func(sandbox.Records)) { panic("Atomic with records disabled") }

// FuzzLoadRecords: whatever one record holds, LoadRecords does not panic,
// and what it accepts is a state SaveState saves and RestoreState takes.
func FuzzLoadRecords(f *testing.F) {
	rs := sandbox.NewRecordSet()
	cfg := newConfig().(*Config)
	cfg.Limits.MaxTransactions = 2
	s := durableState(f, cfg, durableStart, rs)
	s.mu.Lock()
	for i := range 3 {
		tx := &Transaction{TransactionID: fmt.Sprint(i), ServiceKey: s.order[0], ClientID: fmt.Sprint("c", i), Status: statusCompleted, status: 200}
		s.recordLocked(tx.ServiceKey+"\x00"+tx.ClientID, tx)
	}
	s.putMetaLocked()
	s.putPoolsLocked(s.services[s.order[0]])
	se := &session{ID: "s1", UserID: "u", Started: durableStart, LastUsed: durableStart, currentRefresh: "r", lastIssued: 5}
	s.sessions[se.ID] = se
	s.putSessionLocked(se)
	s.revokeLocked("j", durableStart)
	s.mu.Unlock()
	for _, r := range rs.Records() {
		f.Add(r.Kind, r.Key, []byte(r.Value))
	}
	f.Add("sess", "s2", []byte("null"))
	f.Add("svc", s.order[1], []byte(`{"timeCreated":"2026-03-01 10:00:00"}`))
	f.Fuzz(func(t *testing.T, kind, key string, value []byte) {
		if !json.Valid(value) {
			return // the store hands back what Put encoded
		}
		st := durableState(t, cfg, durableStart, nil)
		if err := st.LoadRecords([]sandbox.Record{{Kind: kind, Key: key, Value: value}}); err != nil {
			return
		}
		saved := mustSave(t, st)
		fresh := durableState(t, cfg, durableStart, nil)
		if err := fresh.RestoreState(saved); err != nil {
			t.Fatalf("LoadRecords accepted %s %q %s, but its saved state is refused: %v", kind, key, value, err)
		}
		if again := mustSave(t, fresh); !bytes.Equal(again, saved) {
			t.Fatalf("saved %s\nrestored and saved %s", saved, again)
		}
	})
}

// A crash may lose the last calls of a request (the store keeps their
// order): whatever prefix of the calls reached the disk, the state loads,
// no pool is oversubscribed, no transaction id is handed out twice, and
// every transaction written is still known, so that a retry of its
// clientId is replayed or refused, never assigned again. The whole log
// gives back the state exactly.
func TestDurableEveryPrefixLoads(t *testing.T) {
	t.Parallel()
	a, log := loggedState(t, 3)
	cfg := a.cfg
	key := a.order[0]
	gifts := []transactionRequest{
		{key, "33612345678", "c1", 500}, {key, "4366124567", "c2", 1000}, {key, "33612345678", "c3", 7},
		{key, "33612345678", "c1", 500}, {key, "33600000003", "c4", 100}, {key, "4366124567", "c5", 100},
		{key, "33612345678", "c6", 1000}, {key, "4466000000", "c7", 100}, {key, "4366124567", "c8", 500},
	}
	for i, g := range gifts {
		if _, _, p := a.assign(durableStart, 11111, g); p != nil && p.status >= 500 {
			t.Fatalf("gift %d: %+v", i, p)
		}
		if i == 4 {
			if _, probs := a.topUp(poolTopUp{ServiceKey: key, Operator: "AT_A1", AddAmount: 300, ExpirationDate: "2031-01-01 00:00:00"}, durableStart); len(probs) > 0 {
				t.Fatal(probs)
			}
		}
	}
	for n := 0; n <= len(log.Ops); n++ {
		recs := log.UpTo(n)
		b := durableState(t, cfg, durableStart, nil)
		if err := b.LoadRecords(recs); err != nil {
			t.Fatalf("after %d of %d calls: %v", n, len(log.Ops), err)
		}
		for _, sv := range b.services {
			for _, p := range sv.pools {
				if p.assigned < 0 || p.assigned > p.total {
					t.Errorf("after %d calls: %s %s pool oversubscribed: %d of %d", n, sv.key, p.operator, p.assigned, p.total)
				}
			}
		}
		given := map[string]int64{} // MB of the COMPLETED transactions written, by operator
		for _, op := range log.Ops[:n] {
			if op.Kind != kindTx || op.Del {
				continue
			}
			var tx savedTransaction
			if err := json.Unmarshal(op.Value, &tx); err != nil {
				t.Fatal(err)
			}
			k := tx.ServiceKey + "\x00" + tx.ClientID
			if b.byClient[k] == nil && !b.dropped.Has(k) {
				t.Errorf("after %d calls: transaction %s (clientId %s) is forgotten", n, tx.TransactionID, tx.ClientID)
			}
			if id, _ := strconv.ParseInt(tx.TransactionID, 10, 64); id >= b.nextTxID {
				t.Errorf("after %d calls: transaction %d was written, but the next id is %d", n, id, b.nextTxID)
			}
			if tx.Status == statusCompleted {
				given[*tx.Operator] += tx.Amount
			}
		}
		assigned := map[string]int64{}
		for _, p := range b.services[key].pools {
			assigned[p.operator] += p.assigned
		}
		for op, mb := range assigned {
			if mb > given[op] {
				t.Errorf("after %d calls: %d MB assigned on %s, but the transactions written gave %d", n, mb, op, given[op])
			}
		}
		if n == len(log.Ops) {
			if sa, sb := mustSave(t, a), mustSave(t, b); !bytes.Equal(sa, sb) {
				t.Errorf("after every call:\n%s\nwant %s", sb, sa)
			}
		}
	}
}

// Records go on from a log RestoreState built: a record that overlaps it
// is refused; records after it push its oldest out, remembering their
// clientIds.
func TestDurableRecordsAfterARestoredLog(t *testing.T) {
	t.Parallel()
	cfg := newConfig().(*Config)
	cfg.Limits.MaxTransactions = 3
	snapOf := func() []byte {
		s := durableState(t, cfg, durableStart, nil)
		for _, c := range []string{"b0", "b1"} {
			s.assign(durableStart, 11111, transactionRequest{s.order[0], "4366124567", c, 100})
		}
		for _, id := range []string{"keep", "end"} {
			s.sessions[id] = &session{ID: id, UserID: "u", Started: durableStart, LastUsed: durableStart}
		}
		s.revoked["j"] = durableStart.Add(time.Minute)
		return mustSave(t, s)
	}
	snap := snapOf()
	log := &OpLog{}
	a := durableState(t, cfg, durableStart, log)
	if err := a.RestoreState(snap); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"r0", "r1"} {
		a.assign(durableStart, 11111, transactionRequest{a.order[0], "4366124567", c, 100})
	}
	// The snapshot's session and revocation end: null records, since a
	// restart's RestoreState brings them back.
	a.mu.Lock()
	a.endSessionLocked("end")
	a.unrevokeLocked("j")
	a.mu.Unlock()
	var nulls []string
	for _, r := range log.UpTo(len(log.Ops)) {
		if string(r.Value) == "null" {
			nulls = append(nulls, r.Kind+"/"+r.Key)
		}
	}
	if got := fmt.Sprint(nulls); got != "[revoked/j sess/end]" {
		t.Errorf("null records %s, want [revoked/j sess/end]", got)
	}
	b := durableState(t, cfg, durableStart, nil)
	if err := b.RestoreState(snap); err != nil {
		t.Fatal(err)
	}
	if err := b.LoadRecords(log.UpTo(len(log.Ops))); err != nil {
		t.Fatal(err)
	}
	if sa, sb := mustSave(t, a), mustSave(t, b); !bytes.Equal(sa, sb) {
		t.Errorf("after LoadRecords:\n%s\nwant %s", sb, sa)
	}
	if _, ok := b.sessions["end"]; ok || b.sessions["keep"] == nil || len(b.revoked) != 0 {
		t.Errorf("after LoadRecords: sessions %v, revoked %v; want only keep, none", b.sessions, b.revoked)
	}
	if !b.dropped.Has(b.order[0]+"\x00b0") || b.byClient[b.order[0]+"\x00b1"] == nil {
		t.Error("b0 should be dropped and b1 kept")
	}
	c := durableState(t, cfg, durableStart, nil)
	if err := c.RestoreState(snap); err != nil {
		t.Fatal(err)
	}
	overlap := []sandbox.Record{{Kind: kindTx, Key: txKey(1), Value: log.Ops[1].Value}}
	if err := c.LoadRecords(overlap); err == nil || err.Error() != `record tx "0000000000000001": the log already holds transactions up to 1` {
		t.Errorf("overlapping record: %v", err)
	}
}

// A gift's records (the counter, the transaction, the fingerprint and
// Delete of the one it pushed out, the pool) go in one Atomic call, so
// the store commits them together.
func TestDurableGiftIsOneCommit(t *testing.T) {
	t.Parallel()
	a, log := loggedState(t, 1)
	for i, c := range []string{"c1", "c2"} {
		from := len(log.Ops)
		if _, _, p := a.assign(durableStart, 11111, transactionRequest{a.order[0], "4366124567", c, 100}); p != nil {
			t.Fatal(p)
		}
		var got []string
		for _, op := range log.Ops[from:] {
			if op.Group != i+1 {
				t.Errorf("gift %s: %s/%s written in group %d, want %d", c, op.Kind, op.Key, op.Group, i+1)
			}
			got = append(got, fmt.Sprintf("%s %v", op.Kind, op.Del))
		}
		want := map[int]string{0: "[meta false tx false pools false]", 1: "[meta false tx false drop false tx true pools false]"}[i]
		if fmt.Sprint(got) != want {
			t.Errorf("gift %s wrote %v, want %s", c, got, want)
		}
	}
}
