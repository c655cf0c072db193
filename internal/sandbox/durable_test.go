package sandbox_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/internal/store"

	_ "modernc.org/sqlite" // reading the data directory beside the sandbox
)

// durable is a sandbox on a data directory that a test can crash: the
// HTTP server and the store go away without the sandbox shutting down,
// as after kill -9 (what reached the disk is what a kill leaves).
type durable struct {
	*sandboxtest.Harness
	st *store.Store
}

func startDurable(t *testing.T, dir, scenarioYAML string, configure func(*sandbox.Config)) *durable {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := sandboxtest.NewWithConfig(t, scenarioYAML, func(c *sandbox.Config) {
		c.Store = st
		if configure != nil {
			configure(c)
		}
	})
	return &durable{Harness: h, st: st}
}

// beside opens the sandbox's database read-only next to it: it sees what
// is committed, nothing queued.
func (d *durable) beside(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+d.st.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (d *durable) crash() {
	d.HTTP.CloseClientConnections()
	d.HTTP.Close()
	d.st.Close()
}

type echoItemView struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func (d *durable) items(ns string) []echoItemView {
	var out []echoItemView
	path := "/echo/items"
	if ns != "" {
		path = "/ns/" + ns + path
	}
	d.Do("GET", path, nil).WantStatus(200).JSON(&out)
	return out
}

func requestNumber(t *testing.T, id string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimPrefix(id, "req_"), 16, 64)
	if err != nil {
		t.Fatalf("request id %q", id)
	}
	return n
}

func TestDataDirKeepsNamespacesClockFaultsAndJournalAcrossACrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDurable(t, dir, echoScenario, nil)
	var top uint64
	for i, ns := range []string{"", "", "", "a", "a"} {
		path := "/echo/items"
		if ns != "" {
			path = "/ns/a/echo/items"
		}
		res := d.Do("POST", path, sandboxtest.JSONBody(fmt.Sprintf(`{"name":"item-%d","qty":1}`, i))).WantStatus(201)
		top = max(top, requestNumber(t, res.Header.Get(sandbox.HeaderRequestID)))
	}
	d.Admin("POST", "a", "/clock", map[string]string{"advance": "90s"}, nil)
	if st := d.Admin("POST", "a", "/faults", map[string]any{
		"id": "twice", "match": map[string]any{"provider": "echo", "operation": "listItems"},
		"respond": map[string]any{"status": 503}, "times": 2,
	}, nil); st != 201 {
		t.Fatalf("POST /faults = %d", st)
	}
	d.Do("GET", "/ns/a/echo/items", nil).WantStatus(503) // fired once of twice
	d.crash()

	d = startDurable(t, dir, echoScenario, nil)
	if got := d.items(""); len(got) != 3 || got[2].Name != "item-2" || got[2].ID != 3 {
		t.Fatalf("default namespace after the restart: %+v", got)
	}
	var c struct {
		Now time.Time `json:"now"`
	}
	d.Admin("GET", "a", "/clock", nil, &c)
	if want := time.Date(2026, 1, 2, 3, 5, 35, 0, time.UTC); !c.Now.Equal(want) {
		t.Fatalf("clock of a after the restart: %v, want %v", c.Now, want)
	}
	var views []faults.View
	d.Admin("GET", "a", "/faults", nil, &views)
	if len(views) != 1 || views[0].Fired != 1 {
		t.Fatalf("faults of a after the restart: %+v", views)
	}
	d.Do("GET", "/ns/a/echo/items", nil).WantStatus(503) // the second of two
	if got := d.items("a"); len(got) != 2 || got[0].Name != "item-3" {
		t.Fatalf("namespace a after the restart: %+v", got)
	}
	var journal []struct {
		ID        string `json:"id"`
		Operation string `json:"operation"`
	}
	d.Admin("GET", "a", "/requests", nil, &journal)
	ops := []string{}
	for _, e := range journal {
		ops = append(ops, e.Operation)
	}
	// Newest first: this process's two, then the first process's three.
	if got := strings.Join(ops, ","); got != "listItems,listItems,listItems,createItem,createItem" {
		t.Fatalf("journal of a after the restart: %s", got)
	}
	res := d.Do("GET", "/echo/items", nil)
	if n := requestNumber(t, res.Header.Get(sandbox.HeaderRequestID)); n <= top {
		t.Fatalf("request id %d after the restart reuses the range up to %d", n, top)
	}
}

