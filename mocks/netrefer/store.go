package netrefer

import (
	"sync"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// txType is the type of a stored transaction.
type txType uint8

const (
	txDeposit txType = iota
	txWithdrawal
	txActivity
)

var txTypeNames = [...]string{"Deposit", "Withdrawal", "Activity"}

func withArticle(name string) string {
	if name == "Activity" {
		return "an " + name
	}
	return "a " + name
}

// change is one entry of a transaction's history: the event that created,
// corrected or reversed it, with the values after the change.
// The json tags name the fields in a namespace snapshot (persist.go).
type change struct {
	EventID   string    `json:"eventId"`
	Kind      string    `json:"kind"` // Deposit, Withdrawal, Activity, DepositCorrection, Correction, Chargeback, BetVoid
	Timestamp time.Time `json:"timestamp"`
	// Values after the change (unused for reversals).
	Amount       Money `json:"amount"`
	Turnover     Money `json:"turnover"`
	GrossRevenue Money `json:"grossRevenue"`
	Bonus        Money `json:"bonus"`
}

type transaction struct {
	ID           string    `json:"id"`
	Type         txType    `json:"type"`
	CustomerID   string    `json:"customerId"`
	BrandID      int       `json:"brandId"`
	Currency     string    `json:"currency"`
	Amount       Money     `json:"amount"`
	Fee          Money     `json:"fee"`
	MethodID     int       `json:"methodId"`
	MethodSent   string    `json:"methodSent"`
	ProductID    int       `json:"productId"`
	Turnover     Money     `json:"turnover"`
	GrossRevenue Money     `json:"grossRevenue"`
	Bonus        Money     `json:"bonus"`
	ActivityDate time.Time `json:"activityDate"`
	Reversed     bool      `json:"reversed"`
	History      []change  `json:"history"`
}

type customer struct {
	ID               string    `json:"id"`
	BrandID          int       `json:"brandId"`
	RegistrationDate time.Time `json:"registrationDate"`
	CountryCode      string    `json:"countryCode"`
	Currency         string    `json:"currency"`
	BTag             string    `json:"bTag"`
	Username         string    `json:"username"`
	Status           string    `json:"status"`
	RegisteredBy     string    `json:"registeredBy"`
	Updates          []string  `json:"updates"` // eventIds of customer updates, in order
	txs              []*transaction
}

// clientStore is everything one client ingested. One mutex guards it: a
// batch is applied under it as a whole, so concurrent batches see each
// other's event ids and exactly one of a set of duplicates wins.
type clientStore struct {
	mu        sync.Mutex
	processed map[string]struct{}
	customers map[string]*customer
	custOrder []*customer
	txs       map[string]*transaction
	txOrder   []*transaction
	// rec keeps every change under client (durable.go); nil when records
	// are not kept, so that the in-memory store builds no record values.
	rec    sandbox.Records
	client string
}

func newClientStore() *clientStore {
	return &clientStore{processed: map[string]struct{}{}, customers: map[string]*customer{}, txs: map[string]*transaction{}}
}

// outcome is what an accepted event did, reported as `interpretedAs` when it
// differs from the endpoint's own event type (a re-sent deposit with amount
// 0 is a Chargeback, and so on).
type outcome string

// apply runs the stateful rules for one statically valid event and stores it.
// It must be called with s.mu held. It returns the interpretation of the
// event or records errors on it.
func (s *clientStore) apply(e *event) outcome {
	if _, dup := s.processed[e.EventID]; dup {
		e.fail(CodeAlreadyProcessed, fEventID, "eventId '%s' was already processed.", shorten(e.EventID))
		return ""
	}
	var out outcome
	if e.kind == kRegistration {
		out = s.register(e)
	} else {
		c := s.customers[e.CustomerID]
		switch {
		case c == nil:
			e.fail(CodeUnknownCustomer, fCustomerID, "customerId '%s' is not a registered customer; send its registration first.", shorten(e.CustomerID))
			return ""
		case c.BrandID != e.BrandID:
			e.fail(CodeBrandMismatch, fBrandID, "brandId %d does not match brand %d that customer '%s' is registered with.", e.BrandID, c.BrandID, shorten(e.CustomerID))
			return ""
		}
		switch e.kind {
		case kCustomerUpdate:
			out = s.update(c, e)
		case kDeposit:
			out = s.deposit(c, e)
		case kWithdrawal:
			out = s.withdrawal(c, e)
		case kActivity:
			out = s.activity(c, e)
		case kAdjustment:
			out = s.adjustment(c, e)
		case kCorrection:
			out = s.correction(c, e)
		case kDepositCorrection:
			out = s.depositCorrection(c, e)
		}
	}
	if len(e.errs) == 0 {
		s.processed[e.EventID] = struct{}{}
	}
	return out
}

func (s *clientStore) register(e *event) outcome {
	if _, ok := s.customers[e.CustomerID]; ok {
		e.fail(CodeAlreadyRegistered, fCustomerID, "customerId '%s' is already registered; send a customer update instead.", shorten(e.CustomerID))
		return ""
	}
	c := &customer{ID: e.CustomerID, BrandID: e.BrandID, RegistrationDate: e.RegistrationDate, CountryCode: e.CountryCode,
		Currency: e.Currency, BTag: e.BTag, Username: e.Username, Status: "Active", RegisteredBy: e.EventID}
	s.customers[c.ID] = c
	s.custOrder = append(s.custOrder, c)
	if s.rec != nil {
		s.putCustomer(c)
	}
	return ""
}

func (s *clientStore) update(c *customer, e *event) outcome {
	if e.seen.has(fCountryCode) {
		c.CountryCode = e.CountryCode
	}
	if e.seen.has(fStatus) {
		c.Status = e.Status
	}
	if e.seen.has(fBTag) {
		c.BTag = e.BTag
	}
	if e.seen.has(fUsername) {
		c.Username = e.Username
	}
	c.Updates = append(c.Updates, e.EventID)
	if s.rec != nil {
		s.putUpdate(c)
	}
	return ""
}

// existing looks up the transaction an event refers to and checks it may
// still change: same customer, right type, not reversed.
func (s *clientStore) existing(c *customer, e *event, f field, id string, want txType) *transaction {
	t := s.txs[id]
	if t == nil {
		return nil
	}
	switch {
	case t.CustomerID != c.ID:
		e.fail(CodeOtherCustomer, f, "%s '%s' belongs to another customer.", fieldNames[f], shorten(id))
	case t.Type != want:
		e.fail(CodeOriginalWrongType, f, "%s '%s' is %s, not %s.", fieldNames[f], shorten(id), withArticle(txTypeNames[t.Type]), withArticle(txTypeNames[want]))
	case t.Reversed:
		e.fail(CodeReversed, f, "%s '%s' was fully reversed; no further events are accepted for it.", fieldNames[f], shorten(id))
	}
	return t
}

func (s *clientStore) add(c *customer, t *transaction) {
	s.txs[t.ID] = t
	s.txOrder = append(s.txOrder, t)
	c.txs = append(c.txs, t)
}

func (s *clientStore) deposit(c *customer, e *event) outcome {
	if t := s.existing(c, e, fTransactionID, e.TransactionID, txDeposit); t != nil || len(e.errs) > 0 {
		if len(e.errs) > 0 {
			return ""
		}
		if e.Amount != 0 {
			e.fail(CodeTransactionExists, fTransactionID, "transactionId '%s' already exists; send a deposit correction to change its amount, or amount 0 to charge it back.", shorten(e.TransactionID))
			return ""
		}
		return s.reverse(t, e, "Chargeback")
	}
	if e.Amount == 0 {
		e.fail(CodeAmount, fAmount, "amount must be greater than 0 for a new deposit, got 0.")
		return ""
	}
	s.addPayment(c, e, txDeposit)
	return ""
}

// addPayment stores a new deposit or withdrawal.
func (s *clientStore) addPayment(c *customer, e *event, typ txType) {
	t := &transaction{ID: e.TransactionID, Type: typ, CustomerID: c.ID, BrandID: e.BrandID, Currency: e.Currency,
		Amount: e.Amount, Fee: e.Fee, MethodID: e.MethodID, MethodSent: e.MethodSent}
	t.History = []change{{EventID: e.EventID, Kind: txTypeNames[typ], Timestamp: e.Timestamp, Amount: e.Amount}}
	s.add(c, t)
	if s.rec != nil {
		s.putTransaction(t)
	}
}

func (s *clientStore) withdrawal(c *customer, e *event) outcome {
	if t := s.txs[e.TransactionID]; t != nil {
		if t.Type != txWithdrawal {
			// as for deposits and activities: the id names another type
			e.fail(CodeOriginalWrongType, fTransactionID, "transactionId '%s' is %s, not a Withdrawal.", shorten(e.TransactionID), withArticle(txTypeNames[t.Type]))
			return ""
		}
		e.fail(CodeTransactionExists, fTransactionID, "transactionId '%s' already exists; withdrawals cannot be corrected.", shorten(e.TransactionID))
		return ""
	}
	if e.Amount == 0 {
		e.fail(CodeAmount, fAmount, "amount must be greater than 0, got 0.")
		return ""
	}
	s.addPayment(c, e, txWithdrawal)
	return ""
}

func (s *clientStore) activity(c *customer, e *event) outcome {
	if t := s.existing(c, e, fTransactionID, e.TransactionID, txActivity); t != nil || len(e.errs) > 0 {
		if len(e.errs) > 0 {
			return ""
		}
		return s.correct(t, e)
	}
	t := &transaction{ID: e.TransactionID, Type: txActivity, CustomerID: c.ID, BrandID: e.BrandID, Currency: e.Currency,
		ProductID: e.ProductID, Turnover: e.Turnover, GrossRevenue: e.GrossRevenue, Bonus: e.Bonus, ActivityDate: e.ActivityDate}
	t.History = []change{{EventID: e.EventID, Kind: "Activity", Timestamp: e.Timestamp, Turnover: e.Turnover, GrossRevenue: e.GrossRevenue, Bonus: e.Bonus}}
	s.add(c, t)
	if s.rec != nil {
		s.putTransaction(t)
	}
	return ""
}

// correct applies new activity values; all three zero is a BetVoid.
func (s *clientStore) correct(t *transaction, e *event) outcome {
	if e.Turnover == 0 && e.GrossRevenue == 0 && e.Bonus == 0 {
		return s.reverse(t, e, "BetVoid")
	}
	s.change(t, change{EventID: e.EventID, Kind: "Correction", Timestamp: e.Timestamp, Turnover: e.Turnover, GrossRevenue: e.GrossRevenue, Bonus: e.Bonus})
	return "Correction"
}

func (s *clientStore) reverse(t *transaction, e *event, kind string) outcome {
	s.change(t, change{EventID: e.EventID, Kind: kind, Timestamp: e.Timestamp})
	return outcome(kind)
}

// change records a correction or reversal of t, and keeps it.
func (s *clientStore) change(t *transaction, ch change) {
	t.record(ch)
	if s.rec != nil {
		s.putChange(t)
	}
}

// record appends a correction or reversal to t's history and sets the
// values it carries. LoadRecords replays kept changes through it, so a
// loaded transaction is changed exactly as the live one was.
func (t *transaction) record(ch change) {
	switch ch.Kind {
	case "Correction":
		t.Turnover, t.GrossRevenue, t.Bonus = ch.Turnover, ch.GrossRevenue, ch.Bonus
	case "DepositCorrection":
		t.Amount = ch.Amount
	case "Chargeback", "BetVoid":
		t.Reversed = true
	}
	t.History = append(t.History, ch)
}

func (s *clientStore) original(c *customer, e *event, want txType) *transaction {
	t := s.existing(c, e, fOriginalTransactionID, e.OriginalTransactionID, want)
	if t == nil && len(e.errs) == 0 {
		e.fail(CodeOriginalNotFound, fOriginalTransactionID, "originalTransactionId '%s' does not exist.", shorten(e.OriginalTransactionID))
	}
	if len(e.errs) > 0 {
		return nil
	}
	return t
}

func (s *clientStore) adjustment(c *customer, e *event) outcome {
	want := txActivity
	if e.AdjustmentType == "Chargeback" {
		want = txDeposit
	}
	t := s.original(c, e, want)
	if t == nil {
		return ""
	}
	return s.reverse(t, e, e.AdjustmentType)
}

func (s *clientStore) correction(c *customer, e *event) outcome {
	t := s.original(c, e, txActivity)
	if t == nil {
		return ""
	}
	return s.correct(t, e)
}

func (s *clientStore) depositCorrection(c *customer, e *event) outcome {
	t := s.original(c, e, txDeposit)
	if t == nil {
		return ""
	}
	if e.Amount == 0 {
		return s.reverse(t, e, "Chargeback")
	}
	s.change(t, change{EventID: e.EventID, Kind: "DepositCorrection", Timestamp: e.Timestamp, Amount: e.Amount})
	return "DepositCorrection"
}
