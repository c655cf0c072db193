// Package contract holds InTarget's "Requirements for product API" as data:
// the ten entities, their fields, which are required, which column is the
// cursor, and the exact timestamp and date layouts. The reference product API
// renders rows from it and the verifier checks an operator's rows against it,
// so both sides read the requirements from one place.
package contract

import (
	"regexp"
	"time"
)

// TimeLayout is InTarget's timestamp format: UTC, space separated, seconds.
const TimeLayout = "2006-01-02 15:04:05"

// DateLayout is the format of dates (birthday, custom Date fields).
const DateLayout = "2006-01-02"

// Kind is the type of a field as the requirements describe it.
type Kind int

const (
	// String is free text.
	String Kind = iota
	// ID is an identifier: an integer or an opaque string such as a UUID.
	ID
	// Timestamp is TimeLayout in UTC.
	Timestamp
	// Date is DateLayout.
	Date
	// Decimal is a number with '.' as the decimal separator.
	Decimal
	// Integer is a whole number (counts).
	Integer
	// Bool is 1 or 0.
	Bool
	// Enum is one of Field.Values.
	Enum
)

// Field is one column of an entity.
type Field struct {
	Name     string
	Kind     Kind
	Required bool
	Values   []string // for Enum
	// Added marks a column InTarget's list for the feed does not name but
	// the reference serves because the window needs it: the modification
	// timestamp of sport tournaments and events. An operator serving the
	// documented columns only is conformant; the verifier warns.
	Added bool
}

// Entity is one feed InTarget pulls.
type Entity struct {
	// Name is the key used in paths maps, reports and scenario settings.
	Name string
	// Path is the reference API's path below the mount (and the verifier's default).
	Path string
	// Key is the column that identifies a row for upserts.
	Key string
	// Cursor is the last-modified column windows are selected on.
	Cursor string
	// Created is the column holding the creation time (a cursor never goes below it); may be empty.
	Created string
	Fields  []Field
}

// Field returns the named field.
func (e *Entity) Field(name string) (Field, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Columns returns the field names in order.
func (e *Entity) Columns() []string {
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Name
	}
	return out
}

// Enumerations from the seed document.
var (
	TxTypes      = []string{"Normal", "Prize", "Compensation", "Cash back", "Other"}
	TxStatuses   = []string{"New", "Process", "Success", "Fail"}
	Dirs         = []string{"IN", "OUT"}
	BalanceTypes = []string{"Normal", "Prize", "Other"}
)

func req(name string, k Kind) Field   { return Field{Name: name, Kind: k, Required: true} }
func opt(name string, k Kind) Field   { return Field{Name: name, Kind: k} }
func added(name string, k Kind) Field { return Field{Name: name, Kind: k, Added: true} }
func enum(name string, required bool, values []string) Field {
	return Field{Name: name, Kind: Enum, Required: required, Values: values}
}

// Entity names.
const (
	Users          = "users"
	Contacts       = "contacts"
	Transactions   = "transactions"
	Logins         = "logins"
	Wallets        = "wallets"
	GameSessions   = "game-sessions"
	Tournaments    = "sport-tournaments"
	Events         = "sport-events"
	Bets           = "bets"
	BetSelections  = "bet-selections"
	CustomInteger  = "custom_vip_level"
	CustomFraction = "custom_bonus_balance"
	CustomString   = "custom_favourite_game"
	CustomDate     = "custom_kyc_date"
)

