// Package postman turns the providers' OpenAPI documents into a Postman
// collection (format v2.1) and an environment, for people who try an API
// in Postman and for CI jobs that run it with newman.
//
// Each provider is a folder. Its token request comes first, with a test
// script that stores the token in a collection variable; every other
// operation follows in the order the document lists it (the order a reader
// follows: a registration before the deposits that need it), sending the
// stored token or the scenario's static credentials, its body from the
// document's example, and a test on the status of its happy path. URLs
// start with {{baseUrl}}, so the same collection works for a namespace.
//
// The package knows no provider. What a document cannot say (the
// credentials of the scenario in force, which operation issues the token,
// which value each security scheme sends) comes from the provider's Plan.
package postman

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
)

// Name is the collection's name.
const Name = "provider-sandbox"

// BaseURLVar is the variable every URL starts with: the sandbox's scheme,
// host and any /ns/{name} prefix.
const BaseURLVar = "baseUrl"

// Plan is what a provider adds to its document for the generator. The zero
// Plan sends every call without credentials.
type Plan struct {
	// Vars become collection and environment variables.
	Vars []Var
	// Values are sent as they are under a parameter, form field or
	// top-level body member of that name ("grant_type": "password").
	Values map[string]string
	// Auth maps a security scheme of the document to what it sends: the
	// token of an http bearer scheme, the value of an apiKey scheme,
	// "user:password" for http basic (split at the first colon, as HTTP
	// Basic itself does). An operation uses the first of its security
	// requirements whose schemes all have a value here; when none has, it is
	// sent without them (Headers may still carry a credential).
	Auth map[string]string
	// Headers are sent with every request of the folder, e.g. a credential
	// in a header whose name the scenario chooses.
	Headers map[string]string
	// Token, when set, is the request that issues the token the other
	// calls send.
	Token *Token
}

// Var is a value the scenario decides, such as a client id.
type Var struct {
	Key, Value string
	// Fills names the parameters, form fields and top-level body members
	// that send this variable, so that requests say {{Key}} instead of
	// repeating the value and a changed environment changes them all.
	Fills []string
}

// Token describes a provider's token request.
type Token struct {
	// Operation is its operationId.
	Operation string
	// Field is the member of its JSON answer that holds the token.
	Field string
	// Var is the collection variable its test script stores the token in;
	// Auth values refer to it as {{Var}}.
	Var string
	// Also maps further members of the answer to the variables the script
	// stores them in, e.g. a refresh token that a logout request sends.
	Also map[string]string
}

// Spec is an OpenAPI document prepared for Build: parsed, validated, and
// with its operations in document order.
type Spec struct {
	doc *openapi3.T
	ops []specOp
}

type specOp struct {
	path, method string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// NewSpec parses and validates an OpenAPI 3 document. It should be given the
// YAML as written: operations are ordered by the line they start on, which a
// JSON form marshalled from a parsed document no longer keeps (there they
// fall back to path order).
func NewSpec(source []byte) (*Spec, error) {
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true
	doc, err := loader.LoadFromData(source)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	s := &Spec{doc: doc}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			s.ops = append(s.ops, specOp{path: path, method: method, item: item, op: op})
		}
	}
	sort.Slice(s.ops, func(i, j int) bool {
		a, b := s.ops[i], s.ops[j]
		if la, lb := line(a.op), line(b.op); la != lb {
			return la < lb
		}
		if a.path != b.path {
			return a.path < b.path
		}
		return a.method < b.method
	})
	return s, nil
}

func line(op *openapi3.Operation) int {
	if op.Origin != nil && op.Origin.Key != nil {
		return op.Origin.Key.Line
	}
	return 0
}

// Source is one provider for Build.
type Source struct {
	Name  string // the mount, e.g. "centili"
	Title string // the folder's name; Name when empty
	Spec  *Spec
	Plan  Plan
}

