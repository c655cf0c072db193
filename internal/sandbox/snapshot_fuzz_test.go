package sandbox_test

import (
	"errors"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// FuzzParseSnapshot feeds the snapshot decoder arbitrary bytes, seeded
// with real snapshots (with and without state, journal and callbacks) and
// broken ones: it must never panic, and whatever it refuses is a
// SnapshotError of status 400 or 422 (an answer, never a 500). What it
// accepts is built into a world, as PUT /snapshot would.
//
//	go test ./internal/sandbox/ -run '^$' -fuzz FuzzParseSnapshot -fuzztime 30s
func FuzzParseSnapshot(f *testing.F) {
	h := sandboxtest.New(f, snapScenario)
	f.Add(h.Snapshot("", false))
	f.Add(h.Snapshot("", true))
	f.Add([]byte(`{"format":"provider-sandbox/snapshot","version":1}`))
	f.Add([]byte(`{"format":"provider-sandbox/snapshot","version":1,"clock":{"now":"2026-01-01T00:00:00Z"},"scenario":{"name":"x","text":"version: 1"},"providers":{"centili":{"version":1,"services":[{"serviceKey":"nope"}]}}}`))
	f.Add([]byte(`{"format":"provider-sandbox/snapshot","version":1,"clock":{"now":"2026-01-01T00:00:00Z"},"scenario":{"name":"x","text":"version: 1"},"callbacks":{"netfinity":{"deliveries":[{"id":"a","state":"pending","policy":{"retries":-1}}]}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := sandbox.ParseSnapshot(data)
		if err == nil {
			err = sandbox.CheckSnapshot(sc)
		}
		if err == nil {
			return
		}
		var se *sandbox.SnapshotError
		if !errors.As(err, &se) || (se.Status != 400 && se.Status != 422) {
			t.Fatalf("refused with %T %v, want a SnapshotError of 400 or 422", err, err)
		}
	})
}
