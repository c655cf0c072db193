package callback

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Records is where a dispatcher keeps its outbox (Options.Records): the
// method set of the sandbox's Env.Records, declared here so that this
// package does not import the core. Put is called with the dispatcher's
// lock held, so the records of one delivery reach it in the order the
// delivery changed.
type Records interface {
	Enabled() bool
	Put(kind, key string, value any)
	Delete(kind, key string)
}

// Record is one stored record as LoadRecords reads it: the sandbox's
// Record, field for field, so a provider converts one into the other.
type Record struct {
	Kind  string
	Key   string
	Value json.RawMessage
}

// The dispatcher's record kinds. A provider that keeps records of its own
// beside them hands the records of these kinds (IsRecordKind) to
// LoadRecords.
//
//	kind "cb",     key the delivery's place in the outbox, zero-padded
//	               (%016d, so byte order is outbox order): a SavedDelivery,
//	               written when it is created, becomes due (sending), when
//	               an attempt ends (with the retry scheduled, or settled),
//	               and when it is cancelled; deleted when MaxSettled drops it.
//	kind "cbseq",  key "": Counters, written when a delivery is created
//	               (Seq) and when settled ones are dropped (Dropped).
const (
	RecordDelivery = "cb"
	RecordCounters = "cbseq"
)

// IsRecordKind reports whether kind is one of the dispatcher's records.
func IsRecordKind(kind string) bool { return kind == RecordDelivery || kind == RecordCounters }

// Counters is the value of the "cbseq" record.
type Counters struct {
	// Seq is the last delivery number handed out (ids go on from it).
	Seq int `json:"seq"`
	// Dropped counts the settled deliveries dropped (MaxSettled).
	Dropped int64 `json:"dropped"`
}

func ordKey(ord int) string { return fmt.Sprintf("%016d", ord) }

// putLocked writes dl's record, unless dl was dropped.
func (d *Dispatcher) putLocked(dl *delivery) {
	if d.rec == nil || dl.dropped {
		return
	}
	d.rec.Put(RecordDelivery, ordKey(dl.ord), dl.savedLocked())
}

// deleteLocked removes dl's record.
func (d *Dispatcher) deleteLocked(dl *delivery) {
	if d.rec != nil {
		d.rec.Delete(RecordDelivery, ordKey(dl.ord))
	}
}

// putCountersLocked writes the counters record.
func (d *Dispatcher) putCountersLocked() {
	if d.rec != nil {
		d.rec.Put(RecordCounters, "", Counters{Seq: d.seq, Dropped: d.dropped})
	}
}

// LoadRecords rebuilds the outbox from its records after a restart,
// replacing what the dispatcher holds (a snapshot's outbox that Restore
// put back before: the records hold that too, and everything since). It
// runs before the namespace is in force, on a held clock, so no attempt
// has been made yet. As Restore does, it keeps settled deliveries as they
// were (one that succeeded is never sent again) and schedules pending
// ones on the sandbox clock at their next attempt, with accept as their
// success rule. A delivery whose attempt was in flight when the sandbox
// stopped ("sending") is pending again at that attempt: its result never
// came, so it is made again (at least once). Ids go on after the last one
// handed out. A record it cannot read is refused with an error naming it,
// and nothing is changed then.
func (d *Dispatcher) LoadRecords(recs []Record, accept func(SavedDelivery) func(status int, body []byte) error) error {
	var counters Counters
	list := make([]parsedDelivery, 0, len(recs))
	ids := map[string]bool{}
	maxOrd := 0
	for _, r := range recs {
		at := fmt.Sprintf("record %s/%s", r.Kind, r.Key)
		switch r.Kind {
		case RecordCounters:
			if r.Key != "" {
				return fmt.Errorf("%s: the counters record has the key \"\"", at)
			}
			if err := json.Unmarshal(r.Value, &counters); err != nil {
				return fmt.Errorf("%s: not the outbox counters: %v", at, err)
			}
			if counters.Seq < 0 || counters.Dropped < 0 {
				return fmt.Errorf("%s: seq %d and dropped %d must not be negative", at, counters.Seq, counters.Dropped)
			}
		case RecordDelivery:
			ord, err := strconv.Atoi(r.Key)
			if err != nil || ord < 1 || r.Key != ordKey(ord) {
				return fmt.Errorf("%s: the key is not a delivery's place (16 digits, from 1)", at)
			}
			var sd SavedDelivery
			if err := json.Unmarshal(r.Value, &sd); err != nil {
				return fmt.Errorf("%s: not a saved delivery: %v", at, err)
			}
			p, err := d.parseSaved(sd, at, ids, accept)
			if err != nil {
				return err
			}
			p.dl.ord = ord
			maxOrd = max(maxOrd, ord)
			list = append(list, p)
		default:
			return fmt.Errorf("%s: not a record of the callback outbox (kinds %s and %s)", at, RecordDelivery, RecordCounters)
		}
	}
	slices.SortFunc(list, func(a, b parsedDelivery) int { return a.dl.ord - b.dl.ord })
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("callback: LoadRecords needs a dispatcher that is not closed")
	}
	for _, dl := range d.all {
		if dl.inFlight || dl.pub.State == StateSending {
			return fmt.Errorf("callback: LoadRecords needs a dispatcher with no attempt under way (delivery %s is %s)", dl.pub.ID, dl.pub.State)
		}
	}
	for _, dl := range d.all {
		if dl.timer != nil {
			dl.timer.Stop()
			dl.timer = nil
		}
	}
	clear(d.all)
	d.all, d.settled = d.all[:0], 0
	d.queues, d.ready, d.turns = map[string][]*delivery{}, map[string][]*delivery{}, nil
	d.installLocked(list, max(counters.Seq, maxOrd, len(list)), counters.Dropped)
	return nil
}
