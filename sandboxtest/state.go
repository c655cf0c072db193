package sandboxtest

import (
	"encoding/json"
	"net/http"
	"time"
)

// State decodes what a provider stored (GET /__sandbox/state/{provider})
// into out: one of the *State types of this package, or a type of your
// own. The typed methods (CentiliState, ...) call it.
func (sb *Sandbox) State(provider string, out any) {
	sb.t.Helper()
	res, err := sb.ac.GetStateWithResponse(ctx, provider)
	sb.must("reading the state of "+provider, err, res.HTTPResponse, res.Body, http.StatusOK)
	sb.decode("reading the state of "+provider, res.Body, out)
}

// CentiliState is Centili's stored state: services with their pools, every
// transaction (failed ones too) and the Keycloak sessions.
type CentiliState struct {
	// Now is the sandbox time of the reading, as Centili writes times
	// (yyyy-MM-dd HH:mm:ss, UTC).
	Now          string               `json:"now"`
	Services     []CentiliService     `json:"services"`
	Transactions []CentiliTransaction `json:"transactions"`
	Sessions     []CentiliSession     `json:"sessions"`
	Limits       CentiliLimits        `json:"limits"`
}

// Retention is where a namespace's stored history stands against its
// scenario's limits: how much is kept, the most that is, and how much was
// dropped (oldest first) to stay within it.
type Retention struct {
	Count   int   `json:"count"`
	Limit   int   `json:"limit"`
	Evicted int64 `json:"evicted"`
}

// CentiliLimits is the transaction log against centili.limits.maxTransactions;
// DroppedClientIDs counts the clientIds of evicted transactions still kept
// (as fingerprints), so that a retry is refused rather than assigned again.
type CentiliLimits struct {
	Transactions     Retention `json:"transactions"`
	DroppedClientIDs int       `json:"droppedClientIds"`
}

// CentiliService is a service with its packages and pools.
type CentiliService struct {
	ServiceKey string           `json:"serviceKey"`
	Name       string           `json:"name"`
	MerchantID int64            `json:"merchantId"`
	Active     bool             `json:"active"`
	Packages   []CentiliPackage `json:"packages"`
	Pools      []CentiliPool    `json:"pools"`
}

// CentiliPackage is an amount (MB) a service sells on an operator.
type CentiliPackage struct {
	Operator string `json:"operator"`
	Amount   int64  `json:"amount"`
}

// CentiliPool is a service's data pool on one operator, in MB.
type CentiliPool struct {
	Operator       string `json:"operator"`
	TotalAmount    int64  `json:"totalAmount"`
	AssignedAmount int64  `json:"assignedAmount"`
	Balance        int64  `json:"balance"`
	ExpirationDate string `json:"expirationDate"`
	Expired        bool   `json:"expired"`
}

// CentiliTransaction is Centili's transaction object. Operator,
// ErrorType and ErrorMessage are nil where Centili writes null.
type CentiliTransaction struct {
	TransactionID string  `json:"transactionId"`
	ServiceKey    string  `json:"serviceKey"`
	Msisdn        string  `json:"msisdn"`
	ClientID      string  `json:"clientId"`
	Amount        int64   `json:"amount"`
	Operator      *string `json:"operator"`
	Status        string  `json:"status"` // COMPLETED or FAILED
	ErrorType     *string `json:"errorType"`
	ErrorMessage  *string `json:"errorMessage"`
	TimeCreated   string  `json:"timeCreated"`
}

// CentiliSession is a Keycloak user session (one per password grant).
type CentiliSession struct {
	SessionID   string    `json:"sessionId"`
	UserID      string    `json:"userId"`
	Username    string    `json:"username"`
	ClientID    string    `json:"clientId"`
	Started     time.Time `json:"started"`
	LastRefresh time.Time `json:"lastRefresh"`
	Refreshes   int       `json:"refreshes"`
}

// Pool returns a service's pool on an operator.
func (s CentiliState) Pool(serviceKey, operator string) (CentiliPool, bool) {
	for _, sv := range s.Services {
		if sv.ServiceKey != serviceKey {
			continue
		}
		for _, p := range sv.Pools {
			if p.Operator == operator {
				return p, true
			}
		}
	}
	return CentiliPool{}, false
}

// CentiliState reads Centili's stored state.
func (sb *Sandbox) CentiliState() CentiliState {
	sb.t.Helper()
	var s CentiliState
	sb.State("centili", &s)
	return s
}

// NetReferState is what each NetRefer client ingested.
type NetReferState struct {
	Clients []NetReferClient `json:"clients"`
	Limits  NetReferLimits   `json:"limits"`
}

