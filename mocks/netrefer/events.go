package netrefer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/provider-sandbox/provider-sandbox/internal/jsonkind"
)

// kind is the event type an ingestion endpoint takes.
type kind uint8

const (
	kRegistration kind = iota
	kCustomerUpdate
	kDeposit
	kWithdrawal
	kActivity
	kAdjustment
	kCorrection
	kDepositCorrection
)

// kindNames are the values of the optional `eventType` member.
var kindNames = [...]string{"Registration", "CustomerUpdate", "Deposit", "Withdrawal", "Activity", "Adjustment", "Correction", "DepositCorrection"}

func (k kind) String() string { return kindNames[k] }

// field identifies an event member; the order is the order missing fields
// are reported in.
type field uint8

const (
	fEventID field = iota
	fCustomerID
	fBrandID
	fTimestamp
	fEventType
	fRegistrationDate
	fCountryCode
	fCurrency
	fBTag
	fUsername
	fStatus
	fTransactionID
	fOriginalTransactionID
	fAmount
	fFee
	fDepositMethod
	fWithdrawalMethod
	fProductID
	fTurnover
	fGrossRevenue
	fBonus
	fActivityDate
	fAdjustmentType
	numFields
)

var fieldNames = [numFields]string{"eventId", "customerId", "brandId", "timestamp", "eventType", "registrationDate",
	"countryCode", "currency", "bTag", "username", "status", "transactionId", "originalTransactionId", "amount", "fee",
	"depositMethod", "withdrawalMethod", "productId", "turnover", "grossRevenue", "bonus", "activityDate", "adjustmentType"}

var fieldByName = func() map[string]field {
	m := map[string]field{}
	for i, n := range fieldNames {
		m[n] = field(i)
	}
	return m
}()

type fieldSet uint32

