package netfinity

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// Netfinity keeps its state in Env.Records (sandbox.Durable) when the
// sandbox runs with a data directory. Every record is written while the
// lock guarding its change is held, before the answer of the request that
// made the change; a send's records (message, used id, text, meta) in one
// commit (Records.Atomic), so a crash cannot keep its client id as used
// without the message. A status step reached on the sandbox clock writes
// its message after the dispatcher wrote the step's pingback: a crash
// between the two sends that pingback again when the step is reached
// again (deliveries are at least once). The records, by kind and key:
//
//	meta  ""                  durableMeta: the fingerprint keys of the flood
//	                          memory and of the used ids, the last sweep of
//	                          the flood memory, the messages dropped from
//	                          the log (limits.maxMessages). Written by New
//	                          (the keys are random), by RestoreState, on a
//	                          sweep and when a message is dropped.
//	gen   ""                  durableGenerator: the ChaCha8 state behind
//	                          uuids, after every draw.
//	tok   the token's text    TokenConfig: the token as it stands, written
//	                          by the live-change admin routes (tokens are
//	                          never removed; the scenario's others stand).
//	msg   seq, %016d          message: the message as the state view shows
//	                          it, written when it is accepted and at every
//	                          status it reaches; deleted when the log
//	                          drops it.
//	id    fingerprint, %016x  true: a token + client id used once (flood
//	                          protection); kept after its message is gone.
//	text  fingerprint, %016x  the sandbox time (unix ns) a token last sent
//	                          a text to a number; deleted by the sweep.
//	win   service/token       savedWindow: a rate-limit window, written when
//	                          a request opens it or counts in it.
//	cb, cbseq                 the pingback outbox (callback.RecordDelivery,
//	                          callback.RecordCounters), which the dispatcher
//	                          writes itself and LoadRecords hands back to it.
//
// The records are the whole state but for the tokens: New starts with no
// messages, ids, texts or windows and writes meta, and RestoreState (a
// namespace started from a snapshot) writes everything it restores, so
// LoadRecords replaces the messages, ids, texts, windows and generator
// with what the records hold and lays the tokens over the scenario's. Like
// a snapshot, the records keep a message only while the log does: one
// dropped while its status path was still walking does not walk on after
// a restart.
const (
	recMeta      = "meta"
	recGenerator = "gen"
	recToken     = "tok"
	recMessage   = "msg"
	recUsedID    = "id"
	recText      = "text"
	recWindow    = "win"
)

// durableMeta is the "meta" record.
type durableMeta struct {
	TextKey    string    `json:"textKey"`
	IDsKey     string    `json:"idsKey"`
	TextsSwept time.Time `json:"textsSwept"`
	Evicted    int64     `json:"evicted"`
}

// durableGenerator is the "gen" record. The state is wrapped rather than
// written as bare bytes, which a store may keep as they are instead of as
// JSON.
type durableGenerator struct {
	ChaCha8 []byte `json:"chacha8"`
}

func seqKey(seq int64) string              { return fmt.Sprintf("%016d", seq) }
func fingerprintKey(fp uint64) string      { return fmt.Sprintf("%016x", fp) }
func windowKey(tok, service string) string { return service + "/" + tok }

// keyOf reads a fingerprint key written in hex (retention.SavedIDs.Key,
// saved.TextKey), already checked by the caller.
func keyOf(hex string) uint64 {
	k, _ := strconv.ParseUint(hex, 16, 64)
	return k
}

// putMetaLocked writes the meta record to r; s.mu is held (or s not
// shared yet).
func (s *state) putMetaLocked(r sandbox.Records) {
	r.Put(recMeta, "", durableMeta{
		TextKey: strconv.FormatUint(s.textSeed, 16), IDsKey: strconv.FormatUint(s.idsKey, 16),
		TextsSwept: s.textsSwept, Evicted: s.messages.Usage().Evicted,
	})
}

// putGeneratorLocked writes the generator; s.rngMu is held.
func (s *state) putGeneratorLocked() {
	gen, err := s.rng.MarshalBinary()
	if err != nil { // ChaCha8 always marshals
		panic(err)
	}
	s.rec.Put(recGenerator, "", durableGenerator{ChaCha8: gen})
}

// putMessageLocked writes a message to r; s.mu is held.
func (s *state) putMessageLocked(r sandbox.Records, m *message) {
	r.Put(recMessage, seqKey(m.seq), m)
}

// putUsedIDLocked writes the fingerprint of a used token + client id, as
// the ids set keeps it, to r; s.mu is held.
func (s *state) putUsedIDLocked(r sandbox.Records, used string) {
	r.Put(recUsedID, fingerprintKey(retention.Fingerprint(s.idsKey, used)), true)
}

// putAllLocked writes what s.mu guards, for RestoreState: the records
// then hold the whole restored state.
func (s *state) putAllLocked() {
	s.putMetaLocked(s.rec)
	for m := range s.messages.All() {
		s.putMessageLocked(s.rec, m)
	}
	raw, _ := base64.StdEncoding.DecodeString(s.ids.Save().Fingerprints)
	for i := 0; i+8 <= len(raw); i += 8 {
		s.rec.Put(recUsedID, fingerprintKey(binary.BigEndian.Uint64(raw[i:])), true)
	}
	for k, last := range s.texts {
		s.rec.Put(recText, fingerprintKey(k), last)
	}
}

// acceptRestored is the success rule of a pingback put back from a
// snapshot or from records: Netfinity's, for its message's uuid (its key).
func acceptRestored(d callback.SavedDelivery) func(int, []byte) error { return acceptsPingback(d.Key) }