// NetReferLimits is the stored events against netrefer.limits.maxStoredEvents
// (nothing is evicted; payloads that arrive at the limit are refused, 507)
// and the remembered refresh tokens against netrefer.limits.maxRefreshTokens
// (the oldest are forgotten).
type NetReferLimits struct {
	StoredEvents struct {
		Count           int64 `json:"count"`
		Limit           int   `json:"limit"`
		RefusedPayloads int64 `json:"refusedPayloads"`
	} `json:"storedEvents"`
	RefreshTokens Retention `json:"refreshTokens"`
}

// NetReferClient is one API client's customers and transactions.
type NetReferClient struct {
	ClientID        string                `json:"clientId"`
	ProcessedEvents int                   `json:"processedEvents"`
	Customers       []NetReferCustomer    `json:"customers"`
	Transactions    []NetReferTransaction `json:"transactions"`
}

// NetReferCustomer is a registered customer with its totals after
// corrections and reversals. Money is written as NetRefer's exact decimals
// (json.Number: compare the text, or call Float64).
type NetReferCustomer struct {
	CustomerID       string         `json:"customerId"`
	BrandID          int            `json:"brandId"`
	RegistrationDate time.Time      `json:"registrationDate"`
	CountryCode      string         `json:"countryCode"`
	Currency         string         `json:"currency"`
	BTag             string         `json:"bTag"`
	Username         string         `json:"username,omitempty"`
	Status           string         `json:"status"`
	RegisteredBy     string         `json:"registeredBy"` // the registration's eventId
	Updates          []string       `json:"updates"`      // eventIds of customer updates
	Totals           NetReferTotals `json:"totals"`
}

// NetReferTotals sums a customer's live transactions.
type NetReferTotals struct {
	Deposits       json.Number `json:"deposits"`
	DepositFees    json.Number `json:"depositFees"`
	DepositCount   int         `json:"depositCount"`
	Withdrawals    json.Number `json:"withdrawals"`
	WithdrawalFees json.Number `json:"withdrawalFees"`
	Turnover       json.Number `json:"turnover"`
	GrossRevenue   json.Number `json:"grossRevenue"`
	Bonus          json.Number `json:"bonus"`
	Chargebacks    int         `json:"chargebacks"`
	BetVoids       int         `json:"betVoids"`
}

// NetReferTransaction is a transaction's current values and its history;
// the fields a type does not have are nil or zero.
type NetReferTransaction struct {
	TransactionID string           `json:"transactionId"`
	Type          string           `json:"type"` // Deposit, Withdrawal, Activity
	CustomerID    string           `json:"customerId"`
	BrandID       int              `json:"brandId"`
	Currency      string           `json:"currency"`
	Amount        *json.Number     `json:"amount,omitempty"`
	Fee           *json.Number     `json:"fee,omitempty"`
	Method        *NetReferMethod  `json:"method,omitempty"`
	ProductID     int              `json:"productId,omitempty"`
	Turnover      *json.Number     `json:"turnover,omitempty"`
	GrossRevenue  *json.Number     `json:"grossRevenue,omitempty"`
	Bonus         *json.Number     `json:"bonus,omitempty"`
	ActivityDate  *time.Time       `json:"activityDate,omitempty"`
	Reversed      bool             `json:"reversed"`
	History       []NetReferChange `json:"history"`
}

// NetReferMethod is a deposit or withdrawal method as NetRefer resolved the
// text sent.
type NetReferMethod struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Sent string `json:"sent"`
}

// NetReferChange is one event in a transaction's history.
type NetReferChange struct {
	EventID      string       `json:"eventId"`
	Type         string       `json:"type"`
	Timestamp    time.Time    `json:"timestamp"`
	Amount       *json.Number `json:"amount,omitempty"`
	Turnover     *json.Number `json:"turnover,omitempty"`
	GrossRevenue *json.Number `json:"grossRevenue,omitempty"`
	Bonus        *json.Number `json:"bonus,omitempty"`
}

// Customer returns the customer a client registered under an id.
func (s NetReferState) Customer(customerID string) (NetReferCustomer, bool) {
	for _, cl := range s.Clients {
		for _, c := range cl.Customers {
			if c.CustomerID == customerID {
				return c, true
			}
		}
	}
	return NetReferCustomer{}, false
}

// NetReferState reads what NetRefer ingested.
func (sb *Sandbox) NetReferState() NetReferState {
	sb.t.Helper()
	var s NetReferState
	sb.State("netrefer", &s)
	return s
}

