package netrefer

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Money
		err  error
	}{
		{"0", 0, nil},
		{"-0", 0, nil},
		{"12", 120000, nil},
		{"12.5", 125000, nil},
		{"0.0001", 1, nil},
		{"-3.25", -32500, nil},
		{"1.00000", 10000, nil},
		{"1.00001", 0, errMoneyPrecision},
		{"1e3", 10000000, nil},
		{"1.5E-4", 0, errMoneyPrecision},
		{"15e-5", 0, errMoneyPrecision},
		{"25E-5", 0, errMoneyPrecision},
		{"100e-4", 100, nil},
		{"999999999999.9999", maxMoney, nil},
		{"1000000000000", 0, errMoneyRange},
		{"1e400", 0, errMoneyRange},
		{"123456789012345678901234567890", 0, errMoneyRange},
		{"-", 0, errMoneySyntax},
		{"1x", 0, errMoneySyntax},
	}
	for _, tc := range tests {
		got, err := parseMoney([]byte(tc.in))
		if got != tc.want || err != tc.err {
			t.Errorf("parseMoney(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	for m, s := range map[Money]string{0: "0", 125000: "12.5", -32500: "-3.25", 1: "0.0001", maxMoney: "999999999999.9999", -10000: "-1"} {
		if m.String() != s {
			t.Errorf("Money(%d).String() = %q, want %q", int64(m), m.String(), s)
		}
	}
}

func TestMethodTable(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]int{"UN": 0, "cheque": 1, "CLICK BUY": 2, "NETTELLER": 8, "PAYAL FEE": 10, "bambora": 82, "Other": 83, "Venmo": 83, " skrill ": 7} {
		if got, _ := lookupMethod(name); got != want {
			t.Errorf("lookupMethod(%q) = %d, want %d", name, got, want)
		}
	}
	if len(methodNames) != 84 {
		t.Fatalf("method table has %d entries, want 84", len(methodNames))
	}
}

// FuzzEachField checks the hot-path scanner against encoding/json: for any
// valid object it yields exactly the members json.Unmarshal sees.
func FuzzEachField(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"x\"}","b":[1,{"c":"]"}],"d":null}`, ` { "k" : { "n" : [ ] } , "e":-1.5e3 } `, `{"\u00e9":"\\"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &want) != nil || want == nil || !utf8.ValidString(s) {
			return
		}
		got := map[string]string{}
		eachField([]byte(s), func(k, v []byte) bool {
			key, ok := unquote(k)
			if !ok {
				t.Fatalf("key %q does not unquote", k)
			}
			got[key] = string(v)
			return true
		})
		if len(got) != len(want) {
			t.Fatalf("%q: scanner saw %d members, encoding/json %d", s, len(got), len(want))
		}
		for k, v := range want {
			if strings.TrimSpace(got[k]) != strings.TrimSpace(string(v)) {
				// duplicate keys: encoding/json keeps the last, the scanner reports each; compare loosely
				var a, b any
				if json.Unmarshal([]byte(got[k]), &a) != nil || json.Unmarshal(v, &b) != nil {
					t.Fatalf("%q: member %q = %q, want %q", s, k, got[k], v)
				}
			}
		}
	})
}

// FuzzDecodeEvents feeds arbitrary bytes to every endpoint's decoder: it
// must answer a whole-payload error or one result per element, never panic,
// and never accept an event that lacks a required member.
func FuzzDecodeEvents(f *testing.F) {
	f.Add([]byte(`[{"eventId":"e1","customerId":"c","brandId":1,"timestamp":"2026-11-22T09:00:00Z","amount":1.5,"depositMethod":"Skrill","currency":"EUR","transactionId":"t"}]`))
	f.Add([]byte(`{"eventId":"e1","customerId":"c","brandId":"1","timestamp":12,"turnover":1e400}`))
	f.Add([]byte(`[{"eventId":null},{"a":{"b":[1,2,{"c":"\u0000"}]}},3]`))
	f.Add([]byte("[{\"eventId\":\"\xff\"}]"))
	f.Add([]byte(`[]`))
	f.Add([]byte(` [ {"a":"],}"} , {"b":[{}]} ] `))
	f.Add([]byte(``))
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	brands := map[int]bool{1: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		raws, perr := splitPayload(body, 50)
		if perr != nil {
			if perr.msg == "" {
				t.Fatal("empty whole-payload message")
			}
			return
		}
		if len(raws) == 0 || len(raws) > 50 {
			t.Fatalf("%d events", len(raws))
		}
		// The splitter agrees with encoding/json on what the elements are.
		var ref []json.RawMessage
		if json.Unmarshal(body, &ref) == nil {
			if len(ref) != len(raws) {
				t.Fatalf("%d elements, encoding/json sees %d", len(raws), len(ref))
			}
			for i := range ref {
				if string(ref[i]) != string(raws[i]) {
					t.Fatalf("element %d = %q, encoding/json %q", i, raws[i], ref[i])
				}
			}
		}
		for k := kRegistration; k <= kDepositCorrection; k++ {
			for i, raw := range raws {
				e := decodeEvent(k, raw, i)
				e.checkStatic(brands, now)
				if len(e.errs) == 0 {
					if requiredFields[k]&^e.seen != 0 {
						t.Fatalf("event accepted without required members: %s", raw)
					}
					if e.EventID == "" || e.CustomerID == "" || !brands[e.BrandID] || e.Timestamp.After(now) {
						t.Fatalf("invalid event passed: %+v", e)
					}
				}
				for _, er := range e.errs {
					if er.Code == "" || er.Message == "" || !utf8.ValidString(er.Message) {
						t.Fatalf("bad error %+v", er)
					}
				}
			}
		}
	})
}

// FuzzTokenForm feeds arbitrary content types, bodies and Authorization
// headers to the token request parsers.
func FuzzTokenForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "grant_type=password&client_id=a&scope=x%20y", "Basic YTpi")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "a=%zz&b=1&b=2", "basic %%%")
	f.Add("application/json", `{"grant_type":"password"}`, "")
	f.Add("", "", "Basic "+strings.Repeat("A", 100))
	f.Fuzz(func(t *testing.T, ctype, body, auth string) {
		form := parseTokenForm(ctype, []byte(body))
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ctype)), "application/x-www-form-urlencoded") && len(form) > 0 {
			t.Fatalf("parameters read from content type %q", ctype)
		}
		r, _ := http.NewRequest("POST", "http://x/", nil)
		r.Header.Set("Authorization", auth)
		basicCredentials(r)
	})
}
