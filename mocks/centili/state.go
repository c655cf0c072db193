package centili

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

// State is one namespace's Centili: Keycloak sessions, services with their
// pools, and the transaction log. One mutex guards all of it, which is what
// makes an assignment (check balance, add to assignedAmount, record the
// transaction) atomic.
type State struct {
	cfg    *Config
	clock  *clock.Clock
	tokens *tokens.Issuer

	// Immutable after New: look-ups built from the config.
	clients   map[string]*ClientConfig
	users     map[string]*userEntry // by lower-case username
	usersByID map[string]*userEntry
	prefixes  []OperatorPrefix // longest prefix first
	magic     map[string]string
	verified  verifiedTokens // signature-checked access tokens

	mu       sync.Mutex
	rng      *rand.Rand
	src      *rand.PCG            // rng's source, whose state a snapshot saves
	sessions map[string]*session  // by session id
	revoked  map[string]time.Time // revoked access tokens' jti, until their exp
	services map[string]*service  // by serviceKey
	order    []string             // serviceKeys in scenario order
	txs      *retention.Log[*Transaction]
	byClient map[string]*Transaction // serviceKey + "\x00" + clientId, of the kept transactions
	// dropped holds the keys of transactions the log no longer keeps: a
	// retry of one is still refused, though its outcome is gone.
	dropped  *retention.IDs
	dropKey  uint64 // dropped's fingerprint key, for the drop records
	nextTxID int64

	// rec keeps the state with a data directory (durable.go); durable is
	// rec.Enabled(), read once so that memory mode skips building records.
	rec     sandbox.Records
	durable bool
	// restored names the sessions and revoked jti a snapshot restored at
	// build time (kind + "\x00" + id), whose end is a null record.
	restored map[string]struct{}
}

type userEntry struct {
	UserConfig
	id string
}

// session is a Keycloak user session: refresh tokens stay valid while it
// lives (not idle for longer than the idle timeout, not older than the max
// lifespan).
type session struct {
	ID        string    `json:"sessionId"`
	UserID    string    `json:"userId"`
	Username  string    `json:"username"`
	ClientID  string    `json:"clientId"`
	Started   time.Time `json:"started"`
	LastUsed  time.Time `json:"lastRefresh"`
	Refreshes int       `json:"refreshes"`
	// RefreshTokenUses counts uses of the current refresh token when the
	// realm revokes refresh tokens (revokeRefreshToken).
	RefreshTokenUses int `json:"refreshTokenUses,omitempty"`
	// Detached is set when a refused refresh-token reuse detached the
	// client from the session (Keycloak keeps the user session until it
	// idles out, without the client).
	Detached bool `json:"clientDetached,omitempty"`
	// currentRefresh is the jti of the refresh token last used, lastIssued
	// the Unix second of the last refresh (Keycloak's client-session
	// timestamp), both for the reuse check.
	currentRefresh string
	lastIssued     int64
}

type service struct {
	key        string
	name       string
	merchantID int64
	active     bool
	created    time.Time
	packages   []Package
	pools      []*pool
}

type pool struct {
	operator string
	total    int64
	assigned int64
	expires  time.Time
}

// Package is one allowed amount on one operator, as GET services lists it.
type Package struct {
	Operator string `json:"operator"`
	Amount   int64  `json:"amount"`
}

// Transaction is Centili's transaction object. errorType and errorMessage
// are explicit nulls on success, as in Centili's other APIs.
type Transaction struct {
	TransactionID string  `json:"transactionId"`
	ServiceKey    string  `json:"serviceKey"`
	Msisdn        string  `json:"msisdn"`
	ClientID      string  `json:"clientId"`
	Amount        int64   `json:"amount"`
	Operator      *string `json:"operator"`
	Status        string  `json:"status"`
	ErrorType     *string `json:"errorType"`
	ErrorMessage  *string `json:"errorMessage"`
	TimeCreated   string  `json:"timeCreated"`

	status int // HTTP status of the original answer, for replays
}

// Transaction statuses.
const (
	statusCompleted = "COMPLETED"
	statusFailed    = "FAILED"
)

