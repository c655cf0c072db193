package callback_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/clock"
)

// recorder is an in-memory callback.Records that also logs every call, in
// order, as "put kind/key state/attempts" or "del kind/key".
type recorder struct {
	mu   sync.Mutex
	recs map[[2]string]json.RawMessage
	log  []string
}

func newRecorder() *recorder { return &recorder{recs: map[[2]string]json.RawMessage{}} }

func (r *recorder) Enabled() bool { return true }

func (r *recorder) Put(kind, key string, value any) {
	b, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs[[2]string{kind, key}] = b
	line := "put " + kind + "/" + key
	switch v := value.(type) {
	case callback.SavedDelivery:
		line += fmt.Sprintf(" %s/%d", v.State, len(v.Attempts))
	case callback.Counters:
		line += fmt.Sprintf(" seq=%d dropped=%d", v.Seq, v.Dropped)
	}
	r.log = append(r.log, line)
}

func (r *recorder) Delete(kind, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.recs, [2]string{kind, key})
	r.log = append(r.log, "del "+kind+"/"+key)
}

// records returns the records sorted by kind, then key, as a provider's
// LoadRecords gets them.
func (r *recorder) records() []callback.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]callback.Record, 0, len(r.recs))
	for k, v := range r.recs {
		out = append(out, callback.Record{Kind: k[0], Key: k[1], Value: v})
	}
	slices.SortFunc(out, func(a, b callback.Record) int {
		return strings.Compare(a.Kind+"\x00"+a.Key, b.Kind+"\x00"+b.Key)
	})
	return out
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func key(n int) string { return fmt.Sprintf("%016d", n) }

// saved is the outbox Save returns, as JSON, for comparing two dispatchers.
func saved(t *testing.T, d *callback.Dispatcher) string {
	t.Helper()
	b, err := json.Marshal(d.Save())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func acceptAny(callback.SavedDelivery) func(int, []byte) error { return nil }

// bodyCounter is a receiver that counts the bodies it was sent and
// answers 500 to the first attempt of each body listed in failFirst.
type bodyCounter struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]int
	log  []string
}

