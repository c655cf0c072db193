package netfinity_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// pretty is how Laravel's exception handler renders HttpExceptions.
func pretty(msg string) string { return "{\n    \"message\": \"" + msg + "\"\n}" }

func TestSendChecksInNetfinityOrder(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	valid := `{"msisdn":"359881234567","text":"test 1","id":"123"}`
	accept := sandboxtest.Header("Accept", "application/json")
	tests := []struct {
		name     string
		body     *sandboxtest.Body
		opts     []sandboxtest.Option
		status   int
		wantRaw  string // exact bytes
		rateHdrs bool   // X-RateLimit-* expected
	}{
		{name: "accepted", body: sandboxtest.JSONBody(valid), opts: jsonHeaders("tok"), status: 200, rateHdrs: true},
		{name: "Accept missing", body: sandboxtest.JSONBody(valid), opts: []sandboxtest.Option{sandboxtest.Bearer("tok")},
			status: 406, wantRaw: pretty("The Accept header must be application/json.")},
		{name: "Accept html", body: sandboxtest.JSONBody(valid), opts: []sandboxtest.Option{sandboxtest.Header("Accept", "text/html"), sandboxtest.Bearer("tok")},
			status: 406, wantRaw: pretty("The Accept header must be application/json.")},
		{name: "Accept preferring JSON is fine", body: sandboxtest.JSONBody(valid),
			opts: []sandboxtest.Option{sandboxtest.Header("Accept", "text/html;q=0.5, application/json"), sandboxtest.Bearer("tok")}, status: 200, rateHdrs: true},
		{name: "Accept preferring HTML (wantsJson is false)", body: sandboxtest.JSONBody(valid),
			opts:   []sandboxtest.Option{sandboxtest.Header("Accept", "text/html, application/json;q=0.9"), sandboxtest.Bearer("tok")},
			status: 406, wantRaw: pretty("The Accept header must be application/json.")},
		{name: "Accept */* (curl's default)", body: sandboxtest.JSONBody(valid),
			opts:   []sandboxtest.Option{sandboxtest.Header("Accept", "*/*"), sandboxtest.Bearer("tok")},
			status: 406, wantRaw: pretty("The Accept header must be application/json.")},
		{name: "Accept vendor +json", body: sandboxtest.RawBody("application/vnd.api+json", []byte(valid)),
			opts: []sandboxtest.Option{sandboxtest.Header("Accept", "application/vnd.api+json"), sandboxtest.Bearer("tok")}, status: 200, rateHdrs: true},
		{name: "Content-Type missing", body: sandboxtest.RawBody("", []byte(valid)), opts: jsonHeaders("tok"),
			status: 406, wantRaw: pretty("The Content-Type header must be application/json.")},
		{name: "Content-Type form", body: sandboxtest.RawBody("application/x-www-form-urlencoded", []byte("msisdn=1")), opts: jsonHeaders("tok"),
			status: 406, wantRaw: pretty("The Content-Type header must be application/json.")},
		{name: "Content-Type with charset is fine", body: sandboxtest.RawBody("application/json; charset=utf-8", []byte(valid)), opts: jsonHeaders("tok"), status: 200, rateHdrs: true},
		{name: "Content-Type twice", body: sandboxtest.JSONBody(valid),
			opts:   append(jsonHeaders("tok"), func(r *http.Request) { r.Header.Add("Content-Type", "application/json") }),
			status: 406, wantRaw: pretty("The Content-Type header must be given once.")},
		{name: "body not JSON", body: sandboxtest.JSONBody(`{"msisdn":`), opts: jsonHeaders("tok"),
			status: 406, wantRaw: pretty("The request body must be valid JSON.")},
		{name: "empty body", body: sandboxtest.JSONBody(``), opts: jsonHeaders("tok"),
			status: 406, wantRaw: pretty("The request body must be valid JSON.")},
		{name: "406 comes before 401", body: sandboxtest.JSONBody(`nope`),
			status: 406, wantRaw: pretty("The Accept header must be application/json.")},
		{name: "no Authorization", body: sandboxtest.JSONBody(valid), opts: []sandboxtest.Option{accept},
			status: 401, wantRaw: `{"message":"Unauthenticated."}`},
		{name: "unknown token", body: sandboxtest.JSONBody(valid), opts: jsonHeaders("nope"),
			status: 401, wantRaw: `{"message":"Unauthenticated."}`},
		{name: "Bearer without a token", body: sandboxtest.JSONBody(valid), opts: []sandboxtest.Option{accept, sandboxtest.Header("Authorization", "Bearer ")},
			status: 401, wantRaw: `{"message":"Unauthenticated."}`},
		{name: "Basic scheme", body: sandboxtest.JSONBody(valid), opts: []sandboxtest.Option{accept, sandboxtest.Header("Authorization", "Basic dG9rOg==")},
			status: 401, wantRaw: `{"message":"Unauthenticated."}`},
		{name: "Authorization twice", body: sandboxtest.JSONBody(valid),
			opts:   append(jsonHeaders("tok"), func(r *http.Request) { r.Header.Add("Authorization", "Bearer tok2") }),
			status: 401, wantRaw: `{"message":"Unauthenticated."}`},
		{name: "401 comes before 422", body: sandboxtest.JSONBody(`{}`), opts: []sandboxtest.Option{accept},
			status: 401, wantRaw: `{"message":"Unauthenticated."}`},
		{name: "IP not allowed", body: sandboxtest.JSONBody(valid), opts: jsonHeaders("foreign"),
			status: 403, wantRaw: pretty("IP address not allowed."), rateHdrs: true},
		{name: "X-Forwarded-For from an untrusted peer is ignored", body: sandboxtest.JSONBody(valid),
			opts:   append(jsonHeaders("foreign"), sandboxtest.Header("X-Forwarded-For", "203.0.113.7")),
			status: 403, wantRaw: pretty("IP address not allowed."), rateHdrs: true},
		{name: "capability missing", body: sandboxtest.JSONBody(valid), opts: jsonHeaders("nosms"),
			status: 403, wantRaw: pretty("Token capabilities missing."), rateHdrs: true},
		{name: "403 comes before 422", body: sandboxtest.JSONBody(`{}`), opts: jsonHeaders("nosms"),
			status: 403, wantRaw: pretty("Token capabilities missing."), rateHdrs: true},
		{name: "validation", body: sandboxtest.JSONBody(`{}`), opts: jsonHeaders("tok"),
			status: 422, wantRaw: `{"message":"The given data was invalid.","errors":{"msisdn":["The msisdn field is required."],"text":["The text field is required."]}}`, rateHdrs: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do("POST", sendPath, tc.body, tc.opts...).WantStatus(tc.status)
			if tc.wantRaw != "" && string(res.Body) != tc.wantRaw {
				t.Errorf("body = %q\nwant   %q", res.Body, tc.wantRaw)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := res.Header.Get("X-RateLimit-Limit") != ""; got != tc.rateHdrs {
				t.Errorf("X-RateLimit-Limit present = %v, want %v", got, tc.rateHdrs)
			}
		})
	}
}

