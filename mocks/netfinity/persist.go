package netfinity

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// savedVersion is the version of Netfinity's part of a namespace snapshot.
const savedVersion = 1

// saved is Netfinity's state in a namespace snapshot: the tokens as they
// stand (live changes included), the kept messages with their status
// history, the flood memory, the rate windows and the seeded generator.
// The pingback outbox is the snapshot's "callbacks" (SaveCallbacks). A
// restored message whose status path has steps to come walks on from its
// last status on the sandbox clock.
type saved struct {
	Version int           `json:"version"`
	Tokens  []TokenConfig `json:"tokens"`
	// Messages are the kept ones, oldest first; Evicted counts those the
	// log dropped (limits.maxMessages). A dropped message's steps to come
	// are not restored.
	Messages []*message         `json:"messages"`
	Evicted  int64              `json:"evicted"`
	UsedIDs  retention.SavedIDs `json:"usedIds"`
	// Texts are the flood memory's fingerprints (hex, keyed by TextKey)
	// with the sandbox time of their last send, sorted.
	TextKey    string        `json:"textKey"`
	Texts      []savedText   `json:"texts"`
	TextsSwept time.Time     `json:"textsSwept"`
	Windows    []savedWindow `json:"rateWindows"`
	// Generator is the ChaCha8 state behind uuids (base64).
	Generator []byte `json:"generator"`
}

type savedText struct {
	Fingerprint string    `json:"fingerprint"`
	LastSent    time.Time `json:"lastSent"`
}

type savedWindow struct {
	Token   string    `json:"token"`
	Service string    `json:"service"`
	Count   int       `json:"count"`
	Ends    time.Time `json:"ends"`
}

// SaveState returns Netfinity's state for a namespace snapshot.
func (s *state) SaveState() (json.RawMessage, error) {
	out := saved{Version: savedVersion, Tokens: []TokenConfig{}, Texts: []savedText{}, Windows: []savedWindow{}}
	for _, t := range *s.tokens.Load() {
		out.Tokens = append(out.Tokens, t.cfg)
	}
	slices.SortFunc(out.Tokens, func(a, b TokenConfig) int { return strings.Compare(a.Token, b.Token) })
	s.rngMu.Lock()
	gen, err := s.rng.MarshalBinary()
	s.rngMu.Unlock()
	if err != nil {
		return nil, err
	}
	out.Generator = gen
	s.mu.Lock()
	msgs, evicted := s.messages.Records()
	raw, err := json.Marshal(msgs) // under the lock: statuses are still being reached
	out.Evicted, out.UsedIDs, out.TextsSwept = evicted, s.ids.Save(), s.textsSwept
	out.TextKey = strconv.FormatUint(s.textSeed, 16)
	for k, last := range s.texts {
		out.Texts = append(out.Texts, savedText{Fingerprint: strconv.FormatUint(k, 16), LastSent: time.Unix(0, last).UTC()})
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &out.Messages); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Texts, func(a, b savedText) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	s.limits.mu.Lock()
	for k, w := range s.limits.by {
		tok, svc, _ := strings.Cut(k, "\x00")
		out.Windows = append(out.Windows, savedWindow{Token: tok, Service: svc, Count: w.count, Ends: w.end})
	}
	s.limits.mu.Unlock()
	slices.SortFunc(out.Windows, func(a, b savedWindow) int {
		return strings.Compare(a.Token+"\x00"+a.Service, b.Token+"\x00"+b.Service)
	})
	return json.Marshal(out)
}

