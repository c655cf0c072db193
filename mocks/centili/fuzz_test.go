package centili

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/specs"
)

// FuzzTokenForm: the token form parser never panics, reports a repeated
// parameter whenever there is one, and reads client credentials from Basic
// unless the form names them (the form's client_id and client_secret win),
// and marks Keycloak's Basic challenge exactly when a form without client_id
// comes with an Authorization header that is not Basic.
func FuzzTokenForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "grant_type=password&client_id=datagifting&username=a&password=b", "")
	f.Add("application/x-www-form-urlencoded; charset=UTF-8", "grant_type=refresh_token&refresh_token=x.y.z&client_id=a&client_id=b", "")
	f.Add("application/x-www-form-urlencoded", "a=%zz&b", "Basic ZGF0YWdpZnRpbmctY29uZmlkZW50aWFsOnNhbmRib3gtY2VudGlsaS1zZWNyZXQ=")
	f.Add("application/json", `{"grant_type":"password"}`, "Basic !!!")
	f.Add("", ";;&&==", "Bearer abc")
	f.Add("application/x-www-form-urlencoded", "grant_type=password&username=a", "Bearer abc")
	f.Add("application/x-www-form-urlencoded", "client_id=&token=x", "Negotiate YIIC")
	f.Add("application/x-www-form-urlencoded", "client_id=a%3Ab&client_secret=%2B%20", "Basic YSUzQWI6")
	f.Fuzz(func(t *testing.T, contentType, body, authorization string) {
		var authz []string
		if authorization != "" {
			authz = []string{authorization}
		}
		form, fail := parseTokenForm(contentType, []byte(body), authz)
		if fail != nil {
			if fail.status != 400 || fail.code != "invalid_request" || !strings.HasPrefix(fail.description, "Malformed form body: ") {
				t.Fatalf("unexpected failure %+v", fail)
			}
			return
		}
		dup := ""
		for k, v := range form.values {
			if len(v) > 1 && (dup == "" || k < dup) {
				dup = k
			}
		}
		if dup != form.duplicated {
			t.Fatalf("duplicated = %q, want %q", form.duplicated, dup)
		}
		wantID, wantHas := form.get("client_id")
		wantSecret, secretInForm := form.get("client_secret")
		id, secret, res := parseBasic(authorization)
		_, named := form.values["client_id"]
		mt, _, err := mime.ParseMediaType(contentType)
		isForm := err == nil && mt == "application/x-www-form-urlencoded"
		if wantChallenge := authz != nil && res == basicUnparsable && isForm && !named; form.basicChallenge != wantChallenge {
			t.Fatalf("basicChallenge = %v, want %v", form.basicChallenge, wantChallenge)
		}
		if authz != nil && res == basicOK {
			if !wantHas {
				wantID, wantHas = id, true
			}
			if !secretInForm {
				wantSecret = secret
			}
		}
		if form.clientID != wantID || form.hasClientID != wantHas || form.clientSecret != wantSecret {
			t.Fatalf("client %q/%v secret %q, want %q/%v secret %q", form.clientID, form.hasClientID, form.clientSecret, wantID, wantHas, wantSecret)
		}
	})
}

