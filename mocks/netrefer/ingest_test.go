package netrefer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestEventValidation sends one event per case and checks the status and the
// exact error codes and fields.
func TestEventValidation(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	ingest(h, tok, "registrations", []any{reg("base-r1", "c1")}).WantStatus(200)
	ingest(h, tok, "deposits", []any{dep("base-d1", "c1", "tx-d1", 10)}).WantStatus(200)
	ingest(h, tok, "activities", []any{act("base-a1", "c1", "tx-a1", 5, 1, 0)}).WantStatus(200)

	tests := []struct {
		name    string
		path    string
		event   any
		status  int
		codes   string // "code field; ..."
		message string // expected message of the first error, when set
	}{
		{"registration ok", "registrations", reg("r-ok", "c2"), 200, "", ""},
		{"registration empty bTag (organic)", "registrations", with(reg("r-bt", "c4"), "bTag", ""), 200, "", ""},
		{"registration without bTag", "registrations", with(reg("r-nbt", "c5"), "bTag", nil), 400, "DI-1003 bTag", "bTag is required."},
		{"missing eventId", "registrations", with(reg("x", "c3"), "eventId", nil), 400, "DI-1003 eventId", "eventId is required."},
		{"null customerId", "registrations", with(reg("r-n", "c3"), "customerId", nil), 400, "DI-1003 customerId", ""},
		{"empty customerId", "registrations", with(reg("r-e", "c3"), "customerId", ""), 400, "DI-1003 customerId", "customerId must not be empty."},
		{"brand of nobody", "registrations", with(reg("r-b", "c3"), "brandId", 9), 400, "DI-1008 brandId", "brandId 9 is not a brand of this client."},
		{"brand as string", "registrations", with(reg("r-bs", "c3"), "brandId", "1"), 400, "DI-1004 brandId", `brandId must be an integer, got a string "1".`},
		{"country", "registrations", with(reg("r-c", "c3"), "countryCode", "XX"), 400, "DI-1010 countryCode", "countryCode 'XX' is not an ISO 3166-1 alpha-2 country code."},
		{"currency", "registrations", with(reg("r-cu", "c3"), "currency", "EURO"), 400, "DI-1009 currency", "currency 'EURO' is not an ISO 4217 currency code."},
		{"timestamp not UTC", "registrations", with(reg("r-t", "c3"), "timestamp", "2026-11-22T09:00:00+02:00"), 400, "DI-1004 timestamp", "timestamp '2026-11-22T09:00:00+02:00' must be in UTC (end with Z)."},
		{"timestamp garbage", "registrations", with(reg("r-tg", "c3"), "timestamp", "yesterday"), 400, "DI-1004 timestamp", ""},
		{"timestamp in future", "registrations", with(reg("r-tf", "c3"), "timestamp", "2026-11-22T10:00:01Z"), 400, "DI-1015 timestamp",
			"timestamp 2026-11-22T10:00:01Z is in the future (sandbox time is 2026-11-22T10:00:00Z)."},
		{"unknown member", "registrations", with(reg("r-u", "c3"), "amount", 5), 400, "DI-1016 amount", "amount is not a member of a Registration event."},
		{"several errors in order", "registrations", with(reg("r-m", "c3"), "brandId", 9, "currency", "xx", "countryCode", nil), 400,
			"DI-1009 currency; DI-1003 countryCode; DI-1008 brandId", ""},
		{"already registered", "registrations", reg("r-again", "c1"), 400, "DI-1018 customerId", ""},
		{"eventId already processed", "registrations", reg("base-r1", "c9"), 400, "DI-1005 eventId", "eventId 'base-r1' was already processed."},
		{"already processed and invalid", "registrations", with(reg("base-r1", "c9"), "brandId", 9), 400, "DI-1008 brandId; DI-1005 eventId", ""},
		{"customer update", "customers", map[string]any{"eventId": "u1", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z", "status": "SelfExcluded"}, 200, "", ""},
		{"customer update bad status", "customers", map[string]any{"eventId": "u2", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z", "status": "Gone"}, 400, "DI-1023 status", ""},
		{"update unknown customer", "customers", map[string]any{"eventId": "u3", "customerId": "nobody", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z"}, 400, "DI-1007 customerId",
			"customerId 'nobody' is not a registered customer; send its registration first."},
		{"deposit before registration", "deposits", dep("d-nr", "ghost", "tx-g", 5), 400, "DI-1007 customerId", ""},
		{"deposit other brand", "deposits", with(dep("d-br", "c1", "tx-br", 5), "brandId", 2), 400, "DI-1019 brandId", ""},
		{"deposit amount as string", "deposits", dep("d-s", "c1", "tx-s", "10.5"), 400, "DI-1004 amount", `amount must be a number, got a string "10.5".`},
		{"deposit negative", "deposits", dep("d-neg", "c1", "tx-neg", -1), 400, "DI-1012 amount", "amount must not be negative, got -1."},
		{"deposit zero new", "deposits", dep("d-z", "c1", "tx-z", 0), 400, "DI-1012 amount", "amount must be greater than 0 for a new deposit, got 0."},
		{"deposit 5 decimals", "deposits", dep("d-p", "c1", "tx-p", json.Number("1.00001")), 400, "DI-1004 amount", "amount 1.00001 has more than 4 fractional digits."},
		// 12345 * 0.0001 in float64, printed shortest: schema validators that
		// allow for float error call it a multiple of 0.0001; the handler
		// judges the digits as written (docs/netrefer.md).
		{"deposit float product", "deposits", dep("d-fp", "c1", "tx-fp", json.Number("1.2345000000000002")), 400, "DI-1004 amount", "amount 1.2345000000000002 has more than 4 fractional digits."},
		{"deposit trailing zeros", "deposits", dep("d-tz", "c1", "tx-tz", json.Number("1.23450000")), 200, "", ""},
		{"deposit huge", "deposits", dep("d-h", "c1", "tx-h", json.Number("1e400")), 400, "DI-1017 amount", ""},
		{"deposit method id out of range", "deposits", with(dep("d-m", "c1", "tx-m", 5), "depositMethod", 84), 400, "DI-1011 depositMethod",
			"depositMethod 84 is not a method id (0 to 83)."},
		{"deposit existing id with amount", "deposits", dep("d-ex", "c1", "tx-d1", 7), 400, "DI-1020 transactionId", ""},
		{"deposit on an activity id", "deposits", dep("d-wt", "c1", "tx-a1", 0), 400, "DI-1014 transactionId", "transactionId 'tx-a1' is an Activity, not a Deposit."},
		{"withdrawal on a deposit id", "withdrawals", map[string]any{"eventId": "w-d", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"transactionId": "tx-d1", "amount": 3, "currency": "EUR", "withdrawalMethod": 1}, 400, "DI-1014 transactionId", "transactionId 'tx-d1' is a Deposit, not a Withdrawal."},
		{"withdrawal missing method", "withdrawals", map[string]any{"eventId": "w1", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"transactionId": "tx-w1", "amount": 3, "currency": "EUR"}, 400, "DI-1003 withdrawalMethod", "withdrawalMethod is required."},
		{"activity negative bonus", "activities", act("a-nb", "c1", "tx-nb", 1, 1, -1), 400, "DI-1012 bonus", ""},
		{"activity negative GGR is fine", "activities", act("a-ng", "c1", "tx-ng", 10, -4, 0), 200, "", ""},
		{"activity productId 0", "activities", with(act("a-p", "c1", "tx-p0", 1, 1, 0), "productId", 0), 400, "DI-1017 productId", ""},
		{"activityDate future", "activities", with(act("a-f", "c1", "tx-f", 1, 1, 0), "activityDate", "2027-01-01T00:00:00Z"), 400, "DI-1015 activityDate", ""},
		{"adjustment unknown original", "adjustments", map[string]any{"eventId": "adj1", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"originalTransactionId": "nope", "adjustmentType": "BetVoid"}, 400, "DI-1013 originalTransactionId", "originalTransactionId 'nope' does not exist."},
		{"adjustment wrong type", "adjustments", map[string]any{"eventId": "adj2", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"originalTransactionId": "tx-d1", "adjustmentType": "BetVoid"}, 400, "DI-1014 originalTransactionId", ""},
		{"adjustment bad type", "adjustments", map[string]any{"eventId": "adj3", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"originalTransactionId": "tx-d1", "adjustmentType": "Refund"}, 400, "DI-1023 adjustmentType", ""},
		{"correction of a deposit", "corrections", map[string]any{"eventId": "cor1", "customerId": "c1", "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"originalTransactionId": "tx-d1", "turnover": 1, "grossRevenue": 1, "bonus": 0}, 400, "DI-1014 originalTransactionId", ""},
		{"deposit correction of another customer's deposit", "deposit-corrections", map[string]any{"eventId": "dc1", "customerId": "c2", "brandId": 1,
			"timestamp": "2026-11-22T09:30:00Z", "originalTransactionId": "tx-d1", "amount": 3}, 400, "DI-1022 originalTransactionId", ""},
		{"eventType of another endpoint", "deposits", with(dep("d-et", "c1", "tx-et", 1), "eventType", "Activity"), 400, "", ""},
		{"eventType of this endpoint", "deposits", with(dep("d-et2", "c1", "tx-et2", 1), "eventType", "Deposit"), 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := ingest(h, tok, tc.path, tc.event)
			res.WantStatus(tc.status)
			var r ingestResult
			res.JSON(&r)
			if tc.name == "eventType of another endpoint" {
				res.WantJSON(`{"statusCode":400,"message":"JSON with multiple structures is not processed: event 0 is a 'Activity' event but this endpoint takes Deposit events."}`)
				return
			}
			if r.Received != 1 || len(r.Results) != 1 {
				t.Fatalf("result %+v", r)
			}
			if got := r.codes()[0]; got != tc.codes {
				t.Fatalf("codes %q, want %q (%+v)", got, tc.codes, r.Results[0].Errors)
			}
			if tc.message != "" && r.Results[0].Errors[0].Message != tc.message {
				t.Errorf("message %q, want %q", r.Results[0].Errors[0].Message, tc.message)
			}
		})
	}
}

// TestBusinessRulesAndState runs a customer's life through every endpoint
// and asserts the stored transactions, their history and the totals.
func TestBusinessRulesAndState(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	steps := []struct {
		path      string
		events    []any
		status    int
		interpret []string
		codes     []string
	}{
		{"registrations", []any{reg("e1", "alice"), reg("e2", "bob")}, 200, []string{"", ""}, []string{"", ""}},
		{"deposits", []any{
			dep("e3", "alice", "d1", 100.5),
			with(dep("e4", "alice", "d2", 50), "depositMethod", "skrill", "fee", 1.25),
			with(dep("e5", "alice", "d3", 20), "depositMethod", "My New Wallet"),
			with(dep("e6", "alice", "d4", 30), "depositMethod", 82),
			dep("e7", "bob", "d5", 5),
		}, 200, []string{"", "", "", "", ""}, []string{"", "", "", "", ""}},
		// re-sent deposit with amount 0 is a Chargeback; then nothing more on it
		{"deposits", []any{dep("e8", "alice", "d3", 0), dep("e9", "alice", "d3", 0)}, 207, []string{"Chargeback", ""}, []string{"", "DI-1021 transactionId"}},
		{"deposit-corrections", []any{
			map[string]any{"eventId": "e10", "customerId": "alice", "brandId": 1, "timestamp": "2026-11-22T09:40:00Z", "originalTransactionId": "d1", "amount": 80},
			map[string]any{"eventId": "e11", "customerId": "alice", "brandId": 1, "timestamp": "2026-11-22T09:40:00Z", "originalTransactionId": "d3", "amount": 10},
		}, 207, []string{"", ""}, []string{"", "DI-1021 originalTransactionId"}},
		{"adjustments", []any{
			map[string]any{"eventId": "e12", "customerId": "alice", "brandId": 1, "timestamp": "2026-11-22T09:41:00Z", "originalTransactionId": "d4", "adjustmentType": "Chargeback"},
		}, 200, []string{"Chargeback"}, []string{""}},
		{"withdrawals", []any{
			map[string]any{"eventId": "e13", "customerId": "alice", "brandId": 1, "timestamp": "2026-11-22T09:42:00Z", "transactionId": "w1",
				"amount": 40, "fee": 0.5, "currency": "EUR", "withdrawalMethod": "Bank Transfer"},
		}, 200, []string{""}, []string{""}},
		{"activities", []any{
			act("e14", "alice", "a1", 200, 30, 5),
			act("e15", "alice", "a2", 100, -20, 0),
			act("e16", "alice", "a3", 10, 10, 1),
			act("e17", "alice", "a1", 150, 25, 5), // re-sent with values: Correction
			act("e18", "alice", "a3", 0, 0, 0),    // re-sent with zeros: BetVoid
		}, 200, []string{"", "", "", "Correction", "BetVoid"}, []string{"", "", "", "", ""}},
		{"corrections", []any{
			map[string]any{"eventId": "e19", "customerId": "alice", "brandId": 1, "timestamp": "2026-11-22T09:50:00Z", "originalTransactionId": "a2", "turnover": 120, "grossRevenue": -10, "bonus": 2},
			map[string]any{"eventId": "e20", "customerId": "alice", "brandId": 1, "timestamp": "2026-11-22T09:50:00Z", "originalTransactionId": "a3", "turnover": 1, "grossRevenue": 1, "bonus": 0},
		}, 207, []string{"", ""}, []string{"", "DI-1021 originalTransactionId"}},
		{"adjustments", []any{
			map[string]any{"eventId": "e21", "customerId": "alice", "brandId": 1, "timestamp": "2026-11-22T09:51:00Z", "originalTransactionId": "a3", "adjustmentType": "BetVoid"},
		}, 400, []string{""}, []string{"DI-1021 originalTransactionId"}},
	}
	for i, st := range steps {
		res := ingest(h, tok, st.path, st.events)
		res.WantStatus(st.status)
		var r ingestResult
		res.JSON(&r)
		var interp []string
		for _, x := range r.Results {
			interp = append(interp, x.InterpretedAs)
		}
		if !reflect.DeepEqual(interp, st.interpret) || !reflect.DeepEqual(r.codes(), st.codes) {
			t.Fatalf("step %d (%s): interpretedAs %q codes %q, want %q %q", i, st.path, interp, r.codes(), st.interpret, st.codes)
		}
	}
	var raw map[string]any
	h.Admin("GET", "", "/state/netrefer", nil, &raw)
	s := state(t, h, "")
	cl := s.Clients[0]
	if cl.ClientID != clientID || cl.ProcessedEvents != 17 {
		t.Fatalf("client %s processed %d, want 17", cl.ClientID, cl.ProcessedEvents)
	}
	var alice json.RawMessage
	for _, c := range cl.Customers {
		if c.CustomerID == "alice" {
			alice = c.Totals
		}
	}
	// deposits: d1 corrected to 80 + d2 50 (d3 and d4 charged back) = 130
	// turnover: a1 150 + a2 120 (a3 voided); GGR 25 - 10; bonus 5 + 2
	want := `{"deposits":130,"depositFees":1.25,"depositCount":2,"withdrawals":40,"withdrawalFees":0.5,` +
		`"turnover":270,"grossRevenue":15,"bonus":7,"chargebacks":2,"betVoids":1}`
	if compact(alice) != want {
		t.Errorf("alice totals\n got %s\nwant %s", alice, want)
	}
	methods := map[string]string{}
	hist := map[string][]string{}
	rev := map[string]bool{}
	for _, tx := range cl.Transactions {
		methods[tx.TransactionID] = compact(tx.Method)
		rev[tx.TransactionID] = tx.Reversed
		for _, h := range tx.History {
			hist[tx.TransactionID] = append(hist[tx.TransactionID], h.EventID+":"+h.Type)
		}
	}
	for tx, m := range map[string]string{
		"d1": `{"id":7,"name":"Skrill","sent":"Skrill"}`,
		"d2": `{"id":7,"name":"Skrill","sent":"skrill"}`,
		"d3": `{"id":83,"name":"Other","sent":"My New Wallet"}`,
		"d4": `{"id":82,"name":"Bambora","sent":"82"}`,
		"w1": `{"id":14,"name":"Bank Transfer","sent":"Bank Transfer"}`,
	} {
		if methods[tx] != m {
			t.Errorf("%s method %s, want %s", tx, methods[tx], m)
		}
	}
	for tx, hs := range map[string][]string{
		"d1": {"e3:Deposit", "e10:DepositCorrection"},
		"d3": {"e5:Deposit", "e8:Chargeback"},
		"d4": {"e6:Deposit", "e12:Chargeback"},
		"a1": {"e14:Activity", "e17:Correction"},
		"a2": {"e15:Activity", "e19:Correction"},
		"a3": {"e16:Activity", "e18:BetVoid"},
	} {
		if !reflect.DeepEqual(hist[tx], hs) {
			t.Errorf("%s history %v, want %v", tx, hist[tx], hs)
		}
	}
	if !rev["d3"] || !rev["d4"] || !rev["a3"] || rev["d1"] || rev["a1"] {
		t.Errorf("reversed flags %v", rev)
	}
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func TestWholePayloadErrors(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+"netrefer:\n  limits: {maxEvents: 3, maxPayloadBytes: 921600}\n")
	tok := token(t, h, "")
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name   string
		ctype  string
		body   string
		status int
		msg    string
	}{
		{"wrong content type", "text/plain", `{}`, 415, "Unsupported content type 'text/plain'; send the events as application/json."},
		{"no content type", "", `{}`, 415, "Unsupported content type 'none'; send the events as application/json."},
		{"form", "application/x-www-form-urlencoded", `a=b`, 415, "Unsupported content type 'application/x-www-form-urlencoded'; send the events as application/json."},
		{"empty body", "application/json", ``, 400, "The request body is empty; send one event object or an array of event objects."},
		{"whitespace body", "application/json", " \n\t", 400, "The request body is empty; send one event object or an array of event objects."},
		{"empty array", "application/json", `[]`, 400, "The request body is an empty array; send at least one event."},
		{"malformed", "application/json", `[{"eventId": }]`, 400, "The request body is not valid JSON: invalid character '}' looking for beginning of value (at byte 14)."},
		{"trailing garbage", "application/json", `{"eventId":"a"} x`, 400, "The request body is not valid JSON: invalid character 'x' after top-level value (at byte 17)."},
		{"scalar", "application/json", `42`, 400, "JSON with multiple structures is not processed: the body is a number, not an event object or an array of event objects."},
		{"string", "application/json", `"hello"`, 400, "JSON with multiple structures is not processed: the body is a string, not an event object or an array of event objects."},
		{"array of scalars", "application/json", `[{"eventId":"a"}, 1]`, 400, "JSON with multiple structures is not processed: element 1 of the array is a number, not an event object."},
		{"nested arrays", "application/json", `[[{"eventId":"a"}]]`, 400, "JSON with multiple structures is not processed: element 0 of the array is an array, not an event object."},
		{"too many events", "application/json", `[{},{},{},{}]`, 400, "The payload holds 4 events; at most 3 events are accepted in one payload."},
		{"invalid UTF-8", "application/json", "[{\"eventId\":\"\xff\xfe\"}]", 400, "The request body is not valid UTF-8."},
		{"deeply nested", "application/json", deep, 400, "The request body is not valid JSON: it is nested more than 10000 levels deep (at byte 10001)."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do("POST", "/netrefer/di/v1/registrations", sandboxtest.RawBody(tc.ctype, []byte(tc.body)),
				sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tok))
			res.WantStatus(tc.status)
			want, _ := json.Marshal(map[string]any{"statusCode": tc.status, "message": tc.msg})
			res.WantJSON(string(want))
		})
	}
	if s := state(t, h, ""); s.Clients[0].ProcessedEvents != 0 {
		t.Fatalf("whole-payload errors stored %d events", s.Clients[0].ProcessedEvents)
	}
}

// TestHostileValues: each value gets a per-event error naming the field,
// never a 500, and the other events of the batch go through.
func TestHostileValues(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	long := strings.Repeat("é", 10000)
	nested := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	body := `[` +
		`{"eventId":"ok","customerId":"c1","brandId":1,"timestamp":"2026-11-22T09:00:00Z","registrationDate":"2026-11-22T09:00:00Z","countryCode":"MT","currency":"EUR","bTag":""},` +
		`{"eventId":"` + long + `","customerId":"c2","brandId":1,"timestamp":"2026-11-22T09:00:00Z","registrationDate":"2026-11-22T09:00:00Z","countryCode":"MT","currency":"EUR","bTag":""},` +
		`{"eventId":"n","customerId":` + nested + `,"brandId":99999999999999999999999,"timestamp":"2026-11-22T09:00:00Z","registrationDate":"2026-11-22T09:00:00Z","countryCode":"MT","currency":"EUR","bTag":""},` +
		`{"eventId":"s","customerId":"c4","brandId":1.5,"timestamp":12,"registrationDate":true,"countryCode":["MT"],"currency":"EUR","bTag":"` + long + `"},` +
		`{"eventId":"dup","customerId":"c5","customerId":"c6","brandId":1,"timestamp":"2026-11-22T09:00:00Z","registrationDate":"2026-11-22T09:00:00Z","countryCode":"MT","currency":"EUR","bTag":"","\u00e9\n":1}` +
		`]`
	res := h.Do("POST", "/netrefer/di/v1/registrations", sandboxtest.JSONBody(body),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tok))
	res.WantStatus(207)
	var r ingestResult
	res.JSON(&r)
	want := []string{
		"",
		"DI-1017 eventId",
		"DI-1004 customerId; DI-1017 brandId",
		"DI-1004 brandId; DI-1004 timestamp; DI-1004 registrationDate; DI-1004 countryCode; DI-1017 bTag",
		"DI-1004 customerId; DI-1016 é\n",
	}
	if got := r.codes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("codes\n got %q\nwant %q", got, want)
	}
	msg := r.Results[1].Errors[0].Message
	if len(msg) > 300 || !strings.Contains(msg, "10000 characters long; at most 64 are allowed") {
		t.Errorf("long value message %q", msg)
	}
	if m := r.Results[2].Errors[0].Message; !strings.HasPrefix(m, `customerId must be a string, got an object {"a":{"a":`) {
		t.Errorf("nested message %q", m)
	}
}

func TestBatchResultsKeepRequestOrder(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	var events []any
	for i := 0; i < 50; i++ {
		e := reg(fmt.Sprintf("o%d", i), fmt.Sprintf("c%d", i))
		if i%7 == 3 {
			e = with(e, "countryCode", "ZZ")
		}
		events = append(events, e)
	}
	events = append(events, reg("o0", "c-dup")) // duplicate within the payload
	res := ingest(h, tok, "registrations", events).WantStatus(207)
	var r ingestResult
	res.JSON(&r)
	if r.Received != 51 || r.Accepted != 43 || r.Rejected != 8 {
		t.Fatalf("counts %d/%d/%d", r.Received, r.Accepted, r.Rejected)
	}
	for i, x := range r.Results {
		if x.Index != i {
			t.Fatalf("result %d has index %d", i, x.Index)
		}
	}
	last := r.Results[50]
	if last.EventID != "o0" || len(last.Errors) != 1 || last.Errors[0].Code != "DI-1006" ||
		last.Errors[0].Message != "eventId 'o0' appears more than once in this payload (first accepted at index 0)." {
		t.Fatalf("duplicate result %+v", last)
	}
}

// TestConcurrentDuplicates sends overlapping batches from many goroutines:
// every eventId is accepted exactly once, whichever batch wins.
func TestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	const ids, workers = 200, 16
	var mu sync.Mutex
	accepted := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// each worker sends ids [w*10, w*10+100) in two batches, so
			// neighbouring workers overlap on 90 ids
			for b := 0; b < 2; b++ {
				var events []any
				for i := 0; i < 50; i++ {
					n := (w*10 + b*50 + i) % ids
					events = append(events, reg(fmt.Sprintf("ev-%d", n), fmt.Sprintf("cust-%d", n)))
				}
				res := ingest(h, tok, "registrations", events)
				var r ingestResult
				res.JSON(&r)
				mu.Lock()
				for _, x := range r.Results {
					if x.Status == "Accepted" {
						accepted[x.EventID]++
					} else if c := r.codes()[x.Index]; c != "DI-1005 eventId" {
						t.Errorf("unexpected rejection %q", c)
					}
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	covered := map[int]bool{}
	for w := 0; w < workers; w++ {
		for i := 0; i < 100; i++ {
			covered[(w*10+i)%ids] = true
		}
	}
	for n := range covered {
		if c := accepted[fmt.Sprintf("ev-%d", n)]; c != 1 {
			t.Errorf("ev-%d accepted %d times", n, c)
		}
	}
	s := state(t, h, "")
	if s.Clients[0].ProcessedEvents != len(covered) || len(s.Clients[0].Customers) != len(covered) {
		t.Fatalf("stored %d events, %d customers; want %d", s.Clients[0].ProcessedEvents, len(s.Clients[0].Customers), len(covered))
	}
}

func TestNamespacesAreIsolated(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tokA := token(t, h, "/ns/a")
	res := h.Do("POST", "/ns/a/netrefer/di/v1/registrations", sandboxtest.JSONBody(reg("n1", "c1")),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tokA))
	res.WantStatus(200)
	// A token issued under /ns/a carries that namespace's issuer: the
	// gateway of namespace b (another issuer URL) refuses it.
	h.Do("POST", "/ns/b/netrefer/di/v1/registrations", sandboxtest.JSONBody(reg("n1", "c1")),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tokA)).WantStatus(401)
	tokB := token(t, h, "/ns/b")
	h.Do("POST", "/ns/b/netrefer/di/v1/registrations", sandboxtest.JSONBody(reg("n1", "c1")),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tokB)).WantStatus(200)
	if a, d := state(t, h, "a"), state(t, h, ""); a.Clients[0].ProcessedEvents != 1 || d.Clients[0].ProcessedEvents != 0 {
		t.Fatalf("ns a %d, default %d", a.Clients[0].ProcessedEvents, d.Clients[0].ProcessedEvents)
	}
}

