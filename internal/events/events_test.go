package events

import (
	"sync"
	"testing"
)

func TestFullQueueDropsAndCounts(t *testing.T) {
	t.Parallel()
	h := New()
	slow := h.Subscribe(2)
	fast := h.Subscribe(8)
	defer slow.Close()
	defer fast.Close()
	for i := 0; i < 5; i++ {
		h.Publish("request", []byte(`{}`))
	}
	if got := len(slow.Events()); got != 2 {
		t.Errorf("slow queue holds %d events, want 2", got)
	}
	if got := len(fast.Events()); got != 5 {
		t.Errorf("fast queue holds %d events, want 5", got)
	}
	if got := slow.TakeDropped(); got != 3 {
		t.Errorf("slow TakeDropped = %d, want 3", got)
	}
	if got := slow.TakeDropped(); got != 0 {
		t.Errorf("second TakeDropped = %d, want 0 (counting starts again)", got)
	}
	if got := fast.TakeDropped(); got != 0 {
		t.Errorf("fast TakeDropped = %d, want 0", got)
	}
	if got := h.Dropped(); got != 3 {
		t.Errorf("hub Dropped = %d, want 3", got)
	}
	ev := <-fast.Events()
	if ev.Name != "request" || string(ev.Data) != "{}" {
		t.Errorf("event = %q %s", ev.Name, ev.Data)
	}
}

func TestPublishJSONSkipsEncodingWithoutSubscribers(t *testing.T) {
	t.Parallel()
	h := New()
	encoded := false
	h.PublishJSON("clock", marshalSpy{&encoded})
	if encoded {
		t.Error("PublishJSON encoded its value with nobody subscribed")
	}
	s := h.Subscribe(1)
	defer s.Close()
	h.PublishJSON("clock", marshalSpy{&encoded})
	if !encoded {
		t.Error("PublishJSON did not encode with a subscriber")
	}
	if ev := <-s.Events(); string(ev.Data) != `{"spy":true}` {
		t.Errorf("data = %s", ev.Data)
	}
}

type marshalSpy struct{ called *bool }

func (m marshalSpy) MarshalJSON() ([]byte, error) {
	*m.called = true
	return []byte(`{"spy":true}`), nil
}

func TestCloseEndsSubscriptionsAndRefusesNewOnes(t *testing.T) {
	t.Parallel()
	h := New()
	s := h.Subscribe(1)
	if h.Subscribers() != 1 || !h.Active() {
		t.Fatalf("Subscribers = %d, Active = %v after Subscribe", h.Subscribers(), h.Active())
	}
	h.Close()
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed by hub Close")
	}
	if h.Subscribers() != 0 {
		t.Errorf("Subscribers = %d after Close", h.Subscribers())
	}
	if h.Subscribe(1) != nil {
		t.Error("Subscribe after Close returned a subscription")
	}
	s.Close() // idempotent after the hub closed
	h.Publish("x", []byte(`1`))
	if len(s.Events()) != 0 {
		t.Error("closed subscription was offered an event")
	}
}

func TestUnsubscribeIsIdempotent(t *testing.T) {
	t.Parallel()
	h := New()
	a, b := h.Subscribe(1), h.Subscribe(1)
	a.Close()
	a.Close()
	if h.Subscribers() != 1 {
		t.Fatalf("Subscribers = %d, want 1", h.Subscribers())
	}
	h.Publish("x", []byte(`1`))
	if len(a.Events()) != 0 || len(b.Events()) != 1 {
		t.Errorf("queues after unsubscribe: a=%d b=%d", len(a.Events()), len(b.Events()))
	}
	b.Close()
}

// TestConcurrentUse is for the race detector: publishers, subscribers
// coming and going and a Close, all at once.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	h := New()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				h.Publish("request", []byte(`{}`))
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if s := h.Subscribe(4); s != nil {
					s.TakeDropped()
					s.Close()
				}
			}
		}()
	}
	wg.Wait()
	h.Close()
	if h.Subscribers() != 0 {
		t.Errorf("Subscribers = %d", h.Subscribers())
	}
}

type countingEncoder struct{ n *int }

func (c countingEncoder) AppendJSON(b []byte) []byte { *c.n++; return append(b, `{"n":1}`...) }

// TestPublishLazyEncodesOnceAndOnlyWithRoom: one encoding shared by every
// subscriber with room; none when every queue is full.
func TestPublishLazyEncodesOnceAndOnlyWithRoom(t *testing.T) {
	t.Parallel()
	h := New()
	encoded := 0
	enc := countingEncoder{&encoded}
	h.PublishLazy("request", enc)
	if encoded != 0 {
		t.Fatalf("encoded %d times without subscribers", encoded)
	}
	a, b := h.Subscribe(1), h.Subscribe(1)
	defer a.Close()
	defer b.Close()
	h.PublishLazy("request", enc)
	if encoded != 1 || len(a.Events()) != 1 || len(b.Events()) != 1 {
		t.Fatalf("encoded %d times, queues %d and %d; want 1, 1, 1", encoded, len(a.Events()), len(b.Events()))
	}
	h.PublishLazy("request", enc)
	if encoded != 1 {
		t.Errorf("encoded again with every queue full")
	}
	if a.TakeDropped() != 1 || b.TakeDropped() != 1 || h.Dropped() != 2 {
		t.Errorf("drops not counted: hub %d", h.Dropped())
	}
	if ev := <-a.Events(); string(ev.Data) != `{"n":1}` || ev.Name != "request" {
		t.Errorf("event %q %s", ev.Name, ev.Data)
	}
}
