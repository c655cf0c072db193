package netrefer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// NetRefer keeps its state in Env.Records (sandbox.Durable) as these
// records; C is a client id as the scenario spells it (a GUID, so the first
// "/" of a key ends it) and N a zero-padded index ("%016d"):
//
//	cust  C/{customerId}    a customer as its registration created it, with
//	                        pos, its place among the client's customers
//	cupd  C/{customerId}/N  the customer's update number N: its eventId and
//	                        countryCode, status, bTag and username after it
//	tx    C/{transactionId} a deposit, withdrawal or activity as the event
//	                        that created it left it (history of one), with
//	                        pos, its place among the client's transactions
//	txh   C/{transactionId}/N  entry N (from 1) of the transaction's history:
//	                        a correction (the values after it) or a reversal
//	rt    {refresh token}   a refresh token kept (limits.maxRefreshTokens):
//	                        client, user, scope or resource, tenant, and n,
//	                        how many tokens had been issued with it; Deleted
//	                        when it is forgotten
//	win   C                 the client's rate-limit and quota windows
//	meta  ""                the counter behind generated ids and the
//	                        stored-event and refused-payload counts
//
// Every record but win and meta is Put once and never rewritten: an
// accepted event adds one record of a size that does not grow with the
// state (an update or correction is an entry of its own, not a rewrite of
// a customer's or transaction's whole history), whatever the namespace
// holds. The accepted eventIds are not records of their own: every
// accepted event is in exactly one of them (a registration's registeredBy,
// an update, a history entry), so LoadRecords puts each id back as
// processed, and a duplicate is refused after a restart as before. Nothing
// ingested is ever dropped (limits.maxStoredEvents refuses payloads
// instead), so no id needs a fingerprint.
//
// The records describe what happened after New and RestoreState built the
// state: LoadRecords adds the customers and transactions at the places
// they were created at (after those of a restored snapshot), and the
// updates and history entries after those the restored ones had.
const (
	kindCustomer = "cust"
	kindUpdate   = "cupd"
	kindTx       = "tx"
	kindChange   = "txh"
	kindRefresh  = "rt"
	kindWindow   = "win"
	kindMeta     = "meta"
)

// recCustomer is a cust record.
type recCustomer struct {
	Pos int `json:"pos"`
	customer
}

// recUpdate is a cupd record: the values after the update, not the members
// the event sent.
type recUpdate struct {
	EventID     string `json:"eventId"`
	CountryCode string `json:"countryCode"`
	Status      string `json:"status"`
	BTag        string `json:"bTag"`
	Username    string `json:"username"`
}

// recTx is a tx record; a txh record is a change.
type recTx struct {
	Pos int `json:"pos"`
	transaction
}

