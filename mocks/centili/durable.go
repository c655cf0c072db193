package centili

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// Centili keeps itself in Env.Records (sandbox.Durable) as these records,
// each Put by the request that changes it, under s.mu, before the answer
// is written:
//
//	kind     key                     value
//	meta     ""                      durableMeta: next transaction id and
//	                                 the PCG state
//	pools    serviceKey              savedService: the service's pools, in
//	                                 the order gifts drain them (a gift or a
//	                                 top-up rewrites its service's handful)
//	svc      serviceKey              durableService: timeCreated, Put by New
//	                                 for a service whose scenario gives
//	                                 none (it comes from the clock then)
//	tx       %016d log sequence      savedTransaction; Deleted when the log
//	                                 drops it
//	drop     %016x fingerprint       {}: the clientId fingerprint of a
//	                                 dropped transaction, one record each
//	sess     session id              savedSession, or null for a session of
//	                                 the restored snapshot that has ended
//	revoked  access token jti        its exp, or null for a jti of the
//	                                 restored snapshot swept since
//
// The log sequence of a transaction is its place among all the log ever
// held (the eviction count plus its index when it was added), so the log
// keeps the last maxTransactions numbers up to the highest, and the
// eviction count is the first kept number: LoadRecords needs no counter
// for it. Sessions and revoked tokens that end are Deleted, except those
// a snapshot restored at build time (RestoreState): a restart restores
// them again from the scenario's snapshot, so their end is written as a
// null record instead. The fingerprint key of the dropped-clientId set is
// derived from the seed and the namespace (or restored with a snapshot),
// so no record holds it.
//
// A gift's records reach the disk in one commit (Records.Atomic); those
// of every request are also Put in an order whose every prefix loads, so
// that a crash between two commits of one request (a login and the
// tokens it issues, a refresh) leaves a state that loads: the meta record before the session or the
// transaction that used its counter or generator (an id is never drawn
// twice), a new transaction before the Delete of the one it pushed out
// (LoadRecords drops a transaction beyond the log's limit itself, and
// remembers its clientId), and the pool last (a gift whose pool was not
// written is replayed on retry, never assigned twice).
const (
	kindMeta    = "meta"
	kindPools   = "pools"
	kindService = "svc"
	kindTx      = "tx"
	kindDrop    = "drop"
	kindSession = "sess"
	kindRevoked = "revoked"
)

// durableMeta is the meta record: what changes with nearly every request
// and is small.
type durableMeta struct {
	NextTxID int64 `json:"nextTransactionId"`
	// Generator is the PCG state behind session and token ids (base64).
	Generator []byte `json:"generator"`
}

// durableService is the svc record: what New took from the clock.
type durableService struct {
	TimeCreated string `json:"timeCreated"`
}

// droppedKey is the fingerprint key of a namespace's dropped-clientId set:
// fixed by the seed and the namespace, so that the set New builds after a
// restart reads the fingerprints written before it.
func droppedKey(seed int64, namespace string) uint64 {
	return retention.Fingerprint(uint64(seed), "centili dropped clientIds of "+namespace)
}

// newDroppedIDs returns an empty set with the given fingerprint key.
func newDroppedIDs(key uint64) *retention.IDs {
	ids, _ := retention.RestoreIDs(retention.SavedIDs{Key: strconv.FormatUint(key, 16)}) // a valid key, no fingerprints
	return ids
}

// putNewLocked Puts what New derived from the clock: the creation time of
// services the scenario gives none.
func (s *State) putNewLocked() {
	if !s.durable {
		return
	}
	for _, sc := range s.cfg.Services {
		if sc.TimeCreated == "" {
			s.rec.Put(kindService, sc.ServiceKey, durableService{TimeCreated: s.services[sc.ServiceKey].created.UTC().Format(timeLayout)})
		}
	}
}

// atomicLocked runs f with every record it writes going to the disk in
// one commit (Records.Atomic). Callers hold s.mu, which guards s.rec too.
func (s *State) atomicLocked(f func()) {
	outer := s.rec
	defer func() { s.rec = outer }()
	outer.Atomic(func(r sandbox.Records) {
		s.rec = r
		f()
	})
}