// collectionID is fixed, so that importing a newer collection replaces the
// older one in Postman instead of adding a copy.
var collectionID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("provider-sandbox/postman/collection")).String()

const collectionDescription = "Every call of provider-sandbox's providers, generated from their OpenAPI " +
	"documents and the credentials of the scenario in force.\n\n" +
	"Each folder starts with its token request, whose test script stores the token for the calls after it; " +
	"every request tests the status of its happy path. `baseUrl` is where the sandbox is: scheme, host and " +
	"any `/ns/{name}` prefix (GET /__sandbox/postman answers this collection for the URL it is fetched from).\n\n" +
	"Run it in a fresh namespace, or after `POST {{baseUrl}}/__sandbox/reset`: the example bodies create " +
	"records, and some providers refuse to create the same record twice."

// Build makes the collection and the environment for clients that reach the
// sandbox at baseURL. Folders follow the order of sources.
func Build(baseURL string, sources []Source) (*Collection, *Environment, error) {
	col := &Collection{Info: Info{PostmanID: collectionID, Name: Name, Description: collectionDescription, Schema: SchemaURL}}
	env := &Environment{
		ID:     uuid.NewSHA1(uuid.NameSpaceURL, []byte(baseURL)).String(),
		Name:   Name + " " + baseURL,
		Values: []EnvValue{},
		Scope:  "environment",
	}
	seen := map[string]bool{}
	addVar := func(key, value, description string, inEnv bool) error {
		if seen[key] {
			return fmt.Errorf("variable %q is declared twice", key)
		}
		seen[key] = true
		col.Variable = append(col.Variable, Variable{Key: key, Value: value, Type: "string", Description: description})
		if inEnv {
			env.Values = append(env.Values, EnvValue{Key: key, Value: value, Type: "default", Enabled: true})
		}
		return nil
	}
	if err := addVar(BaseURLVar, baseURL, "the sandbox: scheme, host and any /ns/{name} prefix", true); err != nil {
		return nil, nil, err
	}
	for _, s := range sources {
		item, err := buildFolder(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		col.Item = append(col.Item, item)
		for _, v := range s.Plan.Vars {
			if err := addVar(v.Key, v.Value, "", true); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", s.Name, err)
			}
		}
		if t := s.Plan.Token; t != nil {
			for _, v := range append([]string{t.Var}, sortedValues(t.Also)...) {
				if err := addVar(v, "", "set by the test script of "+t.Operation, false); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", s.Name, err)
				}
			}
		}
	}
	return col, env, nil
}

// folder builds one provider's requests.
type folder struct {
	src    Source
	doc    *openapi3.T
	mount  []string          // the server URL's path segments
	values map[string]string // Plan.Values plus {{Key}} for every name a Var fills
}

func buildFolder(s Source) (Item, error) {
	f := &folder{src: s, doc: s.Spec.doc, values: map[string]string{}}
	if len(f.doc.Servers) > 0 {
		u, err := url.Parse(f.doc.Servers[0].URL)
		if err != nil {
			return Item{}, fmt.Errorf("server URL: %w", err)
		}
		f.mount = segments(u.Path)
	}
	for k, v := range s.Plan.Values {
		f.values[k] = v
	}
	for _, v := range s.Plan.Vars {
		for _, name := range v.Fills {
			f.values[name] = "{{" + v.Key + "}}"
		}
	}
	ops := append([]specOp(nil), s.Spec.ops...)
	if t := s.Plan.Token; t != nil {
		i := indexOf(ops, t.Operation)
		if i < 0 {
			return Item{}, fmt.Errorf("token operation %q is not in the document", t.Operation)
		}
		tok := ops[i]
		ops = append([]specOp{tok}, append(ops[:i:i], ops[i+1:]...)...)
	}
	title := s.Title
	if title == "" {
		title = s.Name
	}
	out := Item{Name: title, Item: []Item{}}
	if f.doc.Info != nil {
		out.Description = strings.TrimSpace(f.doc.Info.Description)
	}
	for _, o := range ops {
		item, err := f.request(o)
		if err != nil {
			return Item{}, fmt.Errorf("%s: %w", o.op.OperationID, err)
		}
		out.Item = append(out.Item, item)
	}
	return out, nil
}

