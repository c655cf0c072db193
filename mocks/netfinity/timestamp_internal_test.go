package netfinity

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// Pingback timestamps and voucher expiries are UTC even when the sandbox
// time handed over carries another zone (a frozen clock reads in the
// machine's local zone, e.g. Europe/Sofia on a developer's laptop).
func TestPingbackTimestampsAreUTC(t *testing.T) {
	t.Parallel()
	clk := clock.New(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), true)
	st, err := newState(sandbox.Env{Namespace: "tz", Clock: clk, Seed: 1, Config: defaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sofia := time.FixedZone("EET", 2*3600)
	at := time.Date(2026, 11, 22, 12, 0, 1, 0, sofia) // 10:00:01 UTC
	m := &message{UUID: "u", History: []statusEvent{}, Callbacks: []string{}}
	steps := []StepConfig{{Code: 301, Voucher: scenario.Duration(24 * time.Hour)}}
	st.reach(m, steps, 0, at, st.walk.Load())

	var pb pingback
	if err := json.Unmarshal(st.pingbackRequest(m, m.History[0]).Body, &pb); err != nil {
		t.Fatal(err)
	}
	if pb.Timestamp != "2026-11-22 10:00:01" || pb.Payload.Meta == nil || pb.Payload.Meta.Voucher.Expires != "2026-11-23 10:00:01" {
		t.Errorf("timestamp %q voucher %+v, want 2026-11-22 10:00:01 and expiry 2026-11-23 10:00:01", pb.Timestamp, pb.Payload.Meta)
	}
}