// putMetaLocked Puts the counters and the generator.
func (s *State) putMetaLocked() {
	if !s.durable {
		return
	}
	gen, _ := s.src.MarshalBinary()
	s.rec.Put(kindMeta, "", durableMeta{NextTxID: s.nextTxID, Generator: gen})
}

// putPoolsLocked Puts a service's pools.
func (s *State) putPoolsLocked(sv *service) {
	if !s.durable {
		return
	}
	s.rec.Put(kindPools, sv.key, savedServiceOf(sv))
}

// txSeqLocked is the log sequence the next transaction gets.
func (s *State) txSeqLocked() int64 {
	if !s.durable {
		return 0
	}
	return s.txs.Usage().Evicted + int64(s.txs.Len())
}

// putTxLocked Puts transaction seq and, when adding it made the log drop
// its oldest, Puts that one's clientId fingerprint and Deletes its record.
func (s *State) putTxLocked(seq int64, tx *Transaction, dropped bool, droppedKey string) {
	if !s.durable {
		return
	}
	s.rec.Put(kindTx, txKey(seq), savedTransaction{Transaction: *tx, HTTPStatus: tx.status})
	if dropped {
		s.rec.Put(kindDrop, fmt.Sprintf("%016x", retention.Fingerprint(s.dropKey, droppedKey)), struct{}{})
		s.rec.Delete(kindTx, txKey(seq-int64(s.txs.Len())))
	}
}

func txKey(seq int64) string { return fmt.Sprintf("%016d", seq) }

// putSessionLocked Puts a session as it stands.
func (s *State) putSessionLocked(se *session) {
	if !s.durable {
		return
	}
	s.rec.Put(kindSession, se.ID, savedSessionOf(se))
}

// endSessionLocked removes a session, and its record.
func (s *State) endSessionLocked(id string) {
	delete(s.sessions, id)
	if s.durable {
		s.forget(kindSession, id)
	}
}

// revokeLocked revokes an access token's jti until exp.
func (s *State) revokeLocked(jti string, exp time.Time) {
	s.revoked[jti] = exp
	if s.durable {
		s.rec.Put(kindRevoked, jti, exp)
	}
}

// unrevokeLocked forgets a revoked jti (it has expired anyway).
func (s *State) unrevokeLocked(jti string) {
	delete(s.revoked, jti)
	if s.durable {
		s.forget(kindRevoked, jti)
	}
}

// forget removes a record, or writes null for one the restored snapshot
// brings back at every restart.
func (s *State) forget(kind, key string) {
	if _, ok := s.restored[kind+"\x00"+key]; ok {
		s.rec.Put(kind, key, nil)
		return
	}
	s.rec.Delete(kind, key)
}

// markRestoredLocked remembers which sessions and revoked jti a snapshot
// restored at build time: their end needs a null record (forget).
func (s *State) markRestoredLocked() {
	if !s.durable {
		return
	}
	s.restored = map[string]struct{}{}
	for id := range s.sessions {
		s.restored[kindSession+"\x00"+id] = struct{}{}
	}
	for jti := range s.revoked {
		s.restored[kindRevoked+"\x00"+jti] = struct{}{}
	}
}

// savedServiceOf is a service's pools as a snapshot and the pools record
// keep them.
func savedServiceOf(sv *service) savedService {
	out := savedService{ServiceKey: sv.key, Pools: make([]savedPool, 0, len(sv.pools))}
	for _, p := range sv.pools {
		out.Pools = append(out.Pools, savedPool{Operator: p.operator, TotalAmount: p.total, AssignedAmount: p.assigned, ExpirationDate: p.expires.Format(timeLayout)})
	}
	return out
}

// toPools reads saved pools back, refusing an oversubscribed one; path
// names the list in errors.
func (v savedService) toPools(path string) ([]*pool, error) {
	list := make([]*pool, 0, len(v.Pools))
	for j, p := range v.Pools {
		exp, err := parseTime(p.ExpirationDate)
		if err != nil {
			return nil, fmt.Errorf("%s[%d].expirationDate: %v", path, j, err)
		}
		if p.TotalAmount < 0 || p.AssignedAmount < 0 || p.AssignedAmount > p.TotalAmount {
			return nil, fmt.Errorf("%s[%d]: assignedAmount %d is not between 0 and totalAmount %d", path, j, p.AssignedAmount, p.TotalAmount)
		}
		list = append(list, &pool{operator: p.Operator, total: p.TotalAmount, assigned: p.AssignedAmount, expires: exp})
	}
	return list, nil
}