// RestoreState replaces the state built from the scenario with a saved
// one and re-arms the steps still to come of every kept message. Status
// paths are the scenario's: a message on a path it does not have is
// refused.
func (s *state) RestoreState(data json.RawMessage) error {
	var in saved
	if err := sandbox.DecodeState(data, "Netfinity", &in, savedVersion); err != nil {
		return err
	}
	tokens := map[string]*token{}
	for i, tc := range in.Tokens {
		t, err := compileToken(tc)
		if err != nil {
			return fmt.Errorf("tokens[%d]: %v", i, err)
		}
		tokens[tc.Token] = t
	}
	for i, m := range in.Messages {
		if err := s.fitMessage(m); err != nil {
			return fmt.Errorf("messages[%d]: %v", i, err)
		}
	}
	ids, err := retention.RestoreIDs(in.UsedIDs)
	if err != nil {
		return fmt.Errorf("usedIds: %v", err)
	}
	textKey, err := strconv.ParseUint(in.TextKey, 16, 64)
	if err != nil {
		return fmt.Errorf("textKey %q is not a 64-bit hex number", in.TextKey)
	}
	texts := make(map[uint64]int64, len(in.Texts))
	for i, t := range in.Texts {
		k, err := strconv.ParseUint(t.Fingerprint, 16, 64)
		if err != nil {
			return fmt.Errorf("texts[%d].fingerprint %q is not a 64-bit hex number", i, t.Fingerprint)
		}
		texts[k] = t.LastSent.UnixNano()
	}
	rng := &rand.ChaCha8{}
	if err := rng.UnmarshalBinary(in.Generator); err != nil {
		return fmt.Errorf("generator: not a ChaCha8 state: %v", err)
	}
	windows := map[string]*window{}
	for _, w := range in.Windows {
		windows[w.Token+"\x00"+w.Service] = &window{count: w.Count, end: w.Ends}
	}

	s.tokensMu.Lock()
	s.tokens.Store(&tokens)
	if s.rec != nil {
		for _, t := range tokens {
			s.rec.Put(recToken, t.cfg.Token, t.cfg)
		}
	}
	s.tokensMu.Unlock()
	s.rngMu.Lock()
	s.rng = rng
	if s.rec != nil {
		s.putGeneratorLocked()
	}
	s.rngMu.Unlock()
	s.limits.mu.Lock()
	s.limits.by = windows
	if s.rec != nil {
		for k, w := range windows {
			tok, svc, _ := strings.Cut(k, "\x00")
			s.rec.Put(recWindow, windowKey(tok, svc), savedWindow{Token: tok, Service: svc, Count: w.count, Ends: w.end})
		}
	}
	s.limits.mu.Unlock()
	s.mu.Lock()
	s.messages = retention.RestoreLog(s.cfg.Limits.MaxMessages, in.Messages, in.Evicted)
	s.ids, s.textSeed, s.texts, s.textsSwept = ids, textKey, texts, in.TextsSwept
	s.idsKey = keyOf(in.UsedIDs.Key)
	s.lastSeq = 0
	for m := range s.messages.All() {
		s.lastSeq++
		m.seq = s.lastSeq
	}
	if s.rec != nil {
		s.putAllLocked()
	}
	walking := s.walkingLocked()
	s.mu.Unlock()
	s.walkOn(walking)
	return nil
}

// fitMessage checks a restored message against the scenario's status
// paths and sets what its JSON leaves out (empty lists, its status).
func (s *state) fitMessage(m *message) error {
	if m == nil || m.UUID == "" {
		return errors.New("uuid is missing")
	}
	steps, ok := s.cfg.Paths[m.Path]
	switch {
	case !ok:
		return fmt.Errorf("the scenario has no status path %q", m.Path)
	case len(m.History) > len(steps) || m.Final != (len(m.History) == len(steps)):
		return fmt.Errorf("%d statuses and final %v do not fit path %q of %d steps", len(m.History), m.Final, m.Path, len(steps))
	}
	if m.History == nil {
		m.History = []statusEvent{}
	}
	if m.Callbacks == nil {
		m.Callbacks = []string{}
	}
	m.Status = nil
	if len(m.History) > 0 {
		m.Status = &m.History[len(m.History)-1]
	}
	return nil
}

// walkingLocked lists the kept messages whose status path has steps to come.
func (s *state) walkingLocked() []*message {
	var walking []*message
	for m := range s.messages.All() {
		if !m.Final {
			walking = append(walking, m)
		}
	}
	return walking
}

// walkOn re-arms the steps to come of restored messages, each due after
// its last status (or its acceptance).
func (s *state) walkOn(walking []*message) {
	for _, m := range walking {
		prev := m.AcceptedAt
		if m.Status != nil {
			prev = m.Status.At
		}
		if m.CallbackURL != "" {
			s.awaiting.Add(1)
		}
		s.schedule(m, s.cfg.Paths[m.Path], len(m.History), prev)
	}
}

// SaveCallbacks returns the pingback outbox for a namespace snapshot.
func (s *state) SaveCallbacks() callback.Outbox { return s.disp.Save() }

// RestoreCallbacks puts a saved outbox back; a pending pingback is
// accepted by Netfinity's rule for its message's uuid (its key).
func (s *state) RestoreCallbacks(o callback.Outbox) error {
	return s.disp.Restore(o, acceptRestored)
}

// StateVersion says which format version the saved state is.
func (v *saved) StateVersion() int { return v.Version }
