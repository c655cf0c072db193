package centili

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// HeaderReplay marks the answer to a repeated (serviceKey, clientId): the
// original outcome, nothing assigned again. It is a sandbox addition.
const HeaderReplay = "X-Sandbox-Idempotent-Replay"

// wwwAuthenticate values of RFC 6750 §3: no token, and a token that fails.
const (
	challengeNoToken = `Bearer realm="api"`
	challengeInvalid = `Bearer realm="api", error="invalid_token"`
)

type claimsKey struct{}

// claimsOf returns the access token's claims the guard verified.
func claimsOf(c *sandbox.Call) *accessClaims {
	cl, _ := c.R.Context().Value(claimsKey{}).(*accessClaims)
	if cl == nil {
		return &accessClaims{}
	}
	return cl
}

// guard authenticates Data Gifting calls before the spec looks at them, as
// Centili's API gateway does, then refuses query parameters the operation
// does not know (the spec alone would ignore them).
func guard(c *sandbox.Call) bool {
	op, ok := operations[c.Operation]
	if !ok || op.keycloak {
		return true
	}
	s := c.State.(*State)
	raw := bearerToken(c.R.Header)
	if raw == "" {
		c.W.Header().Set("WWW-Authenticate", challengeNoToken)
		newProblem(http.StatusUnauthorized, errUnauthorized,
			"Missing bearer token: send Authorization: Bearer <access_token> (or a token header) obtained from the token URL").write(c)
		return false
	}
	claims, why := s.verifyAccess(c, raw)
	if why != "" {
		c.W.Header().Set("WWW-Authenticate", challengeInvalid)
		newProblem(http.StatusUnauthorized, errInvalidToken, "Invalid bearer token: %s", why).write(c)
		return false
	}
	c.R = c.R.WithContext(context.WithValue(c.R.Context(), claimsKey{}, claims))
	if p := checkQuery(c.R.URL.RawQuery, op.query); p != nil {
		p.write(c)
		return false
	}
	return true
}

// bearerToken takes the token from Authorization: Bearer, or from the
// `token` header of Centili's example, with or without "Bearer ".
func bearerToken(h http.Header) string {
	if t, ok := authorizationBearer(h.Get("Authorization")); ok {
		return t
	}
	t := strings.TrimSpace(h.Get("token"))
	if scheme, rest, ok := strings.Cut(t, " "); ok && strings.EqualFold(scheme, "Bearer") {
		t = strings.TrimSpace(rest)
	}
	return t
}

// verifyAccess checks an access token against the sandbox clock: signed by
// the realm's key, an access (not refresh or ID) token, issued by this realm
// in this namespace (either URL form), not expired. It returns the reason
// when the token is refused.
func (s *State) verifyAccess(c *sandbox.Call, raw string) (*accessClaims, string) {
	cl, ok := s.verified.get(raw)
	if !ok {
		cl = &accessClaims{}
		if err := s.tokens.Verify(raw, cl); err != nil {
			return nil, "the token is not a JWT signed by this realm"
		}
		s.verified.put(raw, cl)
	}
	if cl.Typ != "Bearer" {
		return nil, fmt.Sprintf("a %q token is not an access token", cl.Typ)
	}
	if !s.issuedHere(c, cl.Iss) {
		return nil, fmt.Sprintf("the token was issued by %s, not by this realm", cl.Iss)
	}
	if now := c.Now(); now.Unix() >= cl.Exp {
		return nil, "Token is not active (expired at " + time.Unix(cl.Exp, 0).UTC().Format(timeLayout) + ")"
	}
	return cl, ""
}

// verifiedTokens remembers the claims of tokens whose signature has been
// checked: a client sends the same access token for minutes, and an RSA
// verification costs more than the rest of a request. Claims that depend on
// time or on the request (exp, iss) are still checked on every call. The
// cache is bounded by forgetting everything when it is full.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]*accessClaims
}

const maxVerifiedTokens = 4096

func (v *verifiedTokens) get(raw string) (*accessClaims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	cl, ok := v.m[raw]
	return cl, ok
}

