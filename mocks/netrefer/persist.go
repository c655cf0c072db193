package netrefer

import (
	"encoding/json"
	"fmt"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"slices"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/retention"
)

// savedVersion is the version of NetRefer's part of a namespace snapshot.
const savedVersion = 1

// saved is NetRefer's state in a namespace snapshot: every client's
// processed event ids, customers and transactions with their histories
// (corrections and reversals included), the refresh tokens issued, the
// gateway's rate-limit and quota windows and the counters behind ids and
// limits, so that a restored namespace refuses a duplicate eventId and
// redeems a refresh token as this one would.
type saved struct {
	Version int           `json:"version"`
	Clients []savedClient `json:"clients"`
	// Refresh holds the kept refresh tokens, oldest first; RefreshEvicted
	// counts those forgotten (limits.maxRefreshTokens).
	Refresh        []savedRefresh `json:"refreshTokens"`
	RefreshEvicted int64          `json:"refreshTokensEvicted"`
	Windows        []savedWindow  `json:"windows"`
	// IDSeq is the counter behind trace, object and token ids.
	IDSeq           uint64 `json:"idSeq"`
	StoredEvents    int64  `json:"storedEvents"`
	RefusedPayloads int64  `json:"refusedPayloads"`
}

type savedClient struct {
	ClientID string `json:"clientId"`
	// Processed are the accepted eventIds, sorted.
	Processed    []string       `json:"processedEventIds"`
	Customers    []*customer    `json:"customers"`
	Transactions []*transaction `json:"transactions"`
}

