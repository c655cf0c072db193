package callback_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/clock"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func frozen() *clock.Clock { return clock.New(t0, true) }

// waitFor polls until cond holds or fails after 10 s of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func state(d *callback.Dispatcher, i int) string { return d.List()[i].State }

func TestDueAttemptsFireWhenTheFrozenClockAdvances(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	clk := frozen()
	d := callback.New(callback.Options{Clock: clk, Source: "test"})
	defer d.Close()

	d.Send(t0.Add(time.Minute), callback.Request{URL: srv.URL, Body: []byte(`{"a":1}`), Policy: callback.Policy{Timeout: time.Second}})
	now := d.Send(t0, callback.Request{URL: srv.URL, Body: []byte("plain"), Policy: callback.Policy{Timeout: time.Second}})
	waitFor(t, "the delivery due now", func() bool { return state(d, 1) == callback.StateDelivered })
	if state(d, 0) != callback.StatePending || hits.Load() != 1 {
		t.Fatalf("the future delivery ran early: %s, %d hits", state(d, 0), hits.Load())
	}
	clk.Advance(time.Minute)
	waitFor(t, "the delivery due after the advance", func() bool { return state(d, 0) == callback.StateDelivered })
	list := d.List()
	raw, isJSON := list[0].Body.(json.RawMessage)
	if list[1].ID != now || list[1].Body != "plain" || !isJSON || string(raw) != `{"a":1}` || list[1].Source != "test" {
		t.Errorf("listing %+v", list)
	}
}

func TestSameKeyIsDeliveredInOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var order []string
	var first atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		order = append(order, string(b))
		mu.Unlock()
		if string(b) == "1" && !first.Swap(true) {
			w.WriteHeader(500) // the first status fails once
		}
	}))
	defer srv.Close()
	clk := frozen()
	d := callback.New(callback.Options{Clock: clk, MaxInFlight: 4})
	defer d.Close()
	p := callback.Policy{Retries: 3, RetryDelay: 3 * time.Second, Timeout: time.Second}
	for i, body := range []string{"1", "2", "3"} {
		d.Send(t0.Add(time.Duration(i)*time.Second), callback.Request{Key: "m1", URL: srv.URL, Body: []byte(body), Policy: p})
	}
	clk.Advance(time.Hour)
	waitFor(t, "all delivered", func() bool { return d.Pending() == 0 })
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "1,1,2,3" {
		t.Fatalf("receiver order %v, want 1,1,2,3", order)
	}
}

func TestSlowReceiverDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var slowIn atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowIn.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	var fastHits atomic.Int32
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fastHits.Add(1) }))
	defer fast.Close()

	// More slow deliveries than workers: the slow receiver may hold only
	// its share (MaxInFlight/2) of them.
	d := callback.New(callback.Options{Clock: frozen(), MaxInFlight: 4, ShutdownTimeout: 50 * time.Millisecond})
	defer d.Close()
	p := callback.Policy{Timeout: time.Minute}
	for i := 0; i < 10; i++ {
		d.Send(t0, callback.Request{URL: slow.URL, Policy: p})
	}
	waitFor(t, "slow attempts in flight", func() bool { return slowIn.Load() == 2 })
	for i := 0; i < 20; i++ {
		d.Send(t0, callback.Request{URL: fast.URL, Policy: p})
	}
	waitFor(t, "fast deliveries", func() bool { return fastHits.Load() == 20 })
	if n := slowIn.Load(); n != 2 {
		t.Errorf("%d attempts reached the slow receiver, want 2", n)
	}
}

func TestInFlightIsBounded(t *testing.T) {
	t.Parallel()
	var cur, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
	}))
	defer srv.Close()
	d := callback.New(callback.Options{Clock: frozen(), MaxInFlight: 3})
	defer d.Close()
	for i := 0; i < 30; i++ {
		d.Send(t0, callback.Request{URL: srv.URL, Policy: callback.Policy{Timeout: time.Second}})
	}
	waitFor(t, "all delivered", func() bool { return d.Pending() == 0 })
	if p := peak.Load(); p > 3 || p < 1 {
		t.Fatalf("peak in flight %d, want 1..3", p)
	}
}

func TestAttemptTimeoutIsRecorded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	clk := frozen()
	d := callback.New(callback.Options{Clock: clk})
	defer d.Close()
	d.Send(t0, callback.Request{URL: srv.URL, Policy: callback.Policy{Retries: 1, RetryDelay: time.Second, Timeout: 30 * time.Millisecond}})
	waitFor(t, "first attempt", func() bool { return len(d.List()[0].Attempts) == 1 })
	clk.Advance(time.Second)
	waitFor(t, "final failure", func() bool { return state(d, 0) == callback.StateFailed })
	for _, a := range d.List()[0].Attempts {
		if a.Status != 0 || !strings.Contains(a.Error, "no answer within 30ms") {
			t.Errorf("attempt %+v", a)
		}
	}
}