func newBodyCounter(t *testing.T, failFirst ...string) *bodyCounter {
	c := &bodyCounter{seen: map[string]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.seen[string(b)]++
		n := c.seen[string(b)]
		c.log = append(c.log, string(b))
		c.mu.Unlock()
		if n == 1 && slices.Contains(failFirst, string(b)) {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *bodyCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}

// TestRecordsFollowEveryChange: every change of a delivery writes its
// whole record, in the order the changes happened, and every new delivery
// the counters first.
func TestRecordsFollowEveryChange(t *testing.T) {
	t.Parallel()
	rcv := newBodyCounter(t, "a")
	clk := frozen()
	rec := newRecorder()
	d := callback.New(callback.Options{Clock: clk, Source: "test", Records: rec})
	d.Send(t0, callback.Request{URL: rcv.srv.URL, Body: []byte("a"), Policy: callback.Policy{Retries: 1, RetryDelay: time.Minute, Timeout: time.Second}})
	waitFor(t, "the first attempt", func() bool { return len(d.List()[0].Attempts) == 1 })
	clk.Advance(time.Minute)
	waitFor(t, "delivery", func() bool { return state(d, 0) == callback.StateDelivered })
	d.Send(t0.Add(time.Hour), callback.Request{URL: rcv.srv.URL, Body: []byte("b")})
	d.Close()
	want := []string{
		"put cbseq/ seq=1 dropped=0",
		"put cb/" + key(1) + " pending/0",
		"put cb/" + key(1) + " sending/0",
		"put cb/" + key(1) + " pending/1", // the attempt failed, the retry is scheduled
		"put cb/" + key(1) + " sending/1",
		"put cb/" + key(1) + " delivered/2",
		"put cbseq/ seq=2 dropped=0",
		"put cb/" + key(2) + " pending/0",
		"put cb/" + key(2) + " cancelled/0",
	}
	if got := rec.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records written:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The records hold what Save does, delivery for delivery.
	var deliveries []callback.SavedDelivery
	for _, r := range rec.records() {
		if r.Kind == callback.RecordDelivery {
			var sd callback.SavedDelivery
			if err := json.Unmarshal(r.Value, &sd); err != nil {
				t.Fatal(err)
			}
			deliveries = append(deliveries, sd)
		}
	}
	a, _ := json.Marshal(deliveries)
	b, _ := json.Marshal(d.Save().Deliveries)
	if string(a) != string(b) {
		t.Errorf("records\n%s\nwant what Save returns\n%s", a, b)
	}
}

// TestRecordsAreDeletedWithWhatMaxSettledDrops: a delivery dropped from
// the outbox loses its record and the counters count it, so the records
// stay as bounded as the outbox.
func TestRecordsAreDeletedWithWhatMaxSettledDrops(t *testing.T) {
	t.Parallel()
	rcv := newBodyCounter(t)
	rec := newRecorder()
	// One worker: deliveries settle in the order they were sent.
	d := callback.New(callback.Options{Clock: frozen(), MaxSettled: 4, MaxInFlight: 1, Records: rec})
	defer d.Close()
	for i := 1; i <= 10; i++ {
		d.Send(t0, callback.Request{URL: rcv.srv.URL, Body: []byte(fmt.Sprint(i)), Policy: callback.Policy{Timeout: time.Second}})
	}
	waitFor(t, "every delivery", func() bool { return d.Pending() == 0 })
	var keys []string
	for _, r := range rec.records() {
		keys = append(keys, r.Kind+"/"+r.Key)
	}
	wantKeys := []string{"cb/" + key(7), "cb/" + key(8), "cb/" + key(9), "cb/" + key(10), "cbseq/"}
	if strings.Join(keys, " ") != strings.Join(wantKeys, " ") {
		t.Errorf("records %v, want %v", keys, wantKeys)
	}
	var c callback.Counters
	if err := json.Unmarshal(rec.records()[4].Value, &c); err != nil || c != (callback.Counters{Seq: 10, Dropped: 6}) {
		t.Errorf("counters %+v (%v), want seq 10, dropped 6", c, err)
	}
	if u := d.Settled(); u.Count != 4 || u.Evicted != 6 {
		t.Errorf("settled %+v, want 4 kept, 6 dropped", u)
	}
	// A dispatcher rebuilt from these records is the same outbox.
	b := callback.New(callback.Options{Clock: frozen(), MaxSettled: 4})
	defer b.Close()
	if err := b.LoadRecords(rec.records(), acceptAny); err != nil {
		t.Fatal(err)
	}
	if got, want := saved(t, b), saved(t, d); got != want {
		t.Errorf("rebuilt outbox\n%s\nwant\n%s", got, want)
	}
}

// TestLoadRecordsResumesTheOutbox is a restart: a dispatcher rebuilt from
// the records of another is the same outbox, sends its pending deliveries
// when the sandbox clock reaches them (a key's one after another), never
// sends a delivered one again, and hands out ids after the last one.
func TestLoadRecordsResumesTheOutbox(t *testing.T) {
	t.Parallel()
	rcv := newBodyCounter(t, "retry")
	p := callback.Policy{Retries: 2, RetryDelay: time.Minute, Timeout: time.Second}
	send := func(d *callback.Dispatcher, after time.Duration, key, body string) string {
		return d.Send(t0.Add(after), callback.Request{Key: key, URL: rcv.srv.URL, Body: []byte(body), Policy: p,
			Header: http.Header{"Content-Type": {"text/plain"}}, Meta: map[string]any{"body": body}})
	}
	rec := newRecorder()
	a := callback.New(callback.Options{Clock: frozen(), Source: "test", Records: rec})
	send(a, 0, "", "done")
	send(a, 0, "", "retry")
	send(a, time.Minute, "", "later")
	send(a, 2*time.Minute, "k", "k1")
	send(a, 2*time.Minute, "k", "k2")
	waitFor(t, "done delivered, retry failed once", func() bool {
		l := a.List()
		return l[0].State == callback.StateDelivered && l[1].State == callback.StatePending && len(l[1].Attempts) == 1
	})
	before := saved(t, a)
	recs := rec.records()
	a.Close() // the sandbox stops; nothing of its closing is kept

	clk := frozen()
	rec2 := newRecorder()
	b := callback.New(callback.Options{Clock: clk, Source: "test", Records: rec2})
	defer b.Close()
	if err := b.LoadRecords(recs, acceptAny); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, b); got != before {
		t.Fatalf("rebuilt outbox\n%s\nwant\n%s", got, before)
	}
	if n := len(rec2.lines()); n != 0 {
		t.Errorf("loading wrote %d records; they are on disk already", n)
	}
	if got := rcv.counts(); got["done"] != 1 || got["retry"] != 1 || len(got) != 2 {
		t.Fatalf("before the clock moves the receiver has %v", got)
	}
	clk.Advance(3 * time.Minute)
	waitFor(t, "every delivery", func() bool { return b.Pending() == 0 })
	want := map[string]int{"done": 1, "retry": 2, "later": 1, "k1": 1, "k2": 1}
	got := rcv.counts()
	for body, n := range want {
		if got[body] != n {
			t.Errorf("receiver got %q %d times, want %d (all: %v)", body, got[body], n, got)
		}
	}
	rcv.mu.Lock()
	order := strings.Join(rcv.log, ",")
	rcv.mu.Unlock()
	if strings.Index(order, "k1") > strings.Index(order, "k2") {
		t.Errorf("key k out of order: %s", order)
	}
	l := b.List()
	if l[1].State != callback.StateDelivered || len(l[1].Attempts) != 2 || !l[1].Attempts[1].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("the retried delivery after the restart: %+v", l[1])
	}
	if !l[4].Attempts[0].At.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("k2's attempt due %s, want when k1's was", l[4].Attempts[0].At)
	}
	if id := send(b, 0, "", "new"); id != "test-cb-6" {
		t.Errorf("the next id %q, want test-cb-6", id)
	}
}

