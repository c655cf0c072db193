package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// sinkState is where a Sink's writes go.
type sinkState uint8

const (
	sinkBuffering  sinkState = iota // kept until Install
	sinkLive                        // queued for the writer
	sinkDiscarding                  // dropped (a world being loaded from its own records)
	sinkClosed                      // dropped for good (a replaced, deleted or unloaded world)
)

// Sink is how one namespace world writes its records. A world being built
// for a reset writes into a buffering sink: nothing reaches the disk
// unless Install puts the world in force, and then its writes follow the
// clearing of the world it replaces, while any late write of the replaced
// world (a request still in flight) is dropped. All of that is decided
// under the store's lock, so no write can slip between.
type Sink struct {
	s     *Store
	ns    string
	state sinkState // under s.mu
	buf   []op      // under s.mu, while buffering
}

// NewSink returns a buffering sink for a world of namespace ns being built.
func (s *Store) NewSink(ns string) *Sink { return &Sink{s: s, ns: ns} }

// LoadingSink returns a sink for a world being rebuilt from its stored
// records: what the world writes while it is rebuilt is already on disk,
// so it is dropped until Live.
func (s *Store) LoadingSink(ns string) *Sink { return &Sink{s: s, ns: ns, state: sinkDiscarding} }

// Put queues (or buffers) the record provider/kind/key with value.
func (k *Sink) Put(provider, kind, key string, value []byte) {
	k.add(op{kind: opPut, ns: k.ns, provider: provider, rkind: kind, key: key, value: value})
}

// Delete queues (or buffers) the removal of a record.
func (k *Sink) Delete(provider, kind, key string) {
	k.add(op{kind: opDelete, ns: k.ns, provider: provider, rkind: kind, key: key})
}

// Journal queues a journal entry with its sequence number in the
// namespace; entries below keepFrom are dropped in the same commit when
// keepFrom > 0. An entry nil with keepFrom < 0 clears the journal.
func (k *Sink) Journal(seq int64, entry []byte, keepFrom int64) {
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.state != sinkLive {
		return
	}
	if entry == nil && keepFrom < 0 {
		s.enqueueLocked(op{kind: opTrimJournal, ns: k.ns, n: 1 << 62})
		return
	}
	s.enqueueLocked(op{kind: opJournal, ns: k.ns, n: seq, value: entry})
	if keepFrom > 0 {
		s.enqueueLocked(op{kind: opTrimJournal, ns: k.ns, n: keepFrom})
	}
}

func (k *Sink) add(o op) {
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch k.state {
	case sinkLive:
		s.enqueueLocked(o)
	case sinkBuffering:
		k.buf = append(k.buf, o)
	}
}

// Group collects writes of a sink that must reach the disk in one commit.
type Group struct {
	k   *Sink
	ops []op
}

// NewGroup returns an empty group of the sink's writes.
func (k *Sink) NewGroup() *Group { return &Group{k: k} }

// Put adds a record write to the group.
func (g *Group) Put(provider, kind, key string, value []byte) {
	g.ops = append(g.ops, op{kind: opPut, ns: g.k.ns, provider: provider, rkind: kind, key: key, value: value})
}

// Delete adds a record removal to the group.
func (g *Group) Delete(provider, kind, key string) {
	g.ops = append(g.ops, op{kind: opDelete, ns: g.k.ns, provider: provider, rkind: kind, key: key})
}

// Commit queues the group's writes in one step: the writer takes the
// queue whole, so they land in the same transaction.
func (g *Group) Commit() {
	k := g.k
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch k.state {
	case sinkLive:
		for _, o := range g.ops {
			s.enqueueLocked(o)
		}
	case sinkBuffering:
		k.buf = append(k.buf, g.ops...)
	}
	g.ops = nil
}

// Live makes a loading sink write from now on.
func (k *Sink) Live() {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	if k.state == sinkDiscarding {
		k.state = sinkLive
	}
}

// Close drops every later write of the sink.
func (k *Sink) Close() {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	k.state, k.buf = sinkClosed, nil
}

// Install puts a built world of namespace ns in force on disk: the world
// description replaces the namespace's, its records and journal are
// cleared, the sink's buffered writes follow, and the sink goes live. old,
// the sink of the world replaced (nil for a new namespace), is closed in
// the same step. It returns the sequence number to Wait for.
func (s *Store) Install(ns string, world []byte, k, old *Sink) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if (old != nil && old.state == sinkClosed) || k.state == sinkClosed {
		// The namespace was dropped or unloaded meanwhile (a reset racing
		// a delete or an eviction): the world replaced is gone from disk,
		// and this one must not bring it back.
		k.state, k.buf = sinkClosed, nil
		return s.queued
	}
	if old != nil {
		old.state, old.buf = sinkClosed, nil
	}
	seq := s.enqueueLocked(op{kind: opWorld, ns: ns, value: world})
	for _, o := range k.buf {
		seq = s.enqueueLocked(o)
	}
	k.state, k.buf = sinkLive, nil
	return seq
}

