package sandbox

import (
	"cmp"
	"encoding/json"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Records is where a provider keeps its state when the sandbox runs with a
// data directory (--data-dir): a set of JSON records, each named by a kind
// and a key, that the store writes to disk in group commits before the
// answer of the request that changed them leaves. Env.Records is never
// nil; without a data directory it keeps nothing.
//
// A provider calls Put with the new value of every record a request
// changes, and Delete for every record it removes, while it still holds
// the lock that guards the change: the store keeps the order of the calls,
// so two requests changing one record land on disk in the order they
// changed it. Values are absolute (a pool's balance, not "+100"): a record
// is whole on its own. After a restart the provider gets every record back
// through Durable.LoadRecords, on top of the state New built from the
// scenario.
type Records interface {
	// Enabled reports whether records are kept at all; a provider may skip
	// building values when they are not.
	Enabled() bool
	// Put stores value, encoded as JSON now, as the record kind/key,
	// replacing the one there.
	Put(kind, key string, value any)
	// Delete removes the record kind/key; deleting a missing one is no
	// error.
	Delete(kind, key string)
	// Atomic runs f with a Records whose Puts and Deletes reach the disk
	// together, in one commit, once f returns: a crash keeps all of them
	// or none. A request that changes several records (a gift's
	// transaction, its pool and the id counter) writes them through it,
	// so that no crash can leave the transaction without its pool.
	Atomic(f func(Records))
}

// Record is one stored record, as Durable.LoadRecords gets it.
type Record struct {
	Kind  string
	Key   string
	Value json.RawMessage
}

// Durable is implemented by provider state that keeps itself in
// Env.Records. LoadRecords runs after a restart, once New has built the
// state from the namespace's scenario (and RestoreState has put back the
// snapshot the scenario starts from, if any), before the world is in
// force and on a held clock, like RestoreState: timers it arms fire only
// once the world is swapped in. recs holds every record the provider Put
// and did not Delete since that world was built, sorted by kind, then key
// (byte order; zero-padded numbers keep their order). It refuses what it
// cannot read with an error naming the record; the namespace is then not
// loaded, rather than half loaded.
type Durable interface {
	LoadRecords(recs []Record) error
}

// NoRecords keeps nothing: Env.Records without a data directory, and what
// a provider uses when a test's Env leaves Records nil.
var NoRecords Records = noRecords{}

type noRecords struct{}

func (noRecords) Enabled() bool               { return false }
func (noRecords) Put(kind, key string, _ any) {}
func (noRecords) Delete(kind, key string)     {}
func (n noRecords) Atomic(f func(Records))    { f(n) }

// RecordSet is an in-memory Records, for tests of a provider's Durable
// state: build a state with it as Env.Records, change the state, then hand
// Records() to LoadRecords of a fresh state and compare the two.
type RecordSet struct {
	mu   sync.Mutex
	recs map[[2]string]json.RawMessage
	// Err is the first value Put could not encode.
	Err error
}

// NewRecordSet returns an empty RecordSet.
func NewRecordSet() *RecordSet { return &RecordSet{recs: map[[2]string]json.RawMessage{}} }

// Enabled is always true.
func (s *RecordSet) Enabled() bool { return true }

// Put stores value encoded as JSON.
func (s *RecordSet) Put(kind, key string, value any) {
	b, err := json.Marshal(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.Err == nil {
			s.Err = err
		}
		return
	}
	s.recs[[2]string{kind, key}] = b
}

// Delete removes a record.
func (s *RecordSet) Delete(kind, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, [2]string{kind, key})
}

// Atomic runs f with the set itself: its writes are immediate anyway.
func (s *RecordSet) Atomic(f func(Records)) { f(s) }

// Records returns the records sorted as LoadRecords gets them.
func (s *RecordSet) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.recs))
	for k, v := range s.recs {
		out = append(out, Record{Kind: k[0], Key: k[1], Value: v})
	}
	slices.SortFunc(out, compareRecords)
	return out
}

func compareRecords(a, b Record) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}

// DecodeEach calls decode(i) for every i in [0, n), spread over the CPUs:
// turning a large namespace's records back into state is mostly JSON
// decoding, and a restart waits for it. decode must write only what
// belongs to its own i. It returns the error of the lowest i that
// failed, so the same records always give the same error.
func DecodeEach(n int, decode func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/decodeChunk+1)
	if workers <= 1 {
		for i := range n {
			if err := decode(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next     atomic.Int64 // the next chunk to take
		mu       sync.Mutex
		firstErr error
		firstAt  = n
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(decodeChunk)) - decodeChunk
				if from >= n {
					return
				}
				for i := from; i < min(from+decodeChunk, n); i++ {
					if err := decode(i); err != nil {
						mu.Lock()
						if i < firstAt {
							firstAt, firstErr = i, err
						}
						mu.Unlock()
						break // later ones in this chunk cannot be lower
					}
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// decodeChunk is how many records a DecodeEach worker takes at a time.
const decodeChunk = 512
