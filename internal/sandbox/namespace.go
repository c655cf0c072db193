package sandbox

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/events"
	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	"github.com/provider-sandbox/provider-sandbox/internal/store"
)

// DefaultNamespace is the namespace the bare mounts serve.
const DefaultNamespace = "default"

// Namespace is an isolated copy of the whole sandbox: state, journal, clock
// and callbacks. CI jobs that put /ns/<job> in their base URLs never see each
// other.
type Namespace struct {
	Name    string
	Journal *journal.Journal

	server   *Server
	events   *events.Hub // live event subscribers; outlives resets
	world    atomic.Pointer[world]
	lastUsed atomic.Int64 // real unix nanos, for idle eviction
	resetMu  sync.Mutex   // serialises resets, scenario replacement and deletion
	// journalSeq numbers the journal entries kept in the data directory.
	journalSeq atomic.Int64
	deleted    bool // under resetMu: deleted or evicted, closed for good
}

// world is everything a reset replaces at once. Requests load it once, so a
// request in flight during a reset finishes against the world it started with.
type world struct {
	scenario *Scenario
	clock    *clock.Clock
	states   map[string]any // provider name → state
	faults   *faults.Set
	counters map[string]*providerCounters // provider name → traffic, for GET /stats
	// sink is where the world's records go with a data directory (nil
	// without one); coreMu orders the core's own records (durable.go).
	sink   *store.Sink
	coreMu sync.Mutex
}

// Clock returns the namespace's clock.
func (ns *Namespace) Clock() *clock.Clock { return ns.world.Load().clock }

// Scenario returns the scenario the namespace was built from.
func (ns *Namespace) Scenario() *Scenario { return ns.world.Load().scenario }

// Faults returns the namespace's fault rules.
func (ns *Namespace) Faults() *faults.Set { return ns.world.Load().faults }

// State returns a provider's state in this namespace.
func (ns *Namespace) State(provider string) (any, bool) {
	s, ok := ns.world.Load().states[provider]
	return s, ok
}

func (ns *Namespace) touch() { ns.lastUsed.Store(time.Now().UnixNano()) }

// build makes a fresh world from a scenario. With a data directory its
// records are buffered until the world is put in force (storeInstall).
func (ns *Namespace) build(sc *Scenario) (*world, error) {
	var sink *store.Sink
	if st := ns.server.cfg.Store; st != nil {
		sink = st.NewSink(ns.Name)
	}
	return ns.buildWith(sc, sink, false)
}