// TestDefaultNamespaceHasTwoURLs: the bare URLs and /ns/default are the
// same namespace, so a token issued under either is accepted under the
// other (and what one stores, the other sees).
func TestDefaultNamespaceHasTwoURLs(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	bare, prefixed := token(t, h, ""), token(t, h, "/ns/default")
	h.Do("POST", "/ns/default/netrefer/di/v1/registrations", sandboxtest.JSONBody(reg("n1", "c1")),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(bare)).WantStatus(200)
	ingest(h, prefixed, "registrations", reg("n2", "c2")).WantStatus(200)
	if d := state(t, h, ""); d.Clients[0].ProcessedEvents != 2 {
		t.Fatalf("default namespace stored %d events, want 2", d.Clients[0].ProcessedEvents)
	}
}

func TestDefaultEventLimit(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	body := "[" + strings.Repeat("{},", 2500) + "{}]"
	res := h.Do("POST", "/netrefer/di/v1/deposits", sandboxtest.JSONBody(body),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tok))
	res.WantStatus(400)
	res.WantJSON(`{"statusCode":400,"message":"The payload holds 2501 events; at most 2500 events are accepted in one payload."}`)
	// 2,500 events are processed one by one (here all rejected: 400 with results).
	body = "[" + strings.Repeat("{},", 2499) + "{}]"
	res = h.Do("POST", "/netrefer/di/v1/deposits", sandboxtest.JSONBody(body),
		sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tok))
	res.WantStatus(400)
	var r ingestResult
	res.JSON(&r)
	if r.Received != 2500 || r.Rejected != 2500 || r.codes()[2499] != "DI-1003 eventId; DI-1003 customerId; DI-1003 brandId; DI-1003 timestamp; DI-1003 currency; DI-1003 transactionId; DI-1003 amount; DI-1003 depositMethod" {
		t.Fatalf("received %d rejected %d last %q", r.Received, r.Rejected, r.codes()[2499])
	}
}

