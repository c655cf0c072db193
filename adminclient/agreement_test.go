package adminclient_test

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

// checkingDoer sends the client's requests through the harness, which
// holds every answer to specs/admin.yaml, so that the document, the server
// and the generated client are checked against each other in one place.
type checkingDoer struct {
	t testing.TB
	h *sandboxtest.Harness
}

func newDoer(t testing.TB, h *sandboxtest.Harness) checkingDoer {
	d := checkingDoer{t: t, h: h.With(t)}
	c := *h.Client
	// redirectToDashboard is a 301 the client must see, not follow.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.h.Client = &c
	return d
}

func (d checkingDoer) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/__sandbox/events") {
		// The harness would read the stream to its end before answering:
		// check the status and headers, and hand the stream back unread.
		resp, err := d.h.Client.Do(req)
		if err == nil {
			if _, err := d.h.Server.CheckResponse(req, resp.StatusCode, resp.Header, nil); err != nil {
				d.t.Errorf("event stream does not match specs/admin.yaml: %v", err)
			}
		}
		return resp, err
	}
	res := d.h.Send(req)
	if !res.Matched {
		d.t.Errorf("%s %s matches no operation of specs/admin.yaml", req.Method, req.URL.Path)
	}
	return &http.Response{StatusCode: res.Status, Status: http.StatusText(res.Status), Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(res.Body)), Request: req}, nil
}

// answer is one call's typed response (a generated *...Response) and the
// status the case expects.
type answer struct {
	res  any
	want int
}

// agreementCase calls one operation through c, acting on namespace ns, and
// returns the answers to check. h sends what the admin API cannot (provider
// requests).
type agreementCase func(t *testing.T, c *adminclient.ClientWithResponses, h *sandboxtest.Harness, ns string) []answer

const (
	centiliService = "3586a2363bcd51a2b3c4d5f34918263a"
	netfinityToken = "sandbox-netfinity-token"
)

