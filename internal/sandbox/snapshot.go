package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/events"
	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

// A namespace snapshot is one JSON file holding a namespace's whole world:
// the scenario it was built from, its clock, its fault rules with their
// counters, every provider's state, the callback outbox and, optionally,
// the journal. GET /__sandbox/snapshot saves one, PUT /__sandbox/snapshot
// and a scenario's `snapshot:` key start a namespace from one, so a demo
// prepared once replays from the same point every time.

// Snapshot file identity.
const (
	SnapshotFormat  = "provider-sandbox/snapshot"
	SnapshotVersion = 1
)

// MaxSnapshotBytes caps a snapshot uploaded through PUT /__sandbox/snapshot
// or named by a scenario. A NetRefer registration takes about 400 bytes of
// a snapshot (50,000 of them: 20 MB), so the cap holds some 600,000 events.
const MaxSnapshotBytes = 256 << 20

// Snapshot is the snapshot file. Maps are written with sorted keys and
// every provider writes its state in a fixed order, so two snapshots of
// the same state are the same bytes.
type Snapshot struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	Namespace string `json:"namespace"`
	// CreatedAt is the sandbox clock when the snapshot was taken.
	CreatedAt time.Time        `json:"createdAt"`
	Scenario  SnapshotScenario `json:"scenario"`
	Clock     SnapshotClock    `json:"clock"`
	Faults    faults.Saved     `json:"faults"`
	// Providers holds each provider's state (Persistent), by name.
	Providers map[string]json.RawMessage `json:"providers"`
	// Callbacks holds each provider's outbox (CallbackOutbox), by name.
	Callbacks map[string]callback.Outbox `json:"callbacks"`
	// Journal is there when the snapshot was asked for with ?journal=true.
	Journal *journal.Saved `json:"journal,omitempty"`
}

// SnapshotScenario is the scenario a snapshot's namespace was built from.
type SnapshotScenario struct {
	// Name is where the scenario came from (its file name).
	Name string `json:"name"`
	// Text is the scenario file as it was loaded.
	Text string `json:"text"`
	// SigningKeyPEM is the key the namespace signed tokens with, when the
	// scenario fixes none (the process's generated key): tokens issued
	// before the snapshot verify after a restore in another process.
	SigningKeyPEM string `json:"signingKeyPEM,omitempty"`
}

// SnapshotClock is the sandbox clock of a snapshot.
type SnapshotClock struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

// SnapshotError is why a snapshot file is refused: Status 400 when it is
// not a snapshot this sandbox reads (not JSON, another format or
// version), 422 when it is one whose content cannot be restored.
type SnapshotError struct {
	Status   int
	Detail   string
	Problems scenario.Problems
}

func (e *SnapshotError) Error() string {
	if len(e.Problems) == 0 {
		return e.Detail
	}
	return e.Detail + ":\n" + e.Problems.Error()
}

