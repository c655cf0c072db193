package netfinity

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

var durableStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// pingbackReceiver answers Netfinity's pingbacks on 127.0.0.1: the first
// attempt of every 202 fails (so retries are pending at times), every
// other one is acknowledged with the uuid. It counts the acknowledged
// ones by uuid and status.
type pingbackReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]int // uuid/code → attempts
	ok   map[string]int // uuid/code → acknowledged
}

func newPingbackReceiver(t *testing.T) *pingbackReceiver {
	r := &pingbackReceiver{seen: map[string]int{}, ok: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var pb pingback
		b, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(b, &pb); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		k := fmt.Sprintf("%s/%d", pb.UUID, pb.Payload.Status.Code)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.seen[k]++
		if pb.Payload.Status.Code == 202 && r.seen[k] == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.ok[k]++
		_, _ = fmt.Fprintf(w, `{"uuid":%q}`, pb.UUID)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *pingbackReceiver) acknowledged() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.ok))
	for k, v := range r.ok {
		out[k] = v
	}
	return out
}

// durableConfig has a token with pingbacks to url, one without, one with a
// small rate limit, and small log limits, so that runs drop messages and
// settled pingbacks.
func durableConfig(url string) *Config {
	cfg := defaultConfig()
	cfg.Tokens = []TokenConfig{
		{Token: "tok", Name: "main", Capabilities: []string{ServiceSMS}, RateLimit: 1000, CallbackURL: url},
		{Token: "quiet", Name: "quiet", Capabilities: []string{ServiceSMS}, RateLimit: 1000},
		{Token: "small", Name: "small", Capabilities: []string{ServiceSMS}, RateLimit: 3, Prefix: "ACME: ", CallbackURL: url},
	}
	cfg.Limits = LimitsConfig{MaxMessages: 8, MaxPingbacks: 12}
	cfg.Callback.Timeout = 5 * scenarioSecond
	cfg.Callback.ShutdownTimeout = scenarioSecond / 10
	return cfg
}

const scenarioSecond = 1_000_000_000 // a scenario.Duration of one second