func set(fs ...field) fieldSet {
	var s fieldSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

func (s fieldSet) has(f field) bool { return s&(1<<f) != 0 }

var common = set(fEventID, fCustomerID, fBrandID, fTimestamp, fEventType)

// allowed and required members per event type (docs/netrefer.md §Events).
var (
	allowedFields = [...]fieldSet{
		kRegistration:      common | set(fRegistrationDate, fCountryCode, fCurrency, fBTag, fUsername),
		kCustomerUpdate:    common | set(fCountryCode, fStatus, fBTag, fUsername),
		kDeposit:           common | set(fTransactionID, fAmount, fFee, fCurrency, fDepositMethod),
		kWithdrawal:        common | set(fTransactionID, fAmount, fFee, fCurrency, fWithdrawalMethod),
		kActivity:          common | set(fTransactionID, fProductID, fTurnover, fGrossRevenue, fBonus, fCurrency, fActivityDate),
		kAdjustment:        common | set(fOriginalTransactionID, fAdjustmentType),
		kCorrection:        common | set(fOriginalTransactionID, fTurnover, fGrossRevenue, fBonus),
		kDepositCorrection: common | set(fOriginalTransactionID, fAmount),
	}
	requiredFields = [...]fieldSet{
		kRegistration:      set(fEventID, fCustomerID, fBrandID, fTimestamp, fRegistrationDate, fCountryCode, fCurrency, fBTag), // bTag may be ""
		kCustomerUpdate:    set(fEventID, fCustomerID, fBrandID, fTimestamp),
		kDeposit:           set(fEventID, fCustomerID, fBrandID, fTimestamp, fTransactionID, fAmount, fCurrency, fDepositMethod),
		kWithdrawal:        set(fEventID, fCustomerID, fBrandID, fTimestamp, fTransactionID, fAmount, fCurrency, fWithdrawalMethod),
		kActivity:          set(fEventID, fCustomerID, fBrandID, fTimestamp, fTransactionID, fProductID, fTurnover, fGrossRevenue, fBonus, fCurrency, fActivityDate),
		kAdjustment:        set(fEventID, fCustomerID, fBrandID, fTimestamp, fOriginalTransactionID, fAdjustmentType),
		kCorrection:        set(fEventID, fCustomerID, fBrandID, fTimestamp, fOriginalTransactionID, fTurnover, fGrossRevenue, fBonus),
		kDepositCorrection: set(fEventID, fCustomerID, fBrandID, fTimestamp, fOriginalTransactionID, fAmount),
	}
)

// Error codes of per-event results. They are stable: docs/netrefer.md lists
// them and clients may switch on them.
const (
	CodeRequired          = "DI-1003"
	CodeFormat            = "DI-1004"
	CodeAlreadyProcessed  = "DI-1005"
	CodeDuplicateInBatch  = "DI-1006"
	CodeUnknownCustomer   = "DI-1007"
	CodeUnknownBrand      = "DI-1008"
	CodeCurrency          = "DI-1009"
	CodeCountry           = "DI-1010"
	CodeMethod            = "DI-1011"
	CodeAmount            = "DI-1012"
	CodeOriginalNotFound  = "DI-1013"
	CodeOriginalWrongType = "DI-1014"
	CodeFuture            = "DI-1015"
	CodeUnknownField      = "DI-1016"
	CodeRange             = "DI-1017"
	CodeAlreadyRegistered = "DI-1018"
	CodeBrandMismatch     = "DI-1019"
	CodeTransactionExists = "DI-1020"
	CodeReversed          = "DI-1021"
	CodeOtherCustomer     = "DI-1022"
	CodeValue             = "DI-1023"
)

// EventError is one reason an event was rejected.
type EventError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// event is one decoded event. Only members of its kind are set.
type event struct {
	kind  kind
	index int
	seen  fieldSet
	errs  []EventError

	EventID, CustomerID   string
	BrandID               int
	Timestamp             time.Time
	EventType             string
	RegistrationDate      time.Time
	CountryCode, Currency string
	BTag, Username        string
	Status                string
	TransactionID         string
	OriginalTransactionID string
	Amount, Fee           Money
	MethodID              int
	MethodSent            string
	ProductID             int
	Turnover              Money
	GrossRevenue          Money
	Bonus                 Money
	ActivityDate          time.Time
	AdjustmentType        string
}

func (e *event) fail(code string, f field, format string, args ...any) {
	e.errs = append(e.errs, EventError{Code: code, Field: fieldNames[f], Message: fmt.Sprintf(format, args...)})
}

// payloadError is a whole-payload rejection (400 {"statusCode","message"}).
type payloadError struct{ msg string }

func (e *payloadError) Error() string { return e.msg }

func payloadErrorf(format string, args ...any) *payloadError {
	return &payloadError{msg: fmt.Sprintf(format, args...)}
}

// splitPayload turns a body into raw event objects, or a whole-payload error:
// empty, not UTF-8, malformed, neither an object nor an array of objects,
// empty array, or more than maxEvents events.
func splitPayload(body []byte, maxEvents int) ([][]byte, *payloadError) {
	i := skipSpace(body, 0)
	if i == len(body) {
		return nil, payloadErrorf("The request body is empty; send one event object or an array of event objects.")
	}
	if !utf8.Valid(body) {
		return nil, payloadErrorf("The request body is not valid UTF-8.")
	}
	switch body[i] {
	case '{':
		if err := json.Unmarshal(body, new(json.RawMessage)); err != nil {
			return nil, malformed(err)
		}
		return [][]byte{body}, nil
	case '[':
		// One validating scan (json.Valid), then the raw elements are cut
		// out by the scanner: half the work of json.Unmarshal into
		// []json.RawMessage, which scans twice and copies every element.
		if !json.Valid(body) {
			return nil, malformed(json.Unmarshal(body, new(json.RawMessage)))
		}
		out := make([][]byte, 0, 64)
		j := skipSpace(body, i+1)
		for j < len(body) && body[j] != ']' {
			if body[j] == ',' {
				j = skipSpace(body, j+1)
				continue
			}
			end := skipValue(body, j)
			if body[j] != '{' {
				return nil, payloadErrorf("JSON with multiple structures is not processed: element %d of the array is %s, not an event object.", len(out), jsonkind.Of(body[j:end]))
			}
			if len(out) == maxEvents {
				return nil, payloadErrorf("The payload holds %d events; at most %d events are accepted in one payload.", countElements(body, i), maxEvents)
			}
			out = append(out, body[j:end])
			j = skipSpace(body, end)
		}
		if len(out) == 0 {
			return nil, payloadErrorf("The request body is an empty array; send at least one event.")
		}
		return out, nil
	}
	if err := json.Unmarshal(body, new(json.RawMessage)); err != nil {
		return nil, malformed(err)
	}
	return nil, payloadErrorf("JSON with multiple structures is not processed: the body is %s, not an event object or an array of event objects.", jsonkind.Of(body[i:]))
}

// countElements counts the elements of the valid JSON array at body[i].
func countElements(body []byte, i int) int {
	n := 0
	j := skipSpace(body, i+1)
	for j < len(body) && body[j] != ']' {
		if body[j] == ',' {
			j = skipSpace(body, j+1)
			continue
		}
		j = skipSpace(body, skipValue(body, j))
		n++
	}
	return n
}

func malformed(err error) *payloadError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if strings.Contains(se.Error(), "exceeded max depth") {
			return payloadErrorf("The request body is not valid JSON: it is nested more than 10000 levels deep (at byte %d).", se.Offset)
		}
		return payloadErrorf("The request body is not valid JSON: %s (at byte %d).", se.Error(), se.Offset)
	}
	return payloadErrorf("The request body is not valid JSON: %s.", err.Error())
}