func indexOf(ops []specOp, operationID string) int {
	for i, o := range ops {
		if o.op.OperationID == operationID {
			return i
		}
	}
	return -1
}

func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// request builds the request of one operation with its test script.
func (f *folder) request(o specOp) (Item, error) {
	op := o.op
	status, err := successStatus(op)
	if err != nil {
		return Item{}, err
	}
	req := &Request{Method: o.method, Header: []KeyVal{}, Description: describe(op)}
	u := URL{Host: []string{"{{" + BaseURLVar + "}}"}, Path: append([]string(nil), f.mount...)}
	params := parameters(o)
	for _, seg := range segments(o.path) {
		if name, ok := strings.CutPrefix(seg, "{"); ok && strings.HasSuffix(name, "}") {
			name = strings.TrimSuffix(name, "}")
			p := findParam(params, "path", name)
			if p == nil {
				return Item{}, fmt.Errorf("path parameter %q is not declared", name)
			}
			u.Path = append(u.Path, ":"+name)
			u.Variable = append(u.Variable, KeyVal{Key: name, Value: f.paramValue(p), Description: p.Description})
			continue
		}
		if strings.ContainsAny(seg, "{}") {
			return Item{}, fmt.Errorf("path segment %q: Postman takes a variable only as a whole segment", seg)
		}
		u.Path = append(u.Path, seg)
	}
	for _, p := range params {
		kv := KeyVal{Key: p.Name, Value: f.paramValue(p), Disabled: !p.Required, Description: p.Description}
		switch p.In {
		case "path":
		case "query":
			u.Query = append(u.Query, kv)
		case "header":
			req.Header = append(req.Header, kv)
		default:
			return Item{}, fmt.Errorf("parameter %q in %s is not supported", p.Name, p.In)
		}
	}
	if err := f.authorize(req, &u, o); err != nil {
		return Item{}, err
	}
	for _, k := range sortedKeys(f.src.Plan.Headers) {
		req.Header = append(req.Header, KeyVal{Key: k, Value: f.src.Plan.Headers[k]})
	}
	if r := op.Responses.Status(status); r != nil && r.Value != nil && len(r.Value.Content) == 1 {
		for mediaType := range r.Value.Content {
			req.Header = append(req.Header, KeyVal{Key: "Accept", Value: mediaType})
		}
	}
	if err := f.body(req, op); err != nil {
		return Item{}, err
	}
	u.Raw = rawURL(u)
	req.URL = u
	script := []string{
		fmt.Sprintf("pm.test(%s, function () {", jsString(fmt.Sprintf("%s answers %d", op.OperationID, status))),
		fmt.Sprintf("    pm.response.to.have.status(%d);", status),
		"});",
	}
	if t := f.src.Plan.Token; t != nil && t.Operation == op.OperationID {
		script = append(script,
			fmt.Sprintf("if (pm.response.code === %d) {", status),
			fmt.Sprintf("    pm.collectionVariables.set(%s, pm.response.json()[%s]);", jsString(t.Var), jsString(t.Field)),
		)
		for _, field := range sortedKeys(t.Also) {
			script = append(script, fmt.Sprintf("    pm.collectionVariables.set(%s, pm.response.json()[%s]);", jsString(t.Also[field]), jsString(field)))
		}
		script = append(script, "}")
		req.Description += "\n\nIts test script stores the token in `{{" + t.Var + "}}` for the other requests of this folder."
	}
	name := op.Summary
	if name == "" {
		name = op.OperationID
	}
	return Item{Name: name, Request: req, Event: []Event{{Listen: "test", Script: Script{Type: "text/javascript", Exec: script}}}}, nil
}

