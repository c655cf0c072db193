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
// and PublishLazy do not even encode their value then, and PublishLazy
// does not when every subscriber's queue is full either.
type Hub struct {
	mu     sync.Mutex // serialises changes to subs
	closed bool       // under mu
	// subs is replaced, never changed, so that publishers read it without
	// a lock: subscribers come and go rarely, events are many.
	subs atomic.Pointer[[]*Subscription]

	dropped atomic.Uint64 // every event ever dropped, all subscribers together
}

// New returns a hub without subscribers.
func New() *Hub { return &Hub{} }

// list returns the current subscribers; the slice must not be changed.
func (h *Hub) list() []*Subscription {
	if p := h.subs.Load(); p != nil {
		return *p
	}
	return nil
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
	next := append(append(make([]*Subscription, 0, len(h.list())+1), h.list()...), s)
	h.subs.Store(&next)
	return s
}

// Active reports whether anyone is subscribed: producers skip building an
// event's payload when nobody would receive it.
func (h *Hub) Active() bool { return len(h.list()) > 0 }

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int { return len(h.list()) }

// Dropped returns how many events were dropped over the hub's life because a
// subscriber's queue was full (one event dropped for two subscribers counts
// twice).
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Publish offers an event to every subscriber without blocking: a
// subscriber whose queue is full misses it, and the miss is counted. data
// must be one line of JSON and must not be changed afterwards.
func (h *Hub) Publish(name string, data []byte) {
	ev := Event{Name: name, Data: data}
	for _, s := range h.list() {
		s.offer(ev)
	}
}

// offer queues ev unless the queue is full, which counts a drop.
func (s *Subscription) offer(ev Event) {
	select {
	case s.c <- ev:
	default:
		s.drop()
	}
}

func (s *Subscription) drop() {
	s.dropped.Add(1)
	s.hub.dropped.Add(1)
}

// Encoder is an event's payload encoded on demand.
type Encoder interface {
	// AppendJSON appends the payload, one line of JSON, to b.
	AppendJSON(b []byte) []byte
}

// PublishLazy is Publish for a payload that is encoded only if some
// subscriber has room for it: a namespace under load with its dashboards'
// queues full pays for counting the drops, not for encoding events nobody
// will get. enc is used only during the call.
func (h *Hub) PublishLazy(name string, enc Encoder) {
	var ev Event
	for _, s := range h.list() {
		if len(s.c) == cap(s.c) {
			s.drop() // full now; it may drain meanwhile, then it misses one more
			continue
		}
		if ev.Data == nil {
			ev = Event{Name: name, Data: enc.AppendJSON(make([]byte, 0, 256))}
		}
		s.offer(ev)
	}
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
	for _, s := range h.list() {
		s.end()
	}
	h.subs.Store(nil)
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
// no longer offered anything once publishers in progress are done.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	cur := h.list()
	next := make([]*Subscription, 0, len(cur))
	for _, o := range cur {
		if o != s {
			next = append(next, o)
		}
	}
	if len(next) != len(cur) {
		h.subs.Store(&next)
	}
	h.mu.Unlock()
	s.end()
}

func (s *Subscription) end() { s.once.Do(func() { close(s.done) }) }
