// Package events fans a namespace's live events (finished requests, callback
// deliveries, clock, fault and scenario changes) out to its Server-Sent
// Events subscribers.
//
// The one rule it exists for: a publisher never waits for a subscriber.
// Publishers are request goroutines and the callback dispatcher, and a
// browser tab that stops reading (or a laptop that went to sleep with the
// dashboard open) must not slow a single provider request. Every subscriber
// therefore has a bounded buffer, a send that would block is dropped instead,
// and the drops are counted so that the subscriber can be told how many
// events it missed.
package events

import (
	"encoding/json"
	"sync"
	"sync/atomic"
)

// Event is one Server-Sent Event: its name (the "event:" line) and its data,
// a single line of JSON shared by every subscriber (never modified after
// Publish).
type Event struct {
	Name string
	Data []byte
}

// Hub is the set of subscribers of one namespace. The zero value is not
// usable; call New. A Hub is safe for concurrent use.
//
// Publishing costs one atomic load when nobody is subscribed, so the
// producers can call it unconditionally on their hot paths; PublishJSON
// does not even encode its value then.
type Hub struct {
	mu     sync.RWMutex
	subs   map[*Subscription]struct{}
	closed bool

	count   atomic.Int64  // len(subs), read without the lock by Active
	dropped atomic.Uint64 // every event ever dropped, all subscribers together
}

// New returns a hub without subscribers.
func New() *Hub {
	return &Hub{subs: map[*Subscription]struct{}{}}
}

// Subscription is one subscriber's end: a bounded queue of events and a
// signal that the hub has closed it.
type Subscription struct {
	hub     *Hub
	c       chan Event
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64 // dropped since the last TakeDropped
}

// Subscribe adds a subscriber whose queue holds up to buffer events (at
// least 1). It returns nil when the hub has been closed (the namespace is
// gone). The caller must Close the subscription when it stops reading.
func (h *Hub) Subscribe(buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	s := &Subscription{hub: h, c: make(chan Event, buffer), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.subs[s] = struct{}{}
	h.count.Store(int64(len(h.subs)))
	return s
}

// Active reports whether anyone is subscribed: producers skip building an
// event's payload when nobody would receive it.
func (h *Hub) Active() bool { return h.count.Load() > 0 }

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int { return int(h.count.Load()) }

// Dropped returns how many events were dropped over the hub's life because a
// subscriber's queue was full (one event dropped for two subscribers counts
// twice).
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Publish offers an event to every subscriber without blocking: a
// subscriber whose queue is full misses it, and the miss is counted. data
// must be one line of JSON and must not be changed afterwards.
func (h *Hub) Publish(name string, data []byte) {
	if !h.Active() {
		return
	}
	ev := Event{Name: name, Data: data}
	h.mu.RLock()
	for s := range h.subs {
		select {
		case s.c <- ev:
		default:
			s.dropped.Add(1)
			h.dropped.Add(1)
		}
	}
	h.mu.RUnlock()
}

// PublishJSON encodes v (only when someone is subscribed) and publishes it.
// A value that cannot be encoded is a programming error; it is dropped
// rather than sent half-made.
func (h *Hub) PublishJSON(name string, v any) {
	if !h.Active() {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	h.Publish(name, data)
}

// Close ends every subscription (their Done channels close) and refuses new
// ones. It is called when the namespace is deleted or evicted, or the server
// stops; a reset keeps the hub and its subscribers.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.end()
	}
	clear(h.subs)
	h.count.Store(0)
}

// Events is the subscriber's queue.
func (s *Subscription) Events() <-chan Event { return s.c }

// Done is closed when the subscription has ended: the hub was closed or
// Close was called.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// TakeDropped returns how many events this subscriber missed since the last
// call, and starts counting again from zero.
func (s *Subscription) TakeDropped() uint64 { return s.dropped.Swap(0) }

// Close unsubscribes. It is idempotent and safe after the hub has closed.
// The queue is not closed (a publisher might be sending to it); it is
// simply no longer offered anything.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.count.Store(int64(len(h.subs)))
	}
	h.mu.Unlock()
	s.end()
}

func (s *Subscription) end() { s.once.Do(func() { close(s.done) }) }