// TestDuplicateEventIDsPerClient: eventIds are unique per client, across
// endpoints and batches; another client (and another namespace) has its own.
func TestDuplicateEventIDsPerClient(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+twoClients("", ""))
	tokA, tokB := token(t, h, ""), otherToken(t, h)
	post := func(key, tok, path string, body any) ingestResult {
		res := h.Do("POST", "/netrefer/di/v1/"+path, sandboxtest.JSONBody(body),
			sandboxtest.Header("Ocp-Apim-Subscription-Key", key), sandboxtest.Bearer(tok))
		var r ingestResult
		res.JSON(&r)
		return r
	}
	steps := []struct {
		name  string
		key   string
		tok   string
		path  string
		body  any
		codes []string
	}{
		{"client A registers", subKey, tokA, "registrations", []any{reg("x1", "c1")}, []string{""}},
		{"client B may use the same eventId", "otherkey", tokB, "registrations", []any{reg("x1", "c1")}, []string{""}},
		{"client A: same eventId on another endpoint", subKey, tokA, "deposits", []any{dep("x1", "c1", "t1", 5)}, []string{"DI-1005 eventId"}},
		{"client B: repeated in a later batch", "otherkey", tokB, "registrations", []any{reg("x2", "c2"), reg("x1", "c3")}, []string{"", "DI-1005 eventId"}},
	}
	for _, st := range steps {
		if got := post(st.key, st.tok, st.path, st.body).codes(); !reflect.DeepEqual(got, st.codes) {
			t.Fatalf("%s: codes %q, want %q", st.name, got, st.codes)
		}
	}
	s := state(t, h, "")
	if s.Clients[0].ProcessedEvents != 1 || s.Clients[1].ProcessedEvents != 2 || len(s.Clients[1].Customers) != 2 {
		t.Fatalf("processed A %d, B %d (customers %d)", s.Clients[0].ProcessedEvents, s.Clients[1].ProcessedEvents, len(s.Clients[1].Customers))
	}
}

