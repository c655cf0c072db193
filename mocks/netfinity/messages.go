package netfinity

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// statusText is the description of each processing and delivery status
// ([doc]: the processing-status and delivery-report pages).
var statusText = map[int]string{
	201: "Queued",
	202: "Delivery queued in remote network",
	203: "Delivered to SMSC",
	204: "Delivered to end user",
	301: "Delayed due to Insufficient funds",
	400: "Rejected due to Insufficient funds",
	401: "Rejected by Recipient protection",
	501: "Rejected Destination",
	502: "Not Delivered (Internal error)",
	503: "Remote network failed",
}

// timestampLayout is Netfinity's "Y-m-d H:i:s" (sandbox time, UTC).
const timestampLayout = "2006-01-02 15:04:05"

// state is one namespace's Netfinity: tokens, messages, flood memory, rate
// windows and the pingback dispatcher.
type state struct {
	cfg   *Config
	clock *clock.Clock
	// tokens is replaced whole (copy on write) by the live-change admin
	// endpoints, so a request reads a consistent set without a lock and a
	// token, once read, never changes under it. tokensMu serialises writers.
	tokens   atomic.Pointer[map[string]*token]
	tokensMu sync.Mutex
	proxies  []netip.Prefix
	limits   *limiter
	disp     *callback.Dispatcher
	// awaiting counts messages with a callback URL whose status path has
	// steps still to come: their pingbacks exist only as clock timers until
	// then, and the namespace must not be evicted for idling meanwhile.
	awaiting atomic.Int64
	// rec is Env.Records when it keeps anything, else nil (durable.go).
	rec sandbox.Records
	// walk is the generation of the status-step timers: LoadRecords
	// replaces the messages RestoreState re-armed, and the timers armed
	// before it must then do nothing.
	walk atomic.Int64

	rngMu sync.Mutex
	rng   *rand.ChaCha8

	mu       sync.Mutex
	closed   bool
	messages *retention.Log[*message] // the newest limits.maxMessages
	ids      *retention.IDs           // token + client id: ids already used, dropped messages' too
	// texts holds the last send of each token + msisdn + text, by
	// fingerprint (textSeed), in sandbox unix nanoseconds. Sends older
	// than the flood window cannot make a flood and are swept out once a
	// window (textsSwept) has passed.
	texts      map[uint64]int64
	textSeed   uint64 // key of the texts' fingerprints (retention.Fingerprint)
	textsSwept time.Time
	idsKey     uint64 // key of ids' fingerprints, for their records
	lastSeq    int64  // the seq of the newest message
}

// message is an accepted request and the statuses it reached.
type message struct {
	UUID        string        `json:"uuid"`
	ID          *string       `json:"id"`
	Token       string        `json:"token"`
	Msisdn      string        `json:"msisdn"`
	MsisdnGiven string        `json:"msisdnGiven"`
	Network     string        `json:"network,omitempty"`
	Text        string        `json:"text"`
	SentText    string        `json:"sentText"`
	Septets     int           `json:"septets"`
	Truncated   bool          `json:"truncated"`
	Path        string        `json:"path"`
	Flood       string        `json:"flood,omitempty"`
	AcceptedAt  time.Time     `json:"acceptedAt"`
	Status      *statusEvent  `json:"status"`
	Final       bool          `json:"final"`
	History     []statusEvent `json:"history"`
	CallbackURL string        `json:"callbackUrl,omitempty"`
	Callbacks   []string      `json:"callbacks"`

	// seq numbers the message in the order it was accepted: the key of
	// its record. gone is set once the log dropped it: it walks on, but
	// its record is deleted and must not be written again.
	seq  int64
	gone bool
}

// statusEvent is one status a message reached.
type statusEvent struct {
	Code        int       `json:"code"`
	Description string    `json:"description"`
	At          time.Time `json:"at"`
	Meta        *meta     `json:"meta,omitempty"`
}

type meta struct {
	Voucher *voucher `json:"voucher,omitempty"`
}

type voucher struct {
	UUID    string `json:"uuid"`
	Expires string `json:"expires"`
}

// pingback is the callback envelope ([doc]; sent as valid JSON).
type pingback struct {
	UUID      string         `json:"uuid"`
	ID        *string        `json:"id"`
	Service   string         `json:"service"`
	Timestamp string         `json:"timestamp"`
	Payload   pingbackStatus `json:"payload"`
}