func describe(op *openapi3.Operation) string {
	d := "operationId `" + op.OperationID + "`"
	if op.Description != "" {
		d += "\n\n" + strings.TrimSpace(op.Description)
	}
	return d
}

// successStatus is the lowest 2xx status the operation documents: what its
// happy path answers.
func successStatus(op *openapi3.Operation) (int, error) {
	best := 0
	for code := range op.Responses.Map() {
		n, err := strconv.Atoi(code)
		if err == nil && n >= 200 && n < 300 && (best == 0 || n < best) {
			best = n
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("no 2xx response is documented")
	}
	return best, nil
}

// parameters lists the path item's parameters, then the operation's, an
// operation's parameter replacing the path item's of the same name and place.
func parameters(o specOp) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	add := func(refs openapi3.Parameters) {
		for _, ref := range refs {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			replaced := false
			for i, q := range out {
				if q.Name == p.Name && q.In == p.In {
					out[i], replaced = p, true
				}
			}
			if !replaced {
				out = append(out, p)
			}
		}
	}
	add(o.item.Parameters)
	add(o.op.Parameters)
	return out
}

func findParam(params []*openapi3.Parameter, in, name string) *openapi3.Parameter {
	for _, p := range params {
		if p.In == in && p.Name == name {
			return p
		}
	}
	return nil
}

// paramValue is what a parameter sends: the plan's value for its name, else
// the document's example, default or first enum value.
func (f *folder) paramValue(p *openapi3.Parameter) string {
	if v, ok := f.values[p.Name]; ok {
		return v
	}
	if p.Example != nil {
		return text(p.Example)
	}
	if ex := firstExample(p.Examples); ex != nil {
		return text(ex)
	}
	if p.Schema != nil && p.Schema.Value != nil {
		s := p.Schema.Value
		switch {
		case s.Example != nil:
			return text(s.Example)
		case s.Default != nil:
			return text(s.Default)
		case len(s.Enum) > 0:
			return text(s.Enum[0])
		}
	}
	return ""
}

func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func firstExample(examples openapi3.Examples) any {
	for _, k := range sortedKeys(examples) {
		if ref := examples[k]; ref != nil && ref.Value != nil && ref.Value.Value != nil {
			return ref.Value.Value
		}
	}
	return nil
}