// TestDuplicateWithinPayloadAfterRejection: an eventId counts as processed
// only once an event carrying it was accepted, within a payload as across
// payloads (provider doc §4: "an EventID already processed (in this batch or
// any earlier one)"); a corrected copy after a rejected one goes through.
func TestDuplicateWithinPayloadAfterRejection(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	res := ingest(h, tok, "registrations", []any{
		with(reg("p1", "c1"), "brandId", 9), // rejected: not processed
		reg("p1", "c1"),                     // the corrected copy is accepted
		reg("p1", "c2"),                     // now p1 was processed in this payload
		with(reg("p2", "c3"), "countryCode", "ZZ"),
		with(reg("p2", "c3"), "currency", "XYZ"), // both rejected, each for its own reason
	}).WantStatus(207)
	var r ingestResult
	res.JSON(&r)
	want := []string{"DI-1008 brandId", "", "DI-1006 eventId", "DI-1010 countryCode", "DI-1009 currency"}
	if got := r.codes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("codes %q, want %q", got, want)
	}
	if m := r.Results[2].Errors[0].Message; m != "eventId 'p1' appears more than once in this payload (first accepted at index 1)." {
		t.Errorf("message %q", m)
	}
	s := state(t, h, "")
	if s.Clients[0].ProcessedEvents != 1 || len(s.Clients[0].Customers) != 1 || s.Clients[0].Customers[0].CustomerID != "c1" {
		t.Fatalf("state %+v", s.Clients[0])
	}
}

