package intarget_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget"
)

// A world of world.days starts where the clock stood when the namespace
// was built. After a restart New runs on a clock five hours on; the
// record New kept puts the first start back: the same saved state, the
// same rows in the same window.
func TestInTargetDurableWorldStart(t *testing.T) {
	t.Parallel()
	a := sandboxtest.New(t, scenario("  world: {days: 2}\n"))
	rs := sandbox.NewRecordSet()
	intarget.UseRecords(a.With(t).ProviderState("", "intarget"), rs)
	later := strings.Replace(scenario("  world: {days: 2}\n"), frozenAt, "2026-03-10T17:00:00Z", 1)
	b := sandboxtest.New(t, later)
	if bytes.Equal(a.With(t).SavedState("", "intarget"), b.With(t).SavedState("", "intarget")) {
		t.Fatal("a world built five hours later starts at the same hour: the test shows nothing")
	}
	recs := rs.Records()
	if len(recs) != 1 || recs[0].Kind != "world" || string(recs[0].Value) != `{"version":1,"worldStart":"2026-03-08T12:00:00Z"}` {
		t.Fatalf("records %+v", recs)
	}
	if err := b.With(t).ProviderState("", "intarget").(sandbox.Durable).LoadRecords(recs); err != nil {
		t.Fatal(err)
	}
	if sa, sb := a.With(t).SavedState("", "intarget"), b.With(t).SavedState("", "intarget"); !bytes.Equal(sa, sb) {
		t.Fatalf("loaded state %s, live %s", sb, sa)
	}
	a.Admin("POST", "", "/clock", map[string]string{"advance": "5h"}, nil) // both at 17:00
	for _, feed := range []string{"/intarget/api/users?from=2026-03-08+11:00:00&to=2026-03-08+14:00:00", "/intarget/api/transactions?" + window1} {
		rowsA := a.Do("GET", feed, nil, basic()).WantStatus(200).Body
		rowsB := b.Do("GET", feed, nil, basic()).WantStatus(200).Body
		if !bytes.Equal(rowsA, rowsB) || len(rowsA) < 100 {
			t.Errorf("%s: the loaded world answers\n%.300s\nthe live one\n%.300s", feed, rowsB, rowsA)
		}
	}
}

// TestInTargetLoadRecordsRefuses names the record it cannot use.
func TestInTargetLoadRecordsRefuses(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, scenario(""))
	for _, tc := range []struct {
		rec  sandbox.Record
		want string
	}{
		{sandbox.Record{Kind: "pool", Key: "x", Value: []byte(`{}`)}, `intarget record pool "x": InTarget keeps no record of this kind`},
		{sandbox.Record{Kind: "world", Value: []byte(`{"version":1}`)}, `intarget record world "": worldStart is missing`},
		{sandbox.Record{Kind: "world", Value: []byte(`{"version":2,"worldStart":"2026-03-08T12:00:00Z"}`)}, `intarget record world "": version 2 is not supported; this sandbox reads version 1`},
	} {
		err := h.With(t).ProviderState("", "intarget").(sandbox.Durable).LoadRecords([]sandbox.Record{tc.rec})
		if err == nil || err.Error() != tc.want {
			t.Errorf("LoadRecords(%s %q): %v, want %s", tc.rec.Kind, tc.rec.Key, err, tc.want)
		}
	}
}
