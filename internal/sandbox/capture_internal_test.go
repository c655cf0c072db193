package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeDurability is a data directory whose pending state and wait result a
// test sets; syncs counts the waits.
type fakeDurability struct {
	pending bool
	queued  uint64
	err     error
	syncs   int
}

func (f *fakeDurability) Pending() bool  { return f.pending }
func (f *fakeDurability) Queued() uint64 { return f.queued }
func (f *fakeDurability) Sync() error {
	f.syncs++
	f.pending = false
	return f.err
}

func newCapture(d *fakeDurability) (*captureWriter, *httptest.ResponseRecorder) {
	rec := httptest.NewRecorder()
	w := &captureWriter{ResponseWriter: rec, limit: 16, store: d}
	w.failStore = func(err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"` + err.Error() + `"}`))
	}
	return w, rec
}

// An answer given while a write is pending is held until release, which
// waits once; the client then gets it whole, and the journal its start.
func TestCaptureWriterHoldsAnAnswerUntilItsWritesAreDurable(t *testing.T) {
	t.Parallel()
	d := &fakeDurability{pending: true}
	w, rec := newCapture(d)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":1,`))
	_, _ = w.Write([]byte(`"name":"kept"}`))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || d.syncs != 0 {
		t.Fatalf("before release: recorder %d %q, %d syncs; want nothing sent and no wait", rec.Code, rec.Body, d.syncs)
	}
	w.release()
	if rec.Code != http.StatusCreated || rec.Body.String() != `{"id":1,"name":"kept"}` || d.syncs != 1 {
		t.Fatalf("after release: %d %q, %d syncs", rec.Code, rec.Body, d.syncs)
	}
	if w.status != http.StatusCreated || w.n != 22 || w.buf.String() != `{"id":1,"name":"` {
		t.Fatalf("journal capture: status %d, %d bytes, start %q", w.status, w.n, w.buf.String())
	}
	w.release() // a second release sends nothing more
	if d.syncs != 1 || rec.Body.Len() != 22 {
		t.Fatalf("second release: %d syncs, %d bytes", d.syncs, rec.Body.Len())
	}
}

// With nothing pending the answer streams through without a wait.
func TestCaptureWriterStreamsWhenNothingIsPending(t *testing.T) {
	t.Parallel()
	d := &fakeDurability{}
	w, rec := newCapture(d)
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("now"))
	if rec.Code != http.StatusAccepted || rec.Body.String() != "now" || d.syncs != 0 || w.holding {
		t.Fatalf("%d %q, %d syncs, holding %v", rec.Code, rec.Body, d.syncs, w.holding)
	}
}

// A body longer than heldMax, or a Flush, releases the answer early and
// the rest streams on; the client sees every byte once.
func TestCaptureWriterReleasesALongOrFlushedAnswerEarly(t *testing.T) {
	t.Parallel()
	d := &fakeDurability{pending: true}
	w, rec := newCapture(d)
	chunk := strings.Repeat("x", heldMax/2+1)
	_, _ = w.Write([]byte(chunk))
	if rec.Body.Len() != 0 {
		t.Fatalf("%d bytes sent while under heldMax", rec.Body.Len())
	}
	_, _ = w.Write([]byte(chunk))
	if d.syncs != 1 || rec.Body.Len() != 2*len(chunk) || w.holding {
		t.Fatalf("past heldMax: %d syncs, %d bytes sent, holding %v", d.syncs, rec.Body.Len(), w.holding)
	}

	d2 := &fakeDurability{pending: true}
	w2, rec2 := newCapture(d2)
	_, _ = w2.Write([]byte("line 1\n"))
	w2.Flush()
	if d2.syncs != 1 || rec2.Body.String() != "line 1\n" || !rec2.Flushed {
		t.Fatalf("flush: %d syncs, %q, flushed %v", d2.syncs, rec2.Body, rec2.Flushed)
	}
	_, _ = w2.Write([]byte("line 2\n"))
	if rec2.Body.String() != "line 1\nline 2\n" || w2.n != 14 {
		t.Fatalf("after flush: %q, %d bytes counted", rec2.Body, w2.n)
	}
}

// When the wait fails, the held answer never leaves: the client gets the
// provider's 503 (failStore), with only the request id of the headers the
// handler set, and what the handler writes afterwards is dropped.
func TestCaptureWriterTurnsAHeldAnswerInto503WhenTheWaitFails(t *testing.T) {
	t.Parallel()
	d := &fakeDurability{pending: true, err: errors.New("disk full")}
	w, rec := newCapture(d)
	w.Header().Set(HeaderRequestID, "req_00000001")
	w.Header().Set("Location", "/items/1")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":1}`))
	w.release()
	if n, err := w.Write([]byte("late")); n != 0 || err != errAnswerDropped {
		t.Fatalf("a write after the 503: %d, %v; want 0, errAnswerDropped", n, err)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != `{"error":"disk full"}` {
		t.Fatalf("client got %d %q", rec.Code, rec.Body)
	}
	if rec.Header().Get("Location") != "" || rec.Header().Get(HeaderRequestID) != "req_00000001" {
		t.Fatalf("headers %v", rec.Header())
	}
	if w.status != http.StatusServiceUnavailable || w.buf.String() != `{"error":"disk f` || w.n != 21 {
		t.Fatalf("journal capture: status %d, start %q, %d bytes", w.status, w.buf.String(), w.n)
	}
}

// Something queued since the request began holds the answer even when it
// is already durable: the request's journal entry then goes with it.
func TestCaptureWriterHoldsWhenAnythingWasQueuedDuringTheRequest(t *testing.T) {
	t.Parallel()
	d := &fakeDurability{queued: 7}
	w, rec := newCapture(d)
	w.startSeq = 5
	w.WriteHeader(http.StatusOK)
	if !w.holding || rec.Body.Len() != 0 {
		t.Fatalf("holding %v", w.holding)
	}
	w.release()
	if d.syncs != 1 || rec.Code != http.StatusOK {
		t.Fatalf("%d syncs, %d", d.syncs, rec.Code)
	}
	d2 := &fakeDurability{queued: 5}
	w2, _ := newCapture(d2)
	w2.startSeq = 5
	w2.WriteHeader(http.StatusOK)
	if w2.holding {
		t.Fatal("held with nothing queued during the request and nothing pending")
	}
}

// A panic after a held answer: dropHeld forgets it whole, so the
// provider's 500 can take its place.
func TestCaptureWriterDropHeldLetsAnotherAnswerReplaceIt(t *testing.T) {
	t.Parallel()
	d := &fakeDurability{pending: true}
	w, rec := newCapture(d)
	w.Header().Set("Location", "/x")
	w.Header().Set(HeaderRequestID, "req_00000002")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte("half"))
	w.dropHeld()
	if w.wroteHeader || w.holding || w.n != 0 || w.Header().Get("Location") != "" || w.Header().Get(HeaderRequestID) == "" {
		t.Fatalf("after dropHeld: wroteHeader %v holding %v n %d headers %v", w.wroteHeader, w.holding, w.n, w.Header())
	}
	d.pending = false
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("boom"))
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != "boom" {
		t.Fatalf("client got %d %q", rec.Code, rec.Body)
	}
}
