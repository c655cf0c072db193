package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/events"
	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/store"
)

// With a data directory (Config.Store) every namespace lives on disk as
// well as in memory:
//
//   - its world row: the scenario it was built from (or the snapshot it
//     started from), written when the world is put in force (a new
//     namespace, a reset, a scenario or snapshot PUT), which also clears
//     the records and journal of the world it replaces;
//   - records: each provider's (Env.Records, Durable) and the core's own,
//     provider "": the clock ("clock") and the fault rules with their
//     counters and generator ("faults");
//   - journal entries, the newest JournalSize kept.
//
// A provider request's answer, and a changing admin call's, waits at
// WriteHeader until everything queued before it is durable (group
// commit). After a restart, namespaces that were in memory are rebuilt:
// the world from its row, then the core's records, then every provider's
// LoadRecords; a namespace evicted while idle is rebuilt on its next
// request.

// storedWorldVersion is the version of a namespace's world row.
const storedWorldVersion = 1

// storedWorld is a namespace's row in the namespaces table.
type storedWorld struct {
	Version int `json:"version"`
	// Name and Text are the scenario file, when the world was built from
	// one without a snapshot.
	Name string `json:"name,omitempty"`
	Text string `json:"text,omitempty"`
	// Snapshot is the snapshot file the world started from (a scenario's
	// snapshot key, PUT /__sandbox/snapshot).
	Snapshot json.RawMessage `json:"snapshot,omitempty"`
}

// storedClock is the core's "clock" record. Wall is the real time of Now:
// a running clock goes on from Now by the real time the sandbox was down.
type storedClock struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
	Wall   time.Time `json:"wall"`
}

// Core record kinds (provider "").
const (
	recordClock  = "clock"
	recordFaults = "faults"
)

// metaRequestIDs is the meta key holding the request ids handed out: a
// process may use ids up to it, and the next process starts above it.
const metaRequestIDs = "requestIds"

// requestIDBlock is how many request ids one meta write reserves.
const requestIDBlock = 1 << 16

// journalTrimEvery is how often (in entries of a namespace) its stored
// journal is cut back to JournalSize.
const journalTrimEvery = 1024

// sinkRecords is Env.Records with a data directory: a provider's records
// in its world's sink.
type sinkRecords struct {
	sink     *store.Sink
	provider string
}

func (r sinkRecords) Enabled() bool { return true }

func (r sinkRecords) Put(kind, key string, value any) {
	r.sink.Put(r.provider, kind, key, encodeRecord(r.provider, kind, key, value))
}

func (r sinkRecords) Delete(kind, key string) { r.sink.Delete(r.provider, kind, key) }

func (r sinkRecords) Atomic(f func(Records)) {
	g := &groupRecords{provider: r.provider, group: r.sink.NewGroup()}
	f(g)
	g.group.Commit()
}

// groupRecords is the Records an Atomic f gets: writes collected in a
// store.Group and queued at once.
type groupRecords struct {
	provider string
	group    *store.Group
}

func (g *groupRecords) Enabled() bool { return true }

func (g *groupRecords) Put(kind, key string, value any) {
	g.group.Put(g.provider, kind, key, encodeRecord(g.provider, kind, key, value))
}

func (g *groupRecords) Delete(kind, key string) { g.group.Delete(g.provider, kind, key) }

func (g *groupRecords) Atomic(f func(Records)) { f(g) } // already one group

// encodeRecord encodes a record's value; one that cannot be encoded is a
// programming error of the provider, which the pipeline answers as a
// handler failure.
func encodeRecord(provider, kind, key string, value any) []byte {
	switch v := value.(type) {
	case json.RawMessage:
		return v
	case []byte:
		return v
	}
	b, err := json.Marshal(value)
	if err != nil {
		panic(fmt.Sprintf("record %s/%s/%s cannot be encoded: %v", provider, kind, key, err))
	}
	return b
}

// recordsFor returns the Env.Records of a provider in a world.
func (w *world) recordsFor(provider string) Records {
	if w.sink == nil {
		return NoRecords
	}
	return sinkRecords{sink: w.sink, provider: provider}
}

// saveCore writes the core's records of the world: its clock and fault
// rules. It runs under the world's coreMu, so of two concurrent saves the
// later one's values reach the disk last.
func (w *world) saveCore() {
	if w.sink == nil {
		return
	}
	w.coreMu.Lock()
	defer w.coreMu.Unlock()
	c, _ := json.Marshal(storedClock{Now: w.clock.Now(), Frozen: w.clock.Frozen(), Wall: time.Now()})
	w.sink.Put("", recordClock, "", c)
	w.putFaultsLocked()
}

