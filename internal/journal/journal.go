// Package journal keeps a bounded record of the requests a namespace served,
// so that a contract test can assert on what its client actually sent.
//
// Three bounds keep it from eating memory: each entry is cut to Caps
// (bodies and headers, in bytes), each journal holds at most its capacity
// of entries, and every journal sharing a Budget holds at most the
// budget's bytes together, the oldest entry of any of them evicted first.
package journal

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Entry is one request and the response the sandbox gave to it.
type Entry struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"` // sandbox clock at arrival
	Namespace string    `json:"namespace"`
	Provider  string    `json:"provider,omitempty"`
	Operation string    `json:"operation,omitempty"` // operationId from the spec, empty when unmatched
	Request   Message   `json:"request"`
	Response  Message   `json:"response"`
	// LatencyMicros is the time spent inside the sandbox, in microseconds.
	LatencyMicros int64 `json:"latencyMicros"`
	// Faults names the fault rules that affected the request.
	Faults []string `json:"faults,omitempty"`
	// Validation holds the full spec-validation detail when the request was
	// rejected by its OpenAPI document.
	Validation string `json:"validation,omitempty"`

	// MountPath is the path below the mount a request routed by its
	// Host was served as (Exchange.ProviderPath), "" for one routed by
	// path, whose Request.Path says it. Kept in snapshots with the rest.
	MountPath string `json:"mountPath,omitempty"`

	// Set by Journal.Add, under the budget's lock.
	seq          uint64   // position in its journal (1, 2, ...), the listing cursor
	size         int64    // Size() when added, what the budget was charged
	j            *Journal // the journal holding it
	older, newer *Entry   // neighbours in the budget's age order
}

// Message is the recorded half of an exchange.
type Message struct {
	Method string `json:"method,omitempty"`
	// Host is set for a request routed by its Host header to a provider
	// host: the Host it sent (its path is then the host's own path).
	Host   string      `json:"host,omitempty"`
	Path   string      `json:"path,omitempty"`
	Query  string      `json:"query,omitempty"`
	Status int         `json:"status,omitempty"`
	Header http.Header `json:"headers"`
	// HeadersTruncated says that Header is not everything that was sent: a
	// value longer than Caps.HeaderValueBytes ends in "…(N bytes)", and
	// HeadersOmitted values did not fit in Caps.HeaderBytes at all.
	HeadersTruncated bool `json:"headersTruncated,omitempty"`
	HeadersOmitted   int  `json:"headersOmitted,omitempty"`
	// Body is the body as text, cut at the journal's body limit.
	Body string `json:"body"`
	// BodyBytes is the full length of the body, which may exceed len(Body).
	BodyBytes int64 `json:"bodyBytes"`
	Truncated bool  `json:"truncated,omitempty"`
	// Redacted names the headers and fields whose secret values were
	// replaced by a Mark (see Recorder).
	Redacted []string `json:"redacted,omitempty"`
}

// Per-entry and per-header allowances for what Go itself spends on an entry
// (the struct, map buckets, slice and string headers), so that a budget of
// small entries is not overrun by bookkeeping the byte counts miss. Measured
// on amd64 with runtime.MemStats for entries of ten headers; rounded up.
const (
	entryOverhead  = 640
	headerOverhead = 64
	valueOverhead  = 16
)

// Size is what an entry costs in memory, approximately: the bytes of every
// text it keeps plus allowances for Go's bookkeeping. Budgets count it.
func (e *Entry) Size() int64 {
	n := entryOverhead + len(e.ID) + len(e.Namespace) + len(e.Provider) + len(e.Operation) + len(e.Validation) + len(e.MountPath)
	for _, f := range e.Faults {
		n += len(f) + valueOverhead
	}
	return int64(n) + e.Request.size() + e.Response.size()
}

func (m *Message) size() int64 {
	n := len(m.Method) + len(m.Host) + len(m.Path) + len(m.Query) + len(m.Body) + headerBytes(m.Header, true)
	for _, r := range m.Redacted {
		n += len(r) + valueOverhead
	}
	return int64(n)
}

// headerBytes sums the names and values of h, with Go's overhead per name
// and value when withOverhead is set.
func headerBytes(h http.Header, withOverhead bool) int {
	n := 0
	for k, vs := range h {
		n += len(k)
		if withOverhead {
			n += headerOverhead
		}
		for _, v := range vs {
			n += len(v)
			if withOverhead {
				n += valueOverhead
			}
		}
	}
	return n
}