// TestZeroAmountRules: what an event naming an existing transaction does,
// by endpoint and values (provider doc §4: amount 0 re-sent on a deposit is a
// Chargeback; an activity re-sent with turnover, grossRevenue and bonus all 0
// is a BetVoid, with any of them non-zero a Correction), and the customer's
// totals afterwards.
func TestZeroAmountRules(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen)
	tok := token(t, h, "")
	corr := func(id, cust, tx string, turnover, ggr, bonus any) map[string]any {
		return map[string]any{"eventId": id, "customerId": cust, "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"originalTransactionId": tx, "turnover": turnover, "grossRevenue": ggr, "bonus": bonus}
	}
	depCorr := func(id, cust, tx string, amount any) map[string]any {
		return map[string]any{"eventId": id, "customerId": cust, "brandId": 1, "timestamp": "2026-11-22T09:30:00Z",
			"originalTransactionId": tx, "amount": amount}
	}
	tests := []struct {
		name      string
		setup     string // "deposit" (amount 100) or "activity" (10, 2, 1)
		path      string
		event     func(cust string) map[string]any
		interpret string
		reversed  bool
		totals    string
	}{
		{"deposit re-sent with 0", "deposit", "deposits", func(c string) map[string]any { return dep("z1", c, "t", 0) }, "Chargeback", true,
			`{"deposits":0,"depositFees":0,"depositCount":0,"withdrawals":0,"withdrawalFees":0,"turnover":0,"grossRevenue":0,"bonus":0,"chargebacks":1,"betVoids":0}`},
		{"deposit corrected to 0", "deposit", "deposit-corrections", func(c string) map[string]any { return depCorr("z1", c, "t", 0) }, "Chargeback", true,
			`{"deposits":0,"depositFees":0,"depositCount":0,"withdrawals":0,"withdrawalFees":0,"turnover":0,"grossRevenue":0,"bonus":0,"chargebacks":1,"betVoids":0}`},
		{"deposit corrected to 0.5", "deposit", "deposit-corrections", func(c string) map[string]any { return depCorr("z1", c, "t", 0.5) }, "", false,
			`{"deposits":0.5,"depositFees":0,"depositCount":1,"withdrawals":0,"withdrawalFees":0,"turnover":0,"grossRevenue":0,"bonus":0,"chargebacks":0,"betVoids":0}`},
		{"activity re-sent with zeros", "activity", "activities", func(c string) map[string]any { return act("z1", c, "t", 0, 0, 0) }, "BetVoid", true,
			`{"deposits":0,"depositFees":0,"depositCount":0,"withdrawals":0,"withdrawalFees":0,"turnover":0,"grossRevenue":0,"bonus":0,"chargebacks":0,"betVoids":1}`},
		{"activity re-sent, only bonus non-zero", "activity", "activities", func(c string) map[string]any { return act("z1", c, "t", 0, 0, 1) }, "Correction", false,
			`{"deposits":0,"depositFees":0,"depositCount":0,"withdrawals":0,"withdrawalFees":0,"turnover":0,"grossRevenue":0,"bonus":1,"chargebacks":0,"betVoids":0}`},
		{"activity re-sent, only GGR non-zero (negative)", "activity", "activities", func(c string) map[string]any { return act("z1", c, "t", 0, -3.5, 0) }, "Correction", false,
			`{"deposits":0,"depositFees":0,"depositCount":0,"withdrawals":0,"withdrawalFees":0,"turnover":0,"grossRevenue":-3.5,"bonus":0,"chargebacks":0,"betVoids":0}`},
		{"correction with zeros", "activity", "corrections", func(c string) map[string]any { return corr("z1", c, "t", 0, 0, 0) }, "BetVoid", true,
			`{"deposits":0,"depositFees":0,"depositCount":0,"withdrawals":0,"withdrawalFees":0,"turnover":0,"grossRevenue":0,"bonus":0,"chargebacks":0,"betVoids":1}`},
		{"correction, only turnover non-zero", "activity", "corrections", func(c string) map[string]any { return corr("z1", c, "t", 7, 0, 0) }, "", false,
			`{"deposits":0,"depositFees":0,"depositCount":0,"withdrawals":0,"withdrawalFees":0,"turnover":7,"grossRevenue":0,"bonus":0,"chargebacks":0,"betVoids":0}`},
	}
	for i, tc := range tests {
		// each case has its own customer and transaction; eventIds are prefixed
		cust := fmt.Sprintf("z%d", i)
		pre := func(m map[string]any) map[string]any {
			m = with(m, "eventId", cust+"-"+m["eventId"].(string))
			if _, ok := m["transactionId"]; ok {
				m["transactionId"] = cust + "-t"
			} else {
				m["originalTransactionId"] = cust + "-t"
			}
			return m
		}
		ingest(h, tok, "registrations", reg(cust+"-r", cust)).WantStatus(200)
		if tc.setup == "deposit" {
			ingest(h, tok, "deposits", pre(dep("s", cust, "t", 100))).WantStatus(200)
		} else {
			ingest(h, tok, "activities", pre(act("s", cust, "t", 10, 2, 1))).WantStatus(200)
		}
		res := ingest(h, tok, tc.path, pre(tc.event(cust))).WantStatus(200)
		var r ingestResult
		res.JSON(&r)
		if r.Results[0].InterpretedAs != tc.interpret {
			t.Errorf("%s: interpretedAs %q, want %q", tc.name, r.Results[0].InterpretedAs, tc.interpret)
		}
		s := state(t, h, "")
		for _, c := range s.Clients[0].Customers {
			if c.CustomerID == cust && compact(c.Totals) != tc.totals {
				t.Errorf("%s: totals\n got %s\nwant %s", tc.name, c.Totals, tc.totals)
			}
		}
		for _, x := range s.Clients[0].Transactions {
			if x.TransactionID == cust+"-t" && (x.Reversed != tc.reversed || len(x.History) != 2) {
				t.Errorf("%s: reversed %v history %v", tc.name, x.Reversed, x.History)
			}
		}
		// after a full reversal nothing more is accepted for the transaction
		if tc.reversed {
			ingest(h, tok, tc.path, pre(with(tc.event(cust), "eventId", "again"))).WantStatus(400)
		}
	}
}