// TestLoadRecordsMakesAnAttemptInFlightAgain: a delivery whose attempt
// was under way when the sandbox stopped has no known result, so the
// rebuilt dispatcher makes it again (at least once), at once since it is
// due.
func TestLoadRecordsMakesAnAttemptInFlightAgain(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			select { // the first attempt hangs: the sandbox stops meanwhile
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	rec := newRecorder()
	a := callback.New(callback.Options{Clock: frozen(), Records: rec, ShutdownTimeout: 10 * time.Millisecond})
	a.Send(t0, callback.Request{URL: srv.URL, Policy: callback.Policy{Timeout: time.Minute}})
	waitFor(t, "the attempt in flight", func() bool { return hits.Load() == 1 })
	recs := rec.records()
	if !strings.Contains(string(recs[0].Value), `"state":"sending"`) {
		t.Fatalf("record while in flight: %s", recs[0].Value)
	}
	a.Close()

	b := callback.New(callback.Options{Clock: frozen(), Records: newRecorder()})
	defer b.Close()
	if err := b.LoadRecords(recs, acceptAny); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the attempt made again", func() bool { return b.Pending() == 0 })
	dl := b.List()[0]
	if dl.State != callback.StateDelivered || len(dl.Attempts) != 1 || !dl.Attempts[0].At.Equal(t0) || hits.Load() != 2 {
		t.Errorf("after the restart: %+v, %d hits, want delivered by one attempt due %s, 2 hits", dl, hits.Load(), t0)
	}
}

// TestLoadRecordsReplacesARestoredOutbox is a restart of a namespace that
// started from a snapshot: Restore puts the snapshot's outbox back (and
// writes it as records), later changes follow; after the restart Restore
// runs again, then LoadRecords, whose records win. The deliveries Restore
// scheduled the second time are not sent.
func TestLoadRecordsReplacesARestoredOutbox(t *testing.T) {
	t.Parallel()
	rcv := newBodyCounter(t)
	p := callback.Policy{Timeout: time.Second}
	src := callback.New(callback.Options{Clock: frozen(), Source: "test"})
	src.Send(t0.Add(time.Minute), callback.Request{URL: rcv.srv.URL, Body: []byte("one"), Policy: p})
	src.Send(t0.Add(time.Hour), callback.Request{URL: rcv.srv.URL, Body: []byte("two"), Policy: p})
	snap := src.Save()
	src.Close()

	clkA := frozen()
	rec := newRecorder()
	a := callback.New(callback.Options{Clock: clkA, Source: "test", Records: rec})
	if err := a.Restore(snap, acceptAny); err != nil {
		t.Fatal(err)
	}
	clkA.Advance(time.Minute)
	waitFor(t, "one delivered", func() bool { return state(a, 0) == callback.StateDelivered })
	before := saved(t, a)
	recs := rec.records()
	a.Close()

	clkB := frozen()
	b := callback.New(callback.Options{Clock: clkB, Source: "test"})
	defer b.Close()
	if err := b.Restore(snap, acceptAny); err != nil {
		t.Fatal(err)
	}
	if err := b.LoadRecords(recs, acceptAny); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, b); got != before {
		t.Fatalf("rebuilt outbox\n%s\nwant\n%s", got, before)
	}
	clkB.Advance(time.Hour)
	waitFor(t, "two delivered", func() bool { return b.Pending() == 0 })
	if got := rcv.counts(); got["one"] != 1 || got["two"] != 1 {
		t.Errorf("receiver got %v, want each once", got)
	}
	if id := b.Send(t0, callback.Request{URL: rcv.srv.URL, Policy: p}); id != "test-cb-3" {
		t.Errorf("the next id %q, want test-cb-3", id)
	}
}