// recRefresh is an rt record; the token is its key.
type recRefresh struct {
	N        int64  `json:"n"`
	ClientID string `json:"clientId"`
	Username string `json:"username,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Resource string `json:"resource,omitempty"`
	Tenant   string `json:"tenant"`
}

// recMeta is the meta record.
type recMeta struct {
	IDSeq           uint64 `json:"idSeq"`
	StoredEvents    int64  `json:"storedEvents"`
	RefusedPayloads int64  `json:"refusedPayloads"`
}

// index is the zero-padded N of a cupd or txh key.
func index(i int) string { return fmt.Sprintf("%016d", i) }

// The put methods run under the store's lock, with s.rec set.

func (s *clientStore) putCustomer(c *customer) {
	s.rec.Put(kindCustomer, s.client+"/"+c.ID, recCustomer{Pos: len(s.custOrder) - 1, customer: *c})
}

func (s *clientStore) putUpdate(c *customer) {
	s.rec.Put(kindUpdate, s.client+"/"+c.ID+"/"+index(len(c.Updates)-1), recUpdate{EventID: c.Updates[len(c.Updates)-1],
		CountryCode: c.CountryCode, Status: c.Status, BTag: c.BTag, Username: c.Username})
}

func (s *clientStore) putTransaction(t *transaction) {
	s.rec.Put(kindTx, s.client+"/"+t.ID, recTx{Pos: len(s.txOrder) - 1, transaction: *t})
}

func (s *clientStore) putChange(t *transaction) {
	n := len(t.History) - 1
	s.rec.Put(kindChange, s.client+"/"+t.ID+"/"+index(n), t.History[n])
}

// storeRecords is what a client store keeps its changes in: nil when
// records are not kept.
func (s *state) storeRecords() sandbox.Records {
	if s.durable {
		return s.rec
	}
	return nil
}

// putMeta keeps the counters. metaMu orders the Puts: each writes the
// counters as they stand when it takes the lock, so the last one on disk
// is never older than an earlier one.
func (s *state) putMeta() {
	if !s.durable {
		return
	}
	s.metaMu.Lock()
	s.rec.Put(kindMeta, "", recMeta{IDSeq: s.idSeq.Load(), StoredEvents: s.stored.Load(), RefusedPayloads: s.refused.Load()})
	s.metaMu.Unlock()
}

// putRefresh keeps a refresh token just added to rtOrder and forgets the
// one it pushed out (s.rtMu held).
func (s *state) putRefresh(token string, g *refreshGrant, dropped string, full bool) {
	if full {
		s.rec.Delete(kindRefresh, dropped)
	}
	u := s.rtOrder.Usage()
	r := recRefresh{N: u.Evicted + int64(u.Count), ClientID: g.client.cfg.ClientID, Scope: g.scope, Resource: g.resource, Tenant: g.tenant}
	if g.user != nil {
		r.Username = g.user.Username
	}
	s.rec.Put(kindRefresh, token, r)
}

// keepWindow keeps a subscription's windows after admit changed them
// (s.gwMu held). A refused call may have started a new window, so it is
// kept too.
func (s *state) keepWindow(clientID string, w *windowCounts) {
	if s.durable {
		s.rec.Put(kindWindow, clientID, savedWindow{ClientID: clientID, RateStart: w.rateStart, Rate: w.rate, QuotaStart: w.quotaStart, Quota: w.quota})
	}
}

// recordError names the record LoadRecords could not use.
func recordError(r sandbox.Record, format string, args ...any) error {
	return fmt.Errorf("netrefer record %s %q: %s", r.Kind, r.Key, fmt.Sprintf(format, args...))
}

// splitKey cuts a key C/{id} (n false) or C/{id}/N (n true) into the
// client, the id and N.
func (s *state) splitKey(r sandbox.Record, indexed bool) (*client, string, int, error) {
	cid, id, ok := strings.Cut(r.Key, "/")
	if !ok {
		return nil, "", 0, recordError(r, "the key is not {clientId}/...")
	}
	cl := s.clients[strings.ToLower(cid)]
	if cl == nil {
		return nil, "", 0, recordError(r, "the scenario has no client %q", cid)
	}
	n := 0
	if indexed {
		const w = 17 // "/" and 16 digits
		var err error
		if len(id) <= w || id[len(id)-w] != '/' {
			return nil, "", 0, recordError(r, "the key does not end in /{16 digits}")
		}
		if n, err = strconv.Atoi(id[len(id)-w+1:]); err != nil || n < 0 {
			return nil, "", 0, recordError(r, "the key does not end in /{16 digits}")
		}
		id = id[:len(id)-w]
	}
	if id == "" {
		return nil, "", 0, recordError(r, "the id in the key is empty")
	}
	return cl, id, n, nil
}

func decodeRecord(r sandbox.Record, v any) error {
	if err := json.Unmarshal(r.Value, v); err != nil {
		return recordError(r, "%v", err)
	}
	return nil
}

// decodeKeyed decodes records keyed C/{id} (C/{id}/N when indexed), each
// pending entry's rec set, in place; they are many (a customer and a
// transaction per event), so on all CPUs (sandbox.DecodeEach).
func decodeKeyed[T any](s *state, into []pending[T], indexed bool) error {
	return sandbox.DecodeEach(len(into), func(i int) error {
		p := &into[i]
		var err error
		if p.cl, p.id, p.n, err = s.splitKey(p.rec, indexed); err != nil {
			return err
		}
		return decodeRecord(p.rec, &p.v)
	})
}

// pending is a decoded record with the client and index its key named.
type pending[T any] struct {
	rec sandbox.Record
	cl  *client
	id  string
	n   int
	v   T
}

// LoadRecords puts back what the records say on top of the state New and
// RestoreState built (see the kinds above). Customers, transactions and
// refresh tokens are ordered by the places their records carry, not by
// their keys; ties (only in records no live state wrote) keep key order,
// so that the same records always give the same answer.
func (s *state) LoadRecords(recs []sandbox.Record) error {
	var (
		custs   []pending[recCustomer]
		updates []pending[recUpdate]
		txs     []pending[recTx]
		changes []pending[change]
		rts     []pending[recRefresh]
		windows []pending[savedWindow]
		meta    *recMeta
	)
	for _, r := range recs {
		var err error
		switch r.Kind {
		case kindCustomer:
			custs = append(custs, pending[recCustomer]{rec: r})
		case kindUpdate:
			updates = append(updates, pending[recUpdate]{rec: r})
		case kindTx:
			txs = append(txs, pending[recTx]{rec: r})
		case kindChange:
			changes = append(changes, pending[change]{rec: r})
		case kindRefresh:
			p := pending[recRefresh]{rec: r, id: r.Key}
			err = decodeRecord(r, &p.v)
			rts = append(rts, p)
		case kindWindow:
			p := pending[savedWindow]{rec: r}
			if p.cl = s.clients[strings.ToLower(r.Key)]; p.cl == nil {
				err = recordError(r, "the scenario has no client %q", r.Key)
			} else {
				err = decodeRecord(r, &p.v)
			}
			windows = append(windows, p)
		case kindMeta:
			meta = new(recMeta)
			err = decodeRecord(r, meta)
		default:
			err = recordError(r, "NetRefer keeps no record of this kind")
		}
		if err != nil {
			return err
		}
	}
	// In the records' kind order (cupd, cust, tx, txh), so that the error
	// named is that of the first bad record of these kinds.
	if err := cmp.Or(decodeKeyed(s, updates, true), decodeKeyed(s, custs, false),
		decodeKeyed(s, txs, false), decodeKeyed(s, changes, true)); err != nil {
		return err
	}
	for _, cl := range s.order {
		cl.store.mu.Lock()
	}
	err := s.loadStores(custs, updates, txs, changes)
	for _, cl := range s.order {
		cl.store.mu.Unlock()
	}
	if err != nil {
		return err
	}
	if err := s.loadRefresh(rts); err != nil {
		return err
	}
	s.gwMu.Lock()
	for _, p := range windows {
		w := p.v
		s.windows[p.cl.cfg.ClientID] = &windowCounts{rateStart: w.RateStart, rate: w.Rate, quotaStart: w.QuotaStart, quota: w.Quota}
	}
	s.gwMu.Unlock()
	if meta != nil {
		s.idSeq.Store(meta.IDSeq)
		s.stored.Store(meta.StoredEvents)
		s.refused.Store(meta.RefusedPayloads)
	}
	return nil
}

// byPos orders new customers or transactions by client, then place.
func byPos[T any](pos func(T) int) func(a, b pending[T]) int {
	return func(a, b pending[T]) int {
		return cmp.Or(cmp.Compare(a.cl.cfg.ClientID, b.cl.cfg.ClientID), cmp.Compare(pos(a.v), pos(b.v)))
	}
}

// byIndex orders updates or history entries by client, entity, then N.
func byIndex[T any](a, b pending[T]) int {
	return cmp.Or(cmp.Compare(a.cl.cfg.ClientID, b.cl.cfg.ClientID), cmp.Compare(a.id, b.id), cmp.Compare(a.n, b.n))
}

// loadStores adds customers, transactions, updates and history entries to
// the client stores (their locks held), checking that each lands where it
// was made.
func (s *state) loadStores(custs []pending[recCustomer], updates []pending[recUpdate], txs []pending[recTx], changes []pending[change]) error {
	slices.SortStableFunc(custs, byPos(func(v recCustomer) int { return v.Pos }))
	for _, p := range custs {
		st, c := p.cl.store, &p.v.customer
		switch {
		case c.ID != p.id:
			return recordError(p.rec, "the value is customer %q", c.ID)
		case p.v.Pos != len(st.custOrder):
			return recordError(p.rec, "pos %d is not the next place among %d customers", p.v.Pos, len(st.custOrder))
		case st.customers[c.ID] != nil:
			return recordError(p.rec, "the customer is already registered")
		case c.RegisteredBy == "" || len(c.Updates) > 0:
			return recordError(p.rec, "a registered customer has a registeredBy eventId and no updates")
		}
		c.txs, c.Updates = nil, nil
		st.customers[c.ID] = c
		st.custOrder = append(st.custOrder, c)
		st.processed[c.RegisteredBy] = struct{}{}
	}
	slices.SortStableFunc(txs, byPos(func(v recTx) int { return v.Pos }))
	for _, p := range txs {
		st, t := p.cl.store, &p.v.transaction
		c := st.customers[t.CustomerID]
		switch {
		case t.ID != p.id:
			return recordError(p.rec, "the value is transaction %q", t.ID)
		case p.v.Pos != len(st.txOrder):
			return recordError(p.rec, "pos %d is not the next place among %d transactions", p.v.Pos, len(st.txOrder))
		case st.txs[t.ID] != nil:
			return recordError(p.rec, "the transaction already exists")
		case c == nil:
			return recordError(p.rec, "customer %q is not registered", t.CustomerID)
		case int(t.Type) >= len(txTypeNames):
			return recordError(p.rec, "type %d is not 0 (deposit), 1 (withdrawal) or 2 (activity)", t.Type)
		case t.MethodID < 0 || t.MethodID > methodOther:
			return recordError(p.rec, "methodId %d is not a method id (0 to %d)", t.MethodID, methodOther)
		case len(t.History) != 1 || t.History[0].Kind != txTypeNames[t.Type] || t.History[0].EventID == "":
			return recordError(p.rec, "the history is not the one %s event that created it", txTypeNames[t.Type])
		}
		st.add(c, t)
		st.processed[t.History[0].EventID] = struct{}{}
	}
	slices.SortStableFunc(updates, byIndex[recUpdate])
	for _, p := range updates {
		st, u := p.cl.store, p.v
		c := st.customers[p.id]
		switch {
		case c == nil:
			return recordError(p.rec, "customer %q is not registered", p.id)
		case p.n != len(c.Updates):
			return recordError(p.rec, "update %d is not the next after %d", p.n, len(c.Updates))
		case u.EventID == "":
			return recordError(p.rec, "the eventId is empty")
		}
		c.CountryCode, c.Status, c.BTag, c.Username = u.CountryCode, u.Status, u.BTag, u.Username
		c.Updates = append(c.Updates, u.EventID)
		st.processed[u.EventID] = struct{}{}
	}
	slices.SortStableFunc(changes, byIndex[change])
	for _, p := range changes {
		st, ch := p.cl.store, p.v
		t := st.txs[p.id]
		switch {
		case t == nil:
			return recordError(p.rec, "transaction %q does not exist", p.id)
		case p.n != len(t.History):
			return recordError(p.rec, "history entry %d is not the next after %d", p.n, len(t.History))
		case t.Reversed:
			return recordError(p.rec, "the transaction was reversed before")
		case ch.EventID == "":
			return recordError(p.rec, "the eventId is empty")
		}
		switch ch.Kind {
		case "Correction", "BetVoid":
			if t.Type != txActivity {
				return recordError(p.rec, "a %s changes an Activity, not %s", ch.Kind, withArticle(txTypeNames[t.Type]))
			}
		case "DepositCorrection", "Chargeback":
			if t.Type != txDeposit {
				return recordError(p.rec, "a %s changes a Deposit, not %s", ch.Kind, withArticle(txTypeNames[t.Type]))
			}
		default:
			return recordError(p.rec, "kind %q is not Correction, DepositCorrection, Chargeback or BetVoid", ch.Kind)
		}
		t.record(ch)
		st.processed[ch.EventID] = struct{}{}
	}
	return nil
}

// loadRefresh appends the kept refresh tokens to those RestoreState put
// back, in the order issued, and forgets the oldest beyond the limit as
// issuing them did.
func (s *state) loadRefresh(rts []pending[recRefresh]) error {
	s.rtMu.Lock()
	defer s.rtMu.Unlock()
	items, evicted := s.rtOrder.Records()
	total := evicted + int64(len(items)) // tokens issued before these
	slices.SortStableFunc(rts, func(a, b pending[recRefresh]) int { return cmp.Compare(a.v.N, b.v.N) })
	grants := make(map[string]refreshGrant, len(s.refresh)+len(rts))
	for t, g := range s.refresh {
		grants[t] = g
	}
	for _, p := range rts {
		r := p.v
		cl := s.clients[strings.ToLower(r.ClientID)]
		switch {
		case cl == nil:
			return recordError(p.rec, "the scenario has no client %q", r.ClientID)
		case r.N <= total:
			return recordError(p.rec, "n %d is not after the %d tokens issued before", r.N, total)
		case p.id == "":
			return recordError(p.rec, "the token is empty")
		}
		g := refreshGrant{client: cl, scope: r.Scope, resource: r.Resource, tenant: r.Tenant}
		if r.Username != "" {
			if g.user = cl.users[strings.ToLower(r.Username)]; g.user == nil {
				return recordError(p.rec, "client %q has no user %q", r.ClientID, r.Username)
			}
		}
		total = r.N
		grants[p.id] = g
		items = append(items, p.id)
	}
	// A token is kept only while fewer than the limit were issued after
	// it, so the newest are exactly those the live state kept.
	limit := s.cfg.Limits.MaxRefreshTokens
	if len(items) > limit {
		items = items[len(items)-limit:]
	}
	kept := make(map[string]refreshGrant, len(items))
	for _, t := range items {
		kept[t] = grants[t]
	}
	s.rtOrder = retention.RestoreLog(limit, items, total-int64(len(items)))
	s.refresh = kept
	return nil
}

var _ sandbox.Durable = (*state)(nil)