func (v *verifiedTokens) put(raw string, cl *accessClaims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxVerifiedTokens {
		v.m = make(map[string]*accessClaims)
	}
	v.m[raw] = cl
}

// checkQuery refuses unknown and repeated query parameters.
func checkQuery(rawQuery string, allowed []string) *problem {
	if rawQuery == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		// Go's query parser drops such pairs silently, which would turn a
		// typo into a misleading "is required" or an ignored filter.
		if strings.Contains(part, ";") {
			return validationf("Query parameter %q contains ';': separate query parameters with &", name)
		}
		if _, err := url.QueryUnescape(value); err != nil {
			return validationf("Query parameter %q has a malformed %%-escape in its value", name)
		}
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return validationf("Unknown query parameter %q: this operation takes no query parameters", name)
			}
			return validationf("Unknown query parameter %q; this operation accepts %s", name, strings.Join(allowed, ", "))
		}
		if seen[name] {
			return validationf("Query parameter %q is given more than once", name)
		}
		seen[name] = true
	}
	return nil
}

// assignData serves POST /datagifting/v1/service/transaction.
func (s *State) assignData(c *sandbox.Call) {
	req, p := decodeTransaction(c.R.Header.Get("Content-Type"), c.Body)
	if p != nil {
		p.write(c)
		return
	}
	tx, replay, p := s.assign(c.Now(), claimsOf(c).MerchantID, req)
	if replay {
		c.W.Header().Set(HeaderReplay, "true")
	}
	if p != nil {
		p.write(c)
		return
	}
	c.JSON(http.StatusOK, tx)
}

// assign runs the business rules and records the outcome under the state
// lock, so that the balance check and the assignment are one step.
func (s *State) assign(now time.Time, merchant int64, req transactionRequest) (Transaction, bool, *problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.durable {
		return s.assignLocked(now, merchant, req)
	}
	// The counter, the transaction and its pool reach the disk in one
	// commit: no crash leaves a transaction without its pool.
	var tx Transaction
	var replay bool
	var p *problem
	s.atomicLocked(func() { tx, replay, p = s.assignLocked(now, merchant, req) })
	return tx, replay, p
}

func (s *State) assignLocked(now time.Time, merchant int64, req transactionRequest) (Transaction, bool, *problem) {
	sv, p := s.ownedServiceLocked(req.ServiceKey, merchant)
	if p != nil {
		return Transaction{}, false, p
	}
	key := req.ServiceKey + "\x00" + req.ClientID
	if prev, ok := s.byClient[key]; ok {
		if prev.Status == statusCompleted {
			return *prev, true, nil
		}
		return Transaction{}, true, newProblem(prev.status, *prev.ErrorType, "%s", *prev.ErrorMessage)
	}
	if s.dropped.Has(key) {
		p := newProblem(http.StatusConflict, errClientIDUsed,
			"clientId %q was already used on service %s; its transaction is no longer kept, so its outcome cannot be replayed. Nothing was assigned", req.ClientID, sv.key)
		p.hint = fmt.Sprintf("the sandbox keeps the last %d transactions of a namespace (centili.limits.maxTransactions) and only the clientIds of older ones", s.cfg.Limits.MaxTransactions)
		return Transaction{}, true, p
	}
	tx := &Transaction{
		TransactionID: strconv.FormatInt(s.nextTxID, 10), ServiceKey: sv.key, Msisdn: req.Msisdn,
		ClientID: req.ClientID, Amount: req.Amount, TimeCreated: now.UTC().Format(timeLayout), status: http.StatusOK,
	}
	s.nextTxID++
	// Records go in the order that a crash between two of them would
	// leave a state that loads (durable.go): the id counter, the
	// transaction, then the pool it took from.
	s.putMetaLocked()
	operator, known := s.operatorOf(req.Msisdn)
	if known {
		tx.Operator = &operator
	}
	p = s.ruleLocked(now, sv, req, operator, known)
	if p != nil {
		if _, magic := s.magic[req.Msisdn]; magic && p.ErrorType == errUnsupportedOperator {
			tx.Operator = nil // as for a real unknown msisdn
		}
		tx.Status, tx.status = statusFailed, p.status
		tx.ErrorType, tx.ErrorMessage = &p.ErrorType, &p.ErrorMessage
	} else {
		tx.Status = statusCompleted
	}
	s.recordLocked(key, tx)
	if p == nil {
		s.putPoolsLocked(sv)
	}
	return *tx, false, p
}

