package store

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestInstalledWorldAndRecordsSurviveReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir)
	k := s.NewSink("ci-1")
	k.Put("centili", "pool", "a", []byte(`{"assigned":1}`))
	if s.Pending() {
		t.Fatal("a buffering sink queued a write before Install")
	}
	s.Install("ci-1", []byte(`{"scenario":"x"}`), k, nil)
	k.Put("centili", "pool", "a", []byte(`{"assigned":2}`))
	k.Put("centili", "tx", "0002", []byte(`2`))
	k.Put("centili", "tx", "0001", []byte(`1`))
	k.Delete("centili", "tx", "0002")
	k.Journal(1, []byte(`{"id":"req_1"}`), 0)
	k.Journal(2, []byte(`{"id":"req_2"}`), 2)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, dir)
	ns, ok, err := s.Load("ci-1", 10)
	if err != nil || !ok {
		t.Fatalf("Load: %v %v", ok, err)
	}
	got := fmt.Sprintf("%s %v %q %d", ns.World, ns.Records, ns.Journal, ns.JournalSeq)
	want := `{"scenario":"x"} [{centili pool a [123 34 97 115 115 105 103 110 101 100 34 58 50 125]} {centili tx 0001 [49]}] ["{\"id\":\"req_2\"}"] 2`
	if got != want {
		t.Fatalf("stored\n got %s\nwant %s", got, want)
	}
	if _, ok, _ := s.Load("other", 10); ok {
		t.Fatal("a namespace never stored was found")
	}
}

func TestReinstallClearsTheReplacedWorldAndDropsItsLateWrites(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	old := s.NewSink("n")
	s.Install("n", []byte(`1`), old, nil)
	old.Put("p", "k", "stale", []byte(`1`))
	fresh := s.NewSink("n")
	fresh.Put("p", "k", "new", []byte(`2`))
	s.Install("n", []byte(`2`), fresh, old)
	old.Put("p", "k", "late", []byte(`3`)) // a request of the old world still in flight
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	ns, _, err := s.Load("n", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Records) != 1 || ns.Records[0].Key != "new" || string(ns.World) != "2" {
		t.Fatalf("after the reset: world %s, records %v", ns.World, ns.Records)
	}
}

func TestDropUnloadAndLoadingSink(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	for _, n := range []string{"a", "b", "c"} {
		k := s.NewSink(n)
		s.Install(n, []byte(`{}`), k, nil)
		k.Put("p", "k", "x", []byte(`1`))
		if n == "b" {
			s.Drop(n, k)
			k.Put("p", "k", "y", []byte(`1`))
		}
		if n == "c" {
			s.Unload(n, k)
		}
	}
	l := s.LoadingSink("a")
	l.Put("p", "k", "discarded", []byte(`1`))
	l.Live()
	l.Put("p", "k", "kept", []byte(`1`))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Namespaces(false)
	loaded, _ := s.Namespaces(true)
	if strings.Join(all, ",") != "a,c" || strings.Join(loaded, ",") != "a" {
		t.Fatalf("namespaces %v, loaded %v", all, loaded)
	}
	ns, _, _ := s.Load("a", 0)
	if fmt.Sprintf("%d %s %s", len(ns.Records), ns.Records[0].Key, ns.Records[1].Key) != "2 kept x" {
		t.Fatalf("records of a: %v", ns.Records)
	}
}

// openWithNamespace opens a store in a new directory with namespace "n"
// installed and durable, and returns its sink.
func openWithNamespace(t *testing.T) (*Store, *Sink) {
	t.Helper()
	s := open(t, t.TempDir())
	k := s.NewSink("n")
	s.Install("n", []byte(`{}`), k, nil)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	return s, k
}

