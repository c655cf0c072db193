package all_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

// perOperation is how many generated requests each operation gets.
const perOperation = 50

// minAcceptance is the share of schema-valid generated requests the server
// must accept, per operation (docs/architecture.md lists the measured rates).
const minAcceptance = 0.9

// acceptTarget is one provider whose operations get generated requests:
// the default scenario's credentials, and the few facts a schema cannot
// state (which brand the client owns, a registered customer, a window no
// longer than the maximum), supplied the way a user's fuzzer hook would.
type acceptTarget struct {
	provider string
	spec     string
	ops      []string
	// setup runs once and returns what sign needs (a token).
	setup func(t *testing.T, h *sandboxtest.Harness) string
	sign  func(r *http.Request, cred string)
	// fix sets what the schema cannot say; body is the decoded JSON.
	fix func(t *testing.T, h *sandboxtest.Harness, g *gen, cred, op string, body any, q url.Values)
	ok  func(status int) bool
}

// TestSchemaValidRequestsAreAccepted sends random requests that are valid
// per the served OpenAPI documents and asserts that the server accepts
// nearly all of them: the documents say what the handlers enforce, so a
// fuzzer working from them reaches the success paths.
func TestSchemaValidRequestsAreAccepted(t *testing.T) {
	targets := []acceptTarget{netreferTarget(), netfinityTarget(), intargetTarget()}
	for _, tg := range targets {
		t.Run(tg.provider, func(t *testing.T) {
			t.Parallel()
			runAcceptance(t, tg, false, func(op string, accepted int, refused []*sandboxtest.Response) {
				if rate := float64(accepted) / perOperation; rate < minAcceptance {
					t.Errorf("%s: %d of %d schema-valid requests accepted, want at least %.0f%%; refusals: %v", op, accepted, perOperation, minAcceptance*100, summary(refused))
				}
			})
		})
	}
}

// TestFloatWrittenMoneyIsRefused pins what docs/architecture.md and
// docs/netrefer.md tell users: money must be sent as an exact decimal. A
// generator that multiplies floats (k × 0.0001) writes 1.2345000000000002;
// kin-openapi's multipleOf check tolerates the float error and calls it
// valid, but the handler reads the number's text and refuses the fifth
// digit with DI-1004. These are the same draws as
// TestSchemaValidRequestsAreAccepted, written as floats: every event refused
// must be refused for that digit or for a repeated eventId (which the exact
// run sees too). -v prints the figures the docs quote.
func TestFloatWrittenMoneyIsRefused(t *testing.T) {
	t.Parallel()
	precision := regexp.MustCompile(`^(amount|fee|turnover|grossRevenue|bonus) -?[0-9]+\.[0-9]{5,} has more than 4 fractional digits\.$`)
	tg := netreferTarget()
	tg.ops = []string{"ingestDeposits", "ingestWithdrawals", "ingestActivities", "ingestCorrections", "ingestDepositCorrections"}
	runAcceptance(t, tg, true, func(op string, accepted int, refused []*sandboxtest.Response) {
		values := 0
		for _, res := range refused {
			var out struct {
				Results []struct {
					Status string
					Errors []struct{ Code, Field, Message string }
				}
			}
			if err := json.Unmarshal(res.Body, &out); err != nil || len(out.Results) == 0 {
				t.Errorf("%s: refused without per-event results: %s", op, refusalLine(res))
				continue
			}
			for _, r := range out.Results {
				for _, e := range r.Errors {
					switch {
					case e.Code == "DI-1004" && precision.MatchString(e.Message):
						values++
					case e.Code == "DI-1005" || e.Code == "DI-1006":
					default:
						t.Errorf("%s: refused for something other than a fifth fractional digit: %s %s %s", op, e.Code, e.Field, e.Message)
					}
				}
			}
		}
		if values == 0 {
			t.Errorf("%s: no float-written amount refused with DI-1004", op)
		}
		t.Logf("%-28s %d money values refused for a fifth fractional digit", op, values)
	})

	// One value by hand: the schema's validator and the handler disagree.
	k, step := 12345.0, 0.0001 // variables: Go folds constant arithmetic exactly
	f := k * step
	if got := strconv.FormatFloat(f, 'f', -1, 64); got != "1.2345000000000002" {
		t.Fatalf("12345 * 0.0001 = %s, the example the docs quote has changed", got)
	}
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("netrefer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Components.Schemas["PositiveMoney"].Value.VisitJSON(f); err != nil {
		t.Errorf("kin-openapi now refuses %v as a multiple of 0.0001 (%v): docs/architecture.md says it accepts it", f, err)
	}
}

