package sandbox

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/events"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
)

// Live events: GET /__sandbox/events streams a namespace's events as
// Server-Sent Events, GET /__sandbox/stats sums its traffic. Producers
// publish to the namespace's events.Hub, which never blocks them.

// Names of the events on the stream (the "event:" line).
const (
	eventRequest  = "request"
	eventCallback = "callback"
	eventClock    = "clock"
	eventFaults   = "faults"
	eventScenario = "scenario"
	eventDropped  = "dropped"
)

// Stream settings; the defaults are what New sets, tests shorten them.
const (
	// defaultEventBuffer is each subscriber's queue, and the most events
	// one write carries: with the pace below a stream passes on at most
	// 2,560 events a second. Beyond that rate (or for a stalled browser)
	// events are dropped and counted; the journal still has every entry.
	defaultEventBuffer = 256
	// defaultKeepalive is how often an idle stream gets a comment line, so
	// that proxies keep it open and a gone browser is noticed.
	defaultKeepalive = 15 * time.Second
	// defaultEventPace is the least time between two writes to one
	// stream. Events that arrive meanwhile go out together in one write:
	// ten dashboards cost a few writes a second each rather than ten
	// system calls per provider request, and 100 ms is below what a
	// person watching the journal notices.
	defaultEventPace = 100 * time.Millisecond
	// defaultWriteStall is how long one write may block before the
	// subscriber is given up as gone (a browser on a suspended laptop
	// keeps its TCP connection but reads nothing).
	defaultWriteStall = 30 * time.Second
)

// streamSettings are the event stream's knobs (see the defaults above).
type streamSettings struct {
	buffer     int
	keepalive  time.Duration
	pace       time.Duration
	writeStall time.Duration
}

// requestEvent is the data of a "request" event: the journal entry's
// summary; GET /requests/{id} has the whole entry.
type requestEvent struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	Namespace     string    `json:"namespace"`
	Provider      string    `json:"provider"`
	Operation     string    `json:"operation"`
	Method        string    `json:"method"`
	Path          string    `json:"path"`
	Status        int       `json:"status"`
	LatencyMicros int64     `json:"latencyMicros"`
	Faults        []string  `json:"faults"`
}

// publishRequest announces a recorded journal entry.
func (ns *Namespace) publishRequest(e *journal.Entry) {
	if !ns.events.Active() {
		return
	}
	ns.events.PublishLazy(eventRequest, (*requestSummary)(e))
}

// requestSummary encodes a journal entry as a "request" event's data.
type requestSummary journal.Entry

func (r *requestSummary) AppendJSON(b []byte) []byte {
	return appendRequestEvent(b, (*journal.Entry)(r))
}

// appendRequestEvent encodes an entry's requestEvent exactly as
// encoding/json would, by hand: this runs on the request path of every
// request while a dashboard is open, and reflection made it a fifth of a
// small request's cost.
func appendRequestEvent(b []byte, e *journal.Entry) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","namespace":`...)
	b = appendJSONString(b, e.Namespace)
	b = append(b, `,"provider":`...)
	b = appendJSONString(b, e.Provider)
	b = append(b, `,"operation":`...)
	b = appendJSONString(b, e.Operation)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, e.Request.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, e.Request.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Response.Status), 10)
	b = append(b, `,"latencyMicros":`...)
	b = strconv.AppendInt(b, e.LatencyMicros, 10)
	b = append(b, `,"faults":[`...)
	for i, f := range e.Faults {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f)
	}
	return append(b, "]}"...)
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it: HTML-sensitive characters, control characters, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// observeCallback is every provider's callback.Options.Observe (through
// Env.ObserveCallback): the delivery is rendered only when someone listens.
func (ns *Namespace) observeCallback(view func() callback.Delivery) {
	if ns.events.Active() {
		ns.events.PublishJSON(eventCallback, view())
	}
}

func (ns *Namespace) publishClock(v clockView) { ns.events.PublishJSON(eventClock, v) }

func (ns *Namespace) publishFaults() {
	if ns.events.Active() {
		ns.events.PublishJSON(eventFaults, map[string]int{"count": ns.Faults().Len()})
	}
}

func (ns *Namespace) publishScenario(sc *Scenario) {
	if ns.events.Active() {
		ns.events.PublishJSON(eventScenario, map[string]string{"name": sc.Common().Name})
	}
}

// streaming reports whether an event stream is open on the namespace; such
// a namespace counts as in use and is not evicted for idling.
func (ns *Namespace) streaming() bool { return ns.events.Subscribers() > 0 }

