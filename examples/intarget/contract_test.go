package intarget_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/examples/intarget"
	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// These tests pull the sandbox's reference product API: in-process by
// default, or in a fresh namespace of the sandbox at SANDBOX_URL.

// start is the sandbox's frozen clock: the reference API's data runs up to it.
var start = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newClient(sb *sandboxtest.Sandbox) *intarget.Client {
	cred := sb.InTarget()
	return intarget.New(intarget.Config{
		BaseURL: cred.BaseURL, Username: cred.Username, Password: cred.Password,
		HTTPClient:   sb.HTTPClient(),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond,
	})
}

// store is where a puller's rows go: the users by id (an upsert, as InTarget
// does), and every (id, modified_at) seen with the window it came in.
type store struct {
	users   map[string]intarget.Row
	seen    map[[2]string]intarget.Window
	windows []intarget.Window
	t       *testing.T
}

func (s *store) handle(w intarget.Window, rows []intarget.Row) error {
	s.windows = append(s.windows, w)
	for _, r := range rows {
		at, err := intarget.ParseTime(r["modified_at"])
		if err != nil {
			return err
		}
		if !w.Contains(at) {
			s.t.Errorf("user %s modified at %s is outside the window %s it came in", r["id"], r["modified_at"], w)
		}
		key := [2]string{r["id"], r["modified_at"]}
		if prev, dup := s.seen[key]; dup {
			s.t.Errorf("user %s at %s came twice: in %s and %s", r["id"], r["modified_at"], prev, w)
		}
		s.seen[key] = w
		s.users[r["id"]] = r
	}
	return nil
}

// An hourly pull takes every window that has ended, stops, and after a
// restart (a new Puller from the saved cursor) resumes at the next window
// once the clock has moved: the windows follow each other with no gap and no
// overlap, and together they hold every row a single pull of the whole span
// holds.
func TestHourlyPullResumesFromItsLastWindow(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	c := newClient(sb)
	ctx := t.Context()
	s := &store{users: map[string]intarget.Row{}, seen: map[[2]string]intarget.Window{}, t: t}
	begin := start.Add(-3 * time.Hour)

	first := &intarget.Puller{Client: c, Feed: "/api/users", Window: time.Hour, Cursor: begin}
	if n, err := first.PullDue(ctx, sb.Now(), s.handle); err != nil || n != 3 {
		t.Fatalf("first run: %d windows, %v; want 3 (09:00 to 12:00)", n, err)
	}
	if n, err := first.PullDue(ctx, sb.Now(), s.handle); err != nil || n != 0 {
		t.Fatalf("again at the same time: %d windows, %v; want none (12:00 to 13:00 has not ended)", n, err)
	}
	saved := first.Cursor

	sb.Advance(2*time.Hour + 30*time.Minute)
	second := &intarget.Puller{Client: c, Feed: "/api/users", Window: time.Hour, Cursor: saved}
	if n, err := second.PullDue(ctx, sb.Now(), s.handle); err != nil || n != 2 {
		t.Fatalf("after the restart: %d windows, %v; want 2 (12:00 to 14:00)", n, err)
	}

	// The windows tile [09:00, 14:00), in the journal as in the store.
	pulls := sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "intarget", Operation: "listUsers"}).Count(5)
	next := begin
	for i, w := range s.windows {
		if !w.From.Equal(next) || w.To.Sub(w.From) != time.Hour {
			t.Fatalf("window %d is %s, want one hour from %s", i, w, next.Format(intarget.TimeLayout))
		}
		q, _ := url.ParseQuery(pulls[i].Query)
		if q.Get("from") != w.From.Format(intarget.TimeLayout) || q.Get("to") != w.To.Format(intarget.TimeLayout) {
			t.Fatalf("request %d asked from=%q to=%q, want %s", i, q.Get("from"), q.Get("to"), w)
		}
		next = w.To
	}
	if !second.Cursor.Equal(start.Add(2 * time.Hour)) {
		t.Fatalf("cursor %s, want 14:00", second.Cursor)
	}

	// No gap: every user of the whole span, in its latest state, was seen.
	whole, err := c.Fetch(ctx, "/api/users", intarget.Window{From: begin, To: second.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) == 0 {
		t.Fatal("the span holds no users; the test proves nothing")
	}
	for _, r := range whole {
		if _, ok := s.seen[[2]string{r["id"], r["modified_at"]}]; !ok {
			t.Errorf("user %s at %s is in the whole span but in no window", r["id"], r["modified_at"])
		}
	}
}

// A window whose rows could not be stored is not skipped: the cursor stays
// on it, and the next run pulls it again.
func TestFailedWindowIsPulledAgain(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	p := &intarget.Puller{Client: newClient(sb), Feed: "/api/users", Window: time.Hour, Cursor: start.Add(-2 * time.Hour)}
	down := errors.New("the store is down")
	var got []intarget.Window
	handle := func(w intarget.Window, _ []intarget.Row) error {
		if len(got) == 1 && down != nil {
			return down
		}
		got = append(got, w)
		return nil
	}

	if n, err := p.PullDue(t.Context(), sb.Now(), handle); n != 1 || !errors.Is(err, down) {
		t.Fatalf("first run: %d windows, %v; want 1, then the store's error", n, err)
	}
	if want := start.Add(-time.Hour); !p.Cursor.Equal(want) {
		t.Fatalf("cursor %s after the failure, want %s (the failed window's start)", p.Cursor, want)
	}
	down = nil
	if n, err := p.PullDue(t.Context(), sb.Now(), handle); n != 1 || err != nil {
		t.Fatalf("second run: %d windows, %v; want the failed window", n, err)
	}
	if len(got) != 2 || !got[1].From.Equal(start.Add(-time.Hour)) {
		t.Fatalf("stored windows %v, want 10:00 and 11:00", got)
	}
	sb.ExpectRequests(sandboxtest.RequestFilter{Provider: "intarget", Operation: "listUsers"}).Count(3)
}

// A refused pull is an *intarget.Error with the API's code.
func TestWrongCredentialsAreRefused(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithClock(start))
	c := intarget.New(intarget.Config{BaseURL: sb.InTarget().BaseURL, Username: "intarget", Password: "wrong", HTTPClient: sb.HTTPClient()})
	_, err := c.Fetch(t.Context(), "/api/users", intarget.Window{From: start.Add(-time.Hour), To: start})
	var apiErr *intarget.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Code != "unauthorized" {
		t.Fatalf("err = %v, want a 401 unauthorized *intarget.Error", err)
	}
}
