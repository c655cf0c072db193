// Package callback delivers webhooks ("callbacks", "pingbacks") from provider
// emulators to the client's receiver, the way real providers do: on a
// schedule, with a per-attempt timeout, retries and a success rule, and with
// every attempt recorded so a test can assert on what its receiver was sent.
//
// It is provider-independent: a provider hands over a target URL, a body,
// headers, a success predicate and a retry policy, and lists the deliveries
// in GET /__sandbox/callbacks.
//
// Schedules follow the namespace's sandbox clock (attempt times and retry
// delays), so a test that advances the clock sees due callbacks sent without
// waiting. The HTTP exchange itself runs in real time, bounded by the
// attempt timeout, on a bounded pool of workers: a slow receiver delays only
// the deliveries waiting for a worker, never the clock or the API.
package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/retention"
)

// Policy is how hard a delivery is tried.
type Policy struct {
	// Retries is the number of attempts after the first one.
	Retries int
	// RetryDelay is the sandbox time between an attempt and the next one.
	// On a frozen clock an attempt takes no sandbox time, so retries are
	// chained from the previous due time and one large clock advance walks
	// them all. On a running clock the next attempt is due RetryDelay after
	// the previous one ended (if that is later), as a real sender waits after
	// a timed-out attempt rather than retrying at once.
	RetryDelay time.Duration
	// Timeout bounds each attempt in real time (connect, send, read).
	Timeout time.Duration
}

// Request is one callback to deliver.
type Request struct {
	// Key orders deliveries: those sharing a non-empty key are made one after
	// another in the order they were sent (a message's status updates never
	// overtake each other). An empty key means no ordering.
	Key string
	// URL is where the callback is POSTed.
	URL string
	// Header holds the request headers (Content-Type included).
	Header http.Header
	// Body is the request body.
	Body []byte
	// Policy sets retries, their delay and the attempt timeout.
	Policy Policy
	// Accept decides whether a response counts as delivered; a nil Accept
	// accepts any 2xx status. The error text is recorded with the attempt.
	Accept func(status int, body []byte) error
	// Meta is shown in listings (for example the message id and status).
	Meta map[string]any
}

// Options configure a Dispatcher.
type Options struct {
	// Clock is the namespace's sandbox clock; attempt times follow it.
	Clock *clock.Clock
	// Client performs the HTTP exchange; nil means a client that does not
	// follow redirects (a 3xx answer is a failed attempt, as it would be
	// for most providers' webhook senders).
	Client *http.Client
	// MaxInFlight bounds the attempts running at once (default 16).
	MaxInFlight int
	// MaxPerReceiver bounds the attempts running at once against one
	// receiver (scheme://host:port), default half of MaxInFlight, so a slow
	// receiver cannot take every worker from the others.
	MaxPerReceiver int
	// ShutdownTimeout is how long Close waits for attempts in flight before
	// cancelling them (default 5 s).
	ShutdownTimeout time.Duration
	// Source names the provider in listings.
	Source string
	// Logger receives one line per failed delivery; nil discards.
	Logger *slog.Logger
	// Observe, when set, is told every time a delivery changes: created,
	// due (sending), an attempt made (and the retry scheduled), delivered,
	// failed or cancelled. view renders the delivery as List would; call it
	// only when the change is wanted, since rendering copies headers and
	// body. Observe runs with the dispatcher's lock held, so the changes
	// of one delivery arrive in order: it must not block and must not call
	// the dispatcher (the sandbox's event hub never blocks).
	Observe func(view func() Delivery)
	// MaxSettled bounds the deliveries kept once settled (delivered, failed
	// or cancelled): beyond it the oldest of them are dropped from List.
	// Deliveries still pending are always kept. Zero keeps every one.
	MaxSettled int
	// Outcome, when set, is told once per settled delivery (delivered,
	// failed or cancelled) and once per failed attempt that is retried, so
	// that the sandbox can count outcomes for its metrics without
	// rendering deliveries (Observe's view copies headers and body). Like
	// Observe it runs with the dispatcher's lock held: it must be quick
	// and must not call the dispatcher.
	Outcome func(Outcome)
	// Records, when set and enabled, is where the dispatcher keeps its
	// outbox as it changes (a provider passes its sandbox Env.Records, so
	// that pingbacks survive a restart with a data directory): one record
	// per delivery, written on every change, and one for the counters.
	// LoadRecords rebuilds the outbox from them (records.go).
	Records Records
}