// sendSMS makes one Netfinity exchange in namespace ns and returns its
// journal id.
func sendSMS(t *testing.T, h *sandboxtest.Harness, ns string) string {
	t.Helper()
	res := h.With(t).Do("POST", "/ns/"+ns+"/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"agreement"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken)).WantStatus(200)
	return res.Header.Get(sandbox.HeaderRequestID)
}

// mustOK fails the test when a setup call did not succeed.
func mustOK(t *testing.T, res interface{ StatusCode() int }, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if s := res.StatusCode(); s >= 300 {
		t.Fatalf("setup call answered %d", s)
	}
}

// cases holds one case per operationId of specs/admin.yaml; the test fails
// for an operation without one, so a new admin route needs a client case.
var cases = map[string]agreementCase{
	"getHealth": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, ns string) []answer {
		res, err := c.GetHealthWithResponse(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON200 != nil && res.JSON200.Namespace != ns {
			t.Errorf("health of namespace %q", res.JSON200.Namespace)
		}
		return []answer{{res, 200}}
	},
	"getVersion": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetVersionWithResponse(t.Context())
		return must(t, err, answer{res, 200})
	},
	"getScenario": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetScenarioWithResponse(t.Context())
		if err == nil && res.JSON200 != nil {
			if _, ok := res.JSON200.AdditionalProperties["centili"]; !ok {
				t.Errorf("the scenario has no centili section: %v", res.JSON200.AdditionalProperties)
			}
		}
		return must(t, err, answer{res, 200})
	},
	"putScenario": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		ok, err := c.PutScenarioWithBodyWithResponse(t.Context(), &adminclient.PutScenarioParams{Name: new("default.yaml")},
			"application/yaml", bytes.NewReader(scenarios.Default()))
		if err != nil {
			t.Fatal(err)
		}
		bad, err := c.PutScenarioWithBodyWithResponse(t.Context(), nil, "application/yaml", strings.NewReader("version: 2\n"))
		return must(t, err, answer{ok, 200}, answer{bad, 400})
	},
	"patchScenario": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.PatchScenarioWithApplicationMergePatchPlusJSONBodyWithResponse(t.Context(),
			adminclient.PatchScenarioApplicationMergePatchPlusJSONRequestBody{"description": "patched"})
		return must(t, err, answer{res, 200})
	},
	"postReset": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.PostResetWithResponse(t.Context())
		return must(t, err, answer{res, 200})
	},
	"getSnapshot": func(t *testing.T, c *adminclient.ClientWithResponses, h *sandboxtest.Harness, ns string) []answer {
		sendSMS(t, h, ns)
		res, err := c.GetSnapshotWithResponse(t.Context(), &adminclient.GetSnapshotParams{Journal: new(true)})
		if err == nil && res.JSON200 != nil {
			if res.JSON200.Namespace != ns || res.JSON200.Journal == nil || len(res.JSON200.Journal.Entries) != 1 || len(res.JSON200.Callbacks) != 1 {
				t.Errorf("snapshot of %q: namespace %q, journal %v, callbacks %d", ns, res.JSON200.Namespace, res.JSON200.Journal, len(res.JSON200.Callbacks))
			}
		}
		return must(t, err, answer{res, 200})
	},
	"putSnapshot": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		saved, err := c.GetSnapshotWithResponse(t.Context(), nil)
		mustOK(t, saved, err)
		ok, err := c.PutSnapshotWithBodyWithResponse(t.Context(), "application/json", bytes.NewReader(saved.Body))
		if err != nil {
			t.Fatal(err)
		}
		bad, err := c.PutSnapshotWithBodyWithResponse(t.Context(), "application/json", strings.NewReader(`{"format":"provider-sandbox/snapshot","version":2}`))
		return must(t, err, answer{ok, 200}, answer{bad, 400})
	},
	"listRequests": func(t *testing.T, c *adminclient.ClientWithResponses, h *sandboxtest.Harness, ns string) []answer {
		sendSMS(t, h, ns)
		ok, err := c.ListRequestsWithResponse(t.Context(), &adminclient.ListRequestsParams{Provider: &[]string{"netfinity"}})
		if err != nil {
			t.Fatal(err)
		}
		if ok.JSON200 != nil && len(*ok.JSON200) != 1 {
			t.Errorf("journal has %d netfinity entries, want 1", len(*ok.JSON200))
		}
		bad, err := c.ListRequestsWithResponse(t.Context(), &adminclient.ListRequestsParams{Provider: &[]string{"nobody"}})
		return must(t, err, answer{ok, 200}, answer{bad, 400})
	},
	"clearRequests": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.ClearRequestsWithResponse(t.Context())
		return must(t, err, answer{res, 204})
	},
	"getRequest": func(t *testing.T, c *adminclient.ClientWithResponses, h *sandboxtest.Harness, ns string) []answer {
		id := sendSMS(t, h, ns)
		ok, err := c.GetRequestWithResponse(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok.JSON200 != nil && (ok.JSON200.ID != id || *ok.JSON200.Operation != "sendSmsNotification") {
			t.Errorf("entry %s %v, want %s sendSmsNotification", ok.JSON200.ID, ok.JSON200.Operation, id)
		}
		missing, err := c.GetRequestWithResponse(t.Context(), "req_missing")
		return must(t, err, answer{ok, 200}, answer{missing, 404})
	},
	"getState": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		ok, err := c.GetStateWithResponse(t.Context(), "centili")
		if err != nil {
			t.Fatal(err)
		}
		unknown, err := c.GetStateWithResponse(t.Context(), "nobody")
		return must(t, err, answer{ok, 200}, answer{unknown, 404})
	},
	"listCallbacks": func(t *testing.T, c *adminclient.ClientWithResponses, h *sandboxtest.Harness, ns string) []answer {
		// Pingbacks to a port nobody listens on: deliveries that exist, whatever their state.
		res, err := c.ChangeNetfinityTokenWithResponse(t.Context(), netfinityToken,
			adminclient.ChangeNetfinityTokenJSONRequestBody{CallbackURL: new("http://127.0.0.1:1/pingback")})
		mustOK(t, res, err)
		sendSMS(t, h, ns)
		clock, err := c.PostClockWithResponse(t.Context(), adminclient.PostClockJSONRequestBody{Advance: new("1m")})
		mustOK(t, clock, err)
		ok, err := c.ListCallbacksWithResponse(t.Context(), &adminclient.ListCallbacksParams{Provider: &[]string{"netfinity"}})
		if err != nil {
			t.Fatal(err)
		}
		if ok.JSON200 != nil && len(*ok.JSON200) == 0 {
			t.Error("no callback deliveries listed after a pingback was due")
		}
		bad, err := c.ListCallbacksWithResponse(t.Context(), &adminclient.ListCallbacksParams{Provider: &[]string{"nobody"}})
		return must(t, err, answer{ok, 200}, answer{bad, 400})
	},
	"getClock": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetClockWithResponse(t.Context())
		return must(t, err, answer{res, 200})
	},
	"postClock": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		ok, err := c.PostClockWithResponse(t.Context(), adminclient.PostClockJSONRequestBody{Frozen: new(true)})
		if err != nil {
			t.Fatal(err)
		}
		if ok.JSON200 != nil && !ok.JSON200.Frozen {
			t.Error("clock not frozen")
		}
		bad, err := c.PostClockWithResponse(t.Context(), adminclient.PostClockJSONRequestBody{Advance: new("soon")})
		return must(t, err, answer{ok, 200}, answer{bad, 400})
	},
	"listFaults": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		add, err := c.AddFaultWithResponse(t.Context(), gift503("listed"))
		mustOK(t, add, err)
		res, err := c.ListFaultsWithResponse(t.Context())
		if err == nil && res.JSON200 != nil {
			if l := *res.JSON200; len(l) != 1 || *l[0].ID != "listed" || l[0].Matched != 0 {
				t.Errorf("faults listed: %+v", l)
			}
		}
		return must(t, err, answer{res, 200})
	},
	"addFault": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		ok, err := c.AddFaultWithResponse(t.Context(), gift503("added"))
		if err != nil {
			t.Fatal(err)
		}
		bad, err := c.AddFaultWithResponse(t.Context(), adminclient.Rule{Respond: &adminclient.RuleRespond{Status: 99}})
		return must(t, err, answer{ok, 201}, answer{bad, 400})
	},
	"clearFaults": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.ClearFaultsWithResponse(t.Context())
		return must(t, err, answer{res, 204})
	},
	"deleteFault": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		add, err := c.AddFaultWithResponse(t.Context(), gift503("deleted"))
		mustOK(t, add, err)
		ok, err := c.DeleteFaultWithResponse(t.Context(), "deleted")
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.DeleteFaultWithResponse(t.Context(), "deleted")
		return must(t, err, answer{ok, 204}, answer{again, 404})
	},
	"getPostmanCollection": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetPostmanCollectionWithResponse(t.Context())
		if err == nil && res.JSON200 != nil && len(res.JSON200.Item) == 0 {
			t.Error("the Postman collection has no folders")
		}
		return must(t, err, answer{res, 200})
	},
	"getPostmanEnvironment": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetPostmanEnvironmentWithResponse(t.Context())
		return must(t, err, answer{res, 200})
	},
	"verifyIntarget": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		// Without baseUrl the verifier pulls the namespace's own reference
		// API, which must be conformant.
		ok, err := c.VerifyIntargetWithResponse(t.Context(), adminclient.VerifyIntargetJSONRequestBody{Window: new("1h")})
		if err != nil {
			t.Fatal(err)
		}
		if ok.JSON200 != nil && !ok.JSON200.Conformant {
			t.Errorf("the reference API is not conformant: %s", ok.Body)
		}
		bad, err := c.VerifyIntargetWithResponse(t.Context(), adminclient.VerifyIntargetJSONRequestBody{Window: new("soon")})
		return must(t, err, answer{ok, 200}, answer{bad, 400})
	},
	"listSpecs": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.ListSpecsWithResponse(t.Context())
		return must(t, err, answer{res, 200})
	},
	"getSpec": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		asJSON, err := c.GetSpecWithResponse(t.Context(), "centili", &adminclient.GetSpecParams{Format: new(adminclient.GetSpecParamsFormatJSON)})
		if err != nil {
			t.Fatal(err)
		}
		asYAML, err := c.GetSpecWithResponse(t.Context(), "admin", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(asYAML.Body, specs.Must("admin.yaml")) {
			t.Error("GET /specs/admin is not specs/admin.yaml")
		}
		unknown, err := c.GetSpecWithResponse(t.Context(), "nobody", nil)
		return must(t, err, answer{asJSON, 200}, answer{asYAML, 200}, answer{unknown, 404})
	},
	"listLibraryScenarios": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.ListLibraryScenariosWithResponse(t.Context())
		return must(t, err, answer{res, 200})
	},
	"getLibraryScenario": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		ok, err := c.GetLibraryScenarioWithResponse(t.Context(), "outage")
		if err != nil {
			t.Fatal(err)
		}
		unknown, err := c.GetLibraryScenarioWithResponse(t.Context(), "nobody")
		return must(t, err, answer{ok, 200}, answer{unknown, 404})
	},
	"redirectToDashboard": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, ns string) []answer {
		res, err := c.RedirectToDashboardWithResponse(t.Context())
		if err == nil && res.Headers301 != nil && !strings.HasSuffix(res.Headers301.Location, "/ns/"+ns+"/__sandbox/ui/") {
			t.Errorf("Location %q", res.Headers301.Location)
		}
		return must(t, err, answer{res, 301})
	},
	"getDashboardHome": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetDashboardHomeWithResponse(t.Context(), nil)
		return must(t, err, answer{res, 200})
	},
	"getDashboardView": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetDashboardViewWithResponse(t.Context(), adminclient.GetDashboardViewParamsViewJournal, nil)
		return must(t, err, answer{res, 200})
	},
	"getDashboardAsset": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.GetDashboardAssetWithResponse(t.Context(), adminclient.GetDashboardAssetParamsFileAppJs, nil)
		return must(t, err, answer{res, 200})
	},
	"listNamespaces": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		res, err := c.ListNamespacesWithResponse(t.Context())
		return must(t, err, answer{res, 200})
	},
	"deleteNamespace": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, ns string) []answer {
		h, err := c.GetHealthWithResponse(t.Context()) // creates ns
		mustOK(t, h, err)
		ok, err := c.DeleteNamespaceWithResponse(t.Context(), ns)
		if err != nil {
			t.Fatal(err)
		}
		gone, err := c.DeleteNamespaceWithResponse(t.Context(), ns)
		if err != nil {
			t.Fatal(err)
		}
		def, err := c.DeleteNamespaceWithResponse(t.Context(), "default")
		return must(t, err, answer{ok, 204}, answer{gone, 404}, answer{def, 409})
	},
	"streamEvents": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, ns string) []answer {
		// The stream is open once its headers arrive; deleting the
		// namespace ends it, so that the whole answer can be read.
		resp, err := c.StreamEvents(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		del, err := c.DeleteNamespaceWithResponse(t.Context(), ns)
		mustOK(t, del, err)
		res, err := adminclient.ParseStreamEventsResponse(resp)
		if err == nil && !bytes.HasPrefix(res.Body, []byte(": events of namespace "+ns+"\n\n")) {
			t.Errorf("stream body %q", res.Body)
		}
		return must(t, err, answer{res, 200})
	},
	"getStats": func(t *testing.T, c *adminclient.ClientWithResponses, h *sandboxtest.Harness, ns string) []answer {
		sendSMS(t, h, ns)
		res, err := c.GetStatsWithResponse(t.Context())
		if err == nil && res.JSON200 != nil && res.JSON200.Providers["netfinity"].Requests != 1 {
			t.Errorf("stats: %+v", res.JSON200.Providers)
		}
		return must(t, err, answer{res, 200})
	},
	"getMetrics": func(t *testing.T, c *adminclient.ClientWithResponses, h *sandboxtest.Harness, ns string) []answer {
		res, err := c.GetMetricsWithResponse(t.Context())
		if err == nil {
			if ct := res.HTTPResponse.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
				t.Errorf("metrics Content-Type %q", ct)
			}
			if !bytes.Contains(res.Body, []byte("\n# TYPE sandbox_namespaces gauge\n")) {
				t.Errorf("metrics body without the namespaces gauge: %.500s", res.Body)
			}
			// Process-wide figures under a namespace's prefix: it is not created.
			if slices.Contains(h.Server.NamespaceNames(), ns) {
				t.Errorf("GET /ns/%s/__sandbox/metrics created the namespace", ns)
			}
		}
		return must(t, err, answer{res, 200})
	},
	"changeCentiliPool": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		ok, err := c.ChangeCentiliPoolWithResponse(t.Context(),
			adminclient.CentiliPoolChange{ServiceKey: centiliService, Operator: "AT_A1", AddAmount: 100})
		if err != nil {
			t.Fatal(err)
		}
		bad, err := c.ChangeCentiliPoolWithResponse(t.Context(),
			adminclient.CentiliPoolChange{ServiceKey: "nobody", Operator: "AT_A1", AddAmount: 100})
		return must(t, err, answer{ok, 200}, answer{bad, 400})
	},
	"addNetfinityToken": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		tok := adminclient.NetfinityToken{Token: new("agreement-token"), Name: new("agreement"), Capabilities: &[]string{"sms.notification"}}
		ok, err := c.AddNetfinityTokenWithResponse(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.AddNetfinityTokenWithResponse(t.Context(), tok)
		return must(t, err, answer{ok, 201}, answer{again, 409})
	},
	"changeNetfinityToken": func(t *testing.T, c *adminclient.ClientWithResponses, _ *sandboxtest.Harness, _ string) []answer {
		patch := adminclient.ChangeNetfinityTokenJSONRequestBody{RateLimit: new(5)}
		ok, err := c.ChangeNetfinityTokenWithResponse(t.Context(), netfinityToken, patch)
		if err != nil {
			t.Fatal(err)
		}
		if ok.JSON200 != nil && *ok.JSON200.RateLimit != 5 {
			t.Errorf("rateLimit %d after the patch", *ok.JSON200.RateLimit)
		}
		unknown, err := c.ChangeNetfinityTokenWithResponse(t.Context(), "nobody", patch)
		return must(t, err, answer{ok, 200}, answer{unknown, 404})
	},
}

