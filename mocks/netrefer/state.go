package netrefer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

// client is a configured client with its look-up tables and its store.
type client struct {
	cfg    *ClientConfig
	brands map[int]bool
	users  map[string]*UserConfig // by lower-case username
	store  *clientStore
}

// state is the provider's state in one namespace.
type state struct {
	cfg     *Config
	clock   *clock.Clock
	tokens  *tokens.Issuer
	seed    int64
	ns      string
	tenants map[string]string  // lower-case id → configured spelling
	clients map[string]*client // by lower-case client id
	order   []*client
	keys    map[string]*client // active subscription keys
	// domains are the lower-case domains of every user's name: the
	// directory's verified domains, which the user-realm endpoint calls
	// Managed.
	domains map[string]bool
	idSeq   atomic.Uint64
	// stored counts the accepted events of every client, against
	// limits.maxStoredEvents; refused counts the payloads refused for it.
	stored, refused atomic.Int64

	// rec keeps the state with a data directory (durable.go); durable is
	// rec.Enabled(), so that without one no record value is built.
	// metaMu orders the Puts of the counters above.
	rec     sandbox.Records
	durable bool
	metaMu  sync.Mutex

	gwMu    sync.Mutex
	windows map[string]*windowCounts // by subscription (client id)

	rtMu    sync.Mutex
	refresh map[string]refreshGrant
	// rtOrder holds the refresh tokens in the order issued, to forget the
	// oldest past limits.maxRefreshTokens.
	rtOrder *retention.Log[string]
}

// refreshGrant is what a refresh token redeems: the v2 scope it was
// issued for, or the v1 resource.
type refreshGrant struct {
	client   *client
	user     *UserConfig
	scope    string
	resource string
	tenant   string
}

func newState(env sandbox.Env) (any, error) {
	cfg := env.Config.(*Config)
	st := &state{cfg: cfg, clock: env.Clock, tokens: env.Tokens, seed: env.Seed, ns: env.Namespace,
		tenants: map[string]string{}, clients: map[string]*client{}, keys: map[string]*client{}, domains: map[string]bool{},
		windows: map[string]*windowCounts{}, refresh: map[string]refreshGrant{}, rtOrder: retention.NewLog[string](cfg.Limits.MaxRefreshTokens),
		rec: env.Records}
	if st.rec == nil {
		st.rec = sandbox.NoRecords
	}
	st.durable = st.rec.Enabled()
	for _, t := range cfg.Tenants {
		st.tenants[strings.ToLower(t)] = t
	}
	for i := range cfg.Clients {
		cc := &cfg.Clients[i]
		cl := &client{cfg: cc, brands: map[int]bool{}, users: map[string]*UserConfig{}, store: newClientStore()}
		cl.store.rec, cl.store.client = st.storeRecords(), cc.ClientID
		for _, b := range cc.Brands {
			cl.brands[b] = true
		}
		for j := range cc.Users {
			name := strings.ToLower(cc.Users[j].Username)
			cl.users[name] = &cc.Users[j]
			if at := strings.LastIndexByte(name, '@'); at >= 0 {
				st.domains[name[at+1:]] = true
			}
		}
		for _, k := range cc.SubscriptionKeys {
			st.keys[k] = cl
		}
		st.clients[strings.ToLower(cc.ClientID)] = cl
		st.order = append(st.order, cl)
	}
	return st, nil
}

// MaxBodyBytes is the backend's payload limit (limits.maxPayloadBytes). The
// provider registers with BodyLimitAfterGuard, so the core answers it only
// after the APIM gateway checks have passed, as APIM does.
func (s *state) MaxBodyBytes() int64 { return s.cfg.Limits.MaxPayloadBytes }

// guid returns a GUID derived from the scenario seed, the namespace and a
// counter: trace ids, object ids and token ids are reproducible run to run.
// The counter is kept (putMeta) before the id can reach an answer, so that
// a restarted namespace never hands out an id twice.
func (s *state) guid() string {
	id := guidFrom(s.seed, s.ns, s.idSeq.Add(1))
	s.putMeta()
	return id
}