// decodeEvent reads one raw event object of kind k and applies every check
// that needs no stored state.
func decodeEvent(k kind, raw []byte, index int) *event {
	e := &event{}
	e.decode(k, raw, index)
	return e
}

// decode fills a zero event; the handler decodes into one slice of events
// to save an allocation per event.
func (e *event) decode(k kind, raw []byte, index int) {
	e.kind, e.index = k, index
	allowed := allowedFields[k]
	eachField(raw, func(rk, val []byte) bool {
		var key string
		var f field
		var ok bool
		if inner := rk[1 : len(rk)-1]; bytes.IndexByte(inner, '\\') < 0 {
			f, ok = fieldByName[string(inner)] // no allocation for the look-up
			if ok {
				key = fieldNames[f]
			} else {
				key = string(inner)
			}
		} else {
			key, _ = unquote(rk)
			f, ok = fieldByName[key]
		}
		if !ok || !allowed.has(f) {
			e.errs = append(e.errs, EventError{Code: CodeUnknownField, Field: shorten(key),
				Message: fmt.Sprintf("%s is not a member of a %s event.", shorten(key), k)})
			return true
		}
		if e.seen.has(f) {
			e.fail(CodeFormat, f, "%s appears more than once in the event.", key)
			return true
		}
		if bytes.Equal(val, []byte("null")) {
			return true // reported as missing when required
		}
		e.seen |= 1 << f
		e.decodeField(f, val)
		return true
	})
	missing := requiredFields[k] &^ e.seen
	for f := field(0); f < numFields && missing != 0; f++ {
		if missing.has(f) {
			e.fail(CodeRequired, f, "%s is required.", fieldNames[f])
			missing &^= 1 << f
		}
	}
}

func (e *event) decodeField(f field, val []byte) {
	switch f {
	case fEventID:
		e.EventID = e.str(f, val, 1, 64)
	case fCustomerID:
		e.CustomerID = e.str(f, val, 1, 64)
	case fTransactionID:
		e.TransactionID = e.str(f, val, 1, 64)
	case fOriginalTransactionID:
		e.OriginalTransactionID = e.str(f, val, 1, 64)
	case fBrandID:
		e.BrandID = e.integer(f, val)
	case fProductID:
		if e.ProductID = e.integer(f, val); e.ProductID < 1 && e.ok(f) {
			e.fail(CodeRange, f, "productId must be at least 1, got %d.", e.ProductID)
		}
	case fTimestamp:
		e.Timestamp = e.dateTime(f, val)
	case fRegistrationDate:
		e.RegistrationDate = e.dateTime(f, val)
	case fActivityDate:
		e.ActivityDate = e.dateTime(f, val)
	case fEventType:
		e.EventType = e.str(f, val, 1, 64)
	case fCountryCode:
		e.CountryCode = e.enum(f, val, countries, CodeCountry, "is not an ISO 3166-1 alpha-2 country code")
	case fCurrency:
		e.Currency = e.enum(f, val, currencies, CodeCurrency, "is not an ISO 4217 currency code")
	case fBTag:
		e.BTag = e.str(f, val, 0, 256)
	case fUsername:
		e.Username = e.str(f, val, 1, 64)
	case fStatus:
		e.Status = e.enum(f, val, customerStatuses, CodeValue, "is not one of Active, Inactive, Closed, SelfExcluded, Blocked")
	case fAdjustmentType:
		e.AdjustmentType = e.enum(f, val, adjustmentTypes, CodeValue, "is not BetVoid or Chargeback")
	case fAmount:
		e.Amount = e.nonNegative(f, val)
	case fFee:
		e.Fee = e.nonNegative(f, val)
	case fTurnover:
		e.Turnover = e.nonNegative(f, val)
	case fGrossRevenue:
		e.GrossRevenue = e.money(f, val)
	case fBonus:
		e.Bonus = e.nonNegative(f, val)
	case fDepositMethod, fWithdrawalMethod:
		e.method(f, val)
	}
}

// ok reports whether f has no error so far.
func (e *event) ok(f field) bool {
	name := fieldNames[f]
	for i := range e.errs {
		if e.errs[i].Field == name {
			return false
		}
	}
	return true
}

func (e *event) str(f field, val []byte, min, max int) string {
	s, isStr := unquote(val)
	if !isStr {
		e.fail(CodeFormat, f, "%s must be a string, got %s %s.", fieldNames[f], jsonkind.Of(val), shorten(string(val)))
		return ""
	}
	if len(s) == 0 {
		if min > 0 {
			e.fail(CodeRequired, f, "%s must not be empty.", fieldNames[f])
		}
		return s
	}
	if len(s) <= max { // bytes bound characters: no need to count
		return s
	}
	if n := utf8.RuneCountInString(s); n > max {
		e.fail(CodeRange, f, "%s '%s' is %d characters long; at most %d are allowed.", fieldNames[f], shorten(s), n, max)
	}
	return s
}