// toTransaction reads a saved transaction back; a FAILED one must carry
// what its replay answers.
func (v savedTransaction) toTransaction() (*Transaction, error) {
	t := v.Transaction
	t.status = v.HTTPStatus
	if t.Status == statusFailed && (t.ErrorType == nil || t.ErrorMessage == nil || t.status < 400) {
		return nil, errors.New("a FAILED transaction needs errorType, errorMessage and an error httpStatus")
	}
	return &t, nil
}

// savedSessionOf is a session as a snapshot and the sess record keep it.
func savedSessionOf(se *session) savedSession {
	return savedSession{session: *se, CurrentRefresh: se.currentRefresh, LastIssued: se.lastIssued}
}

// toSession reads a saved session back.
func (v savedSession) toSession() (*session, error) {
	se := v.session
	se.currentRefresh, se.lastIssued = v.CurrentRefresh, v.LastIssued
	if se.ID == "" {
		return nil, errors.New("sessionId is missing")
	}
	return &se, nil
}

// loaded is what LoadRecords read, checked whole before any of it is used.
type loaded struct {
	meta     *durableMeta
	src      *rand.PCG
	pools    map[string][]*pool
	created  map[string]time.Time
	txs      []*Transaction // in sequence order, from firstTx on
	firstTx  int64
	drops    []uint64
	sessions map[string]*session // nil value: ended
	revoked  map[string]*time.Time
}