type pingbackStatus struct {
	Status struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"status"`
	Meta *meta `json:"meta,omitempty"`
}

// sendResponse is the 200 body.
type sendResponse struct {
	UUID string  `json:"uuid"`
	ID   *string `json:"id"`
}

func newState(env sandbox.Env) (*state, error) {
	cfg := env.Config.(*Config)
	s := &state{
		cfg: cfg, clock: env.Clock,
		messages: retention.NewLog[*message](cfg.Limits.MaxMessages),
		ids:      retention.NewIDs(), texts: map[uint64]int64{}, textSeed: rand.Uint64(), textsSwept: env.Clock.Now(),
	}
	if env.Records != nil && env.Records.Enabled() {
		s.rec = env.Records
	}
	s.limits = &limiter{by: map[string]*window{}, tokens: &s.tokens, rec: s.rec}
	tokens := map[string]*token{}
	for _, tc := range cfg.Tokens {
		t, err := compileToken(tc)
		if err != nil {
			return nil, err
		}
		tokens[tc.Token] = t
	}
	s.tokens.Store(&tokens)
	for _, ip := range cfg.TrustedProxies {
		p, err := parsePrefix(ip)
		if err != nil {
			return nil, err
		}
		s.proxies = append(s.proxies, p)
	}
	// The namespace is part of the seed: runs stay reproducible, yet two
	// namespaces (CI jobs sharing one receiver) never hand out the same uuids.
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(env.Seed))
	copy(seed[8:], "netfinity")
	ns := fnv.New64a()
	ns.Write([]byte(env.Namespace))
	binary.LittleEndian.PutUint64(seed[24:], ns.Sum64())
	s.rng = rand.NewChaCha8(seed)
	s.disp = callback.New(callback.Options{
		Clock: env.Clock, Source: "netfinity", Logger: env.Logger,
		MaxInFlight: cfg.Callback.MaxInFlight, MaxPerReceiver: cfg.Callback.MaxInFlightPerReceiver,
		ShutdownTimeout: cfg.Callback.ShutdownTimeout.D(),
		Observe:         env.ObserveCallback,
		Outcome:         env.CallbackOutcome,
		MaxSettled:      cfg.Limits.MaxPingbacks,
		Records:         s.rec,
	})
	s.idsKey = keyOf(s.ids.Save().Key) // an empty set: cheap
	if s.rec != nil {
		// The fingerprint keys and the sweep time are not the scenario's:
		// a restart's New draws others.
		s.putMetaLocked(s.rec)
	}
	return s, nil
}

// compileToken prepares a configured token for look-ups.
func compileToken(tc TokenConfig) (*token, error) {
	t := &token{cfg: tc, caps: map[string]bool{}, limit: tc.RateLimit}
	if t.limit == 0 {
		t.limit = defaultRateLimit
	}
	for _, c := range tc.Capabilities {
		t.caps[c] = true
	}
	for _, ip := range tc.AllowedIPs {
		p, err := parsePrefix(ip)
		if err != nil {
			return nil, err
		}
		t.ips = append(t.ips, p)
	}
	return t, nil
}

// newUUID returns a version 4 UUID drawn from the scenario's seed.
func (s *state) newUUID() string {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	u, err := uuid.NewRandomFromReader(s.rng)
	if err != nil { // ChaCha8 never fails to read
		panic(err)
	}
	if s.rec != nil {
		s.putGeneratorLocked()
	}
	return u.String()
}

// send serves POST /v2/sms/notification/send after the guard.
func send(c *sandbox.Call) {
	s := c.State.(*state)
	tok, _ := s.authenticate(c.R)
	in, errs, ok := decodeSend(c.Body, s.cfg.CountryCode)
	if !ok {
		writeHTTPError(c, http.StatusNotAcceptable, msgBodyNotJSON)
		return
	}
	if len(errs) > 0 {
		writeCompact(c, http.StatusUnprocessableEntity, laravelValidation{Message: msgInvalid, Errors: orderedFieldErrors(errs)})
		return
	}
	m, ok := s.accept(tok, in, c.Now())
	if !ok {
		writeHTTPError(c, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	laravelHeaders(c.W)
	c.JSON(http.StatusOK, sendResponse{UUID: m.UUID, ID: m.ID})
}

// accept records a valid send by tok at now and starts its status path;
// false when the namespace is closing. Its records are written before it
// returns, so before the answer.
func (s *state) accept(tok *token, in sendInput, now time.Time) (*message, bool) {
	sent, septets, cut := composeText(tok.cfg.Prefix, in.Text)
	m := &message{
		UUID: s.newUUID(), ID: in.ID, Token: tok.cfg.Name, Msisdn: in.Msisdn, MsisdnGiven: in.MsisdnRaw,
		Network: s.network(in.Msisdn), Text: in.Text, SentText: sent, Septets: septets, Truncated: cut,
		AcceptedAt: now, History: []statusEvent{}, CallbackURL: tok.cfg.CallbackURL, Callbacks: []string{},
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false
	}
	if s.rec == nil {
		s.admitLocked(nil, tok, in, now, m)
	} else {
		// One commit: a crash must not keep the client id as used (a
		// retry would be taken for a flood) without the message.
		s.rec.Atomic(func(r sandbox.Records) { s.admitLocked(r, tok, in, now, m) })
	}
	if m.CallbackURL != "" {
		s.awaiting.Add(1) // until its last step is reached (reach)
	}
	s.mu.Unlock()

	s.schedule(m, s.cfg.Paths[m.Path], 0, now)
	return m, true
}

// admitLocked applies flood protection to m, chooses its path and
// appends it to the log, writing the records to r (nil: none). A message
// dropped from the view keeps its timers and pingbacks, but not its
// record.
func (s *state) admitLocked(r sandbox.Records, tok *token, in sendInput, now time.Time, m *message) {
	m.Flood = s.floodLocked(r, tok, in, now)
	m.Path = s.pathFor(m)
	s.lastSeq++
	m.seq = s.lastSeq
	old, dropped := s.messages.Add(m)
	if dropped {
		old.gone = true
	}
	if r != nil {
		s.putMessageLocked(r, m)
		if dropped {
			r.Delete(recMessage, seqKey(old.seq))
			s.putMetaLocked(r) // evicted
		}
	}
}

// floodLocked applies flood protection and remembers this send: the same
// client id reused by the token, or the same text to the same number within
// the flood window. Its records go to r (nil: none).
func (s *state) floodLocked(r sandbox.Records, tok *token, in sendInput, now time.Time) string {
	reason := ""
	if in.ID != nil {
		if used := tok.cfg.Token + "\x00" + *in.ID; !s.ids.Add(used) {
			reason = fmt.Sprintf("id %q was used before", *in.ID)
		} else if r != nil {
			s.putUsedIDLocked(r, used)
		}
	}
	window := s.cfg.FloodWindow.D()
	k := retention.Fingerprint(s.textSeed, tok.cfg.Token+"\x00"+in.Msisdn+"\x00"+in.Text)
	if last, seen := s.texts[k]; seen && reason == "" && now.Sub(time.Unix(0, last)) < window {
		reason = fmt.Sprintf("same text to the same number %s ago", now.Sub(time.Unix(0, last)))
	}
	s.texts[k] = now.UnixNano()
	if r != nil {
		r.Put(recText, fingerprintKey(k), now.UnixNano())
	}
	if now.Sub(s.textsSwept) >= window {
		for k, last := range s.texts {
			if now.Sub(time.Unix(0, last)) >= window {
				delete(s.texts, k)
				if r != nil {
					r.Delete(recText, fingerprintKey(k))
				}
			}
		}
		s.textsSwept = now
		if r != nil {
			s.putMetaLocked(r)
		}
	}
	return reason
}

// pathFor chooses the message's status path: flood, then rules, then coverage.
func (s *state) pathFor(m *message) string {
	if m.Flood != "" {
		return s.cfg.FloodPath
	}
	for _, r := range s.cfg.Rules {
		if (r.Msisdn != "" && r.Msisdn == m.Msisdn) || (r.Prefix != "" && strings.HasPrefix(m.Msisdn, r.Prefix)) {
			return r.Path
		}
	}
	if m.Network == "" {
		return s.cfg.UncoveredPath
	}
	return s.cfg.DefaultPath
}

// network names the covered network of a number, or "".
func (s *state) network(msisdn string) string {
	best, name := 0, ""
	for _, n := range s.cfg.Networks {
		for _, p := range n.Prefixes {
			if strings.HasPrefix(msisdn, p) && len(p) > best {
				best, name = len(p), n.Name
			}
		}
	}
	return name
}

// schedule arms step i of a path, due its delay after the previous step's
// due time (not after now), so one clock advance walks the whole path.
func (s *state) schedule(m *message, steps []StepConfig, i int, prev time.Time) {
	at := prev.Add(steps[i].After.D())
	walk := s.walk.Load()
	s.clock.At(at, func() { s.reach(m, steps, i, at, walk) })
}

// reach records step i and sends its pingback; a timer of an earlier walk
// (before LoadRecords) does nothing.
func (s *state) reach(m *message, steps []StepConfig, i int, at time.Time, walk int64) {
	st := steps[i]
	// Timestamps are UTC whatever zone the clock's reading carries (a frozen
	// clock reads in the machine's local zone).
	at = at.UTC()
	ev := statusEvent{Code: st.Code, Description: statusText[st.Code], At: at}
	if st.Voucher > 0 {
		ev.Meta = &meta{Voucher: &voucher{UUID: s.newUUID(), Expires: at.Add(st.Voucher.D()).Format(timestampLayout)}}
	}
	s.mu.Lock()
	if s.closed || s.walk.Load() != walk {
		s.mu.Unlock()
		return
	}
	m.History = append(m.History, ev)
	m.Status = &m.History[len(m.History)-1]
	m.Final = i == len(steps)-1
	if m.CallbackURL != "" {
		// Sent under the lock (the dispatcher never calls back into the
		// state), so that the message's record names its pingback.
		m.Callbacks = append(m.Callbacks, s.disp.Send(at, s.pingbackRequest(m, ev)))
	}
	if s.rec != nil && !m.gone {
		s.putMessageLocked(s.rec, m)
	}
	s.mu.Unlock()

	if m.CallbackURL != "" && i == len(steps)-1 {
		s.awaiting.Add(-1) // its last pingback is now a delivery
	}
	if i+1 < len(steps) {
		s.schedule(m, steps, i+1, at)
	}
}

// pingbackRequest builds the callback for one status.
func (s *state) pingbackRequest(m *message, ev statusEvent) callback.Request {
	pb := pingback{UUID: m.UUID, ID: m.ID, Service: ServiceSMS, Timestamp: ev.At.Format(timestampLayout)}
	pb.Payload.Status.Code, pb.Payload.Status.Description = ev.Code, ev.Description
	pb.Payload.Meta = ev.Meta
	body, _ := json.Marshal(pb)
	cb := s.cfg.Callback
	return callback.Request{
		Key: m.UUID, URL: m.CallbackURL, Body: body,
		Header: http.Header{
			"Accept":       {"application/json"},
			"Content-Type": {"application/json"},
			"User-Agent":   {"Netfinity-Pingback (provider-sandbox)"},
		},
		Policy: callback.Policy{Retries: cb.Retries, RetryDelay: cb.RetryDelay.D(), Timeout: cb.Timeout.D()},
		Accept: acceptsPingback(m.UUID),
		Meta:   map[string]any{"uuid": m.UUID, "id": m.ID, "status": ev.Code},
	}
}

// acceptsPingback is Netfinity's rule: the receiver answers 200 with JSON
// that contains the message's uuid (any string value equal to it, usually
// {"uuid": "..."}).
func acceptsPingback(id string) func(int, []byte) error {
	return func(status int, body []byte) error {
		if status != http.StatusOK {
			return fmt.Errorf("status %d, want 200", status)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return errors.New("the answer is not JSON; want {\"uuid\": \"" + id + "\"}")
		}
		if !containsString(v, id) {
			return errors.New("the answer does not contain the uuid; want {\"uuid\": \"" + id + "\"}")
		}
		return nil
	}
}

func containsString(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return x == s
	case []any:
		for _, e := range x {
			if containsString(e, s) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if containsString(e, s) {
				return true
			}
		}
	}
	return false
}

// Snapshot lists the messages with their status history and the open rate
// windows (GET /__sandbox/state/netfinity).
func (s *state) Snapshot() any {
	now := s.clock.Now()
	s.mu.Lock()
	msgs := make([]message, 0, s.messages.Len())
	for m := range s.messages.All() {
		cp := *m
		// Non-nil copies: an empty list is [] in the state view, not null.
		cp.History = append([]statusEvent{}, m.History...)
		if len(cp.History) > 0 {
			cp.Status = &cp.History[len(cp.History)-1]
		}
		cp.Callbacks = append([]string{}, m.Callbacks...)
		msgs = append(msgs, cp)
	}
	usage := s.messages.Usage()
	s.mu.Unlock()
	return map[string]any{"messages": msgs, "rateLimits": s.limits.snapshot(now),
		"limits": map[string]any{"messages": usage, "pingbacks": s.disp.Settled()}}
}

// Callbacks lists every pingback delivery (GET /__sandbox/callbacks).
func (s *state) Callbacks() []any {
	list := s.disp.List()
	out := make([]any, len(list))
	for i := range list {
		out[i] = list[i]
	}
	return out
}

// MaxBodyBytes sets the request body limit (413 beyond it).
func (s *state) MaxBodyBytes() int64 { return s.cfg.MaxBodyBytes }

// Busy keeps the namespace from idle eviction while pingbacks are pending:
// deliveries not yet settled, and statuses still to be reached (on a frozen
// clock they wait for POST /__sandbox/clock) by messages that have a
// callback URL.
// Once closed, no status is to come.
func (s *state) Busy() bool {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	return !closed && s.awaiting.Load() > 0 || s.disp.Pending() > 0
}

// PendingCallbacks counts the pingbacks not yet settled, for GET /__sandbox/stats.
func (s *state) PendingCallbacks() int { return s.disp.Pending() }

// Close stops the status paths and waits for pingbacks in flight.
func (s *state) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.disp.Close()
}