// Filter selects entries; zero fields match everything. Every field set must
// match; a field holding several values matches any of them. The admin API
// checks the values (known provider, operation, method) before building a
// Filter, so a typo is an error there, never a silent empty list here.
type Filter struct {
	Provider  []string
	Operation []string
	// Status holds exact response statuses, StatusClass classes (5 for
	// 5xx); an entry matches when its status is one of either.
	Status      []int
	StatusClass []int
	// Method holds request methods, upper case.
	Method []string
	// PathPrefix holds prefixes of the path as the provider sees it (see
	// Entry.ProviderPath).
	PathPrefix []string
	Since      time.Time
	// Limit is the most entries List returns (0: no limit).
	Limit int
	// Before, when not 0, is a cursor List returned: listing continues
	// with the entries older than the last one of that page.
	Before uint64
}

func (f *Filter) match(e *Entry) bool {
	return anyOf(f.Provider, e.Provider) &&
		anyOf(f.Operation, e.Operation) &&
		f.statusMatches(e.Response.Status) &&
		anyOf(f.Method, e.Request.Method) &&
		f.pathMatches(e) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// anyOf is true when want is empty or holds got.
func anyOf[T comparable](want []T, got T) bool { return len(want) == 0 || slices.Contains(want, got) }

func (f *Filter) statusMatches(status int) bool {
	if len(f.Status) == 0 && len(f.StatusClass) == 0 {
		return true
	}
	return slices.Contains(f.Status, status) || slices.Contains(f.StatusClass, status/100)
}

func (f *Filter) pathMatches(e *Entry) bool {
	if len(f.PathPrefix) == 0 {
		return true
	}
	p := e.ProviderPath()
	return slices.ContainsFunc(f.PathPrefix, func(prefix string) bool { return strings.HasPrefix(p, prefix) })
}

// ProviderPath is the request path below the provider's mount, as the
// provider's own documentation and OpenAPI paths write it: for
// /ns/ci-1/centili/datagifting/v1/services it is /datagifting/v1/services.
// The recorded Request.Path keeps the full path the client sent. For a
// request routed by its host it is the path that host's path mapped to.
func (e *Entry) ProviderPath() string {
	if e.MountPath != "" {
		return e.MountPath
	}
	p := e.Request.Path
	if rest, ok := strings.CutPrefix(p, "/ns/"+e.Namespace); ok && (rest == "" || rest[0] == '/') {
		p = rest
	}
	if e.Provider != "" {
		if rest, ok := strings.CutPrefix(p, "/"+e.Provider); ok && (rest == "" || rest[0] == '/') {
			p = rest
		}
	}
	if p == "" {
		p = "/"
	}
	return p
}

// Budget bounds the bytes (Entry.Size) that several journals keep together:
// past it, the oldest entry of any of them is evicted, whichever journal
// holds it. The newest entry is always kept, even alone over the budget.
//
// Its mutex serialises every change to every journal that shares it (one
// lock order, budget then journal, so eviction across journals cannot
// deadlock); readers of a journal take only that journal's lock.
type Budget struct {
	mu      sync.Mutex
	limit   int64
	used    int64
	entries int
	// oldest and newest end the list of every entry, across journals, in
	// the order added (linked through the entries: no allocation per entry).
	oldest, newest *Entry
	evicted        uint64
}

// push appends e as the newest entry.
func (b *Budget) push(e *Entry) {
	e.older, e.newer = b.newest, nil
	if b.newest != nil {
		b.newest.newer = e
	} else {
		b.oldest = e
	}
	b.newest = e
	b.used += e.size
	b.entries++
}

// remove unlinks e.
func (b *Budget) remove(e *Entry) {
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		b.oldest = e.newer
	}
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		b.newest = e.older
	}
	e.older, e.newer = nil, nil
	b.used -= e.size
	b.entries--
}

// NewBudget returns a budget of limit bytes; 0 or less means no limit.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Usage reports the bytes held, the limit and how many entries the budget
// has evicted so far.
func (b *Budget) Usage() (used, limit int64, evicted uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.limit, b.evicted
}

// Journal is a ring buffer of entries, safe for concurrent use. It grows up to
// its capacity on demand, so an idle namespace costs almost nothing.
type Journal struct {
	b      *Budget
	mu     sync.RWMutex
	cap    int
	buf    []*Entry // ring: n entries from head, oldest first
	head   int
	n      int
	total  uint64
	closed bool
}

// New returns a journal that keeps the newest capacity entries, charging
// them to b (nil: a budget of its own without a limit).
func New(capacity int, b *Budget) *Journal {
	if capacity < 1 {
		capacity = 1
	}
	if b == nil {
		b = NewBudget(0)
	}
	return &Journal{cap: capacity, b: b}
}