// runAcceptance sends perOperation generated requests to each of tg's
// operations and hands report the number accepted and the refused
// responses. floatMoney makes the generator write
// multiples of multipleOf the naive way (see gen.floatMoney).
func runAcceptance(t *testing.T, tg acceptTarget, floatMoney bool, report func(op string, accepted int, refused []*sandboxtest.Response)) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must(tg.spec))
	if err != nil {
		t.Fatal(err)
	}
	h := sandboxtest.New(t, "")
	cred := tg.setup(t, h)
	for i, op := range tg.ops {
		method, path, o := findOp(t, doc, op)
		g := newGen(uint64(1000 + i))
		g.floatMoney = floatMoney
		accepted, refused := 0, []*sandboxtest.Response(nil)
		for n := range perOperation {
			q := url.Values{}
			for _, p := range o.Parameters {
				if p.Value.In == "query" && (p.Value.Required || g.rng.IntN(2) == 0) {
					v := g.value(p.Value.Schema.Value)
					if err := p.Value.Schema.Value.VisitJSON(v); err != nil {
						t.Fatalf("%s: generated %s=%v is not schema-valid: %v", op, p.Value.Name, v, err)
					}
					q.Set(p.Value.Name, fmt.Sprint(v))
				}
			}
			var body any
			if o.RequestBody != nil {
				s := o.RequestBody.Value.Content.Get("application/json").Schema.Value
				body = roundTrip(g.value(s))
				if err := s.VisitJSON(body); err != nil {
					if floatMoney {
						t.Fatalf("%s: kin-openapi now refuses a float-written multiple of multipleOf (docs/architecture.md says it accepts them): %v\n%s", op, err, mustJSON(body))
					}
					t.Fatalf("%s: generated body is not schema-valid: %v\n%s", op, err, mustJSON(body))
				}
			}
			tg.fix(t, h, g, cred, op, body, q)
			req, _ := http.NewRequest(method, h.URL+"/"+tg.provider+path+"?"+q.Encode(), nil)
			if body != nil {
				req, _ = http.NewRequest(method, req.URL.String(), strings.NewReader(mustJSON(body)))
				req.Header.Set("Content-Type", "application/json")
			}
			tg.sign(req, cred)
			res := h.With(t).Send(req)
			if tg.ok(res.Status) {
				accepted++
			} else {
				refused = append(refused, res)
				if n == 0 || testing.Verbose() {
					t.Logf("%s refused: %s\n  body: %s", op, refusalLine(res), mustJSON(body))
				}
			}
		}
		t.Logf("%-28s accepted %d of %d", op, accepted, perOperation)
		report(op, accepted, refused)
	}
}

// summary counts refusals by status and the start of the body.
func summary(refused []*sandboxtest.Response) map[string]int {
	out := map[string]int{}
	for _, res := range refused {
		out[fmt.Sprintf("%d %.120s", res.Status, res.Body)]++
	}
	return out
}

func refusalLine(res *sandboxtest.Response) string {
	b := string(res.Body)
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", res.Status, b)
}

func findOp(t *testing.T, doc *openapi3.T, id string) (string, string, *openapi3.Operation) {
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == id {
				return method, path, op
			}
		}
	}
	t.Fatalf("no operation %s", id)
	return "", "", nil
}

