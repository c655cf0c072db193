// Package retention keeps what a provider records within a limit, so that a
// long run or a flood of requests cannot make a namespace's state grow
// without bound.
//
// Two pieces, for the two kinds of record a provider keeps:
//
//   - Log holds history that is only shown (transactions, messages): at
//     most a limit of records, the oldest dropped first, with a count of
//     how many were dropped.
//   - IDs remembers ids that correctness depends on after the records that
//     carried them are gone (an idempotency key, a client's message id), as
//     8-byte fingerprints instead of the ids themselves.
//
// Neither is safe for concurrent use: providers already hold a lock around
// the state these belong to.
package retention

import (
	"hash/maphash"
	"iter"
)

// Usage is a log's standing against its limit, as state views show it.
type Usage struct {
	// Count is how many records are kept now.
	Count int `json:"count"`
	// Limit is the most that are kept.
	Limit int `json:"limit"`
	// Evicted is how many were dropped, oldest first, to stay within it.
	Evicted int64 `json:"evicted"`
}

// Log is a first-in, first-out list of at most Limit records: adding to a
// full log drops the oldest. It grows as records come (a namespace that
// records little costs little) and, once full, reuses its slots.
type Log[T any] struct {
	limit   int
	items   []T
	head    int // index of the oldest record once the log is full
	evicted int64
}

// NewLog returns an empty log that keeps at most limit records (at least 1).
func NewLog[T any](limit int) *Log[T] {
	return &Log[T]{limit: max(limit, 1)}
}

// Add appends v. When the log was full it drops the oldest record and
// returns it with true, so that the caller can forget what pointed at it.
func (l *Log[T]) Add(v T) (dropped T, ok bool) {
	if len(l.items) < l.limit {
		l.items = append(l.items, v)
		return dropped, false
	}
	dropped = l.items[l.head]
	l.items[l.head] = v
	l.head = (l.head + 1) % l.limit
	l.evicted++
	return dropped, true
}

// Len is the number of records kept.
func (l *Log[T]) Len() int { return len(l.items) }

// All yields the records kept, oldest first.
func (l *Log[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		n := len(l.items)
		for i := 0; i < n; i++ {
			if !yield(l.items[(l.head+i)%n]) {
				return
			}
		}
	}
}

// Usage reports the count, the limit and how many records were dropped.
func (l *Log[T]) Usage() Usage {
	return Usage{Count: len(l.items), Limit: l.limit, Evicted: l.evicted}
}

// IDs is a set of ids kept as 64-bit fingerprints: about 16 bytes an id in
// memory, however long the id. Two different ids share a fingerprint with a
// probability of about n²/2⁶⁵ among n ids (one in 37 million for a million
// ids); such a pair would make the second id look used.
type IDs struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

// NewIDs returns an empty set. Fingerprints are seeded per set, so a
// colliding pair in one set is no collision in another.
func NewIDs() *IDs {
	return &IDs{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}}
}

// Add remembers id and reports whether it was new.
func (s *IDs) Add(id string) bool {
	h := maphash.String(s.seed, id)
	if _, seen := s.m[h]; seen {
		return false
	}
	s.m[h] = struct{}{}
	return true
}

// Has reports whether id was added.
func (s *IDs) Has(id string) bool {
	_, seen := s.m[maphash.String(s.seed, id)]
	return seen
}

// Len is the number of ids remembered.
func (s *IDs) Len() int { return len(s.m) }
