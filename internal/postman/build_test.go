package postman_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/postman"
)

// shopSpec lists its operations out of path order, with the token request
// in the middle, so that the tests see the document's order kept and the
// token request moved first.
const shopSpec = `openapi: 3.0.3
info: {title: Shop, version: "1", description: "The shop's API."}
servers: [{url: /shop}]
paths:
  /orders/{shop}:
    post:
      operationId: createOrder
      summary: Create an order
      security: [{key: [], bearer: []}]
      parameters:
        - {name: shop, in: path, required: true, schema: {type: string}}
        - {name: dryRun, in: query, schema: {type: string, enum: ["no", "yes"]}}
        - {name: lang, in: query, required: true, schema: {type: string, example: en}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [customer, amount]
              properties:
                customer: {type: string}
                amount: {type: integer}
                note: {type: string}
            example: {customer: someone, amount: 5, note: "keep <this>"}
      responses:
        "202": {description: accepted}
        "201":
          description: created
          content: {application/json: {schema: {type: object}}}
        "400": {description: refused}
  /token:
    post:
      operationId: getToken
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [grant_type, client_id]
              properties:
                grant_type: {type: string}
                client_id: {type: string}
                client_secret: {type: string}
                audience: {type: string}
      responses:
        "200":
          description: a token
          content: {application/json: {schema: {type: object}}}
  /archive:
    get:
      operationId: listArchive
      security: [{oauth: []}, {basic: []}]
      parameters:
        - {name: key, in: query, schema: {type: string}}
      responses:
        "200":
          description: the archive
          content:
            text/csv: {schema: {type: string}}
            application/json: {schema: {type: array, items: {type: string}}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Shop-Key}
    bearer: {type: http, scheme: bearer}
    basic: {type: http, scheme: basic}
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: /token, scopes: {}}}}
`

func shopPlan() postman.Plan {
	return postman.Plan{
		Vars: []postman.Var{
			{Key: "shopClient", Value: "c-1", Fills: []string{"client_id"}},
			{Key: "shopName", Value: "main", Fills: []string{"shop"}},
			{Key: "shopCustomer", Value: "cust-9", Fills: []string{"customer", "amount"}},
			{Key: "shopKey", Value: "k-1"},
		},
		Values: map[string]string{"grant_type": "client_credentials"},
		Auth: map[string]string{
			"key": "{{shopKey}}", "bearer": "{{shopToken}}", "basic": "ann:pa:ss",
		},
		Headers: map[string]string{"X-Trace": "on"},
		Token:   &postman.Token{Operation: "getToken", Field: "access_token", Var: "shopToken"},
	}
}