// Outcome is what became of a delivery or one of its attempts, as
// Options.Outcome reports it.
type Outcome int

// Outcomes. A delivery ends in exactly one of Delivered, Failed and
// Cancelled, after zero or more Retried.
const (
	// OutcomeDelivered: an attempt succeeded.
	OutcomeDelivered Outcome = iota
	// OutcomeRetried: an attempt failed and another one was scheduled.
	OutcomeRetried
	// OutcomeFailed: the last attempt failed; the delivery was given up.
	OutcomeFailed
	// OutcomeCancelled: the dispatcher was closed (the namespace reset,
	// deleted or evicted, the sandbox stopped) before the delivery settled.
	OutcomeCancelled
)

// String names the outcome as the sandbox's metrics label it.
func (o Outcome) String() string {
	switch o {
	case OutcomeDelivered:
		return "delivered"
	case OutcomeRetried:
		return "retried"
	case OutcomeFailed:
		return "failed"
	case OutcomeCancelled:
		return "cancelled"
	}
	return "unknown"
}

// Delivery states.
const (
	StatePending   = "pending"   // waiting for its due time (or for earlier deliveries of its key)
	StateSending   = "sending"   // due, waiting for a worker or in flight
	StateDelivered = "delivered" // an attempt succeeded
	StateFailed    = "failed"    // every attempt failed
	StateCancelled = "cancelled" // the dispatcher was closed first
)

// responseSnippet is how much of a receiver's answer is kept per attempt.
const responseSnippet = 1024

// maxResponseRead bounds what is read from a receiver's answer.
const maxResponseRead = 64 << 10

// Attempt is one try of a delivery.
type Attempt struct {
	N int `json:"n"`
	// At is the sandbox time the attempt was due.
	At time.Time `json:"at"`
	// Status is the receiver's HTTP status; 0 when no answer came.
	Status int `json:"status,omitempty"`
	// LatencyMs is the real time the exchange took.
	LatencyMs float64 `json:"latencyMs"`
	// Error says why the attempt failed; empty on success.
	Error string `json:"error,omitempty"`
	// ResponseBody is the start of the receiver's answer.
	ResponseBody string `json:"responseBody,omitempty"`
}