// Drop deletes namespace ns and everything stored of it, closing its sink.
func (s *Store) Drop(ns string, k *Sink) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k != nil {
		k.state, k.buf = sinkClosed, nil
	}
	return s.enqueueLocked(op{kind: opDrop, ns: ns})
}

// Unload marks namespace ns as not in memory (evicted while idle) and
// closes its sink; its records stay, for the next request to load.
func (s *Store) Unload(ns string, k *Sink) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k != nil {
		k.state, k.buf = sinkClosed, nil
	}
	return s.enqueueLocked(op{kind: opLoaded, ns: ns, n: 0})
}

// MarkLoaded marks namespace ns as in memory again.
func (s *Store) MarkLoaded(ns string) uint64 {
	return s.enqueue(op{kind: opLoaded, ns: ns, n: 1})
}

// SetMeta queues a meta value.
func (s *Store) SetMeta(key, value string) uint64 {
	return s.enqueue(op{kind: opMeta, key: key, value: []byte(value)})
}

// Meta returns a meta value ("" when unset).
func (s *Store) Meta(key string) (string, error) {
	var v string
	err := s.r.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// MetaUint is Meta read as an unsigned number (0 when unset).
func (s *Store) MetaUint(key string) (uint64, error) {
	v, err := s.Meta(key)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: meta %s is %q, not a number", s.path, key, v)
	}
	return n, nil
}

// Namespace is a namespace as stored.
type Namespace struct {
	Name  string
	World []byte
	// Records holds every record, sorted by provider, kind and key.
	Records []Record
	// Journal holds the stored journal entries, oldest first.
	Journal [][]byte
	// JournalSeq is the sequence number of the newest journal entry (0
	// without one).
	JournalSeq int64
}

// Namespaces lists the stored namespaces, those that were in memory
// (loaded) or all of them.
func (s *Store) Namespaces(loadedOnly bool) ([]string, error) {
	q := `SELECT name FROM namespaces ORDER BY name`
	if loadedOnly {
		q = `SELECT name FROM namespaces WHERE loaded = 1 ORDER BY name`
	}
	rows, err := s.r.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Load reads namespace name whole, the newest journalMax journal entries
// included; ok is false when it is not stored. Call it only when no write
// of that namespace is pending (Sync first), so that it reads what was
// last written: the records and the journal are read side by side, each
// in a read transaction of its own, which then see the same namespace.
func (s *Store) Load(name string, journalMax int) (ns *Namespace, ok bool, err error) {
	ns = &Namespace{Name: name}
	err = s.r.QueryRow(`SELECT world FROM namespaces WHERE name = ?`, name).Scan(&ns.World)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	journalErr := make(chan error, 1)
	go func() { journalErr <- s.loadJournal(ns, journalMax) }()
	err = s.loadRecords(ns)
	if jerr := <-journalErr; err == nil {
		err = jerr
	}
	if err != nil {
		return nil, false, err
	}
	return ns, true, nil
}

// loadRecords reads ns's records. A restart waits for it: the slice is
// made to size, and the few provider and kind names are shared rather
// than one string per row.
func (s *Store) loadRecords(ns *Namespace) error {
	tx, err := s.r.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM records WHERE ns = ?`, ns.Name).Scan(&n); err != nil {
		return err
	}
	ns.Records = make([]Record, 0, n)
	names := map[string]string{}
	intern := func(b sql.RawBytes) string {
		if v, ok := names[string(b)]; ok {
			return v
		}
		v := string(b)
		names[v] = v
		return v
	}
	rows, err := tx.Query(`SELECT provider, kind, key, value FROM records WHERE ns = ? ORDER BY provider, kind, key`, ns.Name)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r Record
		var provider, kind sql.RawBytes
		if err := rows.Scan(&provider, &kind, &r.Key, &r.Value); err != nil {
			return err
		}
		r.Provider, r.Kind = intern(provider), intern(kind)
		ns.Records = append(ns.Records, r)
	}
	return rows.Err()
}

// loadJournal reads ns's newest journalMax entries and the sequence number
// of the newest one.
func (s *Store) loadJournal(ns *Namespace, journalMax int) error {
	tx, err := s.r.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if journalMax > 0 {
		rows, err := tx.Query(`SELECT seq, entry FROM (SELECT seq, entry FROM journal WHERE ns = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`, ns.Name, journalMax)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e []byte
			if err := rows.Scan(&ns.JournalSeq, &e); err != nil {
				return err
			}
			ns.Journal = append(ns.Journal, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if ns.JournalSeq == 0 {
		return tx.QueryRow(`SELECT coalesce(max(seq), 0) FROM journal WHERE ns = ?`, ns.Name).Scan(&ns.JournalSeq)
	}
	return nil
}

// Has reports whether namespace name is stored, reading only its world row.
func (s *Store) Has(name string) (bool, error) {
	var n int
	err := s.r.QueryRow(`SELECT count(*) FROM namespaces WHERE name = ?`, name).Scan(&n)
	return n > 0, err
}

// Size returns the database's size in bytes (the main file and its WAL).
func (s *Store) Size() int64 {
	var n int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		if st, err := statFile(p); err == nil {
			n += st
		}
	}
	return n
}