// SaveSnapshot returns the namespace's world as a snapshot file, with the
// journal when withJournal is set. It holds the reset lock, so a reset
// cannot replace the world halfway; requests may go on meanwhile, and each
// provider saves its state under its own lock, whole.
func (ns *Namespace) SaveSnapshot(withJournal bool) ([]byte, error) {
	ns.resetMu.Lock()
	defer ns.resetMu.Unlock()
	if ns.deleted {
		return nil, ErrNoNamespace
	}
	w := ns.world.Load()
	sc := w.scenario
	snap := Snapshot{
		Format: SnapshotFormat, Version: SnapshotVersion, Namespace: ns.Name, CreatedAt: w.clock.Now(),
		Scenario:  SnapshotScenario{Name: sc.File.Name, Text: string(sc.File.Source)},
		Clock:     SnapshotClock{Now: w.clock.Now(), Frozen: w.clock.Frozen()},
		Faults:    w.faults.Save(),
		Providers: map[string]json.RawMessage{},
		Callbacks: map[string]callback.Outbox{},
	}
	if sc.Common().Keys.SigningKeyPEM == "" && sc.Tokens != nil {
		key, err := sc.Tokens.PrivateKeyPEM()
		if err != nil {
			return nil, err
		}
		snap.Scenario.SigningKeyPEM = key
	}
	for _, p := range Providers() {
		st := w.states[p.Name]
		if ps, ok := st.(Persistent); ok {
			raw, err := ps.SaveState()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.Name, err)
			}
			snap.Providers[p.Name] = raw
		}
		if cb, ok := st.(CallbackOutbox); ok {
			snap.Callbacks[p.Name] = cb.SaveCallbacks()
		}
	}
	if withJournal {
		j := ns.Journal.Save()
		snap.Journal = &j
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(snap); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseSnapshot reads a snapshot file and loads the scenario it carries.
// The result is a scenario whose namespaces start from the snapshot:
// Reset with it restores the snapshot, and so does every later reset.
// Provider state is checked when a world is built from it (Reset), or at
// once by CheckSnapshot.
func ParseSnapshot(data []byte) (*Scenario, error) {
	var snap Snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&snap); err != nil {
		return nil, &SnapshotError{Status: 400, Detail: "not a snapshot file: " + jsonProblem(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SnapshotError{Status: 400, Detail: "not a snapshot file: more data follows the JSON object"}
	}
	if snap.Format != SnapshotFormat {
		return nil, &SnapshotError{Status: 400, Detail: fmt.Sprintf("format is %q, expected %q (save one with GET /__sandbox/snapshot)", snap.Format, SnapshotFormat)}
	}
	if snap.Version != SnapshotVersion {
		return nil, &SnapshotError{Status: 400, Detail: fmt.Sprintf("version %d is not supported; this sandbox reads version %d", snap.Version, SnapshotVersion)}
	}
	sc, probs := LoadScenario(snap.Scenario.Name, []byte(snap.Scenario.Text))
	if len(probs) > 0 {
		return nil, &SnapshotError{Status: 422, Detail: fmt.Sprintf("the snapshot's scenario has %d problem(s)", len(probs)), Problems: probs}
	}
	if key := snap.Scenario.SigningKeyPEM; key != "" && sc.Common().Keys.SigningKeyPEM == "" {
		issuer, err := tokens.New(key)
		if err != nil {
			return nil, &SnapshotError{Status: 422, Detail: "scenario.signingKeyPEM: " + err.Error()}
		}
		sc.Tokens = issuer
	}
	var unknown []string
	for name := range snap.Providers {
		if _, ok := Lookup(name); !ok {
			unknown = append(unknown, "providers."+name)
		}
	}
	for name := range snap.Callbacks {
		if _, ok := Lookup(name); !ok {
			unknown = append(unknown, "callbacks."+name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &SnapshotError{Status: 422, Detail: fmt.Sprintf("%s: no such provider in this sandbox; providers: %s",
			strings.Join(unknown, ", "), strings.Join(registeredOps{}.ProviderNames(), ", "))}
	}
	if snap.Clock.Now.IsZero() {
		return nil, &SnapshotError{Status: 422, Detail: "clock.now is missing"}
	}
	sc.Snapshot = &snap
	return sc, nil
}

// jsonProblem words a decoding error of a snapshot file.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Sprintf("%s is %s, expected %s", te.Field, te.Value, te.Type)
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// CheckSnapshot builds a world from a snapshot scenario and closes it, so
// that a snapshot a scenario file names is judged whole when the file is
// loaded (start-up, scenario validate), not at the first namespace.
func CheckSnapshot(sc *Scenario) error {
	srv := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ns := &Namespace{Name: sc.Snapshot.Namespace, server: srv, events: events.New()}
	if !ValidNamespaceName(ns.Name) {
		ns.Name = DefaultNamespace
	}
	w, err := ns.build(sc)
	if err != nil {
		return err
	}
	w.close()
	return nil
}

// restore puts a snapshot's clock, faults, provider state and outboxes
// into a world just built from its scenario. The world's clock is held:
// nothing restored fires before the world is in force (activate).
func (w *world) restore(snap *Snapshot) error {
	w.clock.Set(snap.Clock.Now)
	w.clock.Freeze(snap.Clock.Frozen)
	if probs := w.faults.Restore(snap.Faults); len(probs) > 0 {
		for i := range probs {
			probs[i].Path = "faults." + probs[i].Path
		}
		return &SnapshotError{Status: 422, Detail: "the snapshot's fault rules cannot be restored", Problems: probs}
	}
	names := make([]string, 0, len(snap.Providers))
	for name := range snap.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ps, ok := w.states[name].(Persistent)
		if !ok {
			return &SnapshotError{Status: 422, Detail: fmt.Sprintf("providers.%s: provider %q keeps no state a snapshot restores", name, name)}
		}
		if err := ps.RestoreState(snap.Providers[name]); err != nil {
			return &SnapshotError{Status: 422, Detail: fmt.Sprintf("providers.%s: %v", name, err)}
		}
	}
	for _, name := range sortedKeys(snap.Callbacks) {
		cb, ok := w.states[name].(CallbackOutbox)
		if !ok {
			return &SnapshotError{Status: 422, Detail: fmt.Sprintf("callbacks.%s: provider %q sends no callbacks", name, name)}
		}
		if err := cb.RestoreCallbacks(snap.Callbacks[name]); err != nil {
			return &SnapshotError{Status: 422, Detail: fmt.Sprintf("callbacks.%s: %v", name, err)}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// activate runs once a world is in force: a snapshot's journal is put
// back, request ids go on past its entries', and the held clock is let go.
func (ns *Namespace) activate(w *world) {
	if snap := w.scenario.Snapshot; snap != nil && snap.Journal != nil {
		ns.Journal.Restore(*snap.Journal)
		ns.server.seqAtLeast(snap.Journal.Entries)
	}
	w.clock.Release()
}

// seqAtLeast moves the request-id counter past the ids of restored journal
// entries, so that no later request shares an id with one of them.
func (s *Server) seqAtLeast(entries []*journal.Entry) {
	var top uint64
	for _, e := range entries {
		if hex, ok := strings.CutPrefix(e.ID, "req_"); ok {
			if n, err := strconv.ParseUint(hex, 16, 64); err == nil && n > top {
				top = n
			}
		}
	}
	for {
		cur := s.seq.Load()
		if cur >= top || s.seq.CompareAndSwap(cur, top) {
			return
		}
	}
}

// SavedState is a provider's saved state as RestoreState decodes it: it
// says which version of the provider's format it is.
type SavedState interface{ StateVersion() int }

// DecodeState is how a provider's RestoreState reads its saved state:
// strictly (an unknown field is an error, as in a scenario), then checks
// that it is version want. what names the provider in the error.
func DecodeState(data json.RawMessage, what string, into SavedState, want int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("not %s state: %v", what, err)
	}
	if v := into.StateVersion(); v != want {
		return fmt.Errorf("version %d is not supported; this sandbox reads version %d", v, want)
	}
	return nil
}