// roundTrip turns generated values (json.Number and all) into what a JSON
// decoder makes of them, which is what the schema validator checks.
func roundTrip(v any) any {
	var out any
	if err := json.Unmarshal([]byte(mustJSON(v)), &out); err != nil {
		panic(err)
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// events returns the event objects of a NetRefer payload.
func events(body any) []map[string]any {
	switch b := body.(type) {
	case map[string]any:
		return []map[string]any{b}
	case []any:
		out := make([]map[string]any, 0, len(b))
		for _, e := range b {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

const (
	nrTenant = "0e0b50ac-5253-4347-b528-251b2f17cfc6"
	nrSubKey = "baea25a9f0fe4687845575c07e539a9e9"
	nrCust   = "fixture-customer"
)

func netreferTarget() acceptTarget {
	ingest := func(t *testing.T, h *sandboxtest.Harness, tok, path string, ev map[string]any) {
		res := h.Do("POST", "/netrefer/di/v1/"+path, sandboxtest.JSONBody(ev),
			sandboxtest.Header("Ocp-Apim-Subscription-Key", nrSubKey), sandboxtest.Bearer(tok))
		if res.Status != 200 {
			t.Fatalf("fixture %s: %d %s", path, res.Status, res.Body)
		}
	}
	fixtures := 0
	return acceptTarget{
		provider: "netrefer", spec: "netrefer.yaml",
		ops: []string{"ingestRegistrations", "ingestCustomerUpdates", "ingestDeposits", "ingestWithdrawals",
			"ingestActivities", "ingestAdjustments", "ingestCorrections", "ingestDepositCorrections"},
		setup: func(t *testing.T, h *sandboxtest.Harness) string {
			form := url.Values{"grant_type": {"password"}, "client_id": {"5a324196-7727-45fd-8ac3-1436cd541d76"},
				"client_secret": {"sandbox-netrefer-secret"}, "username": {"operator@sandbox.test"}, "password": {"sandbox-password"},
				"scope": {"api://5a324196-7727-45fd-8ac3-1436cd541d76/Events.Injestion"}}
			res := h.Do("POST", "/netrefer/login/"+nrTenant+"/oauth2/v2.0/token", sandboxtest.FormBody(form)).WantStatus(200)
			var tr struct {
				AccessToken string `json:"access_token"`
			}
			res.JSON(&tr)
			ingest(t, h, tr.AccessToken, "registrations", map[string]any{"eventId": "fixture-reg", "customerId": nrCust, "brandId": 1,
				"timestamp": "2024-01-01T00:00:00Z", "registrationDate": "2024-01-01T00:00:00Z", "countryCode": "GB", "currency": "EUR", "bTag": ""})
			return tr.AccessToken
		},
		sign: func(r *http.Request, tok string) {
			r.Header.Set("Ocp-Apim-Subscription-Key", nrSubKey)
			r.Header.Set("Authorization", "Bearer "+tok)
		},
		// The brand the client owns, a registered customer and an original
		// transaction of the right type are state, not schema.
		fix: func(t *testing.T, h *sandboxtest.Harness, g *gen, tok, op string, body any, _ url.Values) {
			for _, ev := range events(body) {
				ev["brandId"] = 1
				if op == "ingestRegistrations" {
					continue
				}
				ev["customerId"] = nrCust
				if _, refers := ev["originalTransactionId"]; !refers {
					continue
				}
				fixtures++
				id := fmt.Sprintf("fixture-tx-%d", fixtures)
				base := map[string]any{"eventId": id, "customerId": nrCust, "brandId": 1, "timestamp": "2024-01-01T00:00:00Z",
					"transactionId": id, "currency": "EUR"}
				if op == "ingestDepositCorrections" || ev["adjustmentType"] == "Chargeback" {
					base["amount"], base["depositMethod"] = 10, "Skrill"
					ingest(t, h, tok, "deposits", base)
				} else {
					base["productId"], base["turnover"], base["grossRevenue"], base["bonus"], base["activityDate"] = 1, 10, 1, 0, "2024-01-01T00:00:00Z"
					ingest(t, h, tok, "activities", base)
				}
				ev["originalTransactionId"] = id
			}
		},
		ok: func(status int) bool { return status == 200 },
	}
}

func netfinityTarget() acceptTarget {
	return acceptTarget{
		provider: "netfinity", spec: "netfinity.yaml", ops: []string{"sendSmsNotification"},
		setup: func(*testing.T, *sandboxtest.Harness) string { return "sandbox-netfinity-token" },
		sign: func(r *http.Request, tok string) {
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("Accept", "application/json")
		},
		fix: func(*testing.T, *sandboxtest.Harness, *gen, string, string, any, url.Values) {},
		ok:  func(status int) bool { return status == 200 },
	}
}

func intargetTarget() acceptTarget {
	return acceptTarget{
		provider: "intarget", spec: "intarget.yaml",
		ops:   sandbox.OperationIDs("intarget"),
		setup: func(*testing.T, *sandboxtest.Harness) string { return "" },
		sign:  func(r *http.Request, _ string) { r.SetBasicAuth("intarget", "sandbox-password") },
		// to - from must be positive and at most maxWindow: a relation
		// between two parameters, which a schema cannot state.
		fix: func(t *testing.T, _ *sandboxtest.Harness, g *gen, _, _ string, _ any, q url.Values) {
			from, err := time.Parse(time.DateTime, q.Get("from"))
			if err != nil {
				return // a from the server does not take: leave the pair as generated
			}
			q.Set("to", from.Add(time.Duration(1+g.rng.Int64N(744*3600))*time.Second).Format(time.DateTime))
		},
		ok: func(status int) bool { return status == 200 },
	}
}