// durableState builds a namespace's Netfinity on clk, keeping records in
// rs (nil: none).
func durableState(t *testing.T, cfg *Config, clk *clock.Clock, rs sandbox.Records) *state {
	t.Helper()
	st, err := newState(sandbox.Env{Namespace: "durable", Clock: clk, Seed: 7, Config: cfg, Records: rs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// sendAs is what the guard and the handler do with a valid request: count
// it in the token's rate window, then accept it. It returns the answer as
// "200 uuid path flood" or "429".
func sendAs(t *testing.T, s *state, tokName, msisdn, text string, id *string) string {
	t.Helper()
	tok := (*s.tokens.Load())[tokName]
	now := s.clock.Now()
	w, allowed := s.limits.hit(tok, ServiceSMS, now)
	if !allowed {
		return fmt.Sprintf("429 window %d/%d", w.count, w.limit)
	}
	body := map[string]any{"msisdn": msisdn, "text": text}
	if id != nil {
		body["id"] = *id
	}
	raw, _ := json.Marshal(body)
	in, errs, ok := decodeSend(raw, s.cfg.CountryCode)
	if !ok || len(errs) > 0 {
		t.Fatalf("test request %s refused: %v", raw, errs)
	}
	m, ok := s.accept(tok, in, now)
	if !ok {
		t.Fatal("the state is closed")
	}
	return fmt.Sprintf("200 %s %s %q window %d", m.UUID, m.Path, m.Flood, w.count)
}

// quiet waits until no pingback is due: none in flight, and the first
// unsettled delivery of each message waits for a later sandbox time.
func quiet(t *testing.T, s *state) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		now := s.clock.Now()
		due := ""
		heads := map[string]bool{}
		for _, d := range s.disp.List() {
			switch d.State {
			case callback.StateSending:
				due = d.ID + " is sending"
			case callback.StatePending:
				if !heads[d.Key] && !d.NextAttemptAt.After(now) {
					due = d.ID + " is due"
				}
				heads[d.Key] = true
			}
			if due != "" {
				break
			}
		}
		if due == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pingbacks still due after 30 s: %s", due)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// saveAll is the state and outbox as a snapshot saves them.
func saveAll(t *testing.T, s *state) (string, string) {
	t.Helper()
	st, err := s.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(s.SaveCallbacks())
	if err != nil {
		t.Fatal(err)
	}
	return string(st), string(cb)
}

// restart builds the state a restarted sandbox would: New on the
// scenario's clock (held), then RestoreState of the snapshot the world
// started from (if any), the clock record, LoadRecords, and the clock let
// go.
func restart(t *testing.T, cfg *Config, now time.Time, snap json.RawMessage, outbox *callback.Outbox, recs []sandbox.Record) (*state, *clock.Clock) {
	t.Helper()
	clk := clock.New(durableStart, true)
	clk.Hold()
	t.Cleanup(clk.Close)
	b := durableState(t, cfg, clk, nil)
	if snap != nil {
		if err := b.RestoreState(snap); err != nil {
			t.Fatal(err)
		}
		if err := b.RestoreCallbacks(*outbox); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(now)
	if err := b.LoadRecords(recs); err != nil {
		t.Fatal(err)
	}
	clk.Release()
	return b, clk
}

// startRun builds a state keeping records, on a frozen clock, with
// pingbacks to a receiver of its own.
func startRun(t *testing.T) (*pingbackReceiver, *Config, *state, *clock.Clock, *sandbox.RecordSet) {
	rcv := newPingbackReceiver(t)
	cfg := durableConfig(rcv.srv.URL)
	clk := clock.New(durableStart, true)
	t.Cleanup(clk.Close)
	rs := sandbox.NewRecordSet()
	return rcv, cfg, durableState(t, cfg, clk, rs), clk, rs
}

func strp(s string) *string { return &s }

// op is one step of a run: a send, a clock advance or a token change.
type op func(t *testing.T, s *state, clk *clock.Clock) string

func sendOp(tok, msisdn, text string, id *string) op {
	return func(t *testing.T, s *state, _ *clock.Clock) string { return sendAs(t, s, tok, msisdn, text, id) }
}

func advanceOp(d time.Duration) op {
	return func(t *testing.T, s *state, clk *clock.Clock) string {
		clk.Advance(d)
		quiet(t, s)
		return "advanced " + d.String()
	}
}

func tokenOp(tc TokenConfig, replace bool) op {
	return func(t *testing.T, s *state, _ *clock.Clock) string {
		if err := s.putToken(tc, replace); err != nil {
			return err.Error()
		}
		return "token " + tc.Token
	}
}

// randomOps draws a run from a seed: sends by every token to covered,
// uncovered and scripted numbers, repeated texts and ids (floods), clock
// advances short and long (past the flood window and rate windows) and
// token changes.
func randomOps(seed uint64, url string, n int) []op {
	r := rand.New(rand.NewPCG(seed, 14))
	msisdns := []string{"359881234567", "359891234567", "359870000001", "359880000301", "359880000302", "359880000400", "359880000503", "447700900123"}
	tokens := []string{"tok", "tok", "quiet", "small"}
	var ops []op
	for i := 0; i < n; i++ {
		switch k := r.IntN(20); {
		case k < 13:
			var id *string
			if r.IntN(2) == 0 {
				id = strp(fmt.Sprintf("c%d", r.IntN(6)))
			}
			ops = append(ops, sendOp(tokens[r.IntN(len(tokens))], msisdns[r.IntN(len(msisdns))], fmt.Sprintf("text %d", r.IntN(4)), id))
		case k < 18:
			ops = append(ops, advanceOp(time.Duration(r.IntN(12))*time.Second))
		case k < 19:
			ops = append(ops, advanceOp(11*time.Minute))
		default:
			cb := url
			if r.IntN(2) == 0 {
				cb = ""
			}
			ops = append(ops, tokenOp(TokenConfig{Token: "quiet", Name: "quiet", Capabilities: []string{ServiceSMS}, RateLimit: 1 + r.IntN(1000), CallbackURL: cb}, true))
		}
	}
	return append(ops, tailOps()...)
}

// tailOps end a run with pingbacks to come: at +5 s a message's 202 waits
// for its retry, its 203 behind it, its 204 is not reached yet.
func tailOps() []op {
	return []op{sendOp("tok", "359881234567", "last", nil), advanceOp(5 * time.Second)}
}

// scriptedOps cover each kind of change once on purpose: a pingback that
// fails and waits for its retry, a delayed path with a voucher, a flood by
// id and by text, a 429, a token added and changed, messages and settled
// pingbacks dropped from their logs; they end as tailOps do.
func scriptedOps(url string) []op {
	ops := []op{
		sendOp("tok", "359881234567", "hello", strp("a1")),
		sendOp("tok", "359880000301", "delayed", nil),
		advanceOp(3 * time.Second),                         // 201s delivered, the first 202 refused: its retry waits
		sendOp("tok", "359881234567", "hello", strp("a1")), // flood: id and text again
		sendOp("small", "359891234567", "one", nil),
		sendOp("small", "359891234567", "two", nil),
		sendOp("small", "359891234567", "three", nil),
		sendOp("small", "359891234567", "four", nil), // 429
		tokenOp(TokenConfig{Token: "new", Name: "new", Capabilities: []string{ServiceSMS}, RateLimit: 50, CallbackURL: url}, false),
		sendOp("new", "447700900123", "abroad", strp("n1")), // uncovered
		tokenOp(TokenConfig{Token: "tok", Name: "main", Capabilities: []string{ServiceSMS}, RateLimit: 1000}, true),
		sendOp("tok", "359870000001", "no pingbacks now", nil),
		advanceOp(20 * time.Second),
	}
	for i := 0; i < 6; i++ { // past maxMessages: the oldest messages are dropped
		ops = append(ops, sendOp("new", fmt.Sprintf("35988100000%d", i), "more", nil))
	}
	return append(ops, advanceOp(2*time.Second), sendOp("new", "359881234567", "last", nil), advanceOp(5*time.Second))
}

// TestRecordsRebuildTheSameState is the key property: a state rebuilt from
// the records another wrote saves to the same bytes (state and outbox),
// answers the next requests as the other does, and after the restart
// sends every pingback that was still to come once, and none that had
// been acknowledged again.
func TestRecordsRebuildTheSameState(t *testing.T) {
	t.Parallel()
	runs := map[string]func(url string) []op{"scripted": scriptedOps}
	for seed := uint64(1); seed <= 6; seed++ {
		runs[fmt.Sprintf("random %d", seed)] = func(url string) []op { return randomOps(seed, url, 30) }
	}
	for name, ops := range runs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rcv, cfg, a, clkA, rs := startRun(t)
			var trace []string
			for _, o := range ops(rcv.srv.URL) {
				trace = append(trace, o(t, a, clkA))
			}
			quiet(t, a)
			stateA, outboxA := saveAll(t, a)
			recs := rs.Records()
			if rs.Err != nil {
				t.Fatal(rs.Err)
			}

			if a.disp.Pending() == 0 || a.awaiting.Load() == 0 {
				t.Fatalf("the run ends with %d pingbacks pending and %d messages walking: the restart would resume nothing", a.disp.Pending(), a.awaiting.Load())
			}
			b, clkB := restart(t, cfg, clkA.Now(), nil, nil, recs)
			stateB, outboxB := saveAll(t, b)
			if stateB != stateA {
				t.Fatalf("rebuilt state\n%s\nwant\n%s\n(run: %s)", stateB, stateA, strings.Join(trace, "; "))
			}
			if outboxB != outboxA {
				t.Fatalf("rebuilt outbox\n%s\nwant\n%s", outboxB, outboxA)
			}

			// The next requests are answered alike: the same uuid, the
			// same flood verdicts, the same rate windows.
			next := []op{
				sendOp("tok", "359881234567", "after", strp("c1")),
				sendOp("quiet", "359881234567", "text 1", strp("c2")),
				sendOp("small", "359891234567", "after", nil),
			}
			for i, o := range next {
				if got, want := o(t, b, clkB), o(t, a, clkA); got != want {
					t.Errorf("next request %d: rebuilt state answers %s, the original %s", i, got, want)
				}
			}
			stateA, outboxA = saveAll(t, a)
			stateB, outboxB = saveAll(t, b)
			if stateB != stateA || outboxB != outboxA {
				t.Errorf("after the same requests the states differ:\n%s\n%s\nwant\n%s\n%s", stateB, outboxB, stateA, outboxA)
			}
			a.Close() // only b sends from here

			clkB.Advance(time.Hour)
			quiet(t, b)
			checkEveryPingbackOnce(t, b, rcv)
		})
	}
}

// checkEveryPingbackOnce: every kept message has walked its path, every
// pingback is settled, and the receiver acknowledged each status of each
// message with a callback URL exactly once.
func checkEveryPingbackOnce(t *testing.T, s *state, rcv *pingbackReceiver) {
	t.Helper()
	ack := rcv.acknowledged()
	for k, n := range ack {
		if n != 1 {
			t.Errorf("pingback %s acknowledged %d times", k, n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for m := range s.messages.All() {
		if !m.Final {
			t.Errorf("message %s stopped at %d statuses", m.UUID, len(m.History))
		}
		if m.CallbackURL == "" {
			continue
		}
		for _, ev := range m.History {
			if k := fmt.Sprintf("%s/%d", m.UUID, ev.Code); ack[k] != 1 {
				t.Errorf("pingback %s acknowledged %d times, want once", k, ack[k])
			}
		}
	}
	for _, d := range s.disp.List() {
		if d.State != callback.StateDelivered {
			t.Errorf("pingback %s is %s", d.ID, d.State)
		}
	}
}

// TestRecordsOfAStateRestoredFromASnapshot is a restart of a namespace that
// started from a snapshot: RestoreState wrote everything it put back, so
// after the restart (RestoreState again, then LoadRecords) the records
// win, and the steps and pingbacks that the second RestoreState re-armed
// are not made twice.
func TestRecordsOfAStateRestoredFromASnapshot(t *testing.T) {
	t.Parallel()
	rcv := newPingbackReceiver(t)
	cfg := durableConfig(rcv.srv.URL)
	clkS := clock.New(durableStart, true)
	t.Cleanup(clkS.Close)
	src := durableState(t, cfg, clkS, nil)
	for _, o := range scriptedOps(rcv.srv.URL)[:4] {
		o(t, src, clkS)
	}
	quiet(t, src)
	snap, err := src.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	outbox := src.SaveCallbacks()
	src.Close()

	clkA := clock.New(durableStart, true)
	t.Cleanup(clkA.Close)
	clkA.Hold()
	rs := sandbox.NewRecordSet()
	a := durableState(t, cfg, clkA, rs)
	if err := a.RestoreState(snap); err != nil {
		t.Fatal(err)
	}
	if err := a.RestoreCallbacks(outbox); err != nil {
		t.Fatal(err)
	}
	clkA.Set(clkS.Now())
	clkA.Release()
	for _, o := range []op{advanceOp(4 * time.Second), sendOp("tok", "359881234567", "later", nil), advanceOp(time.Second)} {
		o(t, a, clkA)
	}
	quiet(t, a)
	stateA, outboxA := saveAll(t, a)

	b, clkB := restart(t, cfg, clkA.Now(), snap, &outbox, rs.Records())
	stateB, outboxB := saveAll(t, b)
	if stateB != stateA || outboxB != outboxA {
		t.Fatalf("rebuilt\n%s\n%s\nwant\n%s\n%s", stateB, outboxB, stateA, outboxA)
	}
	a.Close()
	clkB.Advance(time.Hour)
	quiet(t, b)
	checkEveryPingbackOnce(t, b, rcv)
}

// TestRecordsAreWrittenBeforeTheAnswer: what a send changed is in the
// records when accept returns (the handler answers after it), and a status
// step reached on the clock writes its message.
func TestRecordsAreWrittenBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	clk := clock.New(durableStart, true)
	t.Cleanup(clk.Close)
	rs := sandbox.NewRecordSet()
	s := durableState(t, durableConfig(""), clk, rs)
	kinds := func() string {
		var out []string
		for _, r := range rs.Records() {
			out = append(out, r.Kind+"/"+r.Key)
		}
		return strings.Join(out, " ")
	}
	if got := kinds(); got != "meta/" {
		t.Fatalf("records of a new state: %s, want meta/ alone", got)
	}
	sendAs(t, s, "quiet", "359881234567", "hi", strp("x"))
	tok := (*s.tokens.Load())["quiet"]
	wantKinds := fmt.Sprintf("gen/ id/%016x meta/ msg/%016d text/%016x win/sms.notification/quiet",
		usedFingerprint(t, s, "quiet\x00x"), 1, textFingerprint(s, tok, "359881234567", "hi"))
	if got := kinds(); got != wantKinds {
		t.Errorf("records after a send: %s\nwant %s", got, wantKinds)
	}
	clk.Advance(time.Second) // the first status of the delivered path
	var m message
	for _, r := range rs.Records() {
		if r.Kind == recMessage {
			if err := json.Unmarshal(r.Value, &m); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(m.History) != 1 || m.History[0].Code != 201 {
		t.Errorf("the message's record after its first step: %+v", m)
	}
}

// TestLoadRecordsRefusesWhatItCannotRead names the record at fault and
// changes nothing.
func TestLoadRecordsRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	rcv, cfg, a, clkA, rs := startRun(t)
	for _, o := range scriptedOps(rcv.srv.URL)[:3] {
		o(t, a, clkA)
	}
	quiet(t, a)
	good := rs.Records()
	with := func(kind, key, value string) []sandbox.Record {
		out := slices.Clone(good)
		for i, r := range out {
			if r.Kind == kind && (key == "*" || r.Key == key) {
				out[i].Value = json.RawMessage(value)
				return out
			}
		}
		return append(out, sandbox.Record{Kind: kind, Key: key, Value: json.RawMessage(value)})
	}
	without := func(kind string) []sandbox.Record {
		return slices.DeleteFunc(slices.Clone(good), func(r sandbox.Record) bool { return r.Kind == kind })
	}
	for _, tc := range []struct {
		name string
		recs []sandbox.Record
		want string
	}{
		{"unknown kind", with("pool", "1", `{}`), "record pool/1: not a kind of Netfinity record"},
		{"meta not JSON", with("meta", "", `{`), "record meta/: not Netfinity's meta record: unexpected end of JSON input"},
		{"meta key", with("meta", "", `{"textKey":"zz","idsKey":"1"}`), `record meta/: textKey "zz" is not a 64-bit hex number`},
		{"meta missing", without("meta"), "record meta/ is missing: the records do not describe a Netfinity state"},
		{"generator", with("gen", "", `{"chacha8":"AAAA"}`), "record gen/: not a ChaCha8 state: invalid ChaCha8 encoding"},
		{"message key", with("msg", "1", `{}`), "record msg/1: the key is not a message's seq (16 digits, from 1)"},
		{"message path", with("msg", "*", `{"uuid":"u","path":"lost","history":[]}`), `record msg/0000000000000001: the scenario has no status path "lost"`},
		{"message history", with("msg", "*", `{"uuid":"u","path":"rejectedFunds","history":[],"final":true}`), `record msg/0000000000000001: 0 statuses and final true do not fit path "rejectedFunds" of 1 steps`},
		{"message null", with("msg", "*", `null`), "record msg/0000000000000001: uuid is missing"},
		{"id key", with("id", "xyz", `true`), "record id/xyz: the key is not a fingerprint (16 hex digits)"},
		{"text value", with("text", "*", `"yesterday"`), "record text/" + textKeyOf(good) + ": not a time of sending (unix nanoseconds): json: cannot unmarshal string into Go value of type int64"},
		{"window key", with("win", "*", `{"token":"other","service":"sms.notification","count":1}`), `record win/sms.notification/tok: token "other", service "sms.notification" and count 1 do not fit the key`},
		{"token key", with("tok", "tok", `{"token":"other"}`), `record tok/tok: the token is "other", not its key`},
		{"token IP", with("tok", "tok", `{"token":"tok","allowedIps":["nowhere"]}`), `record tok/tok: "nowhere" is not an IP address`},
		{"pingback", with("cb", "*", `{"id":""}`), `record cb/0000000000000001: id "" is empty or used twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.New(clkA.Now(), true)
			t.Cleanup(clk.Close)
			b := durableState(t, cfg, clk, nil)
			sendAs(t, b, "quiet", "359881234567", "kept", nil)
			stateBefore, outboxBefore := saveAll(t, b)
			err := b.LoadRecords(tc.recs)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("LoadRecords = %v\nwant %s", err, tc.want)
			}
			if st, cb := saveAll(t, b); st != stateBefore || cb != outboxBefore {
				t.Errorf("a refused load changed the state:\n%s\n%s", st, cb)
			}
		})
	}
}

func textKeyOf(recs []sandbox.Record) string {
	for _, r := range recs {
		if r.Kind == recText {
			return r.Key
		}
	}
	return ""
}

// usedFingerprint is the fingerprint of a used token + client id, checked
// to be the one the ids set holds.
func usedFingerprint(t *testing.T, s *state, used string) uint64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	fp := retention.Fingerprint(s.idsKey, used)
	raw, _ := base64.StdEncoding.DecodeString(s.ids.Save().Fingerprints)
	if !bytes.Equal(raw, binary.BigEndian.AppendUint64(nil, fp)) {
		t.Errorf("the ids set holds %x, not the fingerprint %016x of %q", raw, fp, used)
	}
	return fp
}

func textFingerprint(s *state, tok *token, msisdn, text string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return retention.Fingerprint(s.textSeed, tok.cfg.Token+"\x00"+msisdn+"\x00"+text)
}

// FuzzLoadRecords: whatever one record holds, LoadRecords refuses it with
// an error or takes it, never panics, and a state that took it still saves.
func FuzzLoadRecords(f *testing.F) {
	for _, seed := range []struct{ kind, key, value string }{
		{"meta", "", `{"textKey":"1f","idsKey":"2e","textsSwept":"2026-11-22T10:00:00Z","evicted":3}`},
		{"gen", "", `{"chacha8":"Y2hhY2hhODoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`},
		{"tok", "t", `{"token":"t","capabilities":["sms.notification"],"allowedIps":["10.0.0.0/8"]}`},
		{"msg", "0000000000000001", `{"uuid":"u","path":"delivered","history":[{"code":201,"description":"Queued","at":"2026-11-22T10:00:01Z"}],"final":false,"callbackUrl":"http://127.0.0.1:9/","callbacks":["netfinity-cb-1"]}`},
		{"id", "00000000000000ff", `true`},
		{"text", "00000000000000ff", `1795000000000000000`},
		{"win", "sms.notification/t", `{"token":"t","service":"sms.notification","count":2,"ends":"2026-11-22T10:01:00Z"}`},
		{"cb", "0000000000000001", `{"id":"netfinity-cb-1","key":"u","url":"http://127.0.0.1:9/","headers":{},"body":{},"policy":{"retries":3,"retryDelay":"3s","timeout":"30s"},"state":"pending","createdAt":"2026-11-22T10:00:00Z","due":"2026-11-22T10:00:01Z","attempts":[]}`},
		{"cbseq", "", `{"seq":4,"dropped":1}`},
	} {
		f.Add(seed.kind, seed.key, []byte(seed.value))
	}
	f.Fuzz(func(t *testing.T, kind, key string, value []byte) {
		clk := clock.New(durableStart, true)
		defer clk.Close()
		clk.Hold()
		s, err := newState(sandbox.Env{Namespace: "fuzz", Clock: clk, Seed: 1, Config: defaultConfig()})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		recs := []sandbox.Record{{Kind: kind, Key: key, Value: value}}
		if kind != recMeta {
			recs = append(recs, sandbox.Record{Kind: recMeta, Value: json.RawMessage(`{"textKey":"1","idsKey":"2"}`)})
		}
		if err := s.LoadRecords(recs); err != nil {
			if !strings.Contains(err.Error(), "record ") {
				t.Fatalf("error %q does not name the record", err)
			}
			return
		}
		if _, err := s.SaveState(); err != nil {
			t.Fatalf("a loaded state does not save: %v", err)
		}
		_ = s.SaveCallbacks()
	})
}

// BenchmarkAccept measures a send's work on the state (flood memory, log,
// status-path timer), without records and with an in-memory record set:
// the difference is what the records cost a send (a message, its id and
// text fingerprints, the generator; the window is the guard's).
func BenchmarkAccept(b *testing.B) {
	for _, mode := range []string{"memory", "records"} {
		b.Run(mode, func(b *testing.B) {
			clk := clock.New(durableStart, true)
			defer clk.Close()
			var rs sandbox.Records
			if mode == "records" {
				rs = sandbox.NewRecordSet()
			}
			s, err := newState(sandbox.Env{Namespace: "bench", Clock: clk, Seed: 1, Config: defaultConfig(), Records: rs})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			tok := (*s.tokens.Load())["sandbox-netfinity-token"]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := fmt.Sprintf("b%d", i)
				if _, ok := s.accept(tok, sendInput{MsisdnRaw: "359881234567", Msisdn: "359881234567", Text: id, ID: &id}, clk.Now()); !ok {
					b.Fatal("closed")
				}
			}
		})
	}
}