// LoadRecords puts back the records Centili wrote (see the kinds above) on
// top of the state New (and RestoreState) built. A record it cannot read,
// or a transaction log with a gap, is refused naming the record; nothing
// is changed then.
func (s *State) LoadRecords(recs []sandbox.Record) error {
	in := loaded{pools: map[string][]*pool{}, created: map[string]time.Time{}, sessions: map[string]*session{}, revoked: map[string]*time.Time{}}
	for _, r := range recs {
		if err := s.readRecord(&in, r); err != nil {
			return fmt.Errorf("record %s %q: %v", r.Kind, r.Key, err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	all, evicted, err := s.mergeLog(&in)
	if err != nil {
		return err
	}
	dropped, err := s.withDrops(in.drops)
	if err != nil {
		return err
	}

	for k, list := range in.pools {
		s.services[k].pools = list
	}
	for k, t := range in.created {
		s.services[k].created = t
	}
	if in.meta != nil {
		s.nextTxID = in.meta.NextTxID
		s.src, s.rng = in.src, rand.New(in.src)
	}
	s.txs = retention.RestoreLog(s.cfg.Limits.MaxTransactions, all, evicted)
	s.byClient = make(map[string]*Transaction, len(all))
	for _, t := range all {
		s.byClient[t.ServiceKey+"\x00"+t.ClientID] = t
	}
	s.dropped = dropped
	for id, se := range in.sessions {
		if se == nil {
			delete(s.sessions, id)
		} else {
			s.sessions[id] = se
		}
	}
	for jti, exp := range in.revoked {
		if exp == nil {
			delete(s.revoked, jti)
		} else {
			s.revoked[jti] = *exp
		}
	}
	return nil
}

// mergeLog puts the tx records after the log New or RestoreState built
// and keeps the last maxTransactions of them, as the log did: those it
// drops (the built log's oldest, or a record whose Delete a crash lost)
// have their clientIds added to in.drops. It returns the kept
// transactions and how many the log has dropped in all.
func (s *State) mergeLog(in *loaded) ([]*Transaction, int64, error) {
	base, first := s.txs.Records()
	all := append(base[:len(base):len(base)], in.txs...)
	if len(in.txs) > 0 {
		if next := first + int64(len(base)); in.firstTx < next {
			return nil, 0, fmt.Errorf("record tx %q: the log already holds transactions up to %d", txKey(in.firstTx), next-1)
		} else if in.firstTx > next {
			// The built log's transactions and those Deleted after it are
			// gone (drop records hold their clientIds): the records go on
			// from the first kept.
			all, first = in.txs, in.firstTx
		}
	}
	if over := len(all) - s.cfg.Limits.MaxTransactions; over > 0 {
		s.dropAll(in, all[:over])
		all, first = all[over:], first+int64(over)
	}
	return all, first, nil
}

// dropAll adds the clientId fingerprints of txs to in.drops.
func (s *State) dropAll(in *loaded, txs []*Transaction) {
	for _, t := range txs {
		in.drops = append(in.drops, retention.Fingerprint(s.dropKey, t.ServiceKey+"\x00"+t.ClientID))
	}
}

// readRecord decodes and checks one record into in.
func (s *State) readRecord(in *loaded, r sandbox.Record) error {
	if !utf8.ValidString(r.Key) {
		return errors.New("the key is not UTF-8 (Centili's keys are ids it issued)")
	}
	isNull := string(r.Value) == "null"
	decode := func(v any) error {
		if err := json.Unmarshal(r.Value, v); err != nil {
			return fmt.Errorf("not a %s record: %v", r.Kind, err)
		}
		return nil
	}
	switch r.Kind {
	case kindMeta:
		if r.Key != "" {
			return errors.New("the meta record has the empty key")
		}
		var m durableMeta
		if err := decode(&m); err != nil {
			return err
		}
		src := &rand.PCG{}
		if err := src.UnmarshalBinary(m.Generator); err != nil {
			return fmt.Errorf("generator: not a PCG state: %v", err)
		}
		in.meta, in.src = &m, src
	case kindPools:
		var v savedService
		if err := decode(&v); err != nil {
			return err
		}
		if s.services[r.Key] == nil || v.ServiceKey != r.Key {
			return fmt.Errorf("the scenario has no service %q, or the record names another (%q)", r.Key, v.ServiceKey)
		}
		list, err := v.toPools("pools")
		if err != nil {
			return err
		}
		in.pools[r.Key] = list
	case kindService:
		var v durableService
		if err := decode(&v); err != nil {
			return err
		}
		if s.services[r.Key] == nil {
			return fmt.Errorf("the scenario has no service %q", r.Key)
		}
		t, err := parseTime(v.TimeCreated)
		if err != nil {
			return fmt.Errorf("timeCreated: %v", err)
		}
		in.created[r.Key] = t
	case kindTx:
		seq, err := strconv.ParseInt(r.Key, 10, 64)
		if err != nil || len(r.Key) != 16 || seq < 0 {
			return errors.New("the key is not a 16-digit log sequence number")
		}
		if next := in.firstTx + int64(len(in.txs)); len(in.txs) > 0 && seq != next {
			return fmt.Errorf("transaction %d is missing: the log has no gaps", next)
		}
		var v savedTransaction
		if err := decode(&v); err != nil {
			return err
		}
		t, err := v.toTransaction()
		if err != nil {
			return err
		}
		if len(in.txs) == 0 {
			in.firstTx = seq
		}
		in.txs = append(in.txs, t)
	case kindDrop:
		h, err := strconv.ParseUint(r.Key, 16, 64)
		if err != nil || len(r.Key) != 16 {
			return errors.New("the key is not a 16-digit hex fingerprint")
		}
		in.drops = append(in.drops, h)
	case kindSession:
		if isNull {
			in.sessions[r.Key] = nil
			return nil
		}
		var v savedSession
		if err := decode(&v); err != nil {
			return err
		}
		se, err := v.toSession()
		if err == nil && se.ID != r.Key {
			err = fmt.Errorf("the record holds session %q", se.ID)
		}
		if err != nil {
			return err
		}
		in.sessions[r.Key] = se
	case kindRevoked:
		if isNull {
			in.revoked[r.Key] = nil
			return nil
		}
		var exp time.Time
		if err := decode(&exp); err != nil {
			return err
		}
		in.revoked[r.Key] = &exp
	default:
		return errors.New("Centili writes no record of this kind")
	}
	return nil
}

// withDrops returns the dropped-clientId set with the fingerprints of drop
// records added.
func (s *State) withDrops(drops []uint64) (*retention.IDs, error) {
	if len(drops) == 0 {
		return s.dropped, nil
	}
	v := s.dropped.Save()
	buf, err := base64.StdEncoding.DecodeString(v.Fingerprints)
	if err != nil {
		return nil, err
	}
	for _, h := range drops {
		buf = binary.BigEndian.AppendUint64(buf, h)
	}
	v.Fingerprints = base64.StdEncoding.EncodeToString(buf)
	return retention.RestoreIDs(v)
}
