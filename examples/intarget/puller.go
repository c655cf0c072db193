package intarget

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Puller pulls one feed window after window, the way InTarget's scheduler
// does: every window [Cursor, Cursor+Window) that has ended is fetched, in
// order, and the cursor moves to its end once the rows are handled.
//
// The cursor is all the state there is. Store it where the rows go (in the
// same transaction, ideally) and build the next Puller from it: the pull then
// resumes at the first window not yet handled, so windows neither overlap nor
// leave a gap, whatever crashed in between.
type Puller struct {
	Client *Client
	// Feed is the path below the base URL, e.g. /api/users.
	Feed string
	// Window is the size of each pull; InTarget's example pulls hourly.
	Window time.Duration
	// Lag holds a window back until Lag after its end, for an API whose
	// rows become visible a little after their timestamp.
	Lag time.Duration
	// Cursor is the start of the next window: the end of the last one
	// handled. Start it on a window boundary (time.Truncate).
	Cursor time.Time
}

// ErrNoWindow is returned by PullDue for a Puller without a Window size.
var ErrNoWindow = errors.New("intarget: Puller.Window must be positive")

// PullDue fetches every window that has ended by now (less Lag), oldest
// first, and calls handle with each one's rows. After handle returns nil the
// cursor moves past that window. On an error (the API's, after the client's
// retries, or handle's) it stops with the cursor still at the failed window,
// so the next PullDue starts there again. It returns how many windows it
// handled.
func (p *Puller) PullDue(ctx context.Context, now time.Time, handle func(Window, []Row) error) (int, error) {
	if p.Window <= 0 {
		return 0, ErrNoWindow
	}
	done := 0
	for {
		w := Window{From: p.Cursor, To: p.Cursor.Add(p.Window)}
		if w.To.After(now.Add(-p.Lag)) {
			return done, nil
		}
		rows, err := p.Client.Fetch(ctx, p.Feed, w)
		if err != nil {
			return done, err
		}
		if err := handle(w, rows); err != nil {
			return done, fmt.Errorf("intarget: handling %s %s: %w", p.Feed, w, err)
		}
		p.Cursor = w.To
		done++
	}
}