// must fails the test on a transport or decoding error, else returns the answers.
func must(t *testing.T, err error, answers ...answer) []answer {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return answers
}

func gift503(id string) adminclient.Rule {
	return adminclient.Rule{
		ID:      new(id),
		Match:   &adminclient.RuleMatch{Provider: new("centili"), Operation: new("assignData")},
		Respond: &adminclient.RuleRespond{Status: 503},
		Times:   new(1),
	}
}

// TestClientAgreesWithServer calls every operation of specs/admin.yaml with
// the generated client against a real sandbox, in a namespace of its own,
// and checks that each answer has the documented status, matches the
// document, and decodes into the generated field for its status and
// content type (JSON200, ApplicationProblemJSON404, Headers301, ...). Error
// answers must also be read by ProblemOf.
func TestClientAgreesWithServer(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("admin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]*openapi3.Operation{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops[op.OperationID] = op
		}
	}
	for id := range cases {
		if ops[id] == nil {
			t.Errorf("case %q: no such operation in specs/admin.yaml", id)
		}
	}
	ids := make([]string, 0, len(ops))
	for id := range ops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	h := sandboxtest.New(t, "")
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			run, ok := cases[id]
			if !ok {
				t.Fatalf("operation %s of specs/admin.yaml has no case in this test: add one", id)
			}
			ns := "agree-" + id
			c, err := adminclient.New(h.URL+"/ns/"+ns, adminclient.WithHTTPClient(newDoer(t, h)))
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range run(t, c, h, ns) {
				checkDecoded(t, ops[id], i, a)
			}
		})
	}
}