// Entities lists the ten feeds in the order the verifier pulls them
// (referenced feeds first).
var Entities = []*Entity{
	{Name: Users, Path: "/api/users", Key: "id", Cursor: "modified_at", Created: "registered_at", Fields: []Field{
		req("id", ID), opt("first_name", String), opt("last_name", String), opt("gender", String),
		opt("country", String), opt("city", String), opt("ip", String), opt("birthday", Date),
		req("registered_at", Timestamp), opt("ref_code", String), opt("traffic_source", String),
		opt("user_agent", String), req("modified_at", Timestamp), opt("is_blocked", Bool),
		opt("self_excluded", Bool), opt("locale", String),
		opt(CustomInteger, Integer), opt(CustomFraction, Decimal), opt(CustomString, String), opt(CustomDate, Date),
	}},
	{Name: Contacts, Path: "/api/contacts", Key: "player_id", Cursor: "modified_at", Created: "created_at", Fields: []Field{
		req("player_id", ID), opt("email", String), opt("email_confirmed_at", Timestamp), opt("email_subscribe", Bool),
		opt("phone", String), opt("phone_subscribe", Bool), opt("phone_confirmed_at", Timestamp),
		opt("push_token", String), req("created_at", Timestamp), req("modified_at", Timestamp),
	}},
	{Name: Wallets, Path: "/api/wallets", Key: "id", Cursor: "modified_at", Created: "created_at", Fields: []Field{
		req("id", ID), req("player_id", ID), enum("type", true, BalanceTypes), req("balance", Decimal),
		req("currency", String), req("created_at", Timestamp), req("modified_at", Timestamp),
	}},
	{Name: Transactions, Path: "/api/transactions", Key: "id", Cursor: "updated_at", Created: "created_at", Fields: []Field{
		req("id", ID), req("player_id", ID), req("amount", Decimal), req("currency", String),
		enum("type", false, TxTypes), enum("status", false, TxStatuses), opt("payment_system", String),
		enum("dir", true, Dirs), req("created_at", Timestamp), req("updated_at", Timestamp),
		opt("invoice_id", String), opt("wallet_id", ID), opt("user_agent", String), opt("ip", String),
		opt("requisite", String), opt("comment", String),
	}},
	{Name: Logins, Path: "/api/logins", Key: "id", Cursor: "created_at", Fields: []Field{
		req("id", ID), req("player_id", ID), opt("ip", String), req("created_at", Timestamp),
		opt("ref_code", String), opt("traffic_source", String), opt("user_agent", String), opt("host", String),
		opt("is_success", Bool), opt("fail_reason", String),
	}},
	{Name: GameSessions, Path: "/api/game-sessions", Key: "session_id", Cursor: "updated_at", Created: "created_at", Fields: []Field{
		req("player_id", ID), req("session_id", ID), opt("game_code", String), req("game_name", String),
		req("currency", String), req("bet_count", Integer), req("win_count", Integer), req("bet_amount", Decimal),
		req("win_amount", Decimal), req("created_at", Timestamp), req("updated_at", Timestamp),
		opt("game_vendor", String), enum("balance_type", false, BalanceTypes), opt("ip", String),
		opt("user_agent", String), opt("ref_code", String),
	}},
	{Name: Tournaments, Path: "/api/sport/tournaments", Key: "id", Cursor: "modified_at", Fields: []Field{
		req("id", ID), req("name", String), opt("sport_id", ID), opt("sport_name", String),
		opt("country_code", String), req("dateStart", Timestamp), opt("dateEnd", Timestamp), added("modified_at", Timestamp),
	}},
	{Name: Events, Path: "/api/sport/events", Key: "id", Cursor: "modified_at", Fields: []Field{
		req("id", ID), req("tournament_id", ID), req("title", String), req("status", String),
		req("startTime", Timestamp), opt("endTime", Timestamp), req("type", String), added("modified_at", Timestamp),
	}},
	{Name: Bets, Path: "/api/bets", Key: "id", Cursor: "modified_at", Created: "created_at", Fields: []Field{
		req("id", ID), req("player_id", ID), opt("status", String), req("type", String), opt("stake", Decimal),
		opt("win_amount", Decimal), opt("currency", String), enum("kind", false, BalanceTypes),
		req("created_at", Timestamp), opt("user_agent", String), req("modified_at", Timestamp),
	}},
	{Name: BetSelections, Path: "/api/bet-selections", Key: "id", Cursor: "updated_at", Created: "created_at", Fields: []Field{
		req("id", ID), req("bet_id", ID), req("event_id", ID), opt("ratio", Decimal), opt("status", String),
		req("market", String), req("created_at", Timestamp), req("updated_at", Timestamp),
	}},
}

// Lookup returns the entity with the given name.
func Lookup(name string) (*Entity, bool) {
	for _, e := range Entities {
		if e.Name == name {
			return e, true
		}
	}
	return nil, false
}

// Reference says which column of an entity points at which other entity.
type Reference struct {
	Entity, Column, Target string
}

// References are the cross-feed links the verifier resolves.
var References = []Reference{
	{Contacts, "player_id", Users}, {Wallets, "player_id", Users}, {Transactions, "player_id", Users},
	{Logins, "player_id", Users}, {GameSessions, "player_id", Users}, {Bets, "player_id", Users},
	{BetSelections, "bet_id", Bets}, {BetSelections, "event_id", Events}, {Events, "tournament_id", Tournaments},
}

var (
	timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
	dateRE      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	decimalRE   = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
	integerRE   = regexp.MustCompile(`^-?\d+$`)
)

// ParseTimestamp parses a timestamp in exactly TimeLayout, as UTC.
func ParseTimestamp(s string) (time.Time, bool) {
	if !timestampRE.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(TimeLayout, s)
	return t, err == nil
}

// ValidDate reports whether s is a real date in DateLayout.
func ValidDate(s string) bool {
	if !dateRE.MatchString(s) {
		return false
	}
	_, err := time.Parse(DateLayout, s)
	return err == nil
}

// ValidDecimal reports whether s is a plain decimal with '.' and no grouping.
func ValidDecimal(s string) bool { return decimalRE.MatchString(s) }

// ValidInteger reports whether s is a whole number.
func ValidInteger(s string) bool { return integerRE.MatchString(s) }

// FormatTime renders t the way InTarget requires.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseWindowTime reads a from/to value: TimeLayout (UTC) or RFC 3339.
func ParseWindowTime(s string) (time.Time, bool) {
	if t, ok := ParseTimestamp(s); ok {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}