func TestUnknownRouteAndMethodAreLaravel(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	tests := []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/netfinity/v2/sms/notification/status", 404, pretty("")},
		{"POST", "/netfinity/", 404, pretty("")},
		{"GET", sendPath, 405, pretty("The GET method is not supported for this route. Supported methods: POST.")},
		{"PUT", sendPath, 405, pretty("The PUT method is not supported for this route. Supported methods: POST.")},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			h := h.With(t)
			res := h.Do(tc.method, tc.path, nil, jsonHeaders("tok")...).WantStatus(tc.status)
			if string(res.Body) != tc.want {
				t.Errorf("body = %q, want %q", res.Body, tc.want)
			}
		})
	}
}

func TestValidationIsLaravelExact(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	const invalid = `{"message":"The given data was invalid.","errors":`
	tests := []struct {
		name string
		body string
		want string // errors object, or "" for 200
	}{
		{"seed sample", `{"msisdn":"3598812","text":"Здравей"}`,
			`{"msisdn":["The msisdn must be between 8 and 20 digits."],"text":["The text format is invalid."]}`},
		{"all missing", `{}`, `{"msisdn":["The msisdn field is required."],"text":["The text field is required."]}`},
		{"JSON array instead of object", `["359881234567","hi"]`, `{"msisdn":["The msisdn field is required."],"text":["The text field is required."]}`},
		{"JSON string", `"hello"`, `{"msisdn":["The msisdn field is required."],"text":["The text field is required."]}`},
		{"nulls", `{"msisdn":null,"text":null,"id":null}`, `{"msisdn":["The msisdn field is required."],"text":["The text field is required."]}`},
		{"blank strings", `{"msisdn":"  ","text":""}`, `{"msisdn":["The msisdn field is required."],"text":["The text field is required."]}`},
		{"letters in msisdn", `{"msisdn":"35988abc4567","text":"hi"}`, `{"msisdn":["The msisdn must be between 8 and 20 digits."]}`},
		{"spaces in msisdn", `{"msisdn":"359 88 123 4567","text":"hi"}`, `{"msisdn":["The msisdn must be between 8 and 20 digits."]}`},
		{"21 digits", `{"msisdn":"359881234567890123456","text":"hi"}`, `{"msisdn":["The msisdn must be between 8 and 20 digits."]}`},
		{"7 digits", `{"msisdn":"3598812","text":"hi"}`, `{"msisdn":["The msisdn must be between 8 and 20 digits."]}`},
		{"msisdn as object", `{"msisdn":{"n":1},"text":"hi"}`, `{"msisdn":["The msisdn must be between 8 and 20 digits."]}`},
		{"msisdn as float", `{"msisdn":3.5988e11,"text":"hi"}`, `{"msisdn":["The msisdn must be between 8 and 20 digits."]}`},
		{"text as number", `{"msisdn":"359881234567","text":42}`, `{"text":["The text format is invalid."]}`},
		{"text with NUL", `{"msisdn":"359881234567","text":"a\u0000b"}`, `{"text":["The text format is invalid."]}`},
		{"text with tab", `{"msisdn":"359881234567","text":"a\tb"}`, `{"text":["The text format is invalid."]}`},
		{"text with emoji", `{"msisdn":"359881234567","text":"hi 😀"}`, `{"text":["The text format is invalid."]}`},
		{"text with backtick", "{\"msisdn\":\"359881234567\",\"text\":\"a`b\"}", `{"text":["The text format is invalid."]}`},
		{"id with dash", `{"msisdn":"359881234567","text":"hi","id":"a-1"}`, `{"id":["The id may only contain letters and numbers."]}`},
		{"id boolean", `{"msisdn":"359881234567","text":"hi","id":true}`, `{"id":["The id may only contain letters and numbers."]}`},
		{"id Cyrillic", `{"msisdn":"359881234567","text":"hi","id":"абв"}`, `{"id":["The id may only contain letters and numbers."]}`},
		{"all three fail", `{"msisdn":"x","text":"Ж","id":"!"}`,
			`{"msisdn":["The msisdn must be between 8 and 20 digits."],"text":["The text format is invalid."],"id":["The id may only contain letters and numbers."]}`},
		{"GSM basic and extension", `{"msisdn":"359881234567","text":"@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n€[]{}\\~^|"}`, ""},
		{"msisdn as integer", `{"msisdn":359881234567,"text":"hi"}`, ""},
		{"id as integer", `{"msisdn":"359881234568","text":"hi","id":77}`, ""},
		{"only whitespace is blank (TrimStrings)", `{"msisdn":"359881234567","text":"\t\n "}`, `{"text":["The text field is required."]}`},
		{"surrounding whitespace is trimmed", `{"msisdn":" 359881234570 ","text":"\thi\n","id":" A1 "}`, ""},
		{"empty id is no id (ConvertEmptyStringsToNull)", `{"msisdn":"359881234572","text":"hi","id":""}`, ""},
		{"blank id is no id (TrimStrings)", `{"msisdn":"359881234573","text":"hi","id":" \t"}`, ""},
		{"id as empty array", `{"msisdn":"359881234574","text":"hi","id":[]}`, `{"id":["The id may only contain letters and numbers."]}`},
		{"unknown fields ignored", `{"msisdn":"359881234569","text":"hi","sender":"X"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			res := h.Do("POST", sendPath, sandboxtest.JSONBody(tc.body), jsonHeaders("tok")...)
			if tc.want == "" {
				res.WantStatus(200)
				return
			}
			res.WantStatus(422)
			if string(res.Body) != invalid+tc.want+"}" {
				t.Errorf("body = %s\nwant   %s", res.Body, invalid+tc.want+"}")
			}
		})
	}
}

func TestStringsAreTrimmedLikeLaravel(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	id := sendOK(t, h, "", "tok", `{"msisdn":" +359881234567\n","text":"  hello \u0000","id":"\tX9 "}`)
	m := message(t, h, "", id)
	if m.Text != "hello" || m.Msisdn != "359881234567" || m.ID == nil || *m.ID != "X9" {
		t.Errorf("text %q msisdn %q id %v", m.Text, m.Msisdn, m.ID)
	}
}

func TestMsisdnIsNormalised(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	tests := []struct{ given, want, network string }{
		{"359881234567", "359881234567", "A1"},
		{"+359891234567", "359891234567", "Yettel"},
		{"00359871234567", "359871234567", "Vivacom"},
		{"0881234560", "359881234560", "A1"},
		{"0988123456", "359988123456", "A1"},
		{"+447700900123", "447700900123", ""},
	}
	for _, tc := range tests {
		t.Run(tc.given, func(t *testing.T) {
			id := sendOK(t, h, "", "tok", `{"msisdn":"`+tc.given+`","text":"normalise me"}`)
			m := message(t, h, "", id)
			if m.Msisdn != tc.want || m.MsisdnGiven != tc.given || m.Network != tc.network {
				t.Errorf("msisdn %q given %q network %q; want %q, %q, %q", m.Msisdn, m.MsisdnGiven, m.Network, tc.want, tc.given, tc.network)
			}
		})
	}
}

func TestTextPrefixAndCut(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	long := strings.Repeat("a", 10*1024)
	tests := []struct {
		name, text, wantSent string
		septets              int
		cut                  bool
	}{
		{"short", "hello", "ACME: hello", 11, false},
		{"exactly 160 with prefix", strings.Repeat("b", 154), "ACME: " + strings.Repeat("b", 154), 160, false},
		{"10 KB text is cut", long, "ACME: " + strings.Repeat("a", 154), 160, true},
		// € counts two septets: 6 + 76×2 = 158, a further € would make 160,
		// one more does not fit.
		{"extension characters count twice", strings.Repeat("€", 80), "ACME: " + strings.Repeat("€", 77), 160, true},
		{"no split of an extension character", "x" + strings.Repeat("€", 80), "ACME: x" + strings.Repeat("€", 76), 159, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := sendOK(t, h, "", "pfx", `{"msisdn":"359881234567","text":"`+tc.text+`"}`)
			m := message(t, h, "", id)
			if m.SentText != tc.wantSent || m.Septets != tc.septets || m.Truncated != tc.cut || m.Text != tc.text {
				t.Errorf("sent %q (%d septets, cut %v); want %q (%d, %v)", m.SentText, m.Septets, m.Truncated, tc.wantSent, tc.septets, tc.cut)
			}
		})
	}
}

func TestAcceptedResponseAndState(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	res := h.Do("POST", sendPath, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"test 1","id":"123"}`), jsonHeaders("tok")...).WantStatus(200)
	var out struct {
		UUID string  `json:"uuid"`
		ID   *string `json:"id"`
	}
	res.JSON(&out)
	if out.ID == nil || *out.ID != "123" || len(out.UUID) != 36 || out.UUID[14] != '4' {
		t.Fatalf("response %s: want a v4 uuid and id 123", res.Body)
	}
	if res.Header.Get("X-RateLimit-Limit") != "1000" || res.Header.Get("X-RateLimit-Remaining") != "999" {
		t.Errorf("rate headers %v", res.Header)
	}
	res = h.Do("POST", sendPath, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"no id"}`), jsonHeaders("tok")...).WantStatus(200)
	if !strings.HasSuffix(string(res.Body), `"id":null}`) {
		t.Errorf("without id the response should carry id null: %s", res.Body)
	}
	st := getState(t, h, "")
	if len(st.Messages) != 2 || st.Messages[0].UUID != out.UUID || st.Messages[0].Token != "main" || st.Messages[0].Path != "delivered" {
		t.Fatalf("state %+v", st.Messages)
	}
	if len(st.Messages[0].History) != 0 {
		t.Errorf("frozen clock: no status yet, got %v", st.Messages[0].History)
	}
	// Lists are lists even when empty (a JavaScript client reads .length).
	var raw struct{ Messages []map[string]json.RawMessage }
	h.Admin("GET", "", "/state/netfinity", nil, &raw)
	for _, k := range []string{"history", "callbacks"} {
		if got := string(raw.Messages[0][k]); got != "[]" {
			t.Errorf("state %s = %s, want []", k, got)
		}
	}
}

func TestForwardedForFromTrustedProxy(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", "  trustedProxies: [127.0.0.0/8]\n"))
	valid := sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hi"}`)
	tests := []struct {
		name   string
		xff    []string
		status int
	}{
		{"allowed client behind the proxy", []string{"203.0.113.7"}, 200},
		{"allowed CIDR", []string{"198.51.100.42"}, 200},
		{"client spoofs the left-most hop", []string{"203.0.113.7, 192.0.2.1"}, 403},
		{"chain of trusted proxies", []string{"203.0.113.7, 127.0.0.5"}, 200},
		{"two headers are one list", []string{"203.0.113.7", "127.0.0.9"}, 200},
		{"garbage", []string{"not-an-ip"}, 403},
		{"no header: the proxy itself", nil, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			opts := jsonHeaders("foreign")
			for _, v := range tc.xff {
				v := v
				opts = append(opts, func(r *http.Request) { r.Header.Add("X-Forwarded-For", v) })
			}
			h.Do("POST", sendPath, valid, opts...).WantStatus(tc.status)
		})
	}
}

