package clock

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestFrozenClockMovesOnlyWhenTold(t *testing.T) {
	t.Parallel()
	c := New(t0, true)
	if !c.Now().Equal(t0) || !c.Frozen() {
		t.Fatalf("now %v frozen %v", c.Now(), c.Frozen())
	}
	time.Sleep(5 * time.Millisecond)
	if !c.Now().Equal(t0) {
		t.Fatal("frozen clock moved")
	}
	c.Advance(90 * time.Second)
	if want := t0.Add(90 * time.Second); !c.Now().Equal(want) {
		t.Fatalf("after advance %v, want %v", c.Now(), want)
	}
	c.Set(t0.Add(-time.Hour))
	if want := t0.Add(-time.Hour); !c.Now().Equal(want) {
		t.Fatalf("after set %v, want %v", c.Now(), want)
	}
}

func TestRunningClockStartsAtStartAndRuns(t *testing.T) {
	t.Parallel()
	c := New(t0, false)
	n1 := c.Now()
	if n1.Before(t0) || n1.Sub(t0) > time.Second {
		t.Fatalf("start %v, want ≈%v", n1, t0)
	}
	time.Sleep(2 * time.Millisecond)
	if !c.Now().After(n1) {
		t.Fatal("running clock did not move")
	}
	c.Freeze(true)
	f := c.Now()
	time.Sleep(2 * time.Millisecond)
	if !c.Now().Equal(f) {
		t.Fatal("freeze did not stop the clock")
	}
	c.Freeze(false)
	if c.Now().Sub(f) > time.Second || c.Now().Before(f) {
		t.Fatalf("unfreeze jumped: %v → %v", f, c.Now())
	}
}

func TestRealClockByDefault(t *testing.T) {
	t.Parallel()
	c := New(time.Time{}, false)
	if d := time.Since(c.Now()); d < 0 || d > time.Second {
		t.Fatalf("default clock is %v off real time", d)
	}
	if c.Now().Location() != time.UTC {
		t.Fatal("clock not in UTC")
	}
}

// Every reading is UTC whatever the machine's zone, frozen or running,
// started at a time given in another zone or at real time.
func TestReadingsAreAlwaysUTC(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	for _, c := range []*Clock{
		New(time.Time{}, true),
		New(time.Time{}, false),
		New(t0.In(paris), true),
		New(t0.In(paris), false),
	} {
		if loc := c.Now().Location(); loc != time.UTC {
			t.Errorf("reading in %v", loc)
		}
		c.Freeze(true)
		c.Set(t0.In(paris))
		if loc := c.Now().Location(); loc != time.UTC {
			t.Errorf("after Set: reading in %v", loc)
		}
	}
}

func TestTimersFireInOrderOnAdvance(t *testing.T) {
	t.Parallel()
	c := New(t0, true)
	var mu sync.Mutex
	var got []int
	rec := func(i int) func() {
		return func() { mu.Lock(); got = append(got, i); mu.Unlock() }
	}
	c.AfterFunc(3*time.Second, rec(3))
	c.AfterFunc(1*time.Second, rec(1))
	c.AfterFunc(2*time.Second, rec(2))
	late := c.AfterFunc(10*time.Second, rec(10))
	c.Advance(2500 * time.Millisecond)
	mu.Lock()
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("after 2.5s fired %v, want [1 2]", got)
	}
	mu.Unlock()
	if !late.Stop() {
		t.Fatal("Stop on a pending timer returned false")
	}
	c.Advance(time.Hour)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[2] != 3 {
		t.Fatalf("after 1h fired %v, want [1 2 3] (stopped timer must not fire)", got)
	}
	if c.Pending() != 0 {
		t.Fatalf("%d timers pending", c.Pending())
	}
}

// A chain scheduled from each previous deadline is walked by one large
// advance: this is how delayed callback paths complete without sleeping.
func TestChainedTimersWalkOnOneAdvance(t *testing.T) {
	t.Parallel()
	c := New(t0, true)
	var steps atomic.Int32
	var schedule func(at time.Time)
	schedule = func(at time.Time) {
		c.At(at, func() {
			if steps.Add(1) < 5 {
				schedule(at.Add(time.Minute))
			}
		})
	}
	schedule(t0.Add(time.Minute))
	c.Advance(10 * time.Minute)
	if n := steps.Load(); n != 5 {
		t.Fatalf("chain walked %d steps, want 5", n)
	}
}

func TestTimersFireInRealTimeWhenRunning(t *testing.T) {
	t.Parallel()
	c := New(time.Time{}, false)
	done := make(chan struct{})
	c.AfterFunc(10*time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timer on a running clock did not fire")
	}
}

func TestPastTimerFiresAtOnceAndCloseCancels(t *testing.T) {
	t.Parallel()
	c := New(t0, true)
	done := make(chan struct{})
	c.At(t0.Add(-time.Second), func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("past-due timer did not fire")
	}
	var fired atomic.Bool
	c.AfterFunc(time.Second, func() { fired.Store(true) })
	c.Close()
	c.Advance(time.Hour)
	c.At(t0, func() { fired.Store(true) })
	time.Sleep(10 * time.Millisecond)
	if fired.Load() {
		t.Fatal("timer fired after Close")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := New(t0, true)
	var fired atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				c.AfterFunc(time.Duration(i)*time.Millisecond, func() { fired.Add(1) })
				_ = c.Now()
				if i%10 == 0 {
					c.Advance(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	c.Advance(time.Hour)
	if fired.Load() != 800 {
		t.Fatalf("fired %d of 800", fired.Load())
	}
}

func BenchmarkNow(b *testing.B) {
	c := New(time.Time{}, false)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = c.Now()
	}
}

func TestHeldClockFiresNothingUntilReleased(t *testing.T) {
	t.Parallel()
	c := New(t0, true)
	c.Hold()
	var fired atomic.Int32
	c.At(t0.Add(-time.Second), func() { fired.Add(1) }) // already due
	c.At(t0.Add(time.Minute), func() { fired.Add(1) })
	c.Advance(time.Hour) // both due now, still held
	if n := fired.Load(); n != 0 || c.Pending() != 2 {
		t.Fatalf("held clock fired %d timers, %d pending", n, c.Pending())
	}
	done := make(chan struct{})
	c.At(t0, func() { close(done) })
	c.Release()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("due timers did not fire after Release")
	}
	for c.Pending() > 0 {
		time.Sleep(time.Millisecond)
	}
	if n := fired.Load(); n != 2 {
		t.Fatalf("fired %d of the held timers, want 2", n)
	}
	c.Release() // not held: nothing happens
}
