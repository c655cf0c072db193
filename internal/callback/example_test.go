package callback_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/clock"
)

// A provider schedules a webhook on its namespace's clock; advancing the
// clock makes it due, a worker sends it, and List shows every attempt.
func Example() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer receiver.Close()

	clk := clock.New(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), true)
	d := callback.New(callback.Options{Clock: clk, Source: "demo"})
	defer d.Close()

	d.Send(clk.Now().Add(5*time.Second), callback.Request{
		Key:    "order-1",
		URL:    receiver.URL,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"event":"shipped"}`),
		Policy: callback.Policy{Retries: 3, RetryDelay: 3 * time.Second, Timeout: 30 * time.Second},
	})
	fmt.Println(d.List()[0].State)
	clk.Advance(5 * time.Second)
	for d.Pending() > 0 {
		time.Sleep(time.Millisecond)
	}
	dl := d.List()[0]
	fmt.Println(dl.State, len(dl.Attempts), dl.Attempts[0].Status, dl.Attempts[0].At.Format(time.TimeOnly))
	// Output:
	// pending
	// delivered 1 200 10:00:05
}