// TestLoadRecordsRefusesWhatItCannotRead names the record at fault and
// leaves the dispatcher as it was.
func TestLoadRecordsRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	good := `{"id":"x-cb-1","url":"http://127.0.0.1:9/","headers":{},"policy":{"retries":0,"retryDelay":"0s","timeout":"1s"},"state":"pending","createdAt":"2026-11-22T10:00:00Z","due":"2026-11-22T10:00:00Z","attempts":[]}`
	rec := func(kind, key, value string) callback.Record {
		return callback.Record{Kind: kind, Key: key, Value: json.RawMessage(value)}
	}
	for _, tc := range []struct {
		name string
		recs []callback.Record
		want string
	}{
		{"unknown kind", []callback.Record{rec("msg", "1", `{}`)}, `record msg/1: not a record of the callback outbox (kinds cb and cbseq)`},
		{"key not a place", []callback.Record{rec("cb", "7", good)}, `record cb/7: the key is not a delivery's place (16 digits, from 1)`},
		{"key zero", []callback.Record{rec("cb", key(0), good)}, `record cb/0000000000000000: the key is not a delivery's place (16 digits, from 1)`},
		{"not JSON", []callback.Record{rec("cb", key(1), `{"id":`)}, `record cb/0000000000000001: not a saved delivery: unexpected end of JSON input`},
		{"bad policy", []callback.Record{rec("cb", key(1), strings.Replace(good, `"1s"`, `"soon"`, 1))}, `record cb/0000000000000001.policy: retries 0, retryDelay "0s" and timeout "soon" are not a retry policy (durations such as 30s)`},
		{"bad state", []callback.Record{rec("cb", key(1), strings.Replace(good, `"pending"`, `"lost"`, 1))}, `record cb/0000000000000001.state: "lost" is not one of pending, sending, delivered, failed, cancelled`},
		{"id twice", []callback.Record{rec("cb", key(1), good), rec("cb", key(2), good)}, `record cb/0000000000000002: id "x-cb-1" is empty or used twice`},
		{"counters with a key", []callback.Record{rec("cbseq", "a", `{"seq":1,"dropped":0}`)}, `record cbseq/a: the counters record has the key ""`},
		{"negative counters", []callback.Record{rec("cbseq", "", `{"seq":-1,"dropped":0}`)}, `record cbseq/: seq -1 and dropped 0 must not be negative`},
		{"counters not JSON", []callback.Record{rec("cbseq", "", `[]`)}, `record cbseq/: not the outbox counters: json: cannot unmarshal array into Go value of type callback.Counters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := callback.New(callback.Options{Clock: clock.New(t0, true), Source: "x"})
			defer d.Close()
			d.Send(t0.Add(time.Hour), callback.Request{URL: "http://127.0.0.1:9/", Body: []byte("kept")})
			before := saved(t, d)
			err := d.LoadRecords(tc.recs, acceptAny)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("LoadRecords = %v, want %q", err, tc.want)
			}
			if got := saved(t, d); got != before {
				t.Errorf("a refused load changed the outbox:\n%s\nwant\n%s", got, before)
			}
		})
	}
}