// saveFaults writes the fault record alone (after a request that ran the
// rules: their counters and generator moved).
func (w *world) saveFaults() {
	w.coreMu.Lock()
	defer w.coreMu.Unlock()
	w.putFaultsLocked()
}

// putFaultsLocked writes the fault record; the caller holds coreMu.
func (w *world) putFaultsLocked() {
	f, _ := json.Marshal(w.faults.Save())
	w.sink.Put("", recordFaults, "", f)
}

// storeInstall puts a world that was just swapped in on disk, replacing
// old's (nil for a new namespace). Without a data directory it does
// nothing.
func (ns *Namespace) storeInstall(w, old *world) {
	st := ns.server.cfg.Store
	if st == nil || w.sink == nil {
		return
	}
	row := storedWorld{Version: storedWorldVersion}
	if snap := w.scenario.Snapshot; snap != nil {
		row.Snapshot, _ = json.Marshal(snap)
	} else {
		row.Name, row.Text = w.scenario.File.Name, string(w.scenario.File.Source)
	}
	blob, _ := json.Marshal(row)
	w.saveCore()
	var oldSink *store.Sink
	if old != nil {
		oldSink = old.sink
	}
	st.Install(ns.Name, blob, w.sink, oldSink)
	ns.journalSeq.Store(0)
}

// storeJournal queues a journal entry of the namespace.
func (ns *Namespace) storeJournal(w *world, e *journal.Entry) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	seq := ns.journalSeq.Add(1)
	var keepFrom int64
	if seq%journalTrimEvery == 0 {
		keepFrom = seq - int64(ns.server.cfg.JournalSize) + 1
	}
	w.sink.Journal(seq, b, keepFrom)
}

// errStoreFailed words a failed write of the data directory for the
// answer that could not be made durable.
func errStoreFailed(err error) string {
	return "the sandbox could not keep this change in its data directory, so it is not acknowledged: " + err.Error()
}

// durableWriter holds an admin answer until what the call changed is on
// disk: before the status goes out, the namespace's core records are
// written and everything queued is waited for. A failed write turns the
// answer into a 503 problem.
type durableWriter struct {
	http.ResponseWriter
	before      func() error
	wroteHeader bool
	swallow     bool
}

