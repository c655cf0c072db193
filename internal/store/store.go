// Package store keeps a sandbox's namespaces in its data directory
// (--data-dir): one SQLite database, DIR/state.db, written through
// modernc.org/sqlite (pure Go, so the binary stays static).
//
// Writes are queued in the order they are made and a single writer
// goroutine commits everything queued so far in one transaction, so
// requests arriving while a commit is on its way to the disk share the
// next one (group commit): one fsync serves many requests. Wait blocks
// until a given write is durable; the core calls it before a response
// leaves. The database runs in WAL mode with synchronous=FULL: a commit
// has reached the disk when Commit returns.
//
// The tables are plain enough to read with the sqlite3 tool:
//
//	meta(key, value)                       format, version, request ids handed out
//	namespaces(name, world, loaded)        each namespace's scenario (JSON), and whether it was in memory
//	records(ns, provider, kind, key, value) provider and core state as JSON records
//	journal(ns, seq, entry)                journal entries (JSON), newest kept
package store

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// commitDelay is how long the writer waits, after the first write of a
// batch arrives, before committing when the last commit was awaited by
// two or more requests. Each commit costs an fsync and a write of every
// page it touches, whatever the number of requests in it, and on a busy
// sandbox the CPU those cost per request is what limits throughput: at 32
// concurrent clients, waiting half a millisecond makes batches about
// twice as large and raises gifts per second by a fifth
// (docs/benchmarks.md). A lone client (one waiter) is delayed only by
// the first commit after a busy moment.
const commitDelay = 500 * time.Microsecond

// Format and Version identify what this build writes in meta. A data
// directory of a newer version is refused; an older one is migrated.
const (
	Format  = "provider-sandbox/data"
	Version = 1
)

// FileName is the database's name inside the data directory.
const FileName = "state.db"

// Record is one stored record.
type Record struct {
	Provider string
	Kind     string
	Key      string
	Value    []byte
}

// opKind says what a queued write does.
type opKind uint8

const (
	opPut opKind = iota
	opDelete
	opWorld       // upsert a namespace's world, clearing its records and journal
	opDrop        // delete a namespace and everything of it
	opLoaded      // mark a namespace in memory or not
	opJournal     // append a journal entry
	opTrimJournal // drop journal entries below a sequence number
	opMeta        // set a meta value
)

type op struct {
	kind                     opKind
	ns, provider, rkind, key string
	value                    []byte
	n                        int64
}

// Store is an open data directory database. Its methods are safe for
// concurrent use.
type Store struct {
	path string
	w    *sql.DB // the writer's single connection
	r    *sql.DB // readers (WAL lets them run beside the writer)
	lock *os.File
	// prepared holds the writer's statements, prepared once at Open:
	// parsing them for every commit cost as much as some commits'
	// writes. Only the writer goroutine uses them.
	prepared [len(statements)]*sql.Stmt

	mu      sync.Mutex
	work    *sync.Cond // something queued, or closing
	settled *sync.Cond // durable advanced, or a commit failed
	queue   []op
	spare   []op
	queued  uint64 // sequence number of the last queued write
	durable uint64 // sequence number of the last committed write
	failed  error  // sticky: the first commit that failed
	closing bool
	done    chan struct{}
	// waiters counts the goroutines in Wait; busy says that the last
	// commit ended with two or more of them, so the next one is delayed.
	waiters int
	busy    bool

	// Stats, under mu.
	commits, writes uint64
}

// Open opens (creating when missing) DIR/state.db and checks that it is a
// data directory this build reads. Only one process may have a data
// directory open: a second Open fails while the first holds it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	s := &Store{path: path, lock: lock, done: make(chan struct{})}
	s.work = sync.NewCond(&s.mu)
	s.settled = sync.NewCond(&s.mu)
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(off)"
	if s.w, err = sql.Open("sqlite", dsn); err == nil {
		s.w.SetMaxOpenConns(1)
		s.r, err = sql.Open("sqlite", dsn+"&_pragma=query_only(true)")
	}
	if err == nil {
		err = s.prepare()
	}
	if err == nil {
		err = s.prepareStatements()
	}
	if err != nil {
		s.closeDBs()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) closeDBs() {
	for _, st := range s.prepared {
		if st != nil {
			st.Close()
		}
	}
	if s.w != nil {
		s.w.Close()
	}
	if s.r != nil {
		s.r.Close()
	}
	unlockDir(s.lock)
}

// Close commits what is queued, stops the writer and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closing = true
	s.work.Signal()
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	err := s.failed
	// Writes queued from now on are never committed: their Wait fails.
	if s.failed == nil {
		s.failed = ErrClosed
	}
	s.settled.Broadcast()
	s.mu.Unlock()
	s.closeDBs()
	return err
}

// ErrClosed is what Wait returns for a write queued after Close.
var ErrClosed = errors.New("the data directory is closed")

// enqueue adds a write and returns its sequence number.
func (s *Store) enqueue(o op) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueueLocked(o)
}

func (s *Store) enqueueLocked(o op) uint64 {
	s.queued++
	if s.failed != nil {
		// The writer has stopped: the write is not kept (its Wait
		// fails), and not held in memory either.
		return s.queued
	}
	s.queue = append(s.queue, o)
	if len(s.queue) == 1 {
		s.work.Signal()
	}
	return s.queued
}

// Queued returns the sequence number of the last write queued so far:
// Wait(Queued()) returns once everything written until now is durable.
func (s *Store) Queued() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued
}

// Wait blocks until the write with sequence number seq (and every one
// before it) is committed, or returns the error that stopped the writer.
func (s *Store) Wait(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.durable < seq && s.failed == nil {
		s.waiters++
		s.settled.Wait()
		s.waiters--
	}
	return s.failed
}

// Sync waits until everything queued so far is durable.
func (s *Store) Sync() error { return s.Wait(s.Queued()) }

// Pending reports whether some write is not durable yet; when it is
// false a response needs no wait.
func (s *Store) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.durable < s.queued
}

// Stats returns how many transactions and writes have been committed.
func (s *Store) Stats() (commits, writes uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits, s.writes
}

// Err returns the error that stopped the writer, if any.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// writer commits the queue in batches until Close.
func (s *Store) writer() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closing {
			s.work.Wait()
		}
		if len(s.queue) == 0 || s.failed != nil {
			s.queue = s.queue[:0]
			s.mu.Unlock()
			return
		}
		if s.busy && !s.closing {
			// Requests are answering side by side: let the ones on
			// their way join this commit (see commitDelay).
			s.mu.Unlock()
			time.Sleep(commitDelay)
			s.mu.Lock()
		}
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		last := s.queued
		s.mu.Unlock()

		err := s.commit(batch)
		clear(batch) // drop the values for the collector
		s.mu.Lock()
		if err != nil {
			s.failed = fmt.Errorf("writing %s: %w", s.path, err)
		} else {
			s.durable = last
			s.busy = s.waiters >= 2
			s.commits++
			s.writes += uint64(len(batch))
		}
		s.spare = batch[:0]
		s.settled.Broadcast()
		s.mu.Unlock()
	}
}