func TestUnreachableAndRedirectFail(t *testing.T) {
	t.Parallel()
	redirect := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
	defer redirect.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	d := callback.New(callback.Options{Clock: frozen()})
	defer d.Close()
	d.Send(t0, callback.Request{URL: redirect.URL, Policy: callback.Policy{Timeout: time.Second}})
	d.Send(t0, callback.Request{URL: closedURL, Policy: callback.Policy{Timeout: time.Second}})
	d.Send(t0, callback.Request{URL: "::not a url", Policy: callback.Policy{Timeout: time.Second}})
	waitFor(t, "all settled", func() bool { return d.Pending() == 0 })
	l := d.List()
	if l[0].State != callback.StateFailed || l[0].Attempts[0].Status != 302 || l[0].Attempts[0].Error != "status 302 is not 2xx" {
		t.Errorf("redirect: %+v", l[0])
	}
	for _, x := range l[1:] {
		if x.State != callback.StateFailed || x.Attempts[0].Status != 0 || x.Attempts[0].Error == "" {
			t.Errorf("unreachable: %+v", x)
		}
	}
}

func TestCloseWaitsForAttemptsInFlight(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		time.Sleep(100 * time.Millisecond)
	}))
	defer srv.Close()
	clk := frozen()
	d := callback.New(callback.Options{Clock: clk, ShutdownTimeout: 5 * time.Second})
	d.Send(t0, callback.Request{URL: srv.URL, Policy: callback.Policy{Timeout: time.Second}})
	d.Send(t0.Add(time.Hour), callback.Request{URL: srv.URL, Policy: callback.Policy{Timeout: time.Second}})
	<-entered
	d.Close()
	l := d.List()
	if l[0].State != callback.StateDelivered || l[1].State != callback.StateCancelled {
		t.Fatalf("after Close: %s and %s, want delivered and cancelled", l[0].State, l[1].State)
	}
	// Sends after Close are recorded, not made.
	d.Send(t0, callback.Request{URL: srv.URL})
	if s := state(d, 2); s != callback.StateCancelled {
		t.Errorf("send after close: %s", s)
	}
	d.Close() // idempotent
}

func TestCloseCancelsAttemptsPastTheDeadline(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	d := callback.New(callback.Options{Clock: frozen(), ShutdownTimeout: 50 * time.Millisecond})
	d.Send(t0, callback.Request{URL: srv.URL, Policy: callback.Policy{Retries: 3, Timeout: time.Minute}})
	<-entered
	start := time.Now()
	d.Close()
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Close took %s", el)
	}
	l := d.List()
	if l[0].State != callback.StateCancelled || len(l[0].Attempts) != 1 || l[0].Attempts[0].Error == "" {
		t.Fatalf("after Close: %+v", l[0])
	}
}

// A delivery that waited behind an earlier one of its key starts when the
// earlier one's last attempt was due, and keeps its retry spacing from there.
func TestQueuedDeliveryKeepsItsRetrySpacing(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	clk := frozen()
	d := callback.New(callback.Options{Clock: clk})
	defer d.Close()
	p := callback.Policy{Retries: 2, RetryDelay: 3 * time.Second, Timeout: time.Second}
	d.Send(t0, callback.Request{Key: "k", URL: srv.URL, Policy: p})
	d.Send(t0.Add(time.Second), callback.Request{Key: "k", URL: srv.URL, Policy: p})
	clk.Advance(time.Hour)
	waitFor(t, "both failed", func() bool { return d.Pending() == 0 })
	l := d.List()
	want := [][]time.Duration{{0, 3 * time.Second, 6 * time.Second}, {6 * time.Second, 9 * time.Second, 12 * time.Second}}
	for i, dl := range l {
		if dl.State != callback.StateFailed || len(dl.Attempts) != 3 {
			t.Fatalf("delivery %d: %+v", i, dl)
		}
		for j, a := range dl.Attempts {
			if !a.At.Equal(t0.Add(want[i][j])) {
				t.Errorf("delivery %d attempt %d due %s, want %s", i, j+1, a.At.Format(time.TimeOnly), t0.Add(want[i][j]).Format(time.TimeOnly))
			}
		}
	}
}

// On a running clock a retry waits its delay after a slow attempt ended: a
// receiver that times out is not hit again at once.
func TestRetryWaitsAfterATimedOutAttemptOnARunningClock(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer srv.Close()
	clk := clock.New(t0, false)
	d := callback.New(callback.Options{Clock: clk})
	defer d.Close()
	const timeout, delay = 150 * time.Millisecond, 100 * time.Millisecond
	d.Send(clk.Now(), callback.Request{URL: srv.URL, Policy: callback.Policy{Retries: 2, RetryDelay: delay, Timeout: timeout}})
	waitFor(t, "the delivery to fail", func() bool { return d.Pending() == 0 })
	dl := d.List()[0]
	if dl.State != callback.StateFailed || len(dl.Attempts) != 3 {
		t.Fatalf("delivery %+v", dl)
	}
	for i := 1; i < len(dl.Attempts); i++ {
		// Each attempt lasted at least the timeout, then the delay passed.
		if gap := dl.Attempts[i].At.Sub(dl.Attempts[i-1].At); gap < timeout+delay {
			t.Errorf("attempt %d due %s after the previous one, want at least %s", i+1, gap, timeout+delay)
		}
	}
}

