// Package journal keeps a bounded record of the requests a namespace served,
// so that a contract test can assert on what its client actually sent.
package journal

import (
	"net/http"
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
}

// Message is the recorded half of an exchange.
type Message struct {
	Method string      `json:"method,omitempty"`
	Path   string      `json:"path,omitempty"`
	Query  string      `json:"query,omitempty"`
	Status int         `json:"status,omitempty"`
	Header http.Header `json:"headers"`
	// Body is the body as text, cut at the journal's body limit.
	Body string `json:"body"`
	// BodyBytes is the full length of the body, which may exceed len(Body).
	BodyBytes int64 `json:"bodyBytes"`
	Truncated bool  `json:"truncated,omitempty"`
}

// Filter selects entries; zero fields match everything. Every field set must
// match. The admin API checks the values (known provider, operation, method)
// before building a Filter, so a typo is an error there, never a silent
// empty list here.
type Filter struct {
	Provider  string
	Operation string
	// Status is an exact response status; StatusClass a class (5 for 5xx).
	Status      int
	StatusClass int
	// Method is the request method, upper case.
	Method string
	// PathPrefix is a prefix of the path as the provider sees it (see
	// Entry.ProviderPath).
	PathPrefix string
	Since      time.Time
	Limit      int
}

func (f Filter) match(e *Entry) bool {
	return (f.Provider == "" || f.Provider == e.Provider) &&
		(f.Operation == "" || f.Operation == e.Operation) &&
		(f.Status == 0 || f.Status == e.Response.Status) &&
		(f.StatusClass == 0 || f.StatusClass == e.Response.Status/100) &&
		(f.Method == "" || f.Method == e.Request.Method) &&
		(f.PathPrefix == "" || strings.HasPrefix(e.ProviderPath(), f.PathPrefix)) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// ProviderPath is the request path below the provider's mount, as the
// provider's own documentation and OpenAPI paths write it: for
// /ns/ci-1/centili/datagifting/v1/services it is /datagifting/v1/services.
// The recorded Request.Path keeps the full path the client sent.
func (e *Entry) ProviderPath() string {
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

// Journal is a ring buffer of entries, safe for concurrent use. It grows up to
// its capacity on demand, so an idle namespace costs almost nothing.
type Journal struct {
	mu    sync.RWMutex
	cap   int
	ring  []*Entry
	next  int // index the next entry is written to once the ring is full
	total uint64
}

// New returns a journal that keeps the newest capacity entries.
func New(capacity int) *Journal {
	if capacity < 1 {
		capacity = 1
	}
	return &Journal{cap: capacity}
}

// Add records an entry, evicting the oldest one when full.
func (j *Journal) Add(e *Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.total++
	if len(j.ring) < j.cap {
		j.ring = append(j.ring, e)
		return
	}
	j.ring[j.next] = e
	j.next = (j.next + 1) % j.cap
}

// List returns matching entries, newest first.
func (j *Journal) List(f Filter) []*Entry {
	j.mu.RLock()
	defer j.mu.RUnlock()
	out := []*Entry{}
	n := len(j.ring)
	for i := 0; i < n; i++ {
		// Walk backwards from the most recently written slot.
		idx := (j.next - 1 - i + 2*n) % n
		if len(j.ring) < j.cap {
			idx = n - 1 - i
		}
		e := j.ring[idx]
		if f.match(e) {
			out = append(out, e)
			if f.Limit > 0 && len(out) >= f.Limit {
				break
			}
		}
	}
	return out
}

// Get returns the entry with the given id, if it is still held.
func (j *Journal) Get(id string) (*Entry, bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	for _, e := range j.ring {
		if e.ID == id {
			return e, true
		}
	}
	return nil, false
}

// Clear forgets every entry.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ring = nil
	j.next = 0
}

// Len returns how many entries are held.
func (j *Journal) Len() int {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return len(j.ring)
}

// Total returns how many entries were ever added, evicted ones included.
func (j *Journal) Total() uint64 {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.total
}