// newState builds a namespace's Centili from the scenario.
func newState(env sandbox.Env) (any, error) {
	cfg := env.Config.(*Config)
	s := &State{
		cfg: cfg, clock: env.Clock, tokens: env.Tokens,
		clients:   map[string]*ClientConfig{},
		users:     map[string]*userEntry{},
		usersByID: map[string]*userEntry{},
		magic:     map[string]string{},
		sessions:  map[string]*session{},
		revoked:   map[string]time.Time{},
		services:  map[string]*service{},
		txs:       retention.NewLog[*Transaction](cfg.Limits.MaxTransactions),
		byClient:  map[string]*Transaction{},
		dropKey:   droppedKey(env.Seed, env.Namespace),
		nextTxID:  17000000001,
		rec:       env.Records,
	}
	if s.rec == nil {
		s.rec = sandbox.NoRecords
	}
	s.durable = s.rec.Enabled()
	s.dropped = newDroppedIDs(s.dropKey)
	h := fnv.New64a()
	h.Write([]byte(env.Namespace))
	s.src = rand.NewPCG(uint64(env.Seed), h.Sum64())
	s.rng = rand.New(s.src)
	for i := range cfg.Clients {
		s.clients[cfg.Clients[i].ClientID] = &cfg.Clients[i]
	}
	for _, u := range cfg.Users {
		e := &userEntry{UserConfig: u, id: u.ID}
		if e.id == "" {
			e.id = uuid.NewSHA1(uuid.NameSpaceURL, []byte("centili-sandbox:"+strings.ToLower(u.Username))).String()
		}
		s.users[strings.ToLower(u.Username)] = e
		s.usersByID[e.id] = e
	}
	s.prefixes = append(s.prefixes, cfg.Operators...)
	sort.SliceStable(s.prefixes, func(i, j int) bool { return len(s.prefixes[i].Prefix) > len(s.prefixes[j].Prefix) })
	for _, m := range cfg.MagicMsisdns {
		s.magic[m.Msisdn] = m.ErrorType
	}
	for _, sc := range cfg.Services {
		created := env.Clock.Now()
		if sc.TimeCreated != "" {
			created, _ = parseTime(sc.TimeCreated) // checked by Validate
		}
		sv := &service{key: sc.ServiceKey, name: sc.Name, merchantID: sc.MerchantID, active: sc.active(), created: created}
		for _, pk := range sc.Packages {
			for _, a := range pk.Amounts {
				sv.packages = append(sv.packages, Package{Operator: pk.Operator, Amount: a})
			}
		}
		for _, pc := range sc.Pools {
			exp, err := parseTime(pc.ExpirationDate)
			if err != nil {
				return nil, fmt.Errorf("centili: pool of %s: %w", sc.ServiceKey, err)
			}
			sv.pools = append(sv.pools, &pool{operator: pc.Operator, total: pc.TotalAmount, assigned: pc.AssignedAmount, expires: exp})
		}
		// Soonest-expiring first: that is the pool an assignment drains first.
		sort.SliceStable(sv.pools, func(i, j int) bool { return sv.pools[i].expires.Before(sv.pools[j].expires) })
		s.services[sv.key] = sv
		s.order = append(s.order, sv.key)
	}
	s.putNewLocked() // no other goroutine has s yet
	return s, nil
}

// MaxBodyBytes is the Centili mount's body limit.
func (s *State) MaxBodyBytes() int64 { return s.cfg.MaxBodyBytes }

// newUUID draws a UUID from the namespace's seeded generator, so that token
// ids and session ids repeat from run to run. Callers hold s.mu.
func (s *State) newUUIDLocked() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := s.rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return uuid.UUID(b).String()
}

func (s *State) newUUID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newUUIDLocked()
}

// operatorOf resolves an msisdn's operator by the longest matching prefix.
func (s *State) operatorOf(msisdn string) (string, bool) {
	for _, p := range s.prefixes {
		if strings.HasPrefix(msisdn, p.Prefix) {
			return p.Operator, true
		}
	}
	return "", false
}

// Snapshot shows pools, balances, transactions and sessions for
// GET /__sandbox/state/centili.
func (s *State) Snapshot() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	type serviceView struct {
		ServiceKey string     `json:"serviceKey"`
		Name       string     `json:"name"`
		MerchantID int64      `json:"merchantId"`
		Active     bool       `json:"active"`
		Packages   []Package  `json:"packages"`
		Pools      []poolView `json:"pools"`
	}
	now := s.clock.Now()
	services := make([]serviceView, 0, len(s.order))
	for _, k := range s.order {
		sv := s.services[k]
		v := serviceView{ServiceKey: sv.key, Name: sv.name, MerchantID: sv.merchantID, Active: sv.active,
			Packages: append([]Package{}, sv.packages...), Pools: []poolView{}}
		for _, p := range sv.pools {
			v.Pools = append(v.Pools, p.view(now))
		}
		services = append(services, v)
	}
	txs := make([]Transaction, 0, s.txs.Len())
	for t := range s.txs.All() {
		txs = append(txs, *t)
	}
	sessions := make([]session, 0, len(s.sessions))
	for _, se := range s.sessions {
		sessions = append(sessions, *se)
	}
	sortSessions(sessions)
	return map[string]any{
		"now":          now.UTC().Format(timeLayout),
		"services":     services,
		"transactions": txs,
		"sessions":     sessions,
		"limits":       map[string]any{"transactions": s.txs.Usage(), "droppedClientIds": s.dropped.Len()},
	}
}

// recordLocked adds a transaction to the log. A transaction the log drops
// to make room leaves its key in s.dropped.
func (s *State) recordLocked(key string, tx *Transaction) {
	seq := s.txSeqLocked()
	old, dropped := s.txs.Add(tx)
	oldKey := ""
	if dropped {
		oldKey = old.ServiceKey + "\x00" + old.ClientID
		delete(s.byClient, oldKey)
		s.dropped.Add(oldKey)
	}
	s.byClient[key] = tx
	s.putTxLocked(seq, tx, dropped, oldKey)
}

// poolView is a pool as the state view and the admin API show it.
type poolView struct {
	Operator       string `json:"operator"`
	TotalAmount    int64  `json:"totalAmount"`
	AssignedAmount int64  `json:"assignedAmount"`
	Balance        int64  `json:"balance"`
	ExpirationDate string `json:"expirationDate"`
	Expired        bool   `json:"expired"`
}

func (p *pool) view(now time.Time) poolView {
	return poolView{Operator: p.operator, TotalAmount: p.total, AssignedAmount: p.assigned,
		Balance: p.total - p.assigned, ExpirationDate: p.expires.Format(timeLayout), Expired: p.expired(now)}
}

// expired reports whether the pool can no longer be used at now; the
// expiration second itself is still usable.
func (p *pool) expired(now time.Time) bool { return now.Truncate(time.Second).After(p.expires) }