func guidFrom(seed int64, parts ...any) string {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			h.Write([]byte(v))
		case uint64:
			binary.BigEndian.PutUint64(b[:], v)
			h.Write(b[:])
		}
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	sum[6] = (sum[6] & 0x0f) | 0x40 // version 4 layout
	sum[8] = (sum[8] & 0x3f) | 0x80
	x := hex.EncodeToString(sum[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Snapshot types: GET /__sandbox/state/netrefer.

// Snapshot is the ingested state of every client.
type Snapshot struct {
	Clients []ClientSnapshot `json:"clients"`
	Limits  LimitsSnapshot   `json:"limits"`
}

// LimitsSnapshot is where the namespace stands against limits.maxStoredEvents
// and limits.maxRefreshTokens.
type LimitsSnapshot struct {
	StoredEvents  StoredEvents    `json:"storedEvents"`
	RefreshTokens retention.Usage `json:"refreshTokens"`
}

// StoredEvents counts the accepted events of every client and the payloads
// refused because the namespace held the limit. Nothing is evicted.
type StoredEvents struct {
	Count           int64 `json:"count"`
	Limit           int   `json:"limit"`
	RefusedPayloads int64 `json:"refusedPayloads"`
}

// ClientSnapshot is what one client ingested.
type ClientSnapshot struct {
	ClientID        string                `json:"clientId"`
	ProcessedEvents int                   `json:"processedEvents"`
	Customers       []CustomerSnapshot    `json:"customers"`
	Transactions    []TransactionSnapshot `json:"transactions"`
}

// CustomerSnapshot is a customer with its totals after corrections and reversals.
type CustomerSnapshot struct {
	CustomerID       string    `json:"customerId"`
	BrandID          int       `json:"brandId"`
	RegistrationDate time.Time `json:"registrationDate"`
	CountryCode      string    `json:"countryCode"`
	Currency         string    `json:"currency"`
	BTag             string    `json:"bTag"`
	Username         string    `json:"username,omitempty"`
	Status           string    `json:"status"`
	RegisteredBy     string    `json:"registeredBy"`
	Updates          []string  `json:"updates"`
	Totals           Totals    `json:"totals"`
}

// Totals sums a customer's live transactions (reversed ones count zero).
type Totals struct {
	Deposits      Money `json:"deposits"`
	DepositFees   Money `json:"depositFees"`
	DepositCount  int   `json:"depositCount"`
	Withdrawals   Money `json:"withdrawals"`
	WithdrawalFee Money `json:"withdrawalFees"`
	Turnover      Money `json:"turnover"`
	GrossRevenue  Money `json:"grossRevenue"`
	Bonus         Money `json:"bonus"`
	Chargebacks   int   `json:"chargebacks"`
	BetVoids      int   `json:"betVoids"`
}

// TransactionSnapshot is a transaction's current values and its history.
type TransactionSnapshot struct {
	TransactionID string           `json:"transactionId"`
	Type          string           `json:"type"`
	CustomerID    string           `json:"customerId"`
	BrandID       int              `json:"brandId"`
	Currency      string           `json:"currency"`
	Amount        *Money           `json:"amount,omitempty"`
	Fee           *Money           `json:"fee,omitempty"`
	Method        *MethodSnapshot  `json:"method,omitempty"`
	ProductID     int              `json:"productId,omitempty"`
	Turnover      *Money           `json:"turnover,omitempty"`
	GrossRevenue  *Money           `json:"grossRevenue,omitempty"`
	Bonus         *Money           `json:"bonus,omitempty"`
	ActivityDate  *time.Time       `json:"activityDate,omitempty"`
	Reversed      bool             `json:"reversed"`
	History       []ChangeSnapshot `json:"history"`
}

// MethodSnapshot is a resolved deposit or withdrawal method.
type MethodSnapshot struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Sent string `json:"sent"`
}

// ChangeSnapshot is one event in a transaction's history.
type ChangeSnapshot struct {
	EventID      string    `json:"eventId"`
	Type         string    `json:"type"`
	Timestamp    time.Time `json:"timestamp"`
	Amount       *Money    `json:"amount,omitempty"`
	Turnover     *Money    `json:"turnover,omitempty"`
	GrossRevenue *Money    `json:"grossRevenue,omitempty"`
	Bonus        *Money    `json:"bonus,omitempty"`
}

func mp(m Money) *Money { return &m }

// Snapshot returns a copy of everything ingested, clients in scenario order.
func (s *state) Snapshot() any {
	out := Snapshot{Clients: []ClientSnapshot{}, Limits: LimitsSnapshot{StoredEvents: StoredEvents{
		Count: s.stored.Load(), Limit: s.cfg.Limits.MaxStoredEvents, RefusedPayloads: s.refused.Load()}}}
	s.rtMu.Lock()
	out.Limits.RefreshTokens = s.rtOrder.Usage()
	s.rtMu.Unlock()
	for _, cl := range s.order {
		out.Clients = append(out.Clients, cl.store.snapshot(cl.cfg.ClientID))
	}
	return out
}

func (s *clientStore) snapshot(clientID string) ClientSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := ClientSnapshot{ClientID: clientID, ProcessedEvents: len(s.processed),
		Customers: make([]CustomerSnapshot, 0, len(s.custOrder)), Transactions: make([]TransactionSnapshot, 0, len(s.txOrder))}
	for _, c := range s.custOrder {
		cs.Customers = append(cs.Customers, CustomerSnapshot{CustomerID: c.ID, BrandID: c.BrandID, RegistrationDate: c.RegistrationDate,
			CountryCode: c.CountryCode, Currency: c.Currency, BTag: c.BTag, Username: c.Username, Status: c.Status,
			RegisteredBy: c.RegisteredBy, Updates: append([]string{}, c.Updates...), Totals: totals(c.txs)})
	}
	for _, t := range s.txOrder {
		ts := TransactionSnapshot{TransactionID: t.ID, Type: txTypeNames[t.Type], CustomerID: t.CustomerID, BrandID: t.BrandID,
			Currency: t.Currency, Reversed: t.Reversed, History: make([]ChangeSnapshot, 0, len(t.History))}
		if t.Type == txActivity {
			ts.ProductID, ts.Turnover, ts.GrossRevenue, ts.Bonus = t.ProductID, mp(t.Turnover), mp(t.GrossRevenue), mp(t.Bonus)
			ad := t.ActivityDate
			ts.ActivityDate = &ad
		} else {
			ts.Amount, ts.Fee = mp(t.Amount), mp(t.Fee)
			ts.Method = &MethodSnapshot{ID: t.MethodID, Name: methodNames[t.MethodID], Sent: t.MethodSent}
		}
		for _, h := range t.History {
			ch := ChangeSnapshot{EventID: h.EventID, Type: h.Kind, Timestamp: h.Timestamp}
			switch h.Kind {
			case "Deposit", "Withdrawal", "DepositCorrection":
				ch.Amount = mp(h.Amount)
			case "Activity", "Correction":
				ch.Turnover, ch.GrossRevenue, ch.Bonus = mp(h.Turnover), mp(h.GrossRevenue), mp(h.Bonus)
			}
			ts.History = append(ts.History, ch)
		}
		cs.Transactions = append(cs.Transactions, ts)
	}
	return cs
}

func totals(txs []*transaction) Totals {
	var t Totals
	for _, x := range txs {
		if x.Reversed {
			switch x.History[len(x.History)-1].Kind {
			case "Chargeback":
				t.Chargebacks++
			case "BetVoid":
				t.BetVoids++
			}
			continue
		}
		switch x.Type {
		case txDeposit:
			t.Deposits += x.Amount
			t.DepositFees += x.Fee
			t.DepositCount++
		case txWithdrawal:
			t.Withdrawals += x.Amount
			t.WithdrawalFee += x.Fee
		case txActivity:
			t.Turnover += x.Turnover
			t.GrossRevenue += x.GrossRevenue
			t.Bonus += x.Bonus
		}
	}
	return t
}
