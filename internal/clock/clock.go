// Package clock is the sandbox's notion of "now".
//
// Every namespace owns one Clock. It runs with real time by default, but a
// scenario or the admin API can set it to any instant, advance it, or freeze
// it. Token expiry, rate-limit windows and delayed callbacks all read this
// clock and schedule work on it, so a test can jump an hour ahead instead of
// sleeping for an hour.
package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is a settable, freezable clock with timers that follow it.
// The zero value is not usable; call New.
type Clock struct {
	mu       sync.Mutex
	offset   time.Duration // sandbox time = real time + offset, while running
	frozen   bool
	frozenAt time.Time
	timers   timerHeap
	seq      uint64
	wake     *time.Timer // real-time alarm for the earliest timer while running
	stopped  bool
	held     bool // timers wait for Release (a world being restored)

	// fireMu serialises timer callbacks so that they run in deadline order
	// even when a real-time alarm and an Advance call race.
	fireMu sync.Mutex

	realNow func() time.Time
}

// New returns a clock. A zero start means "real time"; otherwise the clock
// starts at start. A frozen clock stands still until set, advanced or unfrozen.
func New(start time.Time, frozen bool) *Clock {
	c := &Clock{realNow: time.Now}
	now := c.realNow()
	if !start.IsZero() {
		c.offset = start.Sub(now)
	}
	if frozen {
		c.frozen = true
		c.frozenAt = now.Add(c.offset).UTC().Round(0)
	}
	return c
}

// Now returns the sandbox time, always in UTC and without a monotonic reading
// so that it can be compared with parsed timestamps.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.frozen {
		return c.frozenAt
	}
	return c.realNow().Add(c.offset).UTC().Round(0)
}

// Frozen reports whether the clock stands still.
func (c *Clock) Frozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen
}

// Set moves the clock to t (forwards or backwards). Timers that become due fire
// before Set returns.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	t = t.UTC().Round(0)
	if c.frozen {
		c.frozenAt = t
	} else {
		c.offset = t.Sub(c.realNow())
	}
	c.rearmLocked()
	c.mu.Unlock()
	c.fireDue()
}

// Advance moves the clock forward by d. Timers that become due fire, in
// deadline order, before Advance returns.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	if c.frozen {
		c.frozenAt = c.frozenAt.Add(d)
	} else {
		c.offset += d
	}
	c.rearmLocked()
	c.mu.Unlock()
	c.fireDue()
}

// Freeze stops (true) or restarts (false) the clock at its current reading.
func (c *Clock) Freeze(frozen bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if frozen == c.frozen {
		return
	}
	if frozen {
		c.frozenAt = c.nowLocked()
		c.frozen = true
	} else {
		c.offset = c.frozenAt.Sub(c.realNow())
		c.frozen = false
	}
	c.rearmLocked()
}

// Hold keeps every timer from firing, due or not, until Release. A
// namespace restored from a snapshot is built on a held clock: the
// pingbacks and status steps its providers re-arm must not go out before
// the restored world is in force (and never, if the restore is refused).
func (c *Clock) Hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = true
	c.rearmLocked()
}

// Release lets the timers of a held clock fire again; those already due
// fire at once (asynchronously). Releasing a clock that is not held does
// nothing.
func (c *Clock) Release() {
	c.mu.Lock()
	if !c.held {
		c.mu.Unlock()
		return
	}
	c.held = false
	c.rearmLocked()
	c.mu.Unlock()
	go c.fireDue()
}

// Timer is a pending call scheduled on a Clock.
type Timer struct {
	clock *Clock
	at    time.Time
	seq   uint64
	f     func()
	index int // position in the heap; -1 once fired or stopped
}

// Stop cancels the timer. It reports whether the timer was still pending.
func (t *Timer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	c.rearmLocked()
	return true
}

// When returns the sandbox instant the timer is due at.
func (t *Timer) When() time.Time { return t.at }

// AfterFunc calls f once sandbox time has moved d past now.
func (c *Clock) AfterFunc(d time.Duration, f func()) *Timer {
	return c.At(c.Now().Add(d), f)
}

// At calls f once sandbox time reaches at. A timer whose instant has already
// passed fires at once (asynchronously). Chained timers should schedule from
// the previous deadline, not from Now, so that one large Advance walks the
// whole chain.
func (c *Clock) At(at time.Time, f func()) *Timer {
	c.mu.Lock()
	c.seq++
	t := &Timer{clock: c, at: at.UTC().Round(0), seq: c.seq, f: f}
	if c.stopped {
		t.index = -1
		c.mu.Unlock()
		return t
	}
	heap.Push(&c.timers, t)
	due := !t.at.After(c.nowLocked())
	c.rearmLocked()
	c.mu.Unlock()
	if due {
		go c.fireDue()
	}
	return t
}

// Pending returns how many timers are waiting.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Close cancels every pending timer and refuses new ones. Used when a
// namespace is reset or evicted.
func (c *Clock) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for _, t := range c.timers {
		t.index = -1
	}
	c.timers = nil
	if c.wake != nil {
		c.wake.Stop()
	}
}

// rearmLocked points the real-time alarm at the earliest timer. A frozen clock
// has no alarm: only Set and Advance move it.
func (c *Clock) rearmLocked() {
	if c.wake != nil {
		c.wake.Stop()
		c.wake = nil
	}
	if c.frozen || c.stopped || c.held || len(c.timers) == 0 {
		return
	}
	wait := c.timers[0].at.Sub(c.nowLocked())
	if wait < 0 {
		wait = 0
	}
	c.wake = time.AfterFunc(wait, c.fireDue)
}

// fireDue runs every timer whose instant has come, earliest first. Timers
// scheduled by a callback that are already due run in the same pass.
func (c *Clock) fireDue() {
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	for {
		c.mu.Lock()
		if c.held || len(c.timers) == 0 || c.timers[0].at.After(c.nowLocked()) {
			c.rearmLocked()
			c.mu.Unlock()
			return
		}
		t := heap.Pop(&c.timers).(*Timer)
		c.mu.Unlock()
		t.f()
	}
}

type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