// TestObserveSeesEveryChangeInOrder: the sandbox's live event stream is
// built on Observe, so every state a delivery passes through must be
// reported, in order, with the attempts made so far.
func TestObserveSeesEveryChangeInOrder(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	var mu sync.Mutex
	var seen []string
	clk := frozen()
	d := callback.New(callback.Options{Clock: clk, Source: "test", Observe: func(view func() callback.Delivery) {
		v := view()
		mu.Lock()
		seen = append(seen, v.State+"/"+strconv.Itoa(len(v.Attempts)))
		mu.Unlock()
	}})
	defer d.Close()
	d.Send(t0, callback.Request{URL: srv.URL, Body: []byte(`{}`), Policy: callback.Policy{Retries: 1, RetryDelay: time.Minute, Timeout: time.Second}})
	waitFor(t, "the first attempt", func() bool { return len(d.List()[0].Attempts) == 1 })
	clk.Advance(time.Minute)
	waitFor(t, "delivery", func() bool { return state(d, 0) == callback.StateDelivered })
	d.Send(t0.Add(time.Hour), callback.Request{URL: srv.URL, Body: []byte(`{}`)})
	d.Close()
	mu.Lock()
	defer mu.Unlock()
	want := []string{"pending/0", "sending/0", "pending/1", "sending/1", "delivered/2", "pending/0", "cancelled/0"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("observed %v, want %v", seen, want)
	}
}

// TestSettledDeliveriesAreBounded: beyond MaxSettled the oldest settled
// deliveries leave the listing, counted as dropped; a pending one is kept
// however old it is.
func TestSettledDeliveriesAreBounded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	d := callback.New(callback.Options{Clock: frozen(), MaxSettled: 4})
	defer d.Close()
	retried := d.Send(t0, callback.Request{URL: srv.URL + "/fail", Policy: callback.Policy{Retries: 1, RetryDelay: time.Hour, Timeout: time.Second}})
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, d.Send(t0, callback.Request{URL: srv.URL, Policy: callback.Policy{Timeout: time.Second}}))
		if i == 0 {
			// The failing one's first attempt ends first: it then waits
			// for its retry, in front of every settled delivery.
			waitFor(t, "the first attempt to fail", func() bool { return len(d.List()[0].Attempts) == 1 })
		}
	}
	waitFor(t, "every delivery but the retried one", func() bool { return d.Pending() == 1 })
	var got []string
	for _, dl := range d.List() {
		got = append(got, dl.ID+" "+dl.State)
	}
	want := []string{retried + " pending"}
	for _, id := range ids[16:] {
		want = append(want, id+" delivered")
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("listed %v\nwant   %v", got, want)
	}
	if u := d.Settled(); u.Count != 4 || u.Limit != 4 || u.Evicted != 16 {
		t.Errorf("settled %+v, want 4 of 4 kept, 16 dropped", u)
	}
}

// TestOutcomeCountsEachSettlementAndRetry holds Options.Outcome to its
// promise: one call per retried attempt and exactly one per delivery when
// it settles, whichever way (the sandbox's metrics count these calls).
func TestOutcomeCountsEachSettlementAndRetry(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch string(b) {
		case "fails-twice":
			if calls.Add(1) <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "always-fails":
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	clk := frozen()
	var mu sync.Mutex
	got := map[string]int{}
	d := callback.New(callback.Options{Clock: clk, Outcome: func(o callback.Outcome) {
		mu.Lock()
		got[o.String()]++
		mu.Unlock()
	}})
	p := callback.Policy{Retries: 2, RetryDelay: time.Second, Timeout: time.Second}
	d.Send(t0, callback.Request{URL: srv.URL, Body: []byte("ok"), Policy: p})
	d.Send(t0, callback.Request{URL: srv.URL, Body: []byte("fails-twice"), Policy: p})
	d.Send(t0, callback.Request{URL: srv.URL, Body: []byte("always-fails"), Policy: p})
	d.Send(t0.Add(time.Hour), callback.Request{URL: srv.URL, Body: []byte("never-due"), Policy: p})
	for i := 0; i < 2; i++ {
		// Each retry is due one second (sandbox time) after the attempt before it.
		waitFor(t, "the retries to be scheduled", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return got["retried"] == 2*(i+1)
		})
		clk.Advance(time.Second)
	}
	waitFor(t, "three deliveries to settle", func() bool { return d.Pending() == 1 })
	d.Close()
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"delivered": 2, "retried": 4, "failed": 1, "cancelled": 1}
	if len(got) != len(want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("outcome %s reported %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