// ownedServiceLocked finds a service of the caller's merchant.
func (s *State) ownedServiceLocked(key string, merchant int64) (*service, *problem) {
	sv, ok := s.services[key]
	if !ok {
		return nil, newProblem(http.StatusNotFound, errServiceNotFound, "Service %s not found", key)
	}
	if sv.merchantID != merchant {
		return nil, newProblem(http.StatusForbidden, errForbidden, "Service %s does not belong to merchant %d", key, merchant)
	}
	return sv, nil
}

// ruleLocked checks a transaction in Centili's order and, when it passes,
// assigns the amount from the soonest-expiring usable pool.
func (s *State) ruleLocked(now time.Time, sv *service, req transactionRequest, operator string, known bool) *problem {
	if forced, ok := s.magic[req.Msisdn]; ok {
		return magicProblem(forced, sv, req, operator)
	}
	if !sv.active {
		return newProblem(http.StatusUnprocessableEntity, errServiceInactive, "Service %s is not active", sv.key)
	}
	if !known {
		return newProblem(http.StatusUnprocessableEntity, errUnsupportedOperator, "No operator is known for msisdn %s", req.Msisdn)
	}
	var amounts []string
	offered := false
	for _, pk := range sv.packages {
		if pk.Operator == operator {
			amounts = append(amounts, strconv.FormatInt(pk.Amount, 10))
			offered = offered || pk.Amount == req.Amount
		}
	}
	var pools []*pool
	for _, pl := range sv.pools {
		if pl.operator == operator {
			pools = append(pools, pl)
		}
	}
	if len(amounts) == 0 || len(pools) == 0 {
		return newProblem(http.StatusUnprocessableEntity, errUnsupportedOperator, "Service %s has no data pool for operator %s (msisdn %s)", sv.key, operator, req.Msisdn)
	}
	if !offered {
		return newProblem(http.StatusUnprocessableEntity, errInvalidPackage, "Amount %d MB is not a package of service %s on %s; packages: %s MB", req.Amount, sv.key, operator, strings.Join(amounts, ", "))
	}
	var live *pool
	var left int64
	for _, pl := range pools {
		if pl.expired(now) {
			continue
		}
		if pl.total-pl.assigned >= req.Amount {
			pl.assigned += req.Amount
			return nil
		}
		if live == nil || pl.total-pl.assigned > left {
			live, left = pl, pl.total-pl.assigned
		}
	}
	if live == nil {
		last := pools[len(pools)-1]
		return newProblem(http.StatusUnprocessableEntity, errPoolExpired, "The %s data pool of service %s expired at %s", operator, sv.key, last.expires.Format(timeLayout))
	}
	return newProblem(http.StatusUnprocessableEntity, errInsufficientBalance, "Not enough data in the %s pool of service %s: %d MB left, %d MB requested", operator, sv.key, left, req.Amount)
}

// magicProblem is the business error a magic msisdn forces; the message
// says so, so that nobody hunts for a real cause.
func magicProblem(errorType string, sv *service, req transactionRequest, operator string) *problem {
	var msg string
	switch errorType {
	case errUnsupportedOperator:
		msg = fmt.Sprintf("No operator is known for msisdn %s", req.Msisdn)
	case errInvalidPackage:
		msg = fmt.Sprintf("Amount %d MB is not a package of service %s on %s", req.Amount, sv.key, operator)
	case errInsufficientBalance:
		msg = fmt.Sprintf("Not enough data in the %s pool of service %s: %d MB requested", operator, sv.key, req.Amount)
	case errPoolExpired:
		msg = fmt.Sprintf("The %s data pool of service %s has expired", operator, sv.key)
	default:
		msg = fmt.Sprintf("Service %s is not active", sv.key)
	}
	return newProblem(http.StatusUnprocessableEntity, errorType, "%s (sandbox magic msisdn)", msg)
}