// NetfinityState lists the accepted messages with their statuses and the
// rate-limit windows open now.
type NetfinityState struct {
	Messages   []NetfinityMessage   `json:"messages"`
	RateLimits []NetfinityRateLimit `json:"rateLimits"`
	Limits     NetfinityLimits      `json:"limits"`
}

// NetfinityLimits is the state view's messages against
// netfinity.limits.maxMessages and the settled pingbacks GET /callbacks
// keeps against netfinity.limits.maxPingbacks.
type NetfinityLimits struct {
	Messages  Retention `json:"messages"`
	Pingbacks Retention `json:"pingbacks"`
}

// NetfinityMessage is an accepted send and the statuses it reached.
type NetfinityMessage struct {
	UUID        string            `json:"uuid"`
	ID          *string           `json:"id"` // the client's id; nil when it sent none
	Token       string            `json:"token"`
	Msisdn      string            `json:"msisdn"`      // international form
	MsisdnGiven string            `json:"msisdnGiven"` // as sent
	Network     string            `json:"network,omitempty"`
	Text        string            `json:"text"`
	SentText    string            `json:"sentText"`
	Septets     int               `json:"septets"`
	Truncated   bool              `json:"truncated"`
	Path        string            `json:"path"` // the status path it follows
	Flood       string            `json:"flood,omitempty"`
	AcceptedAt  time.Time         `json:"acceptedAt"`
	Status      *NetfinityStatus  `json:"status"` // the latest; nil before the first
	Final       bool              `json:"final"`
	History     []NetfinityStatus `json:"history"`
	CallbackURL string            `json:"callbackUrl,omitempty"`
	Callbacks   []string          `json:"callbacks"` // ids of its pingback deliveries
}

// NetfinityStatus is one status a message reached (201 Queued, ...).
type NetfinityStatus struct {
	Code        int            `json:"code"`
	Description string         `json:"description"`
	At          time.Time      `json:"at"`
	Meta        *NetfinityMeta `json:"meta,omitempty"`
}

// NetfinityMeta carries a status's extras (a voucher for 301).
type NetfinityMeta struct {
	Voucher *NetfinityVoucher `json:"voucher,omitempty"`
}

// NetfinityVoucher is the voucher of a delayed message.
type NetfinityVoucher struct {
	UUID    string `json:"uuid"`
	Expires string `json:"expires"`
}

// NetfinityRateLimit is a token's open rate-limit window.
type NetfinityRateLimit struct {
	Token      string    `json:"token"`
	Service    string    `json:"service"`
	Limit      int       `json:"limit"`
	Used       int       `json:"used"`
	WindowEnds time.Time `json:"windowEnds"`
}

// NetfinityState reads Netfinity's messages and rate windows.
func (sb *Sandbox) NetfinityState() NetfinityState {
	sb.t.Helper()
	var s NetfinityState
	sb.State("netfinity", &s)
	return s
}

// InTargetState is the reference product API's set-up: InTarget stores
// nothing, its data is generated from the seed.
type InTargetState struct {
	Auth       string         `json:"auth"` // basic, header or none
	Faults     InTargetFaults `json:"faults"`
	MaxWindow  string         `json:"maxWindow"` // a Go duration, e.g. 744h
	World      InTargetWorld  `json:"world"`
	WorldStart time.Time      `json:"worldStart"`
}

// InTargetWorld is the volume of generated data.
type InTargetWorld struct {
	Start                string `json:"start"`
	Days                 int    `json:"days"`
	PlayersPerHour       int    `json:"playersPerHour"`
	LoginsPerHour        int    `json:"loginsPerHour"`
	TransactionsPerHour  int    `json:"transactionsPerHour"`
	GameSessionsPerHour  int    `json:"gameSessionsPerHour"`
	BetsPerHour          int    `json:"betsPerHour"`
	EventsPerHour        int    `json:"eventsPerHour"`
	TournamentEveryHours int    `json:"tournamentEveryHours"`
}

// InTargetFaults are the contract violations switched on (see
// docs/intarget.md).
type InTargetFaults struct {
	ClosedInterval       bool   `json:"closedInterval"`
	LocalTime            string `json:"localTime"`
	ISOTimestamps        bool   `json:"isoTimestamps"`
	PlusNotDecoded       bool   `json:"plusNotDecoded"`
	DecreasingTimestamps bool   `json:"decreasingTimestamps"`
	MissingColumn        string `json:"missingColumn"`
	LateRows             string `json:"lateRows"`
	DuplicateRows        bool   `json:"duplicateRows"`
}

// InTargetState reads the reference product API's set-up.
func (sb *Sandbox) InTargetState() InTargetState {
	sb.t.Helper()
	var s InTargetState
	sb.State("intarget", &s)
	return s
}
