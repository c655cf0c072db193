package centili

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/retention"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// savedVersion is the version of Centili's part of a namespace snapshot.
const savedVersion = 1

// saved is Centili's state in a namespace snapshot: every service's pools
// (balances as they stand, top-ups included), the transaction log with the
// fingerprints of the client ids it has dropped, the Keycloak sessions and
// the seeded generator, so that the restored namespace answers the next
// gift, retry and refresh exactly as this one would.
type saved struct {
	Version  int            `json:"version"`
	Services []savedService `json:"services"`
	// Transactions are the kept ones, oldest first; Evicted counts those
	// the log dropped (limits.maxTransactions).
	Transactions []savedTransaction `json:"transactions"`
	Evicted      int64              `json:"evicted"`
	// DroppedClientIDs remembers the serviceKey and clientId of dropped
	// transactions: a retry of one is still refused.
	DroppedClientIDs retention.SavedIDs `json:"droppedClientIds"`
	NextTxID         int64              `json:"nextTransactionId"`
	Sessions         []savedSession     `json:"sessions"`
	// RevokedAccessTokens are the jti of access tokens revoked one by one
	// (POST .../revoke), each until its exp.
	RevokedAccessTokens map[string]time.Time `json:"revokedAccessTokens"`
	// Generator is the PCG state behind session and token ids (base64).
	Generator []byte `json:"generator"`
}

// savedSession is a session with what the refresh-token reuse check needs
// (revokeRefreshToken): the refresh token last used and when it was issued.
type savedSession struct {
	session
	CurrentRefresh string `json:"currentRefresh,omitempty"`
	LastIssued     int64  `json:"lastIssued,omitempty"`
}

type savedService struct {
	ServiceKey string      `json:"serviceKey"`
	Pools      []savedPool `json:"pools"`
}

type savedPool struct {
	Operator       string `json:"operator"`
	TotalAmount    int64  `json:"totalAmount"`
	AssignedAmount int64  `json:"assignedAmount"`
	ExpirationDate string `json:"expirationDate"`
}

// savedTransaction is a Transaction with the HTTP status of its answer,
// which a retry with the same clientId replays.
type savedTransaction struct {
	Transaction
	HTTPStatus int `json:"httpStatus"`
}

// SaveState returns Centili's state for a namespace snapshot.
func (s *State) SaveState() (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen, _ := s.src.MarshalBinary()
	out := saved{Version: savedVersion, Services: []savedService{}, Transactions: []savedTransaction{},
		DroppedClientIDs: s.dropped.Save(), NextTxID: s.nextTxID, Sessions: []savedSession{},
		RevokedAccessTokens: map[string]time.Time{}, Generator: gen}
	for _, k := range s.order {
		out.Services = append(out.Services, savedServiceOf(s.services[k]))
	}
	txs, evicted := s.txs.Records()
	for _, t := range txs {
		out.Transactions = append(out.Transactions, savedTransaction{Transaction: *t, HTTPStatus: t.status})
	}
	out.Evicted = evicted
	for _, se := range s.sessions {
		out.Sessions = append(out.Sessions, savedSessionOf(se))
	}
	slices.SortFunc(out.Sessions, func(a, b savedSession) int { return compareSessions(a.session, b.session) })
	for jti, exp := range s.revoked {
		out.RevokedAccessTokens[jti] = exp
	}
	return json.Marshal(out)
}

// RestoreState replaces the state built from the scenario with a saved
// one. Services are the scenario's: a saved service the scenario does not
// have is refused.
func (s *State) RestoreState(data json.RawMessage) error {
	var in saved
	if err := sandbox.DecodeState(data, "Centili", &in, savedVersion); err != nil {
		return err
	}
	pools := map[string][]*pool{}
	for i, sv := range in.Services {
		if s.services[sv.ServiceKey] == nil {
			return fmt.Errorf("services[%d]: the scenario has no service %q", i, sv.ServiceKey)
		}
		list, err := sv.toPools(fmt.Sprintf("services[%d].pools", i))
		if err != nil {
			return err
		}
		pools[sv.ServiceKey] = list
	}
	dropped, err := retention.RestoreIDs(in.DroppedClientIDs)
	if err != nil {
		return fmt.Errorf("droppedClientIds: %v", err)
	}
	dropKey, _ := strconv.ParseUint(in.DroppedClientIDs.Key, 16, 64) // RestoreIDs read it
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(in.Generator); err != nil {
		return fmt.Errorf("generator: not a PCG state: %v", err)
	}
	txs := make([]*Transaction, 0, len(in.Transactions))
	byClient := map[string]*Transaction{}
	for i := range in.Transactions {
		t, err := in.Transactions[i].toTransaction()
		if err != nil {
			return fmt.Errorf("transactions[%d]: %v", i, err)
		}
		txs = append(txs, t)
	}
	sessions := map[string]*session{}
	for i := range in.Sessions {
		se, err := in.Sessions[i].toSession()
		if err != nil {
			return fmt.Errorf("sessions[%d]: %v", i, err)
		}
		sessions[se.ID] = se
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for k, list := range pools {
		s.services[k].pools = list
	}
	s.txs = retention.RestoreLog(s.cfg.Limits.MaxTransactions, txs, in.Evicted)
	for t := range s.txs.All() {
		byClient[t.ServiceKey+"\x00"+t.ClientID] = t
	}
	s.byClient, s.dropped, s.dropKey, s.nextTxID, s.sessions = byClient, dropped, dropKey, in.NextTxID, sessions
	s.revoked = map[string]time.Time{}
	for jti, exp := range in.RevokedAccessTokens {
		s.revoked[jti] = exp
	}
	s.src, s.rng = src, rand.New(src)
	s.markRestoredLocked()
	return nil
}

// sortSessions orders sessions by start, then id: the state view's order.
func sortSessions(list []session) { slices.SortFunc(list, compareSessions) }

func compareSessions(a, b session) int {
	if c := a.Started.Compare(b.Started); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// StateVersion says which format version the saved state is.
func (v *saved) StateVersion() int { return v.Version }
