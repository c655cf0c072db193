package intarget

import (
	"fmt"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// InTarget's only state is the instant its generated world starts from
// (see savedState): with world.days it is derived from the clock when the
// namespace is built, which a restart cannot reproduce. It is kept as one
// record:
//
//	world  ""  a savedState, as a namespace snapshot holds it
//
// Put by New and again by RestoreState (a scenario's snapshot moves the
// start), so that the record always holds the start in force.
const kindWorld = "world"

func newState(env sandbox.Env) (any, error) {
	cfg := env.Config.(*Config)
	s := &state{cfg: cfg, seed: env.Seed, world: newWorld(env.Seed, cfg.World, env.Clock.Now()), rec: env.Records}
	if s.rec == nil {
		s.rec = sandbox.NoRecords
	}
	s.putStart()
	return s, nil
}

func (s *state) putStart() {
	if s.rec.Enabled() {
		s.rec.Put(kindWorld, "", savedState{Version: 1, WorldStart: s.world.start})
	}
}

// LoadRecords puts the kept world start back, as RestoreState does
// (without keeping it again: it is the record's own value).
func (s *state) LoadRecords(recs []sandbox.Record) error {
	for _, r := range recs {
		if r.Kind != kindWorld || r.Key != "" {
			return fmt.Errorf("intarget record %s %q: InTarget keeps no record of this kind", r.Kind, r.Key)
		}
		if err := s.restoreStart(r.Value); err != nil {
			return fmt.Errorf("intarget record %s %q: %w", r.Kind, r.Key, err)
		}
	}
	return nil
}

var _ sandbox.Durable = (*state)(nil)