// LoadRecords puts back the state its records describe (see the kinds
// above), after a restart: pending pingbacks are sent when the sandbox
// clock reaches them, settled ones never again, messages walk on from
// their last status, uuids and pingback ids go on from where they stood.
// A record it cannot read is refused with an error naming it; nothing is
// changed then.
func (s *state) LoadRecords(recs []sandbox.Record) error {
	if len(recs) == 0 {
		return nil
	}
	var (
		cb      []callback.Record
		meta    *durableMeta
		rng     *rand.ChaCha8
		tokens  []*token
		msgs    []*message
		fps     []byte
		texts   = map[uint64]int64{}
		windows = map[string]*window{}
	)
	for _, r := range recs {
		at := "record " + r.Kind + "/" + r.Key
		bad := func(format string, a ...any) error { return fmt.Errorf("%s: %s", at, fmt.Sprintf(format, a...)) }
		switch r.Kind {
		case callback.RecordDelivery, callback.RecordCounters:
			cb = append(cb, callback.Record(r))
		case recMeta:
			var m durableMeta
			if err := json.Unmarshal(r.Value, &m); err != nil {
				return bad("not Netfinity's meta record: %v", err)
			}
			if _, err := strconv.ParseUint(m.TextKey, 16, 64); err != nil {
				return bad("textKey %q is not a 64-bit hex number", m.TextKey)
			}
			if _, err := strconv.ParseUint(m.IDsKey, 16, 64); err != nil {
				return bad("idsKey %q is not a 64-bit hex number", m.IDsKey)
			}
			if m.Evicted < 0 {
				return bad("evicted %d is negative", m.Evicted)
			}
			meta = &m
		case recGenerator:
			var g durableGenerator
			rng = &rand.ChaCha8{}
			if err := json.Unmarshal(r.Value, &g); err != nil {
				return bad("not a generator record: %v", err)
			}
			if err := rng.UnmarshalBinary(g.ChaCha8); err != nil {
				return bad("not a ChaCha8 state: %v", err)
			}
		case recToken:
			var tc TokenConfig
			if err := json.Unmarshal(r.Value, &tc); err != nil {
				return bad("not a token: %v", err)
			}
			if tc.Token != r.Key {
				return bad("the token is %q, not its key", tc.Token)
			}
			t, err := compileToken(tc)
			if err != nil {
				return bad("%v", err)
			}
			tokens = append(tokens, t)
		case recMessage:
			seq, err := strconv.ParseInt(r.Key, 10, 64)
			if err != nil || seq < 1 || r.Key != seqKey(seq) {
				return bad("the key is not a message's seq (16 digits, from 1)")
			}
			var m *message
			if err := json.Unmarshal(r.Value, &m); err != nil {
				return bad("not a message: %v", err)
			}
			if err := s.fitMessage(m); err != nil {
				return bad("%v", err)
			}
			m.seq = seq
			msgs = append(msgs, m)
		case recUsedID, recText:
			fp, err := strconv.ParseUint(r.Key, 16, 64)
			if err != nil || r.Key != fingerprintKey(fp) {
				return bad("the key is not a fingerprint (16 hex digits)")
			}
			if r.Kind == recUsedID {
				fps = binary.BigEndian.AppendUint64(fps, fp)
				continue
			}
			var last int64
			if err := json.Unmarshal(r.Value, &last); err != nil {
				return bad("not a time of sending (unix nanoseconds): %v", err)
			}
			texts[fp] = last
		case recWindow:
			var w savedWindow
			if err := json.Unmarshal(r.Value, &w); err != nil {
				return bad("not a rate-limit window: %v", err)
			}
			if r.Key != windowKey(w.Token, w.Service) || w.Count < 0 {
				return bad("token %q, service %q and count %d do not fit the key", w.Token, w.Service, w.Count)
			}
			windows[w.Token+"\x00"+w.Service] = &window{count: w.Count, end: w.Ends}
		default:
			return bad("not a kind of Netfinity record")
		}
	}
	if meta == nil {
		return fmt.Errorf("record %s/ is missing: the records do not describe a Netfinity state", recMeta)
	}
	// The ids arrive in key order, which is the order of their values.
	ids, err := retention.RestoreIDs(retention.SavedIDs{Key: meta.IDsKey, Fingerprints: base64.StdEncoding.EncodeToString(fps)})
	if err != nil {
		return fmt.Errorf("record %s/: %v", recMeta, err)
	}
	slices.SortFunc(msgs, func(a, b *message) int { return int(a.seq - b.seq) })
	// The outbox last of the checks: it changes the dispatcher only once
	// every record has been read.
	if err := s.disp.LoadRecords(cb, acceptRestored); err != nil {
		return err
	}

	s.tokensMu.Lock()
	next := maps.Clone(*s.tokens.Load())
	for _, t := range tokens {
		next[t.cfg.Token] = t
	}
	s.tokens.Store(&next)
	s.tokensMu.Unlock()
	if rng != nil {
		s.rngMu.Lock()
		s.rng = rng
		s.rngMu.Unlock()
	}
	s.limits.mu.Lock()
	s.limits.by = windows
	s.limits.mu.Unlock()
	s.mu.Lock()
	s.messages = retention.RestoreLog(s.cfg.Limits.MaxMessages, msgs, meta.Evicted)
	s.ids, s.idsKey, s.texts = ids, keyOf(meta.IDsKey), texts
	s.textSeed, s.textsSwept = keyOf(meta.TextKey), meta.TextsSwept
	s.lastSeq = 0
	if len(msgs) > 0 {
		s.lastSeq = msgs[len(msgs)-1].seq
	}
	// The steps RestoreState re-armed belong to the messages just replaced.
	s.walk.Add(1)
	s.awaiting.Store(0)
	walking := s.walkingLocked()
	s.mu.Unlock()
	s.walkOn(walking)
	return nil
}