// Delivery is a callback and its attempts, as listed by the admin API.
type Delivery struct {
	ID        string            `json:"id"`
	Source    string            `json:"source,omitempty"`
	Key       string            `json:"key,omitempty"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Header    map[string]string `json:"headers"`
	Body      any               `json:"body"`
	Meta      map[string]any    `json:"meta,omitempty"`
	State     string            `json:"state"`
	CreatedAt time.Time         `json:"createdAt"`
	// NextAttemptAt is when the next attempt is due (pending deliveries).
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	// FinishedAt is the sandbox time it was delivered or given up.
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	MaxAttempts int        `json:"maxAttempts"`
	Attempts    []Attempt  `json:"attempts"`
}

// delivery is a Delivery with what is needed to make it.
type delivery struct {
	pub   Delivery
	req   Request
	due   time.Time // the first attempt's due time
	next  time.Time // the current attempt's due time
	timer *clock.Timer
	// inFlight is set while a worker makes an attempt.
	inFlight bool
	// settled is set once it is delivered, failed or cancelled.
	settled bool
	// dropped is set once MaxSettled compacted it away: its record is
	// deleted and must not be written again.
	dropped bool
	// ord is its place in the outbox, the key of its record: the seq it
	// was sent with, or its position in a restored outbox.
	ord int
}

// Dispatcher schedules, sends and records callbacks for one namespace.
// It is safe for concurrent use.
type Dispatcher struct {
	opt    Options
	rec    Records // Options.Records when enabled, else nil
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	seq     int
	all     []*delivery            // oldest first
	settled int                    // how many of all are settled
	dropped int64                  // settled deliveries removed from all (MaxSettled)
	queues  map[string][]*delivery // key → deliveries in order; the head is active
	ready   map[string][]*delivery // receiver → due attempts waiting for a worker, FIFO
	turns   []string               // receivers with ready attempts, served round-robin
	running int                    // workers alive
	busy    map[string]int         // receiver → attempts in flight
	closed  bool
	workers sync.WaitGroup
	once    sync.Once
}

// New returns a dispatcher. Workers start on demand and exit when idle, so an
// unused dispatcher holds no goroutine.
func New(opt Options) *Dispatcher {
	if opt.Clock == nil {
		panic("callback: Options.Clock is required")
	}
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 16
	}
	if opt.MaxPerReceiver <= 0 || opt.MaxPerReceiver > opt.MaxInFlight {
		opt.MaxPerReceiver = max(1, opt.MaxInFlight/2)
	}
	if opt.ShutdownTimeout <= 0 {
		opt.ShutdownTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	client := opt.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.MaxIdleConnsPerHost = opt.MaxInFlight
		client = &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{opt: opt, client: client, ctx: ctx, cancel: cancel, queues: map[string][]*delivery{}, busy: map[string]int{}, ready: map[string][]*delivery{}}
	if opt.Records != nil && opt.Records.Enabled() {
		d.rec = opt.Records
	}
	return d
}

// Send schedules a delivery whose first attempt is due at the sandbox time
// at (now or in the past means at once). It returns the delivery's id. After
// Close, the delivery is recorded as cancelled. The dispatcher keeps req's
// body and headers: the caller must not change them afterwards.
func (d *Dispatcher) Send(at time.Time, req Request) string {
	if req.Policy.Retries < 0 {
		req.Policy.Retries = 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	d.putCountersLocked()
	dl := &delivery{
		req: req, due: at, ord: d.seq,
		pub: Delivery{
			ID: d.opt.Source + "-cb-" + strconv.Itoa(d.seq), Source: d.opt.Source, Key: req.Key,
			Method: http.MethodPost, URL: req.URL, Meta: req.Meta,
			State: StatePending, CreatedAt: d.opt.Clock.Now(), MaxAttempts: 1 + req.Policy.Retries,
			Attempts: []Attempt{},
		},
	}
	d.all = append(d.all, dl)
	defer d.changedLocked(dl) // deferred after the unlock, so it runs first: locked
	if d.closed {
		d.cancelLocked(dl)
		return dl.pub.ID
	}
	if req.Key == "" {
		d.scheduleLocked(dl, at)
		return dl.pub.ID
	}
	q := append(d.queues[req.Key], dl)
	d.queues[req.Key] = q
	if len(q) == 1 {
		d.scheduleLocked(dl, at)
	} else {
		t := at
		dl.pub.NextAttemptAt = &t
	}
	return dl.pub.ID
}

// scheduleLocked arms the delivery's next attempt on the sandbox clock.
func (d *Dispatcher) scheduleLocked(dl *delivery, at time.Time) {
	if d.closed {
		d.cancelLocked(dl)
		return
	}
	dl.next = at
	t := at
	dl.pub.NextAttemptAt = &t
	dl.pub.State = StatePending
	dl.timer = d.opt.Clock.At(at, func() { d.due(dl) })
}

// due runs on the clock's timer goroutine: it must not block, so it only
// queues the attempt for a worker.
func (d *Dispatcher) due(dl *delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || dl.pub.State != StatePending {
		return
	}
	dl.timer = nil
	dl.pub.State = StateSending
	d.changedLocked(dl)
	// The receiver is worked out per attempt rather than kept per
	// delivery: pending deliveries are many, due ones few.
	r := receiverOf(dl.req.URL)
	if len(d.ready[r]) == 0 {
		d.turns = append(d.turns, r)
	}
	d.ready[r] = append(d.ready[r], dl)
	if d.running < d.opt.MaxInFlight {
		d.running++
		d.workers.Add(1)
		go d.work()
	}
}

// work makes attempts until nothing is ready for it: no attempt is due, or
// every receiver with due attempts already has its share in flight (a worker
// finishing there picks the next one up).
func (d *Dispatcher) work() {
	defer d.workers.Done()
	for {
		d.mu.Lock()
		dl, r := d.nextReadyLocked()
		if d.closed || dl == nil {
			d.running--
			d.mu.Unlock()
			return
		}
		dl.inFlight = true
		d.busy[r]++
		d.mu.Unlock()
		d.attempt(dl, r)
	}
}

// nextReadyLocked takes the oldest due attempt of the first receiver, in
// round-robin order, that is below its limit, and names the receiver; nil
// when there is none.
func (d *Dispatcher) nextReadyLocked() (*delivery, string) {
	for i, r := range d.turns {
		if d.busy[r] >= d.opt.MaxPerReceiver {
			continue
		}
		q := d.ready[r]
		dl := q[0]
		q[0] = nil
		q = q[1:]
		// The receiver goes to the back of the line (or leaves it).
		d.turns = append(d.turns[:i], d.turns[i+1:]...)
		if len(q) == 0 {
			delete(d.ready, r)
		} else {
			d.ready[r] = q
			d.turns = append(d.turns, r)
		}
		return dl, r
	}
	return nil, ""
}

// receiverOf names the receiver of a URL for the per-receiver limit.
func receiverOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// attempt makes one HTTP exchange with receiver r and decides what comes
// next.
func (d *Dispatcher) attempt(dl *delivery, r string) {
	req := dl.req
	a := Attempt{At: dl.next}
	ctx := d.ctx
	if req.Policy.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Policy.Timeout)
		defer cancel()
	}
	start := time.Now()
	status, body, err := d.exchange(ctx, req)
	a.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	a.Status = status
	if len(body) > responseSnippet {
		a.ResponseBody = string(body[:responseSnippet])
	} else {
		a.ResponseBody = string(body)
	}
	if err == nil {
		if req.Accept != nil {
			err = req.Accept(status, body)
		} else if status < 200 || status > 299 {
			err = fmt.Errorf("status %d is not 2xx", status)
		}
	}
	if err != nil {
		a.Error = err.Error()
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	dl.inFlight = false
	if d.busy[r]--; d.busy[r] <= 0 {
		delete(d.busy, r)
	}
	a.N = len(dl.pub.Attempts) + 1
	dl.pub.Attempts = append(dl.pub.Attempts, a)
	switch {
	case err == nil:
		d.finishLocked(dl, StateDelivered)
	case d.closed:
		d.cancelLocked(dl)
		d.changedLocked(dl)
	case a.N <= req.Policy.Retries:
		d.outcomeLocked(OutcomeRetried)
		next := dl.next.Add(req.Policy.RetryDelay)
		if !d.opt.Clock.Frozen() {
			if after := d.opt.Clock.Now().Add(req.Policy.RetryDelay); after.After(next) {
				next = after
			}
		}
		d.scheduleLocked(dl, next)
		d.changedLocked(dl)
	default:
		d.opt.Logger.Warn("callback failed", "id", dl.pub.ID, "url", req.URL, "attempts", a.N, "error", a.Error)
		d.finishLocked(dl, StateFailed)
	}
}

// exchange POSTs the request and reads (a bounded part of) the answer.
func (d *Dispatcher) exchange(ctx context.Context, req Request) (int, []byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range req.Header {
		hr.Header[k] = append([]string(nil), v...)
	}
	resp, err := d.client.Do(hr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, fmt.Errorf("no answer within %s: %w", req.Policy.Timeout, err)
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

// finishLocked ends a delivery and starts the next one of its key.
func (d *Dispatcher) finishLocked(dl *delivery, state string) {
	dl.pub.State = state
	dl.pub.NextAttemptAt = nil
	d.settleLocked(dl)
	now := d.opt.Clock.Now()
	dl.pub.FinishedAt = &now
	d.changedLocked(dl)
	if dl.req.Key == "" {
		return
	}
	q := d.queues[dl.req.Key]
	if len(q) > 0 && q[0] == dl {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(d.queues, dl.req.Key)
		return
	}
	d.queues[dl.req.Key] = q
	// The next one is due when it was asked for, or when its predecessor's
	// last attempt was due if that is later: chaining due times (not "now")
	// keeps the retry spacing in real time and lets one clock advance walk
	// the whole queue.
	at := q[0].due
	if dl.next.After(at) {
		at = dl.next
	}
	d.scheduleLocked(q[0], at)
	d.changedLocked(q[0]) // its next attempt time is now known
}

func (d *Dispatcher) cancelLocked(dl *delivery) {
	if dl.timer != nil {
		dl.timer.Stop()
		dl.timer = nil
	}
	dl.pub.State = StateCancelled
	dl.pub.NextAttemptAt = nil
	d.settleLocked(dl)
}

// settleLocked counts a delivery that reached its final state and, past
// MaxSettled, drops the oldest settled deliveries. It compacts only once a
// quarter of the limit has piled up beyond it, so that a settlement costs
// O(1) amortised even when a delivery retried for long sits at the front;
// List hides the excess in between.
func (d *Dispatcher) settleLocked(dl *delivery) {
	if dl.settled {
		return
	}
	dl.settled = true
	d.settled++
	switch dl.pub.State {
	case StateDelivered:
		d.outcomeLocked(OutcomeDelivered)
	case StateFailed:
		d.outcomeLocked(OutcomeFailed)
	default:
		d.outcomeLocked(OutcomeCancelled)
	}
	limit := d.opt.MaxSettled
	if limit <= 0 || d.closed || d.settled <= limit+max(limit/4, 1) {
		return // (Close cancels while it walks d.all: no compacting under it)
	}
	drop := d.settled - limit
	kept := d.all[:0]
	for _, x := range d.all {
		if drop > 0 && x.settled {
			drop--
			x.dropped = true
			d.deleteLocked(x)
			continue
		}
		kept = append(kept, x)
	}
	clear(d.all[len(kept):]) // let the dropped ones be collected
	d.dropped += int64(d.settled - limit)
	d.settled = limit
	d.all = kept
	d.putCountersLocked()
}

// hiddenLocked is how many of the oldest settled deliveries are over
// MaxSettled but not compacted away yet: List leaves them out.
func (d *Dispatcher) hiddenLocked() int {
	if d.opt.MaxSettled <= 0 {
		return 0
	}
	return max(d.settled-d.opt.MaxSettled, 0)
}

// List returns a copy of every delivery kept (every pending one, and the
// newest MaxSettled settled ones), oldest first.
func (d *Dispatcher) List() []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	hide := d.hiddenLocked()
	out := make([]Delivery, 0, len(d.all)-hide)
	for _, dl := range d.all {
		if hide > 0 && dl.settled {
			hide--
			continue
		}
		out = append(out, dl.viewLocked())
	}
	return out
}

// Settled reports the settled deliveries List shows against MaxSettled
// (zero when unbounded) and how many were dropped to stay within it.
func (d *Dispatcher) Settled() retention.Usage {
	d.mu.Lock()
	defer d.mu.Unlock()
	hide := d.hiddenLocked()
	return retention.Usage{Count: d.settled - hide, Limit: d.opt.MaxSettled, Evicted: d.dropped + int64(hide)}
}

// viewLocked renders a delivery for listings: a copy that later changes do
// not touch. Headers and body are rendered here rather than kept twice per
// delivery: pending deliveries are many, listings are few.
func (dl *delivery) viewLocked() Delivery {
	p := dl.pub
	p.Header = make(map[string]string, len(dl.req.Header))
	for k := range dl.req.Header {
		p.Header[k] = dl.req.Header.Get(k)
	}
	if json.Valid(dl.req.Body) {
		p.Body = json.RawMessage(dl.req.Body)
	} else {
		p.Body = string(dl.req.Body)
	}
	p.Attempts = append([]Attempt{}, p.Attempts...)
	if p.NextAttemptAt != nil {
		t := *p.NextAttemptAt
		p.NextAttemptAt = &t
	}
	if p.FinishedAt != nil {
		t := *p.FinishedAt
		p.FinishedAt = &t
	}
	return p
}

// outcomeLocked reports an outcome to Options.Outcome, if set.
func (d *Dispatcher) outcomeLocked(o Outcome) {
	if d.opt.Outcome != nil {
		d.opt.Outcome(o)
	}
}

// changedLocked writes dl's record and tells the observer, if any, that
// dl changed.
func (d *Dispatcher) changedLocked(dl *delivery) {
	d.putLocked(dl)
	if d.opt.Observe != nil {
		d.opt.Observe(dl.viewLocked)
	}
}

// Pending returns how many deliveries are neither delivered, failed nor cancelled.
func (d *Dispatcher) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.all) - d.settled
}

// Close stops scheduling, waits up to the shutdown timeout for attempts in
// flight, then cancels those still running. Deliveries that never got their
// turn are recorded as cancelled. Close is idempotent.
func (d *Dispatcher) Close() {
	d.once.Do(func() {
		d.mu.Lock()
		d.closed = true
		for _, dl := range d.all {
			if dl.pub.State == StatePending || (dl.pub.State == StateSending && !dl.inFlight) {
				d.cancelLocked(dl)
				d.changedLocked(dl)
			}
		}
		d.ready, d.turns = map[string][]*delivery{}, nil
		d.mu.Unlock()

		done := make(chan struct{})
		go func() {
			d.workers.Wait()
			close(done)
		}()
		t := time.NewTimer(d.opt.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			d.cancel()
			<-done
		}
		d.cancel()
		if d.opt.Client == nil {
			d.client.CloseIdleConnections() // our own transport: free its sockets
		}
	})
}
