package intarget

import (
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// New keeps the world's start, and a snapshot's RestoreState keeps the
// start it restores: the record holds the start in force, not the one New
// derived from the clock.
func TestInTargetKeepsTheStartInForce(t *testing.T) {
	t.Parallel()
	cfg := newConfig().(*Config)
	cfg.World.Days = 1
	rs := sandbox.NewRecordSet()
	st, err := newState(sandbox.Env{Config: cfg, Clock: clock.New(time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC), true), Records: rs})
	if err != nil {
		t.Fatal(err)
	}
	want := func(v string) {
		t.Helper()
		recs := rs.Records()
		if len(recs) != 1 || recs[0].Kind != "world" || recs[0].Key != "" || string(recs[0].Value) != v {
			t.Errorf("records %+v, want the one world record %s", recs, v)
		}
	}
	want(`{"version":1,"worldStart":"2026-03-09T12:00:00Z"}`)
	if err := st.(*state).RestoreState([]byte(`{"version":1,"worldStart":"2025-01-01T05:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	want(`{"version":1,"worldStart":"2025-01-01T05:00:00Z"}`)
	// Without records nothing is built (a test's Env leaves Records nil).
	if _, err := newState(sandbox.Env{Config: cfg, Clock: clock.New(time.Now(), true)}); err != nil {
		t.Fatal(err)
	}
}
