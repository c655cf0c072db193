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
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
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

// Records returns the records kept, oldest first, and how many were
// dropped: what a namespace snapshot saves (RestoreLog reads it back).
func (l *Log[T]) Records() (items []T, evicted int64) {
	return slices.Collect(l.All()), l.evicted
}

// RestoreLog rebuilds a log from Records: items oldest first, evicted the
// count dropped before. Items beyond limit are dropped as Add would drop
// them (the oldest first) and counted as evicted.
func RestoreLog[T any](limit int, items []T, evicted int64) *Log[T] {
	l := NewLog[T](limit)
	l.evicted = max(evicted, 0)
	for _, v := range items {
		l.Add(v)
	}
	return l
}

// IDs is a set of ids kept as 64-bit fingerprints: about 16 bytes an id in
// memory, however long the id. Two different ids share a fingerprint with a
// probability of about n²/2⁶⁵ among n ids (one in 37 million for a million
// ids); such a pair would make the second id look used.
//
// The fingerprint is a keyed hash (FNV-1a started from the set's random
// key, then a 64-bit finaliser) rather than hash/maphash, whose seed
// cannot be written down: a snapshot saves the key with the fingerprints,
// so the restored set still knows every id.
type IDs struct {
	key uint64
	m   map[uint64]struct{}
}

// NewIDs returns an empty set. Its key is random, so a pair of ids that
// collides in one set almost surely does not in another.
func NewIDs() *IDs {
	return &IDs{key: rand.Uint64(), m: map[uint64]struct{}{}}
}

// FNV-1a's 64-bit constants.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (s *IDs) sum(id string) uint64 { return Fingerprint(s.key, id) }

// Fingerprint is the keyed 64-bit hash IDs keeps, for providers that keep
// fingerprints of their own (Netfinity's flood memory) and must save them.
func Fingerprint(key uint64, id string) uint64 {
	h := uint64(fnvOffset) ^ key
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= fnvPrime
	}
	// splitmix64's finaliser: every input bit reaches every output bit.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// Add remembers id and reports whether it was new.
func (s *IDs) Add(id string) bool {
	h := s.sum(id)
	if _, seen := s.m[h]; seen {
		return false
	}
	s.m[h] = struct{}{}
	return true
}

// Has reports whether id was added.
func (s *IDs) Has(id string) bool {
	_, seen := s.m[s.sum(id)]
	return seen
}

// Len is the number of ids remembered.
func (s *IDs) Len() int { return len(s.m) }

// SavedIDs is an IDs set as a snapshot keeps it: the key in hex and the
// fingerprints sorted, as big-endian 8-byte values in one base64 string
// (compact, and the same set always reads the same).
type SavedIDs struct {
	Key          string `json:"key"`
	Fingerprints string `json:"fingerprints"`
}

// Save returns the set for a snapshot.
func (s *IDs) Save() SavedIDs {
	sums := make([]uint64, 0, len(s.m))
	for h := range s.m {
		sums = append(sums, h)
	}
	slices.Sort(sums)
	buf := make([]byte, 8*len(sums))
	for i, h := range sums {
		binary.BigEndian.PutUint64(buf[8*i:], h)
	}
	return SavedIDs{Key: strconv.FormatUint(s.key, 16), Fingerprints: base64.StdEncoding.EncodeToString(buf)}
}

// RestoreIDs rebuilds a set from Save.
func RestoreIDs(v SavedIDs) (*IDs, error) {
	key, err := strconv.ParseUint(v.Key, 16, 64)
	if err != nil {
		return nil, fmt.Errorf("key %q is not a 64-bit hex number", v.Key)
	}
	buf, err := base64.StdEncoding.DecodeString(v.Fingerprints)
	if err != nil {
		return nil, errors.New("fingerprints are not base64")
	}
	if len(buf)%8 != 0 {
		return nil, fmt.Errorf("fingerprints hold %d bytes, not a multiple of 8", len(buf))
	}
	s := &IDs{key: key, m: make(map[uint64]struct{}, len(buf)/8)}
	for i := 0; i < len(buf); i += 8 {
		s.m[binary.BigEndian.Uint64(buf[i:])] = struct{}{}
	}
	return s, nil
}