func (w *durableWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if err := w.before(); err != nil {
		w.swallow = true
		h := w.ResponseWriter.Header()
		for k := range h {
			if k != HeaderRequestID {
				delete(h, k)
			}
		}
		h.Set("Retry-After", "60")
		writeProblem(w.ResponseWriter, http.StatusServiceUnavailable, "Data directory unavailable", errStoreFailed(err), nil)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *durableWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap serves http.ResponseController.
func (w *durableWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// nextIDDurable is nextID with a data directory: ids beyond the reserved
// block are reserved on disk before they are handed out, so that a
// restarted sandbox never hands out an id again.
func (s *Server) nextIDDurable(n uint64) {
	if n <= s.idLimit.Load() {
		return
	}
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if n <= s.idLimit.Load() {
		return
	}
	limit := n + requestIDBlock
	if err := s.cfg.Store.Wait(s.cfg.Store.SetMeta(metaRequestIDs, strconv.FormatUint(limit, 10))); err != nil {
		s.log.Error("request ids could not be reserved in the data directory", "err", err)
		return
	}
	s.idLimit.Store(limit)
}

// openStore prepares a server for its data directory: request ids go on
// above the ones a previous process reserved, and the namespaces that were
// in memory are rebuilt.
func (s *Server) openStore() error {
	st := s.cfg.Store
	top, err := st.MetaUint(metaRequestIDs)
	if err != nil {
		return err
	}
	s.seq.Store(top)
	s.idLimit.Store(top)
	names, err := st.Namespaces(true)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Path(), err)
	}
	// The default namespace first: it is where a failure would show.
	sort.SliceStable(names, func(i, j int) bool { return names[i] == DefaultNamespace && names[j] != DefaultNamespace })
	for _, name := range names {
		ns, err := s.loadStored(name)
		if err != nil {
			return err
		}
		s.spaces.byID[name] = ns
	}
	return nil
}

// errNotStored is loadStored's answer for a namespace the store lacks.
var errNotStored = errors.New("not stored")

// loadStored rebuilds a namespace from the data directory.
func (s *Server) loadStored(name string) (*Namespace, error) {
	st := s.cfg.Store
	if err := st.Sync(); err != nil { // an unload of it may still be queued
		return nil, err
	}
	stored, ok, err := st.Load(name, s.cfg.JournalSize)
	if err != nil {
		return nil, fmt.Errorf("namespace %q in %s: %w", name, st.Path(), err)
	}
	if !ok {
		return nil, errNotStored
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("namespace %q in %s: %s; the data directory is left as it is (delete the namespace's rows, or use another --data-dir)", name, st.Path(), fmt.Sprintf(format, args...))
	}
	var row storedWorld
	if err := json.Unmarshal(stored.World, &row); err != nil {
		return nil, fail("its world row is not readable: %v", err)
	}
	if row.Version != storedWorldVersion {
		return nil, fail("its world row is version %d; this build reads %d", row.Version, storedWorldVersion)
	}
	var sc *Scenario
	if row.Snapshot != nil {
		sc, err = ParseSnapshot(row.Snapshot)
		if err != nil {
			return nil, fail("its snapshot: %v", err)
		}
	} else {
		var probs error
		if loaded, p := LoadScenario(row.Name, []byte(row.Text)); len(p) > 0 {
			probs = p
		} else {
			sc = loaded
		}
		if probs != nil {
			return nil, fail("its scenario no longer loads: %v", probs)
		}
	}
	ns := &Namespace{Name: name, server: s, Journal: journal.New(s.cfg.JournalSize, s.journalBudget), events: events.New()}
	sink := st.LoadingSink(name)
	w, err := ns.buildWith(sc, sink, true)
	if err != nil {
		return nil, fail("%v", err)
	}
	// The journal is decoded while the providers load their records: both
	// are mostly JSON decoding, and a restart waits for them.
	entries := make([]journal.Entry, len(stored.Journal))
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		_ = DecodeEach(len(entries), func(i int) error {
			if json.Unmarshal(stored.Journal[i], &entries[i]) != nil {
				entries[i] = journal.Entry{} // unreadable: left out
			}
			return nil
		})
	}()
	defer func() { <-decoded }() // on every return, so no decoding outlives the load
	byProvider := map[string][]Record{}
	for _, r := range stored.Records {
		if r.Provider == "" {
			if err := w.loadCore(r); err != nil {
				w.close()
				return nil, fail("%v", err)
			}
			continue
		}
		byProvider[r.Provider] = append(byProvider[r.Provider], Record{Kind: r.Kind, Key: r.Key, Value: r.Value})
	}
	for _, p := range sortedKeys(byProvider) {
		d, ok := w.states[p].(Durable)
		if !ok {
			w.close()
			return nil, fail("it has records of provider %q, which keeps none in this build", p)
		}
		if err := d.LoadRecords(byProvider[p]); err != nil {
			w.close()
			return nil, fail("provider %s: %v", p, err)
		}
	}
	<-decoded
	for i := range entries {
		if entries[i].ID != "" {
			ns.Journal.Add(&entries[i])
		}
	}
	ns.journalSeq.Store(stored.JournalSeq)
	sink.Live()
	st.MarkLoaded(name)
	ns.world.Store(w)
	w.clock.Release()
	ns.touch()
	s.log.Info("namespace loaded from the data directory", "namespace", name, "records", len(stored.Records), "journal", len(stored.Journal))
	return ns, nil
}

// loadCore applies one of the core's records to a world being loaded.
func (w *world) loadCore(r store.Record) error {
	switch r.Kind {
	case recordClock:
		var c storedClock
		if err := json.Unmarshal(r.Value, &c); err != nil || c.Now.IsZero() {
			return fmt.Errorf("record clock is not readable (%v)", err)
		}
		now := c.Now
		if !c.Frozen && !c.Wall.IsZero() {
			if down := time.Since(c.Wall); down > 0 {
				now = now.Add(down)
			}
		}
		w.clock.Set(now)
		w.clock.Freeze(c.Frozen)
	case recordFaults:
		var f faults.Saved
		if err := json.Unmarshal(r.Value, &f); err != nil {
			return fmt.Errorf("record faults is not readable: %v", err)
		}
		if probs := w.faults.Restore(f); len(probs) > 0 {
			return fmt.Errorf("record faults: %v", probs)
		}
	default:
		return fmt.Errorf("record %q of the core is unknown to this build", r.Kind)
	}
	return nil
}

// closeSinks stops every namespace in memory from writing: what shutting
// down does to them (cancelling timers and callbacks) must not reach the
// disk, so that the next start finds them as they were.
func (s *Server) closeSinks() {
	s.spaces.mu.Lock()
	defer s.spaces.mu.Unlock()
	for _, ns := range s.spaces.byID {
		if w := ns.world.Load(); w != nil && w.sink != nil {
			w.sink.Close()
		}
	}
}