func build(t *testing.T, spec string, plan postman.Plan) (*postman.Collection, *postman.Environment) {
	t.Helper()
	s, err := postman.NewSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	col, env, err := postman.Build("http://127.0.0.1:9/ns/a", []postman.Source{{Name: "shop", Title: "The Shop", Spec: s, Plan: plan}})
	if err != nil {
		t.Fatal(err)
	}
	return col, env
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFolderOrderTokenFirstThenDocumentOrder(t *testing.T) {
	col, _ := build(t, shopSpec, shopPlan())
	if len(col.Item) != 1 || col.Item[0].Name != "The Shop" || col.Item[0].Description != "The shop's API." {
		t.Fatalf("folders = %s", asJSON(t, col.Item))
	}
	var names []string
	for _, it := range col.Item[0].Item {
		names = append(names, it.Name)
	}
	if got := strings.Join(names, ", "); got != "getToken, Create an order, listArchive" {
		t.Errorf("requests = %s, want the token request, then the document's order", got)
	}
	if col.Info.Schema != postman.SchemaURL || col.Info.Name != "provider-sandbox" {
		t.Errorf("info = %+v", col.Info)
	}
}

func TestTokenRequestStoresTheTokenForTheOtherCalls(t *testing.T) {
	col, _ := build(t, shopSpec, shopPlan())
	tok := col.Item[0].Item[0]
	wantScript := []string{
		`pm.test("getToken answers 200", function () {`,
		`    pm.response.to.have.status(200);`,
		`});`,
		`if (pm.response.code === 200) {`,
		`    pm.collectionVariables.set("shopToken", pm.response.json()["access_token"]);`,
		`}`,
	}
	if got := asJSON(t, tok.Event); got != asJSON(t, []postman.Event{{Listen: "test", Script: postman.Script{Type: "text/javascript", Exec: wantScript}}}) {
		t.Errorf("token events = %s", got)
	}
	// Form fields: those the plan has a value for, required ones first in
	// the schema's order; audience and client_secret have none.
	wantBody := `{"mode":"urlencoded","urlencoded":[{"key":"grant_type","value":"client_credentials","type":"text"},{"key":"client_id","value":"{{shopClient}}","type":"text"}]}`
	if got := asJSON(t, tok.Request.Body); got != wantBody {
		t.Errorf("token body = %s\nwant %s", got, wantBody)
	}
	order := col.Item[0].Item[1].Request
	if got := asJSON(t, order.Auth); got != `{"type":"bearer","bearer":[{"key":"token","value":"{{shopToken}}","type":"string"}]}` {
		t.Errorf("order auth = %s", got)
	}
}

func TestRequestURLHeadersBodyAndTest(t *testing.T) {
	col, _ := build(t, shopSpec, shopPlan())
	it := col.Item[0].Item[1]
	r := it.Request
	wantURL := `{"raw":"{{baseUrl}}/shop/orders/:shop?lang=en","host":["{{baseUrl}}"],"path":["shop","orders",":shop"],` +
		`"query":[{"key":"dryRun","value":"no","disabled":true},{"key":"lang","value":"en"}],"variable":[{"key":"shop","value":"{{shopName}}"}]}`
	if got := asJSON(t, r.URL); got != wantURL {
		t.Errorf("url = %s\nwant %s", got, wantURL)
	}
	// Security scheme headers (sorted by scheme name: bearer goes to auth),
	// the plan's headers, Accept of the 201's single media type, Content-Type.
	wantHeaders := `[{"key":"X-Shop-Key","value":"{{shopKey}}"},{"key":"X-Trace","value":"on"},` +
		`{"key":"Accept","value":"application/json"},{"key":"Content-Type","value":"application/json"}]`
	if got := asJSON(t, r.Header); got != wantHeaders {
		t.Errorf("headers = %s\nwant %s", got, wantHeaders)
	}
	// The example, with the plan's variable in the string member it fills
	// (amount is a number in the example, so it stays).
	wantRaw := "{\n  \"amount\": 5,\n  \"customer\": \"{{shopCustomer}}\",\n  \"note\": \"keep <this>\"\n}"
	if r.Body == nil || r.Body.Mode != "raw" || r.Body.Raw != wantRaw || r.Body.Options.Raw.Language != "json" {
		t.Errorf("body = %s\nwant raw %q", asJSON(t, r.Body), wantRaw)
	}
	if !strings.Contains(strings.Join(it.Event[0].Script.Exec, "\n"), "pm.response.to.have.status(201);") {
		t.Errorf("the test must expect the lowest documented 2xx, 201: %v", it.Event[0].Script.Exec)
	}
	if r.Method != "POST" || !strings.HasPrefix(r.Description, "operationId `createOrder`") {
		t.Errorf("method %s, description %q", r.Method, r.Description)
	}
}

func TestSecurityRequirementThePlanCanFill(t *testing.T) {
	col, _ := build(t, shopSpec, shopPlan())
	r := col.Item[0].Item[2].Request
	// oauth has no value in the plan, so the second requirement (basic) is
	// used, split at the first colon; two media types: no Accept.
	if got := asJSON(t, r.Auth); got != `{"type":"basic","basic":[{"key":"username","value":"ann","type":"string"},{"key":"password","value":"pa:ss","type":"string"}]}` {
		t.Errorf("auth = %s", got)
	}
	if got := asJSON(t, r.Header); got != `[{"key":"X-Trace","value":"on"}]` {
		t.Errorf("headers = %s", got)
	}
	plan := shopPlan()
	delete(plan.Auth, "basic")
	col, _ = build(t, shopSpec, plan)
	if r := col.Item[0].Item[2].Request; r.Auth != nil {
		t.Errorf("no requirement can be filled: want no auth, got %s", asJSON(t, r.Auth))
	}
}

// Token.Also stores further members of the token answer, each in its own
// collection variable, after the token itself.
func TestTokenRequestStoresFurtherMembers(t *testing.T) {
	plan := shopPlan()
	plan.Token.Also = map[string]string{"refresh_token": "shopRefresh", "id_token": "shopID"}
	col, _ := build(t, shopSpec, plan)
	got := col.Item[0].Item[0].Event[0].Script.Exec
	want := []string{
		`pm.test("getToken answers 200", function () {`,
		`    pm.response.to.have.status(200);`,
		`});`,
		`if (pm.response.code === 200) {`,
		`    pm.collectionVariables.set("shopToken", pm.response.json()["access_token"]);`,
		`    pm.collectionVariables.set("shopID", pm.response.json()["id_token"]);`,
		`    pm.collectionVariables.set("shopRefresh", pm.response.json()["refresh_token"]);`,
		`}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("token script:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var keys []string
	for _, v := range col.Variable {
		keys = append(keys, v.Key)
	}
	if got := strings.Join(keys, " "); !strings.HasSuffix(got, "shopToken shopID shopRefresh") {
		t.Errorf("collection variables = %s, want the token's then the members' in field order", got)
	}
}

func TestVariablesInCollectionAndEnvironment(t *testing.T) {
	col, env := build(t, shopSpec, shopPlan())
	wantVars := `[{"key":"baseUrl","value":"http://127.0.0.1:9/ns/a","type":"string","description":"the sandbox: scheme, host and any /ns/{name} prefix"},` +
		`{"key":"shopClient","value":"c-1","type":"string"},{"key":"shopName","value":"main","type":"string"},` +
		`{"key":"shopCustomer","value":"cust-9","type":"string"},{"key":"shopKey","value":"k-1","type":"string"},` +
		`{"key":"shopToken","value":"","type":"string","description":"set by the test script of getToken"}]`
	if got := asJSON(t, col.Variable); got != wantVars {
		t.Errorf("collection variables = %s\nwant %s", got, wantVars)
	}
	var keys []string
	for _, v := range env.Values {
		keys = append(keys, v.Key+"="+v.Value)
	}
	if got := strings.Join(keys, " "); got != "baseUrl=http://127.0.0.1:9/ns/a shopClient=c-1 shopName=main shopCustomer=cust-9 shopKey=k-1" {
		t.Errorf("environment = %s (the token is the collection's, set by its request)", got)
	}
	if env.Name != "provider-sandbox http://127.0.0.1:9/ns/a" || env.Scope != "environment" || env.ID == "" {
		t.Errorf("environment header = %+v", env)
	}
	_, other := build(t, shopSpec, postman.Plan{})
	if other.ID != env.ID {
		t.Errorf("the environment id depends on the base URL only: %s vs %s", other.ID, env.ID)
	}
}

func TestBuildRefuses(t *testing.T) {
	noExample := strings.Replace(shopSpec, `            example: {customer: someone, amount: 5, note: "keep <this>"}`+"\n", "", 1)
	badToken := shopPlan()
	badToken.Token.Operation = "nope"
	for _, tc := range []struct {
		name, spec string
		plan       postman.Plan
		want       string
	}{
		{"required JSON body without example", noExample, shopPlan(), "shop: createOrder: request body has no example"},
		{"unknown token operation", shopSpec, badToken, `shop: token operation "nope" is not in the document`},
		{"unsupported security scheme", shopSpec, postman.Plan{Auth: map[string]string{"oauth": "x"}}, `shop: listArchive: security scheme "oauth" (oauth2 ) is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postman.NewSpec([]byte(tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = postman.Build("http://x", []postman.Source{{Name: "shop", Spec: s, Plan: tc.plan}})
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
	s, _ := postman.NewSpec([]byte(shopSpec))
	twice := []postman.Source{{Name: "a", Spec: s, Plan: postman.Plan{Vars: []postman.Var{{Key: "v"}}}}, {Name: "b", Spec: s, Plan: postman.Plan{Vars: []postman.Var{{Key: "v"}}}}}
	if _, _, err := postman.Build("http://x", twice); err == nil || err.Error() != `b: variable "v" is declared twice` {
		t.Errorf("a variable declared by two providers: err = %v", err)
	}
}

// An example that its schema refuses fails when the document is read: a
// collection never sends a body its own document calls invalid.
func TestNewSpecRefusesAnInvalidExample(t *testing.T) {
	bad := strings.Replace(shopSpec, "amount: 5,", `amount: "five",`, 1)
	if _, err := postman.NewSpec([]byte(bad)); err == nil || !strings.Contains(err.Error(), "amount") {
		t.Errorf("err = %v, want the example's amount refused", err)
	}
}