func TestDataDirResetDeleteAndEviction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDurable(t, dir, echoScenario, func(c *sandbox.Config) { c.NamespaceIdle = time.Hour })
	for _, ns := range []string{"kept", "reset", "deleted", "evicted"} {
		d.Do("POST", "/ns/"+ns+"/echo/items", sandboxtest.JSONBody(`{"name":"x","qty":1}`)).WantStatus(201)
	}
	if st := d.Admin("POST", "reset", "/reset", nil, nil); st/100 != 2 {
		t.Fatalf("reset = %d", st)
	}
	d.Do("POST", "/ns/reset/echo/items", sandboxtest.JSONBody(`{"name":"after-reset","qty":1}`)).WantStatus(201)
	if st := d.Admin("DELETE", "", "/namespaces/deleted", nil, nil); st != 204 {
		t.Fatalf("delete = %d", st)
	}
	d.crash()

	d = startDurable(t, dir, echoScenario, func(c *sandbox.Config) { c.NamespaceIdle = 10 * time.Millisecond })
	if got := d.items("reset"); len(got) != 1 || got[0].Name != "after-reset" {
		t.Fatalf("reset namespace after the restart: %+v", got)
	}
	if got := d.items("deleted"); len(got) != 0 {
		t.Fatalf("deleted namespace came back: %+v", got)
	}
	time.Sleep(30 * time.Millisecond)
	d.Server.EvictIdle()
	if names := strings.Join(d.Server.NamespaceNames(), ","); strings.Contains(names, "evicted") {
		t.Fatalf("not evicted: %s", names)
	}
	// Evicted while idle: rebuilt from the disk on its next request.
	if got := d.items("evicted"); len(got) != 1 || got[0].Name != "x" {
		t.Fatalf("evicted namespace on its next request: %+v", got)
	}
	if st := d.Admin("DELETE", "", "/requests", nil, nil); st != 204 {
		t.Fatalf("DELETE /requests = %d", st)
	}
	d.crash()
	d = startDurable(t, dir, echoScenario, nil)
	var journal []any
	d.Admin("GET", "", "/requests", nil, &journal)
	if len(journal) != 0 {
		t.Fatalf("a cleared journal came back with %d entries", len(journal))
	}
	if got := d.items("kept"); len(got) != 1 {
		t.Fatalf("kept namespace: %+v", got)
	}
}

func TestDataDirConcurrentAcknowledgedWritesSurviveACrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDurable(t, dir, echoScenario, nil)
	const n = 64
	var wg sync.WaitGroup
	acked := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := d.Do("POST", "/echo/items", sandboxtest.JSONBody(fmt.Sprintf(`{"name":"c%d","qty":1}`, i)))
			if res.Status == http.StatusCreated {
				acked <- i
			}
		}()
	}
	wg.Wait()
	close(acked)
	if len(acked) != n {
		t.Fatalf("%d of %d acknowledged", len(acked), n)
	}
	d.crash()
	d = startDurable(t, dir, echoScenario, nil)
	got := d.items("")
	seen := map[int]bool{}
	for _, it := range got {
		if seen[it.ID] {
			t.Fatalf("id %d twice after the restart", it.ID)
		}
		seen[it.ID] = true
	}
	if len(got) != n {
		t.Fatalf("%d items after the restart, %d acknowledged", len(got), n)
	}
}

