package intarget_test

import (
	"bytes"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A world placed world.days before the clock keeps its first hour through
// a snapshot, wherever the restored clock stands: the same feeds answer
// the same rows as the original at the same time.
func TestInTargetSnapshotKeepsTheWorldStart(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, scenario("  world: {days: 2}\n"))
	snap := h.Snapshot("a", false)
	// The restored clock is five hours on: a world rebuilt from it would start later.
	later := bytes.Replace(snap, []byte(`"now": "2026-03-10T12:00:00Z"`), []byte(`"now": "2026-03-10T17:00:00Z"`), 1)
	if bytes.Equal(later, snap) {
		t.Fatal("the snapshot's clock was not found")
	}
	h.Restore("b", later).WantStatus(200)
	var a, b struct {
		WorldStart string `json:"worldStart"`
	}
	h.Admin("GET", "a", "/state/intarget", nil, &a)
	h.Admin("GET", "b", "/state/intarget", nil, &b)
	if a.WorldStart != "2026-03-08T12:00:00Z" || b.WorldStart != a.WorldStart {
		t.Errorf("world starts %q and %q, want both 2026-03-08T12:00:00Z", a.WorldStart, b.WorldStart)
	}
	h.Admin("POST", "a", "/clock", map[string]string{"advance": "5h"}, nil) // both at 17:00 now
	const feed = "/intarget/api/users?from=2026-03-10+09:00:00&to=2026-03-10+11:00:00"
	rowsA := h.Do("GET", "/ns/a"+feed, nil, basic()).WantStatus(200).Body
	rowsB := h.Do("GET", "/ns/b"+feed, nil, basic()).WantStatus(200).Body
	if !bytes.Equal(rowsA, rowsB) || len(rowsA) < 100 {
		t.Errorf("the restored world answers other rows:\n%s\nwant\n%s", rowsB, rowsA)
	}
}