// checkDecoded checks one answer: its status, and that the generated
// response holds a decoded value for every part the document describes for
// that status (the body of its content type when it has a schema, the
// headers when there are any).
func checkDecoded(t *testing.T, op *openapi3.Operation, i int, a answer) {
	t.Helper()
	v := reflect.ValueOf(a.res).Elem()
	body := v.FieldByName("Body").Bytes()
	resp := v.FieldByName("HTTPResponse").Interface().(*http.Response)
	if resp.StatusCode != a.want {
		t.Errorf("answer %d: status %d, want %d; body: %.2000s", i, resp.StatusCode, a.want, body)
		return
	}
	key := strconv.Itoa(a.want)
	doc := op.Responses.Status(a.want)
	if doc == nil {
		key, doc = "Default", op.Responses.Default()
	}
	if doc == nil || doc.Value == nil {
		t.Errorf("answer %d: status %d is not documented", i, a.want)
		return
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	// The generator decodes JSON bodies only; others stay in Body.
	prefix := map[string]string{"application/json": "JSON", "application/problem+json": "ApplicationProblemJSON"}[ct]
	if mt := doc.Value.Content.Get(ct); prefix != "" && mt != nil && mt.Schema != nil {
		requireSet(t, v, i, prefix+key, body)
	}
	if len(doc.Value.Headers) > 0 {
		requireSet(t, v, i, "Headers"+key, body)
	}
	if ct == "application/problem+json" {
		if p := adminclient.ProblemOf(resp, body); p == nil || p.Status != a.want {
			t.Errorf("answer %d: ProblemOf = %v for a %d problem: %s", i, p, a.want, body)
		}
	}
}

func requireSet(t *testing.T, v reflect.Value, i int, field string, body []byte) {
	t.Helper()
	f := v.FieldByName(field)
	switch {
	case !f.IsValid():
		t.Errorf("answer %d: the generated %s has no field %s", i, v.Type(), field)
	case f.IsNil():
		t.Errorf("answer %d: %s.%s is nil; body: %.2000s", i, v.Type(), field, body)
	}
}