// getEvents serves GET /events: the namespace's events as Server-Sent
// Events until the client goes away, the namespace is deleted or the
// server stops. A reset keeps the stream open (it sends "scenario").
func (s *Server) getEvents(a *adminCall) {
	sub := a.ns.events.Subscribe(s.stream.buffer)
	if sub == nil {
		a.gone()
		return
	}
	defer func() {
		sub.Close()
		// The idle time of a namespace whose last dashboard closed runs
		// from now, not from the last request before it opened.
		a.ns.touch()
	}()
	w := a.w
	rc := http.NewResponseController(w)
	// Every write below sets a deadline (writeStall); it is cleared at
	// the end so that a kept-alive connection does not inherit it. (The
	// server's ReadTimeout does not end a stream: net/http lifts the read
	// deadline once a bodiless request is read, which a test pins.)
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, 4096)
	buf = append(buf, ": events of namespace "...)
	buf = append(buf, a.ns.Name...)
	buf = append(buf, "\n\n"...)
	if !s.writeStream(w, rc, buf) {
		return
	}
	keepalive := time.NewTicker(s.stream.keepalive)
	defer keepalive.Stop()
	var pace *time.Timer
	if s.stream.pace > 0 {
		pace = time.NewTimer(s.stream.pace)
		defer pace.Stop()
	}
	ctx := a.r.Context()
	for {
		var ev events.Event
		select {
		case <-ctx.Done():
			return
		case <-sub.Done():
			return
		case <-s.streamsStop:
			return
		case <-keepalive.C:
			if !s.writeStream(w, rc, append(buf[:0], ": keepalive\n\n"...)) {
				return
			}
			continue
		case ev = <-sub.Events():
		}
		buf = appendEvent(buf[:0], ev.Name, ev.Data)
		// Everything already queued goes out in the same write, but no
		// more than one queue's worth, so a busy namespace cannot keep
		// one write growing.
	drain:
		for n := 1; n < s.stream.buffer; n++ {
			select {
			case ev = <-sub.Events():
				buf = appendEvent(buf, ev.Name, ev.Data)
			default:
				break drain
			}
		}
		if n := sub.TakeDropped(); n > 0 {
			buf = appendEvent(buf, eventDropped, strconv.AppendUint([]byte(`{"count":`), n, 10), '}')
		}
		if !s.writeStream(w, rc, buf) {
			return
		}
		if pace != nil {
			pace.Reset(s.stream.pace)
			select {
			case <-pace.C:
			case <-ctx.Done():
				return
			case <-sub.Done():
				return
			case <-s.streamsStop:
				return
			}
		}
	}
}

// appendEvent writes one event in the text/event-stream format. data is
// one line (JSON as encoding/json writes it has no raw newline); extra
// bytes in tail are appended to it (the dropped event's closing brace).
func appendEvent(buf []byte, name string, data []byte, tail ...byte) []byte {
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	buf = append(buf, tail...)
	return append(buf, "\n\n"...)
}

// writeStream writes and flushes, giving a stalled reader writeStall
// before the write fails; false means the subscriber is gone.
func (s *Server) writeStream(w http.ResponseWriter, rc *http.ResponseController, p []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(s.stream.writeStall))
	if _, err := w.Write(p); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// providerCounters are one provider's traffic in one world (a reset starts
// them again, as it clears the journal).
type providerCounters struct {
	mu                             sync.Mutex
	requests, errors, serverErrors uint64
	// perSecond counts requests by real second, slot = unix second % 60,
	// for requestsPerMinute.
	perSecond [60]struct {
		sec int64
		n   uint64
	}
}

func (p *providerCounters) add(status int, now time.Time) {
	sec := now.Unix()
	slot := &p.perSecond[sec%60]
	p.mu.Lock()
	p.requests++
	if status >= 400 {
		p.errors++
		if status >= 500 {
			p.serverErrors++
		}
	}
	if slot.sec != sec {
		slot.sec, slot.n = sec, 0
	}
	slot.n++
	p.mu.Unlock()
}

// providerStats is one provider's entry in GET /stats.
type providerStats struct {
	Requests          uint64 `json:"requests"`
	RequestsPerMinute uint64 `json:"requestsPerMinute"`
	Errors            uint64 `json:"errors"`
	ServerErrors      uint64 `json:"serverErrors"`
	PendingCallbacks  int    `json:"pendingCallbacks"`
}

func (p *providerCounters) view(now time.Time) providerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := providerStats{Requests: p.requests, Errors: p.errors, ServerErrors: p.serverErrors}
	cur := now.Unix()
	for _, s := range p.perSecond {
		if s.sec > cur-60 && s.sec <= cur {
			v.RequestsPerMinute += s.n
		}
	}
	return v
}

// getStats serves GET /stats: per provider, the requests since the
// namespace was created or last reset, those of the last minute (real
// time), errors and pending callbacks; and the namespace's event streams.
func (s *Server) getStats(a *adminCall) {
	w := a.ns.world.Load()
	now := time.Now()
	out := struct {
		Now           time.Time                `json:"now"`
		Providers     map[string]providerStats `json:"providers"`
		Subscribers   int                      `json:"subscribers"`
		DroppedEvents uint64                   `json:"droppedEvents"`
	}{Now: w.clock.Now(), Providers: map[string]providerStats{}, Subscribers: a.ns.events.Subscribers(), DroppedEvents: a.ns.events.Dropped()}
	for name, c := range w.counters {
		v := c.view(now)
		v.PendingCallbacks = pendingCallbacks(w.states[name])
		out.Providers[name] = v
	}
	a.json(http.StatusOK, out)
}

// pendingCallbacks counts a provider's deliveries not yet delivered, failed
// or cancelled.
func pendingCallbacks(st any) int {
	if pc, ok := st.(PendingCallbacks); ok {
		return pc.PendingCallbacks()
	}
	cs, ok := st.(CallbackSource)
	if !ok {
		return 0
	}
	n := 0
	for _, d := range cs.Callbacks() {
		if st, _ := callbackFields(d); st == callback.StatePending || st == callback.StateSending {
			n++
		}
	}
	return n
}