// buildWith is build with the world's sink given; held keeps the clock
// held after the world is built (a world being loaded from the data
// directory), as a snapshot's does until activate.
func (ns *Namespace) buildWith(sc *Scenario, sink *store.Sink, held bool) (*world, error) {
	common := sc.Common()
	w := &world{scenario: sc, clock: clock.New(sc.Start, common.Clock.Frozen), states: map[string]any{}, counters: map[string]*providerCounters{}, sink: sink}
	if sc.Snapshot != nil || held {
		w.clock.Hold() // until activate: nothing restored fires before the world is in force
	}
	set, probs := faults.NewSet(sc.Faults, registeredOps{}, common.Seed, w.clock.Now())
	if len(probs) > 0 {
		w.clock.Close()
		return nil, fmt.Errorf("fault rules: %s", scenario.Problems(probs).Error())
	}
	w.faults = set
	for _, p := range Providers() {
		st, err := p.New(Env{
			Namespace: ns.Name,
			Clock:     w.clock,
			Seed:      common.Seed,
			Config:    sc.Configs[p.Name],
			Tokens:    sc.Tokens,
			Logger:    ns.server.log.With("namespace", ns.Name, "provider", p.Name),

			ObserveCallback: ns.observeCallback,
			CallbackOutcome: ns.server.metrics.callbackOutcome(p.Name),
			Records:         w.recordsFor(p.Name),
		})
		if err != nil {
			w.close()
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		w.states[p.Name] = st
		w.counters[p.Name] = &providerCounters{}
		if _, sends := st.(CallbackSource); sends {
			ns.server.metrics.callbacksOf(p.Name)
		}
	}
	if sc.Snapshot != nil {
		if err := w.restore(sc.Snapshot); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

// close stops the world's clock and closes every provider state at once, so
// that shutdown takes as long as the slowest one, not the sum of all.
func (w *world) close() {
	w.clock.Close()
	var wg sync.WaitGroup
	for _, st := range w.states {
		if c, ok := st.(Closer); ok {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Close()
			}()
		}
	}
	wg.Wait()
}

// busy reports whether a provider has background work pending.
func (w *world) busy() bool {
	for _, st := range w.states {
		if b, ok := st.(Busy); ok && b.Busy() {
			return true
		}
	}
	return false
}

// Reset rebuilds the namespace from sc (or from its current scenario when sc
// is nil) and clears its journal.
func (ns *Namespace) Reset(sc *Scenario) error {
	ns.resetMu.Lock()
	defer ns.resetMu.Unlock()
	return ns.resetLocked(sc)
}

// Update resets the namespace to what change makes of the scenario it runs,
// reading and resetting under one lock: two read-modify-write changes at
// once (PATCH /scenario) each build on the other's result instead of both
// starting from the same scenario and the later silently undoing the
// earlier. change returning nil (a refused change) leaves the namespace as
// it was.
func (ns *Namespace) Update(change func(cur *Scenario) *Scenario) (*Scenario, error) {
	ns.resetMu.Lock()
	defer ns.resetMu.Unlock()
	sc := change(ns.Scenario())
	if sc == nil {
		return nil, nil
	}
	return sc, ns.resetLocked(sc)
}

func (ns *Namespace) resetLocked(sc *Scenario) error {
	if ns.deleted {
		return ErrNoNamespace
	}
	if sc == nil {
		sc = ns.Scenario()
	}
	w, err := ns.build(sc)
	if err != nil {
		return err
	}
	ns.swapLocked(w)
	return nil
}

// swapLocked puts a built world in force, clears the journal and closes the
// world it replaces, then tells the event streams (which stay open) that
// everything changed. The old world's cancelled callbacks are announced
// before that, so a dashboard refetching on "scenario" sees the new world.
func (ns *Namespace) swapLocked(w *world) {
	// On disk first (and before old.close: what closing it changes is
	// not kept): a request served by w must find its sink live, or its
	// writes would sit in the buffer while its answer leaves.
	old := ns.world.Load()
	ns.storeInstall(w, old)
	ns.world.Store(w)
	ns.Journal.Clear()
	if old != nil {
		old.close()
	}
	ns.activate(w)
	ns.publishScenario(w.scenario)
}

// install swaps in a world built beforehand (ReplaceScenario builds every
// namespace's world before it changes any). A namespace deleted in the
// meantime gets nothing: the world is closed and install reports false.
func (ns *Namespace) install(w *world) bool {
	ns.resetMu.Lock()
	defer ns.resetMu.Unlock()
	if ns.deleted {
		w.close()
		return false
	}
	ns.swapLocked(w)
	return true
}

// shutdown closes a namespace that has left the set (deleted or evicted)
// for good. It is serialised with resets, so a PUT /scenario racing it cannot
// swap in a world that nobody would close.
func (ns *Namespace) shutdown() {
	ns.resetMu.Lock()
	defer ns.resetMu.Unlock()
	ns.deleted = true
	ns.close()
	ns.Journal.Close() // gives its share of the journal budget back
	ns.events.Close()  // ends its event streams
}

func (ns *Namespace) close() {
	if w := ns.world.Load(); w != nil {
		w.close()
	}
}

// ValidNamespaceName reports whether name matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
func ValidNamespaceName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// errTooManyNamespaces is answered with 503 when every slot is in use by a
// namespace that is not idle: evicting a busy namespace would lose a running
// test's state.
var errTooManyNamespaces = errors.New("too many namespaces")

// Errors of DeleteNamespace.
var (
	// ErrNoNamespace: no live namespace has that name.
	ErrNoNamespace = errors.New("no such namespace")
	// ErrDefaultNamespace: the default namespace serves the bare URLs and
	// cannot be deleted, only reset.
	ErrDefaultNamespace = errors.New("the default namespace cannot be deleted")
)

// namespaces is the set of live namespaces, bounded in number. max bounds
// the namespaces users create; default, which always exists, is not counted,
// so --max-namespaces 2 allows two /ns/... namespaces.
type namespaces struct {
	mu   sync.Mutex
	byID map[string]*Namespace
	max  int
	idle time.Duration
	// loading holds the namespaces being rebuilt from the data directory.
	// A large one takes a good part of a second; that happens outside mu,
	// so requests to every other namespace go on meanwhile, and requests
	// to this one wait for the same load (closed when it is over).
	loading map[string]chan struct{}
	// loadHook, when set (tests), runs at the start of each such load.
	loadHook func(name string)
}

// userCountLocked is the number of live namespaces other than default,
// those being loaded included (each will take a slot; default, never
// evicted, is never among them).
func (set *namespaces) userCountLocked() int {
	n := len(set.byID) + len(set.loading)
	if _, ok := set.byID[DefaultNamespace]; ok {
		n--
	}
	return n
}

// loadStoredSafely is loadStored with a panic (a provider's LoadRecords
// tripping on a record) turned into an error: a load that never ended
// would leave every later request to the name waiting for it.
func (s *Server) loadStoredSafely(name string) (ns *Namespace, err error) {
	defer func() {
		if v := recover(); v != nil {
			ns, err = nil, fmt.Errorf("namespace %q could not be loaded from the data directory: %v", name, v)
		}
	}()
	return s.loadStored(name)
}

// errServerClosed is what a request gets for a namespace that finished
// loading after the server was closed.
var errServerClosed = errors.New("the sandbox is shutting down")

// waitLoadLocked waits, if namespace name is being loaded, until that
// load is over, and reports whether it waited; mu is released while
// waiting and held again on return.
func (set *namespaces) waitLoadLocked(name string) bool {
	done, ok := set.loading[name]
	if !ok {
		return false
	}
	set.mu.Unlock()
	<-done
	set.mu.Lock()
	return true
}

// busyRetryAfter is the Retry-After given when every slot is held by a
// namespace with callbacks pending. Those are never evicted, and their
// callbacks run on each namespace's own sandbox clock (which may be frozen),
// so no estimate exists: this is a polling interval, long enough not to
// hammer the sandbox, short enough to notice a slot freed by DELETE.
const busyRetryAfter = time.Minute

// slotsFull is the error of a request for a new namespace when every slot is
// taken by a namespace that cannot be evicted yet. It carries the estimate
// of when a slot may free up, made under the same lock as the refusal.
type slotsFull struct {
	wait    time.Duration // how long to wait before retrying
	busy    int           // how many of the namespaces have callbacks pending
	streams int           // how many others have an event stream open
	all     bool          // every counted namespace has callbacks pending or a stream
}

func (e *slotsFull) Error() string        { return errTooManyNamespaces.Error() }
func (e *slotsFull) Is(target error) bool { return target == errTooManyNamespaces }

// fullLocked estimates when a slot can free up. A namespace with callbacks
// pending is never evicted, so it is left out: the estimate is the time
// until the least recently used of the others reaches the idle limit, at
// least one second. When every namespace is busy nothing can be promised;
// a slot frees up no sooner than one of them reaches the idle limit (and
// only once its callbacks are done), and the answer is that time but at
// least busyRetryAfter.
func (set *namespaces) fullLocked(now time.Time) *slotsFull {
	out := &slotsFull{}
	var idleWait, busyWait time.Duration
	free := 0
	for name, ns := range set.byID {
		if name == DefaultNamespace {
			continue
		}
		d := time.Unix(0, ns.lastUsed.Load()).Add(set.idle).Sub(now)
		if ns.world.Load().busy() {
			if out.busy == 0 || d < busyWait {
				busyWait = d
			}
			out.busy++
			continue
		}
		if ns.streaming() {
			// Held until its dashboard closes: no estimate either.
			out.streams++
			continue
		}
		if free == 0 || d < idleWait {
			idleWait = d
		}
		free++
	}
	if free == 0 {
		out.all = true
		out.wait = max(busyWait, busyRetryAfter)
		return out
	}
	out.wait = max(idleWait, time.Second)
	return out
}

// lookup returns a live namespace without creating one.
func (s *Server) lookup(name string) (*Namespace, bool) {
	s.spaces.mu.Lock()
	defer s.spaces.mu.Unlock()
	ns, ok := s.spaces.byID[name]
	return ns, ok
}

// DeleteNamespace closes a namespace at once: its timers stop and its
// pending callbacks are cancelled before it returns (attempts already in
// flight get the provider's shutdown deadline). The next request to the name
// creates a fresh namespace from the template scenario.
func (s *Server) DeleteNamespace(name string) error {
	if name == DefaultNamespace {
		return ErrDefaultNamespace
	}
	set := &s.spaces
	st := s.cfg.Store
	set.mu.Lock()
	ns, ok := set.takeLocked(name)
	if !ok && st != nil {
		// Evicted while idle: deleted on disk only. Has reads what is
		// committed, so a drop still queued (a delete a moment ago) is
		// waited for first, or both deletes would answer 204.
		set.mu.Unlock()
		err := st.Sync()
		stored := false
		if err == nil {
			stored, err = st.Has(name)
		}
		set.mu.Lock()
		if err != nil {
			set.mu.Unlock()
			return err
		}
		if ns, ok = set.takeLocked(name); !ok { // recreated meanwhile: that one goes
			ok = stored
		}
	}
	var dropped uint64
	if ok && st != nil {
		var sink *store.Sink
		if ns != nil {
			sink = ns.world.Load().sink
		}
		// Queued under the lock, so before the Install of any namespace
		// of that name made after it.
		dropped = st.Drop(name, sink)
	}
	set.mu.Unlock()
	if !ok {
		return ErrNoNamespace
	}
	if st != nil {
		st.Wait(dropped) // not under the lock: a commit takes a while
	}
	if ns == nil {
		return nil
	}
	ns.shutdown()
	s.log.Info("namespace deleted", "namespace", name)
	return nil
}

// takeLocked removes namespace name from the set, once any load of it is
// over, and returns it.
func (set *namespaces) takeLocked(name string) (*Namespace, bool) {
	for set.waitLoadLocked(name) {
		// taken once it is in memory, rather than under a load
	}
	ns, ok := set.byID[name]
	if ok {
		delete(set.byID, name)
	}
	return ns, ok
}

// get returns the named namespace, creating it from the template scenario on
// first use. At the limit, idle namespaces are evicted first; if none is
// idle the call fails with a *slotsFull (errors.Is errTooManyNamespaces).
func (s *Server) namespace(name string) (*Namespace, error) {
	set := &s.spaces
	set.mu.Lock()
	for set.waitLoadLocked(name) {
		// another request is loading it: take what that load gave
	}
	ns, ok := set.byID[name]
	if ok {
		ns.touch() // under the lock, so the janitor cannot evict it in between
		set.mu.Unlock()
		return ns, nil
	}
	if name != DefaultNamespace && set.userCountLocked() >= set.max {
		s.evictIdleLocked(time.Now())
		if set.userCountLocked() >= set.max {
			full := set.fullLocked(time.Now())
			set.mu.Unlock()
			return nil, full
		}
	}
	if s.cfg.Store != nil {
		// Evicted while idle, or left by an earlier process: rebuilt
		// from the data directory, outside the lock (namespaces.loading).
		done := make(chan struct{})
		if set.loading == nil {
			set.loading = map[string]chan struct{}{}
		}
		set.loading[name] = done
		hook := set.loadHook
		set.mu.Unlock()
		if hook != nil {
			hook(name)
		}
		stored, err := s.loadStoredSafely(name)
		set.mu.Lock()
		delete(set.loading, name)
		close(done)
		select {
		case <-s.stop:
			// Close ran during the load and did not see it: no timers
			// may start now, and nothing may be written.
			set.mu.Unlock()
			if stored != nil {
				stored.world.Load().sink.Close()
				stored.shutdown()
			}
			return nil, errServerClosed
		default:
		}
		if err == nil {
			set.byID[name] = stored
			set.mu.Unlock()
			return stored, nil
		}
		if !errors.Is(err, errNotStored) {
			set.mu.Unlock()
			return nil, err
		}
		// Not stored: made from the template below, still under the lock
		// taken again, where no other request can have made it meanwhile
		// (they waited for this load, and wait for the lock now).
	}
	ns = &Namespace{Name: name, server: s, Journal: journal.New(s.cfg.JournalSize, s.journalBudget), events: events.New()}
	w, err := ns.build(s.template())
	if err != nil {
		set.mu.Unlock()
		return nil, err
	}
	ns.world.Store(w)
	ns.storeInstall(w, nil)
	ns.activate(w)
	ns.touch()
	set.byID[name] = ns
	set.mu.Unlock()
	s.log.Debug("namespace created", "namespace", name)
	return ns, nil
}

// evictIdleLocked closes namespaces unused for longer than the idle limit.
// The default namespace is never evicted, nor is one with callbacks still
// pending (the provider doc promises they survive while the sandbox runs).
func (s *Server) evictIdleLocked(now time.Time) int {
	set := &s.spaces
	n := 0
	for name, ns := range set.byID {
		if name == DefaultNamespace {
			continue
		}
		if now.Sub(time.Unix(0, ns.lastUsed.Load())) >= set.idle && !ns.world.Load().busy() && !ns.streaming() {
			delete(set.byID, name)
			if st := s.cfg.Store; st != nil {
				st.Unload(name, ns.world.Load().sink) // kept on disk for its next request
			}
			go ns.shutdown() // may wait for callbacks in flight; not under the lock
			n++
			s.log.Info("namespace evicted after idling", "namespace", name, "idle", set.idle)
		}
	}
	return n
}

// EvictIdle evicts idle namespaces now; the server also does this
// periodically. It returns how many were evicted.
func (s *Server) EvictIdle() int {
	s.spaces.mu.Lock()
	defer s.spaces.mu.Unlock()
	return s.evictIdleLocked(time.Now())
}

// NamespaceNames lists the live namespaces.
func (s *Server) NamespaceNames() []string {
	s.spaces.mu.Lock()
	defer s.spaces.mu.Unlock()
	out := make([]string, 0, len(s.spaces.byID))
	for n := range s.spaces.byID {
		out = append(out, n)
	}
	return out
}

// detail says why no slot is free and what the Retry-After of secs means.
func (e *slotsFull) detail(slots int, idle time.Duration, secs int) string {
	const deleteHint = "DELETE /__sandbox/namespaces/{name} frees a slot at once"
	if e.all && e.streams > 0 {
		return fmt.Sprintf("all %d namespace slots are in use by namespaces with callbacks pending (%d) or an event stream open (%d), which are never evicted; "+
			"a slot frees up only once one of them has finished its callbacks or closed its streams and has been idle for %s; retry in %d s, or %s",
			slots, e.busy, e.streams, idle, secs, deleteHint)
	}
	if e.all {
		return fmt.Sprintf("all %d namespace slots are in use by namespaces with callbacks pending, which are never evicted; "+
			"a slot frees up only once one of them has finished its callbacks (they follow its sandbox clock, so the sandbox cannot say when) "+
			"and has been idle for %s; retry in %d s, or %s", slots, idle, secs, deleteHint)
	}
	busy := ""
	if e.busy > 0 {
		busy = fmt.Sprintf(" (%d with callbacks pending, which are never evicted)", e.busy)
	}
	if e.streams > 0 {
		busy += fmt.Sprintf(" (%d with an event stream open, which are not evicted while it is)", e.streams)
	}
	return fmt.Sprintf("all %d namespace slots are in use%s; the least recently used namespace without pending callbacks reaches the idle limit of %s in %d s and can then be evicted; %s",
		slots, busy, idle, secs, deleteHint)
}