func TestConcurrentWritersShareCommits(t *testing.T) {
	t.Parallel()
	s, k := openWithNamespace(t)
	var wg sync.WaitGroup
	const writers, each = 16, 50
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k.Put("p", "k", fmt.Sprintf("%02d-%03d", w, i), []byte(`1`))
				s.SetMeta(fmt.Sprintf("writer-%02d", w), strconv.Itoa(i))
				if err := s.Sync(); err != nil {
					t.Error(err)
					return
				}
				// Sync returned: the write is committed, delayed
				// commit (busy) or not, and a reader sees it.
				if v, err := s.Meta(fmt.Sprintf("writer-%02d", w)); v != strconv.Itoa(i) || err != nil {
					t.Errorf("writer %d after Sync of write %d reads %q, %v", w, i, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ns, _, _ := s.Load("n", 0)
	if len(ns.Records) != writers*each {
		t.Fatalf("%d records, want %d", len(ns.Records), writers*each)
	}
	commits, writes := s.Stats()
	if writes != 2*writers*each+1 || commits >= writes {
		t.Fatalf("%d writes in %d commits: expected fewer commits than writes", writes, commits)
	}
}

func TestOpenRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "in use by another sandbox process") {
		t.Fatalf("second Open: %v", err)
	}
	s.Close()
	db, _ := sql.Open("sqlite", filepath.Join(dir, FileName))
	if _, err := db.Exec(`UPDATE meta SET value = '99' WHERE key = 'version'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(dir)
	if !errors.Is(err, ErrNewerDataDir) || !strings.Contains(err.Error(), "data format 99; this build reads up to 1") {
		t.Fatalf("newer data dir: %v", err)
	}

	other := t.TempDir()
	db, _ = sql.Open("sqlite", filepath.Join(other, FileName))
	db.Exec(`CREATE TABLE notes (x)`)
	db.Close()
	if _, err := Open(other); !errors.Is(err, ErrNotDataDir) {
		t.Fatalf("foreign database: %v", err)
	}
}

func TestLaterWritesOfARecordInOneCommitWin(t *testing.T) {
	t.Parallel()
	batch := []op{
		{kind: opPut, ns: "n", provider: "p", rkind: "k", key: "a", value: []byte("1")},
		{kind: opPut, ns: "n", provider: "p", rkind: "k", key: "b", value: []byte("1")},
		{kind: opPut, ns: "n", provider: "p", rkind: "k", key: "a", value: []byte("2")},
		{kind: opWorld, ns: "n"},
		{kind: opDelete, ns: "n", provider: "p", rkind: "k", key: "b"},
		{kind: opPut, ns: "n", provider: "p", rkind: "k", key: "b", value: []byte("3")},
		{kind: opPut, ns: "m", provider: "p", rkind: "k", key: "b", value: []byte("4")},
	}
	got := fmt.Sprint(supersededOps(batch))
	if want := "[true false false false true false false]"; got != want {
		t.Fatalf("superseded %s, want %s", got, want)
	}
	// And through the writer: whatever commits group, the last value stays.
	s, k := openWithNamespace(t)
	for i := range 200 {
		k.Put("p", "pool", "x", []byte(fmt.Sprint(i)))
	}
	s.Sync()
	ns, _, _ := s.Load("n", 0)
	if len(ns.Records) != 1 || string(ns.Records[0].Value) != "199" {
		t.Fatalf("records %v", ns.Records)
	}
}

func TestAGroupLandsInOneCommit(t *testing.T) {
	t.Parallel()
	s, k := openWithNamespace(t)
	before, _ := s.Stats()
	g := k.NewGroup()
	for i := range 500 {
		g.Put("p", "tx", fmt.Sprintf("%04d", i), []byte(`1`))
	}
	g.Delete("p", "tx", "0000")
	if s.Pending() {
		t.Fatal("a group queued writes before Commit")
	}
	g.Commit()
	s.Sync()
	after, _ := s.Stats()
	ns, _, _ := s.Load("n", 0)
	if after-before != 1 || len(ns.Records) != 499 {
		t.Fatalf("%d commits for one group, %d records", after-before, len(ns.Records))
	}
}

// A reset racing a delete or an eviction installs its world with the
// sink the delete or eviction closed: nothing of it may reach the disk,
// or the deleted namespace would come back (or the evicted one be marked
// in memory).
func TestInstallReplacingAClosedSinkKeepsNothing(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	for _, tc := range []struct {
		name   string
		remove func(ns string, k *Sink) uint64
		stored bool // still stored afterwards (unloaded, not dropped)
	}{
		{"drop", s.Drop, false},
		{"unload", s.Unload, true},
	} {
		ns := "n-" + tc.name
		old := s.NewSink(ns)
		old.Put("p", "k", "kept", []byte(`1`))
		s.Install(ns, []byte(`1`), old, nil)
		s.Wait(tc.remove(ns, old))
		fresh := s.NewSink(ns)
		fresh.Put("p", "k", "reset", []byte(`2`))
		s.Wait(s.Install(ns, []byte(`2`), fresh, old))
		fresh.Put("p", "k", "after", []byte(`3`))
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Load(ns, 0)
		if err != nil || ok != tc.stored {
			t.Fatalf("%s: stored %v (%v), want %v", tc.name, ok, err, tc.stored)
		}
		if ok && (string(got.World) != "1" || len(got.Records) != 1 || got.Records[0].Key != "kept") {
			t.Fatalf("%s: world %s, records %v; want the world before the reset", tc.name, got.World, got.Records)
		}
		loaded, _ := s.Namespaces(true)
		if strings.Contains(strings.Join(loaded, ","), ns) {
			t.Fatalf("%s: marked in memory again: %v", tc.name, loaded)
		}
	}
}

// Once the writer has stopped, writes are refused without piling up in
// memory.
func TestWritesAfterTheWriterStoppedAreNotKeptInMemory(t *testing.T) {
	t.Parallel()
	s, k := openWithNamespace(t)
	s.Close()
	for i := range 1000 {
		k.Put("p", "k", strconv.Itoa(i), []byte(`1`))
	}
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
	s.mu.Lock()
	n := len(s.queue)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d writes kept in memory after the writer stopped", n)
	}
}