// An acknowledged request's journal entry reached the disk in the same
// commit as what it changed: it is there as soon as the answer is, for
// concurrent requests too. The database is read beside the sandbox, which
// sees only committed transactions.
func TestDataDirJournalEntryIsDurableWithItsAnswer(t *testing.T) {
	t.Parallel()
	d := startDurable(t, t.TempDir(), echoScenario, nil)
	db := d.beside(t)
	onDisk := func(id string) bool {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM journal WHERE CAST(entry AS TEXT) LIKE ?`, `%"id":"`+id+`"%`).Scan(&n); err != nil {
			t.Error(err)
		}
		return n == 1
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 4 {
				res := d.Do("POST", "/echo/items", sandboxtest.JSONBody(fmt.Sprintf(`{"name":"j%d-%d","qty":1}`, i, j)))
				id := res.Header.Get(sandbox.HeaderRequestID)
				if res.Status != http.StatusCreated || !onDisk(id) {
					t.Errorf("POST answered %d; its journal entry %s on disk at once: %v", res.Status, id, onDisk(id))
				}
			}
		}()
	}
	wg.Wait()
}

func TestDataDirWriteFailureIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	d := startDurable(t, t.TempDir(), echoScenario, nil)
	d.st.Close() // every later write fails
	res := d.Do("POST", "/echo/items", sandboxtest.JSONBody(`{"name":"lost","qty":1}`))
	if res.Status != 503 || !strings.Contains(string(res.Body), "not acknowledged") {
		t.Fatalf("write after the store failed: %d %s", res.Status, res.Body)
	}
	// The journal keeps what the client got, not the 201 it was denied.
	var journal []struct {
		ID       string `json:"id"`
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	}
	d.Admin("GET", "", "/requests", nil, &journal)
	if len(journal) == 0 || journal[0].ID != res.Header.Get(sandbox.HeaderRequestID) || journal[0].Response.Status != 503 {
		t.Fatalf("journal after the refused write: %+v", journal)
	}
	res = d.Do("POST", "/__sandbox/clock", sandboxtest.JSONBody(`{"advance":"1s"}`))
	if res.Status != 503 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("admin change after the store failed: %d %s", res.Status, res.Body)
	}
}

// A namespace being rebuilt from the disk holds up only its own requests:
// the others are answered meanwhile, a second request to it waits for the
// same load (one load, one namespace), and a delete waits for a load to
// end, then deletes what it loaded.
func TestDataDirLoadingANamespaceBlocksOnlyThatNamespace(t *testing.T) {
	t.Parallel()
	d := startDurable(t, t.TempDir(), echoScenario, nil)
	d.Do("POST", "/ns/big/echo/items", sandboxtest.JSONBody(`{"name":"stored","qty":1}`)).WantStatus(201)
	evict := func() {
		t.Helper()
		d.Server.AgeNamespace("big", 24*time.Hour)
		if n := d.Server.EvictIdle(); n != 1 {
			t.Fatalf("evicted %d namespaces, want big alone", n)
		}
	}
	entered, release := make(chan struct{}, 4), make(chan chan struct{}, 4)
	d.Server.SetLoadHook(func(name string) {
		if name == "big" { // a new namespace is looked for on disk too
			entered <- struct{}{}
			<-<-release
		}
	})
	hold := func() chan struct{} {
		r := make(chan struct{})
		release <- r
		return r
	}
	nothingFor := func(what string, chans ...<-chan int) {
		t.Helper()
		timer := time.After(50 * time.Millisecond) // nothing may happen meanwhile
		for {
			select {
			case <-timer:
				return
			case <-entered:
				t.Fatal("a second load of big began")
			case <-chans[0]:
				t.Fatalf("%s during the load of big", what)
			}
		}
	}

	evict()
	r := hold()
	got := make(chan []echoItemView, 2)
	answered := make(chan int, 2)
	for range 2 {
		go func() {
			items := d.items("big")
			answered <- 1
			got <- items
		}()
	}
	<-entered
	// While big is held in its load, the default namespace and a new one answer.
	d.Do("GET", "/echo/items", nil).WantStatus(200)
	d.Do("POST", "/ns/other/echo/items", sandboxtest.JSONBody(`{"name":"o","qty":1}`)).WantStatus(201)
	nothingFor("a request to big answered", answered)
	close(r)
	for range 2 {
		if items := <-got; len(items) != 1 || items[0].Name != "stored" {
			t.Fatalf("big after its load: %+v", items)
		}
	}

	evict()
	r = hold()
	go d.Do("GET", "/ns/big/echo/items", nil) // the load; its answer races the delete
	<-entered
	deleted := make(chan int, 1)
	go func() { deleted <- d.Admin("DELETE", "", "/namespaces/big", nil, nil) }()
	nothingFor("big was deleted", deleted)
	close(r)
	if st := <-deleted; st != 204 {
		t.Fatalf("DELETE /namespaces/big after its load = %d", st)
	}
	d.Server.SetLoadHook(nil)
	if items := d.items("big"); len(items) != 0 {
		t.Fatalf("big after its delete: %+v", items)
	}
}

// A fault rule's counter is on disk before the client sees what the rule
// did (an answer, or a reset connection), so a crash right after cannot
// let a rule limited to one firing fire again.
func TestDataDirFaultCountersAreDurableBeforeTheFaultIsSeen(t *testing.T) {
	t.Parallel()
	d := startDurable(t, t.TempDir(), echoScenario, nil)
	db := d.beside(t)
	for _, tc := range []struct {
		id   string
		rule map[string]any
	}{
		{"answer-once", map[string]any{"respond": map[string]any{"status": 503}}},
		{"reset-once", map[string]any{"reset": true}},
	} {
		rule := map[string]any{"id": tc.id, "match": map[string]any{"provider": "echo", "operation": "listItems"}, "times": 1}
		for k, v := range tc.rule {
			rule[k] = v
		}
		if st := d.Admin("POST", "", "/faults", rule, nil); st != 201 {
			t.Fatalf("POST /faults %s = %d", tc.id, st)
		}
		if res, err := http.Get(d.HTTP.URL + "/echo/items"); err == nil {
			res.Body.Close()
		}
		var saved []byte
		if err := db.QueryRow(`SELECT value FROM records WHERE ns = 'default' AND provider = '' AND kind = 'faults'`).Scan(&saved); err != nil {
			t.Fatal(err)
		}
		var f faults.Saved
		if err := json.Unmarshal(saved, &f); err != nil {
			t.Fatal(err)
		}
		fired := -1
		for _, r := range f.Rules {
			if r.ID == tc.id {
				fired = r.Fired
			}
		}
		if fired != 1 {
			t.Fatalf("rule %s on disk once its fault was seen: fired %d, want 1 (%s)", tc.id, fired, saved)
		}
		if st := d.Admin("DELETE", "", "/faults/"+tc.id, nil, nil); st != 204 {
			t.Fatalf("DELETE /faults/%s = %d", tc.id, st)
		}
	}
}