// listTransactions serves GET /datagifting/v1/transaction.
func (s *State) listTransactions(c *sandbox.Call) {
	q := c.R.URL.Query()
	key, msisdn := q.Get("serviceKey"), q.Get("msisdn")
	s.serveOwned(c, key, func(*service) any {
		out := []Transaction{}
		for t := range s.txs.All() {
			if t.ServiceKey == key && (msisdn == "" || t.Msisdn == msisdn) {
				out = append(out, *t)
			}
		}
		return out
	})
}

// serveOwned answers a read of one of the caller's services: 404 or 403 as
// for a transaction, else 200 with what read builds under the state lock.
func (s *State) serveOwned(c *sandbox.Call, key string, read func(*service) any) {
	s.mu.Lock()
	sv, p := s.ownedServiceLocked(key, claimsOf(c).MerchantID)
	var out any
	if p == nil {
		out = read(sv)
	}
	s.mu.Unlock()
	if p != nil {
		p.write(c)
		return
	}
	c.JSON(http.StatusOK, out)
}

// serviceView is one service as GET services lists it.
type serviceView struct {
	ServiceKey  string    `json:"serviceKey"`
	Name        string    `json:"name"`
	MerchantID  int64     `json:"merchantId"`
	Active      bool      `json:"active"`
	TimeCreated string    `json:"timeCreated"`
	Packages    []Package `json:"packages"`
}

// listServices serves GET /datagifting/v1/services. Without merchantId in
// the query the merchant is the token's, as behind Centili's API gateway.
func (s *State) listServices(c *sandbox.Call) {
	merchant := claimsOf(c).MerchantID
	if v := c.R.URL.Query().Get("merchantId"); v != "" {
		asked, err := strconv.ParseInt(v, 10, 64)
		if err != nil || asked <= 0 {
			validationf("Query parameter \"merchantId\" %s", paramHints["merchantId"]).write(c)
			return
		}
		if asked != merchant {
			newProblem(http.StatusForbidden, errForbidden, "Merchant %d is not the merchant of this token (%d)", asked, merchant).write(c)
			return
		}
	}
	if merchant <= 0 {
		validationf("Query parameter \"merchantId\" is required: the token carries no merchantId claim").write(c)
		return
	}
	out := []serviceView{}
	for _, k := range s.order { // services are fixed by the scenario; no lock needed
		sv := s.services[k]
		if sv.merchantID == merchant {
			out = append(out, serviceView{ServiceKey: sv.key, Name: sv.name, MerchantID: sv.merchantID, Active: sv.active,
				TimeCreated: sv.created.UTC().Format(timeLayout), Packages: append([]Package{}, sv.packages...)})
		}
	}
	c.JSON(http.StatusOK, out)
}

// balanceView is one pool as GET services/balance shows it.
type balanceView struct {
	Operator       string `json:"operator"`
	TotalAmount    int64  `json:"totalAmount"`
	AssignedAmount int64  `json:"assignedAmount"`
	ExpirationDate string `json:"expirationDate"`
}

// getBalance serves GET /datagifting/v1/services/balance.
func (s *State) getBalance(c *sandbox.Call) {
	q := c.R.URL.Query()
	key, operator := q.Get("serviceKey"), q.Get("operator")
	s.serveOwned(c, key, func(sv *service) any {
		out := []balanceView{}
		for _, pl := range sv.pools {
			if operator == "" || pl.operator == operator {
				out = append(out, balanceView{Operator: pl.operator, TotalAmount: pl.total, AssignedAmount: pl.assigned, ExpirationDate: pl.expires.Format(timeLayout)})
			}
		}
		return out
	})
}