// authorize applies the first security requirement the plan can fill.
func (f *folder) authorize(req *Request, u *URL, o specOp) error {
	reqs := f.doc.Security
	if o.op.Security != nil {
		reqs = *o.op.Security
	}
	for _, requirement := range reqs {
		names := sortedKeys(requirement)
		filled := true
		for _, n := range names {
			if _, ok := f.src.Plan.Auth[n]; !ok {
				filled = false
			}
		}
		if !filled {
			continue
		}
		for _, n := range names {
			if err := f.applyScheme(req, u, n); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

func (f *folder) applyScheme(req *Request, u *URL, name string) error {
	var ss *openapi3.SecurityScheme
	if f.doc.Components != nil {
		if ref := f.doc.Components.SecuritySchemes[name]; ref != nil {
			ss = ref.Value
		}
	}
	if ss == nil {
		return fmt.Errorf("security scheme %q is not declared", name)
	}
	value := f.src.Plan.Auth[name]
	setAuth := func(a *Auth) error {
		if req.Auth != nil {
			return fmt.Errorf("security scheme %q: a requirement may hold one http scheme only", name)
		}
		req.Auth = a
		return nil
	}
	switch {
	case ss.Type == "http" && strings.EqualFold(ss.Scheme, "bearer"):
		return setAuth(&Auth{Type: "bearer", Bearer: []AuthAttr{{Key: "token", Value: value, Type: "string"}}})
	case ss.Type == "http" && strings.EqualFold(ss.Scheme, "basic"):
		user, password, _ := strings.Cut(value, ":")
		return setAuth(&Auth{Type: "basic", Basic: []AuthAttr{
			{Key: "username", Value: user, Type: "string"}, {Key: "password", Value: password, Type: "string"}}})
	case ss.Type == "apiKey" && ss.In == "header":
		req.Header = append(req.Header, KeyVal{Key: ss.Name, Value: value})
	case ss.Type == "apiKey" && ss.In == "query":
		u.Query = append(u.Query, KeyVal{Key: ss.Name, Value: value})
	default:
		return fmt.Errorf("security scheme %q (%s %s%s) is not supported", name, ss.Type, ss.Scheme, ss.In)
	}
	return nil
}

// body sets the request body: form fields the plan has values for, or the
// document's JSON example with the plan's values put in.
func (f *folder) body(req *Request, op *openapi3.Operation) error {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	rb := op.RequestBody.Value
	mediaType := ""
	switch {
	case len(rb.Content) == 1:
		for k := range rb.Content {
			mediaType = k
		}
	case rb.Content.Get("application/json") != nil:
		mediaType = "application/json"
	default:
		return fmt.Errorf("request body: pick one of %d media types", len(rb.Content))
	}
	mt := rb.Content[mediaType]
	switch {
	case mediaType == "application/x-www-form-urlencoded":
		req.Body = &Body{Mode: "urlencoded", URLEncoded: f.formFields(mt.Schema)}
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		ex := example(mt)
		if ex == nil {
			if rb.Required {
				return fmt.Errorf("request body has no example")
			}
			return nil
		}
		raw, err := f.jsonBody(ex)
		if err != nil {
			return err
		}
		req.Body = &Body{Mode: "raw", Raw: raw, Options: &BodyOptions{}}
		req.Body.Options.Raw.Language = "json"
	default:
		return fmt.Errorf("request body of type %s is not supported", mediaType)
	}
	req.Header = append(req.Header, KeyVal{Key: "Content-Type", Value: mediaType})
	return nil
}

// formFields lists the form's fields that the plan has a value for: the
// required ones in the schema's order, then the others by name.
func (f *folder) formFields(ref *openapi3.SchemaRef) []KeyVal {
	if ref == nil || ref.Value == nil {
		return []KeyVal{}
	}
	s := ref.Value
	names := append([]string(nil), s.Required...)
	for _, k := range sortedKeys(s.Properties) {
		if !slices.Contains(s.Required, k) {
			names = append(names, k)
		}
	}
	out := []KeyVal{}
	for _, n := range names {
		if v, ok := f.values[n]; ok {
			out = append(out, KeyVal{Key: n, Value: v, Type: "text"})
		}
	}
	return out
}

func example(mt *openapi3.MediaType) any {
	if mt.Example != nil {
		return mt.Example
	}
	if ex := firstExample(mt.Examples); ex != nil {
		return ex
	}
	if mt.Schema != nil && mt.Schema.Value != nil {
		return mt.Schema.Value.Example
	}
	return nil
}

// jsonBody writes an example as indented JSON, with the plan's value in
// every top-level string member it has one for (in each element of an
// array of objects too). The example is copied first: the document is
// shared.
func (f *folder) jsonBody(ex any) (string, error) {
	b, err := json.Marshal(ex)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // money stays as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	fill := func(m map[string]any) {
		for k, old := range m {
			if _, isString := old.(string); isString {
				if nv, ok := f.values[k]; ok {
					m[k] = nv
				}
			}
		}
	}
	switch t := v.(type) {
	case map[string]any:
		fill(t)
	case []any:
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				fill(m)
			}
		}
	}
	out, err := Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

func rawURL(u URL) string {
	raw := strings.Join(u.Host, "") + "/" + strings.Join(u.Path, "/")
	sep := "?"
	for _, q := range u.Query {
		if !q.Disabled {
			raw += sep + q.Key + "=" + q.Value
			sep = "&"
		}
	}
	return raw
}

// jsString quotes s as a JavaScript string literal (JSON's are).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// sortedValues returns a map's values in the order of its sorted keys.
func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}