// Add records an entry, evicting the journal's oldest one when full and the
// oldest of the budget's journals while they hold more than its limit. A
// closed journal drops it.
func (j *Journal) Add(e *Entry) {
	size := e.Size()
	b := j.b
	b.mu.Lock()
	defer b.mu.Unlock()
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.total++
	e.seq, e.size, e.j = j.total, size, j
	if j.n == j.cap {
		j.dropOldestLocked()
	}
	j.pushLocked(e)
	j.mu.Unlock()
	b.push(e)
	for b.limit > 0 && b.used > b.limit && b.entries > 1 {
		holder := b.oldest.j
		holder.mu.Lock()
		holder.dropOldestLocked()
		holder.mu.Unlock()
		b.evicted++
	}
}

// pushLocked appends e as the newest entry, growing the ring (doubling, up
// to the capacity) when it is full but below capacity.
func (j *Journal) pushLocked(e *Entry) {
	if j.n == len(j.buf) {
		grown := make([]*Entry, min(max(2*len(j.buf), 16), j.cap))
		for i := 0; i < j.n; i++ {
			grown[i] = j.buf[(j.head+i)%len(j.buf)]
		}
		j.buf, j.head = grown, 0
	}
	j.buf[(j.head+j.n)%len(j.buf)] = e
	j.n++
}

// dropOldestLocked forgets the oldest entry, with the budget's lock and the
// journal's held. Journals and the budget both keep entries in the order
// they were added, so the budget's oldest is always its journal's oldest.
func (j *Journal) dropOldestLocked() {
	e := j.buf[j.head]
	j.buf[j.head] = nil
	j.head = (j.head + 1) % len(j.buf)
	j.n--
	j.b.remove(e)
}

// at returns the i-th newest entry (0 is the newest).
func (j *Journal) at(i int) *Entry { return j.buf[(j.head+j.n-1-i)%len(j.buf)] }

// List returns matching entries, newest first, at most f.Limit of them.
// When more match beyond them, next is the cursor for the following page
// (f.Before); else it is 0.
func (j *Journal) List(f Filter) (page []*Entry, next uint64) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	page = []*Entry{}
	for i := 0; i < j.n; i++ {
		e := j.at(i)
		if f.Before != 0 && e.seq >= f.Before {
			continue
		}
		if !f.match(e) {
			continue
		}
		if f.Limit > 0 && len(page) == f.Limit {
			return page, page[len(page)-1].seq
		}
		page = append(page, e)
	}
	return page, 0
}

// Get returns the entry with the given id, if it is still held.
func (j *Journal) Get(id string) (*Entry, bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	for i := 0; i < j.n; i++ {
		if e := j.at(i); e.ID == id {
			return e, true
		}
	}
	return nil, false
}

// Clear forgets every entry, giving their bytes back to the budget.
func (j *Journal) Clear() {
	j.b.mu.Lock()
	defer j.b.mu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.clearLocked()
}

func (j *Journal) clearLocked() {
	for j.n > 0 {
		j.dropOldestLocked()
	}
	j.buf, j.head = nil, 0
}

// Close clears the journal for good: entries added afterwards (by requests
// still in flight when their namespace went away) are dropped, so a dead
// namespace never holds a share of the budget.
func (j *Journal) Close() {
	j.b.mu.Lock()
	defer j.b.mu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.clearLocked()
	j.closed = true
}

// Len returns how many entries are held.
func (j *Journal) Len() int {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.n
}

// Total returns how many entries were ever added, evicted ones included.
func (j *Journal) Total() uint64 {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.total
}

// Saved is a journal as a namespace snapshot keeps it: the entries held,
// oldest first, and how many were ever added.
type Saved struct {
	Total   uint64   `json:"total"`
	Entries []*Entry `json:"entries"`
}

// Save returns copies of the entries held, oldest first. It holds the
// budget's lock too: an entry's age links (copied with it, then cleared)
// are written under that lock alone when a later entry is added.
func (j *Journal) Save() Saved {
	j.b.mu.Lock()
	defer j.b.mu.Unlock()
	j.mu.RLock()
	defer j.mu.RUnlock()
	out := Saved{Total: j.total, Entries: make([]*Entry, 0, j.n)}
	for i := j.n - 1; i >= 0; i-- {
		e := *j.at(i)
		e.seq, e.size, e.j, e.older, e.newer = 0, 0, nil, nil, nil
		out.Entries = append(out.Entries, &e)
	}
	return out
}

// Restore replaces the journal's entries with saved ones (oldest first),
// charged to the budget as Add charges them, and sets the count of entries
// ever added to v.Total (at least the entries given).
func (j *Journal) Restore(v Saved) {
	j.Clear()
	j.mu.Lock()
	j.total = v.Total - min(v.Total, uint64(len(v.Entries)))
	j.mu.Unlock()
	for _, e := range v.Entries {
		cp := *e
		j.Add(&cp)
	}
}