// enum reads a string that must belong to a fixed set; what ends the
// message that names the field and the value.
func (e *event) enum(f field, val []byte, allowed map[string]bool, code, what string) string {
	s := e.str(f, val, 1, 64)
	if e.ok(f) && !allowed[s] {
		e.fail(code, f, "%s '%s' %s.", fieldNames[f], shorten(s), what)
	}
	return s
}

func (e *event) integer(f field, val []byte) int {
	if len(val) == 0 || (val[0] != '-' && (val[0] < '0' || val[0] > '9')) {
		e.fail(CodeFormat, f, "%s must be an integer, got %s %s.", fieldNames[f], jsonkind.Of(val), shorten(string(val)))
		return 0
	}
	n, err := strconv.ParseInt(string(val), 10, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			e.fail(CodeRange, f, "%s %s is out of range.", fieldNames[f], shorten(string(val)))
		} else {
			e.fail(CodeFormat, f, "%s must be an integer, got %s.", fieldNames[f], shorten(string(val)))
		}
		return 0
	}
	return int(n)
}

func (e *event) money(f field, val []byte) Money {
	if len(val) == 0 || (val[0] != '-' && (val[0] < '0' || val[0] > '9')) {
		e.fail(CodeFormat, f, "%s must be a number, got %s %s.", fieldNames[f], jsonkind.Of(val), shorten(string(val)))
		return 0
	}
	m, err := parseMoney(val)
	switch err {
	case nil:
		return m
	case errMoneyRange:
		e.fail(CodeRange, f, "%s %s %s.", fieldNames[f], shorten(string(val)), err)
	default:
		e.fail(CodeFormat, f, "%s %s %s.", fieldNames[f], shorten(string(val)), err)
	}
	return 0
}

// nonNegative reads a money value that must not be below zero.
func (e *event) nonNegative(f field, val []byte) Money {
	m := e.money(f, val)
	if m < 0 {
		e.fail(CodeAmount, f, "%s must not be negative, got %s.", fieldNames[f], m)
		return 0
	}
	return m
}

func (e *event) dateTime(f field, val []byte) time.Time {
	s, isStr := unquote(val)
	if !isStr {
		e.fail(CodeFormat, f, "%s must be an ISO 8601 date-time string in UTC, got %s %s.", fieldNames[f], jsonkind.Of(val), shorten(string(val)))
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		e.fail(CodeFormat, f, "%s '%s' is not an ISO 8601 date-time such as 2026-11-22T10:15:00Z.", fieldNames[f], shorten(s))
		return time.Time{}
	}
	if _, off := t.Zone(); off != 0 {
		e.fail(CodeFormat, f, "%s '%s' must be in UTC (end with Z).", fieldNames[f], shorten(s))
		return time.Time{}
	}
	return t.UTC()
}

func (e *event) method(f field, val []byte) {
	if len(val) > 0 && val[0] == '"' {
		s, _ := unquote(val)
		if strings.TrimSpace(s) == "" {
			e.fail(CodeRequired, f, "%s must not be empty.", fieldNames[f])
			return
		}
		e.MethodSent = shorten(s)
		e.MethodID, _ = lookupMethod(s)
		return
	}
	id := e.integer(f, val)
	if !e.ok(f) {
		return
	}
	if id < 0 || id > methodOther {
		e.fail(CodeMethod, f, "%s %d is not a method id (0 to %d).", fieldNames[f], id, methodOther)
		return
	}
	e.MethodID = id
	e.MethodSent = strconv.Itoa(id)
}

// checkStatic applies the rules that need the client and the clock but no
// stored state: brand ownership, timestamps not in the future.
func (e *event) checkStatic(brands map[int]bool, now time.Time) {
	if e.seen.has(fBrandID) && e.ok(fBrandID) && !brands[e.BrandID] {
		e.fail(CodeUnknownBrand, fBrandID, "brandId %d is not a brand of this client.", e.BrandID)
	}
	for _, f := range [...]field{fTimestamp, fRegistrationDate, fActivityDate} {
		var t time.Time
		switch f {
		case fTimestamp:
			t = e.Timestamp
		case fRegistrationDate:
			t = e.RegistrationDate
		default:
			t = e.ActivityDate
		}
		if !t.IsZero() && t.After(now) {
			e.fail(CodeFuture, f, "%s %s is in the future (sandbox time is %s).", fieldNames[f], t.Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339))
		}
	}
}