func TestSandboxFaultsAnswerInLaravelShape(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	valid := sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hi"}`)
	tests := []struct {
		prefer string
		status int
		body   string
		limit  string // X-RateLimit-Limit; Remaining is then "0"
	}{
		{"status=503", 503, pretty("Service Unavailable"), ""},
		{"status=500", 500, pretty("Server Error"), ""},
		// A 429 is Laravel's throttle answer: it shows the token's limit.
		{"status=429", 429, pretty("Too Many Attempts."), "1000"},
		// A 422 keeps the ValidationException shape clients parse.
		{"status=422", 422, `{"message":"The given data was invalid.","errors":{}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.prefer, func(t *testing.T) {
			h := h.With(t)
			res := h.Do("POST", sendPath, valid, append(jsonHeaders("tok"), sandboxtest.Header("Prefer", tc.prefer))...).WantStatus(tc.status)
			if string(res.Body) != tc.body {
				t.Errorf("body %q, want %q", res.Body, tc.body)
			}
			wantRemaining := ""
			if tc.limit != "" {
				wantRemaining = "0"
			}
			if l, r := res.Header.Get("X-RateLimit-Limit"), res.Header.Get("X-RateLimit-Remaining"); l != tc.limit || r != wantRemaining {
				t.Errorf("X-RateLimit-Limit %q Remaining %q, want %q %q", l, r, tc.limit, wantRemaining)
			}
		})
	}
	res := h.Do("POST", sendPath, valid, append(jsonHeaders("tok"), sandboxtest.Header("Prefer", "status=abc"))...).WantStatus(400)
	var m struct{ Message string }
	res.JSON(&m)
	if !strings.Contains(m.Message, "abc") {
		t.Errorf("400 message %q does not name the bad value", m.Message)
	}
}

func TestUUIDsDifferAcrossNamespacesAndRepeatAfterReset(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	body := `{"msisdn":"359881234567","text":"which uuid"}`
	first := map[string]string{}
	for _, ns := range []string{"", "jobA", "jobB"} {
		first[ns] = sendOK(t, h, ns, "tok", body)
	}
	if first[""] == first["jobA"] || first["jobA"] == first["jobB"] || first[""] == first["jobB"] {
		t.Errorf("namespaces share uuids: %v", first)
	}
	// The same seed and namespace give the same uuids again after a reset.
	if code := h.Admin("POST", "jobA", "/reset", nil, nil); code != 200 && code != 204 {
		t.Fatalf("reset: %d", code)
	}
	if again := sendOK(t, h, "jobA", "tok", body); again != first["jobA"] {
		t.Errorf("after reset jobA's first uuid is %s, want %s", again, first["jobA"])
	}
}