type savedRefresh struct {
	Token    string `json:"token"`
	ClientID string `json:"clientId"`
	Username string `json:"username,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Resource string `json:"resource,omitempty"`
	Tenant   string `json:"tenant"`
}

type savedWindow struct {
	ClientID   string    `json:"clientId"`
	RateStart  time.Time `json:"rateStart"`
	Rate       int       `json:"rate"`
	QuotaStart time.Time `json:"quotaStart"`
	Quota      int       `json:"quota"`
}

// SaveState returns NetRefer's state for a namespace snapshot.
func (s *state) SaveState() (json.RawMessage, error) {
	out := saved{Version: savedVersion, Clients: []savedClient{}, Refresh: []savedRefresh{}, Windows: []savedWindow{},
		IDSeq: s.idSeq.Load(), StoredEvents: s.stored.Load(), RefusedPayloads: s.refused.Load()}
	for _, cl := range s.order {
		st := cl.store
		st.mu.Lock()
		sc := savedClient{ClientID: cl.cfg.ClientID, Processed: make([]string, 0, len(st.processed)),
			Customers: append([]*customer{}, st.custOrder...), Transactions: append([]*transaction{}, st.txOrder...)}
		for id := range st.processed {
			sc.Processed = append(sc.Processed, id)
		}
		raw, err := json.Marshal(sc) // under the lock: the records are live
		st.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &sc); err != nil {
			return nil, err
		}
		slices.Sort(sc.Processed)
		out.Clients = append(out.Clients, sc)
	}
	s.rtMu.Lock()
	tokens, evicted := s.rtOrder.Records()
	for _, rt := range tokens {
		g := s.refresh[rt]
		r := savedRefresh{Token: rt, ClientID: g.client.cfg.ClientID, Scope: g.scope, Resource: g.resource, Tenant: g.tenant}
		if g.user != nil {
			r.Username = g.user.Username
		}
		out.Refresh = append(out.Refresh, r)
	}
	out.RefreshEvicted = evicted
	s.rtMu.Unlock()
	s.gwMu.Lock()
	for id, w := range s.windows {
		out.Windows = append(out.Windows, savedWindow{ClientID: id, RateStart: w.rateStart, Rate: w.rate, QuotaStart: w.quotaStart, Quota: w.quota})
	}
	s.gwMu.Unlock()
	slices.SortFunc(out.Windows, func(a, b savedWindow) int { return strings.Compare(a.ClientID, b.ClientID) })
	return json.Marshal(out)
}

// RestoreState replaces the state built from the scenario with a saved
// one. Clients and users are the scenario's: state of a client or user it
// does not have is refused.
func (s *state) RestoreState(data json.RawMessage) error {
	var in saved
	if err := sandbox.DecodeState(data, "NetRefer", &in, savedVersion); err != nil {
		return err
	}
	stores := map[*client]*clientStore{}
	for i, sc := range in.Clients {
		cl := s.clients[strings.ToLower(sc.ClientID)]
		if cl == nil {
			return fmt.Errorf("clients[%d]: the scenario has no client %q", i, sc.ClientID)
		}
		st, err := restoreStore(sc)
		if err != nil {
			return fmt.Errorf("clients[%d].%v", i, err)
		}
		st.rec, st.client = s.storeRecords(), cl.cfg.ClientID
		stores[cl] = st
	}
	grants := map[string]refreshGrant{}
	order := make([]string, 0, len(in.Refresh))
	for i, r := range in.Refresh {
		cl := s.clients[strings.ToLower(r.ClientID)]
		if cl == nil {
			return fmt.Errorf("refreshTokens[%d]: the scenario has no client %q", i, r.ClientID)
		}
		g := refreshGrant{client: cl, scope: r.Scope, resource: r.Resource, tenant: r.Tenant}
		if r.Username != "" {
			if g.user = cl.users[strings.ToLower(r.Username)]; g.user == nil {
				return fmt.Errorf("refreshTokens[%d]: client %q has no user %q", i, r.ClientID, r.Username)
			}
		}
		if _, dup := grants[r.Token]; dup || r.Token == "" {
			return fmt.Errorf("refreshTokens[%d]: token %q is empty or given twice", i, r.Token)
		}
		grants[r.Token] = g
		order = append(order, r.Token)
	}
	windows := map[string]*windowCounts{}
	for i, w := range in.Windows {
		if s.clients[strings.ToLower(w.ClientID)] == nil {
			return fmt.Errorf("windows[%d]: the scenario has no client %q", i, w.ClientID)
		}
		windows[w.ClientID] = &windowCounts{rateStart: w.RateStart, rate: w.Rate, quotaStart: w.QuotaStart, quota: w.Quota}
	}
	for cl, st := range stores {
		cl.store = st
	}
	rtOrder := retention.RestoreLog(s.cfg.Limits.MaxRefreshTokens, order, in.RefreshEvicted)
	kept := make(map[string]refreshGrant, rtOrder.Len())
	for t := range rtOrder.All() { // beyond a smaller limit the oldest are forgotten, as mint forgets them
		kept[t] = grants[t]
	}
	s.rtMu.Lock()
	s.refresh, s.rtOrder = kept, rtOrder
	s.rtMu.Unlock()
	s.gwMu.Lock()
	s.windows = windows
	s.gwMu.Unlock()
	s.idSeq.Store(in.IDSeq)
	s.stored.Store(in.StoredEvents)
	s.refused.Store(in.RefusedPayloads)
	return nil
}

// restoreStore rebuilds a client's store, linking each transaction to its
// customer as ingestion did.
func restoreStore(sc savedClient) (*clientStore, error) {
	st := newClientStore()
	for _, id := range sc.Processed {
		st.processed[id] = struct{}{}
	}
	for i, c := range sc.Customers {
		if c == nil || c.ID == "" || st.customers[c.ID] != nil {
			return nil, fmt.Errorf("customers[%d]: customer id is missing or given twice", i)
		}
		c.txs = nil
		st.customers[c.ID] = c
		st.custOrder = append(st.custOrder, c)
	}
	for i, t := range sc.Transactions {
		if t == nil || t.ID == "" || st.txs[t.ID] != nil {
			return nil, fmt.Errorf("transactions[%d]: transaction id is missing or given twice", i)
		}
		c := st.customers[t.CustomerID]
		switch {
		case c == nil:
			return nil, fmt.Errorf("transactions[%d]: customer %q is not among the customers", i, t.CustomerID)
		case int(t.Type) >= len(txTypeNames):
			return nil, fmt.Errorf("transactions[%d]: type %d is not 0 (deposit), 1 (withdrawal) or 2 (activity)", i, t.Type)
		case len(t.History) == 0:
			return nil, fmt.Errorf("transactions[%d]: the history is empty", i)
		case t.MethodID < 0 || t.MethodID > methodOther:
			return nil, fmt.Errorf("transactions[%d]: methodId %d is not a method id (0 to %d)", i, t.MethodID, methodOther)
		}
		st.add(c, t)
	}
	return st, nil
}

// StateVersion says which format version the saved state is.
func (v *saved) StateVersion() int { return v.Version }
