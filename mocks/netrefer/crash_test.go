package netrefer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// startOnDisk starts a sandbox on the data directory dir, and returns it
// with a crash that drops it as kill -9 would (what reached the disk is
// what is left).
func startOnDisk(t *testing.T, dir, scenario string) (*sandboxtest.Harness, func()) {
	t.Helper()
	return sandboxtest.NewOnDisk(t, dir, scenario)
}

// TestDurableAcrossACrash runs the same requests on a sandbox with a data
// directory and on one without, crashes the first and starts it again on
// its directory: the restarted sandbox is the other one's twin (the same
// saved state; every eventId accepted before, those of a 207 batch
// included, refused as a duplicate; refresh tokens, windows and the next
// generated ids as they were).
func TestDurableAcrossACrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	scenario := durableScenario(40)
	disk, crash := startOnDisk(t, dir, scenario)
	p := &durablePair{a: sandboxtest.New(t, scenario), b: disk}
	access, rt1 := grant(t, p.both(t, tokenCall(offlineForm())))
	otherAccess, _ := grant(t, p.both(t, tokenCall(otherForm())))
	k, other := key{subKey, access}, key{"otherkey", otherAccess}
	_, rt2 := grant(t, p.both(t, tokenCall(refreshForm(rt1))))
	var ids []string
	for _, c := range []call{
		send(k, "registrations", reg("r1", "c1"), reg("r2", "c2")),
		send(k, "customers", evt("u1", "c1", "status", "Blocked")),
		send(k, "deposits", dep("d1", "c1", "t-d1", 100), dep("d2", "c2", "t-d2", 5)),
		send(k, "activities", act("a1", "c1", "t-a1", 10, 2.5, 0)),
		send(k, "corrections", evt("k1", "c1", "originalTransactionId", "t-a1", "turnover", 20, "grossRevenue", -4, "bonus", 1)),
		send(k, "adjustments", evt("k2", "c2", "originalTransactionId", "t-d2", "adjustmentType", "Chargeback")),
		send(k, "registrations", reg("r3", "c3"), reg("r1", "c4"), reg("r4", "c4")), // a 207
	} {
		ids = append(ids, accepted(t, p.both(t, c))...)
	}
	p.both(t, send(other, "registrations", reg("r1", "c1"))) // the other client's store
	p.both(t, tokenCall(form(passwordForm(), "password", "wrong")))
	crash()
	p.b, _ = startOnDisk(t, dir, scenario)
	p.sameState(t)

	dups := make([]any, len(ids))
	for i, id := range ids {
		dups[i] = reg(id, "fresh-"+id)
	}
	a := p.both(t, send(k, "registrations", dups...))
	var res ingestResult
	if err := json.Unmarshal([]byte(a.body), &res); err != nil || a.status != 400 || len(res.Results) != 10 {
		t.Fatalf("duplicates of %q: %d %s", ids, a.status, a.body)
	}
	for i, code := range res.codes() {
		if code != "DI-1005 eventId" {
			t.Errorf("eventId %q sent again after the restart: %q, want DI-1005", ids[i], code)
		}
	}
	if a := p.both(t, send(other, "registrations", reg("r1", "c9"))); !strings.Contains(a.body, `"code":"DI-1005"`) {
		t.Errorf("the other client's r1 after the restart: %d %s", a.status, a.body)
	}
	p.both(t, send(k, "deposit-corrections", evt("n1", "c2", "originalTransactionId", "t-d2", "amount", 5))) // reversed: DI-1021
	p.both(t, send(k, "registrations", reg("n2", "c5")))
	p.both(t, tokenCall(refreshForm(rt2)))
	p.both(t, tokenCall(form(passwordForm(), "password", "wrong")))
	p.sameState(t)
}