// The body schema the spec documents, for checking the decoder against it.
func transactionSchema(tb testing.TB) *openapi3.Schema {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("centili.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	ref, ok := doc.Components.Schemas["TransactionRequest"]
	if !ok {
		tb.Fatal("spec has no TransactionRequest schema")
	}
	return ref.Value
}

// FuzzDecodeTransaction: the decoder never panics; what it accepts is valid
// by the spec's schema and round-trips; what it refuses gets a
// VALIDATION_ERROR with a message.
func FuzzDecodeTransaction(f *testing.F) {
	schema := transactionSchema(f)
	for _, s := range []string{
		`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"454585","amount":500}`,
		`{"serviceKey":"a","msisdn":"12345678","clientId":"\u00e9","amount":1.0}`,
		`{"serviceKey":"a","msisdn":"12345678","clientId":"x","amount":5e2}`,
		`{"amount":"500"}`, `{"amount":-1e400}`, `{"amount":1e400}`, `{"amount":0.5}`,
		`{"msisdn":"+4366"}`, `[]`, `null`, `{"a":1,"a":2}`, `{} {}`, `{"serviceKey":`, "\xff", ``,
	} {
		f.Add("application/json", []byte(s))
	}
	f.Add("text/plain", []byte(`{}`))
	f.Add("application/problem+json", []byte(`{}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req, p := decodeTransaction(contentType, body)
		if p != nil {
			if p.status != 400 || p.ErrorType != errValidation || p.ErrorMessage == "" {
				t.Fatalf("refusal %+v", p)
			}
			return
		}
		if !reServiceKey.MatchString(req.ServiceKey) || !reMsisdn.MatchString(req.Msisdn) ||
			req.ClientID == "" || utf8.RuneCountInString(req.ClientID) > maxClientIDLen ||
			req.Amount < 1 || req.Amount > maxAmount {
			t.Fatalf("accepted an invalid request %+v from %q", req, body)
		}
		doc := map[string]any{"serviceKey": req.ServiceKey, "msisdn": req.Msisdn, "clientId": req.ClientID, "amount": req.Amount}
		raw, _ := json.Marshal(doc)
		var generic any
		_ = json.Unmarshal(raw, &generic)
		if err := schema.VisitJSON(generic); err != nil {
			t.Fatalf("decoder accepted %q but the spec refuses it: %v", body, err)
		}
		again, p := decodeTransaction("application/json", raw)
		if p != nil || again != req {
			t.Fatalf("round trip: %+v / %+v", again, p)
		}
	})
}

// The query parameters the guard allows are exactly those the spec lists.
func TestAllowedQueryParametersMatchTheSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("centili.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			info, ok := operations[op.OperationID]
			if !ok {
				t.Errorf("operation %s has no entry in operations", op.OperationID)
				continue
			}
			seen++
			var inSpec []string
			for _, p := range op.Parameters {
				if p.Value.In == "query" {
					inSpec = append(inSpec, p.Value.Name)
				}
			}
			if strings.Join(inSpec, ",") != strings.Join(info.query, ",") && !info.keycloak {
				t.Errorf("%s: spec query parameters %v, guard allows %v", op.OperationID, inSpec, info.query)
			}
			if info.keycloak != strings.Contains(path, "/realms/") {
				t.Errorf("%s: keycloak = %v for path %s", op.OperationID, info.keycloak, path)
			}
			if info.legacy != strings.HasPrefix(path, "/auth/") {
				t.Errorf("%s: legacy = %v for path %s", op.OperationID, info.legacy, path)
			}
		}
	}
	if seen != len(operations) {
		t.Errorf("spec has %d operations, the table %d", seen, len(operations))
	}
}

func TestParseBasic(t *testing.T) {
	t.Parallel()
	raw := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		header, id, secret string
		res                basicResult
	}{
		{"Basic " + b64("datagifting:"), "datagifting", "", basicOK},
		{"basic " + b64("a%3Ab:c%2Bd"), "a:b", "c+d", basicOK},
		{"BASIC " + raw("ab:cd"), "ab", "cd", basicOK}, // Java's decoder takes unpadded base64
		// The sixth character is skipped whatever it is, as BasicAuthHelper does.
		{"Basic:" + b64("ab:cd"), "ab", "cd", basicOK},
		{"Basic " + b64("no-colon"), "", "", basicUnparsable},
		{"Basic %%%", "", "", basicUnparsable},
		{"Basic  " + b64("ab:cd"), "", "", basicUnparsable},       // a second space is not base64
		{"Basic " + raw("ab:cd") + "==", "", "", basicUnparsable}, // padding, when present, must be right
		{"Bearer abc", "", "", basicUnparsable},
		{"Negotiate YIIC", "", "", basicUnparsable},
		{"Basic", "", "", basicUnparsable},
		{"", "", "", basicUnparsable},
		{"Basic " + b64("a%zz:b"), "", "", basicBadEscape},
	}
	for _, tc := range tests {
		id, secret, res := parseBasic(tc.header)
		if id != tc.id || secret != tc.secret || res != tc.res {
			t.Errorf("parseBasic(%q) = %q, %q, %v; want %q, %q, %v", tc.header, id, secret, res, tc.id, tc.secret, tc.res)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
