package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gorilla/mux"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

// ExtValidateBody is an operation extension: `x-sandbox-validate-body: false`
// leaves body validation to the handler, for providers that judge a payload
// item by item (NetRefer answers 207 with per-event results).
const ExtValidateBody = "x-sandbox-validate-body"

// mount is a provider compiled for serving: its parsed spec and router.
type mount struct {
	provider *Provider
	doc      *openapi3.T
	router   *mux.Router
	ops      map[string]*operation // by operationId
}

// operation is one spec operation with everything validation needs.
type operation struct {
	id       string
	method   string
	path     string // as in the spec, relative to the mount
	handler  Handler
	route    *routers.Route
	options  *openapi3filter.Options
	validate bool // false when the operation has no parameters and no body to check
}

// compile parses and checks a provider's spec and builds its router. An
// operation without a handler, or a handler without an operation, is an error:
// a silent 404 for a documented operation would be a lie.
func compile(p *Provider) (*mount, error) {
	return compileSpec(p, true)
}

// compileSpec builds a mount; without requireHandlers it only routes (the
// admin API's document, used to check admin responses).
func compileSpec(p *Provider, requireHandlers bool) (*mount, error) {
	data := p.Spec
	if j, ok := specs.JSON(data); ok {
		// The same document, generated from this very YAML (checked by its
		// hash) and loaded without parsing YAML: half the cost.
		data = j
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("%s: spec does not parse: %w", p.Name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s: spec is not valid OpenAPI: %w", p.Name, err)
	}
	m := &mount{provider: p, doc: doc, router: mux.NewRouter(), ops: map[string]*operation{}}
	m.router.UseEncodedPath()
	var missing []string
	paths := doc.Paths.InMatchingOrder()
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, fmt.Errorf("%s: %s %s has no operationId", p.Name, method, path)
			}
			h, ok := p.Operations[op.OperationID]
			if !ok && requireHandlers {
				missing = append(missing, op.OperationID)
				continue
			}
			o := &operation{
				id: op.OperationID, method: method, path: path, handler: h,
				route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
				options: &openapi3filter.Options{
					MultiError:         true,
					AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				},
			}
			if v, ok := op.Extensions[ExtValidateBody].(bool); ok && !v {
				o.options.ExcludeRequestBody = true
			}
			o.validate = len(op.Parameters) > 0 || len(item.Parameters) > 0 || (op.RequestBody != nil && !o.options.ExcludeRequestBody)
			m.ops[o.id] = o
			// Path before Methods: gorilla/mux 1.8.1 lets a later route whose method
			// matches clear an earlier ErrMethodMismatch when the method is checked
			// first, which turned GET on a POST-only path into a 404 instead of a 405.
			m.router.Path(path).Methods(method).Name(o.id)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%s: operations without a handler: %s", p.Name, strings.Join(missing, ", "))
	}
	var extra []string
	for id := range p.Operations {
		if _, ok := m.ops[id]; !ok {
			extra = append(extra, id)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("%s: handlers for operations the spec does not have: %s", p.Name, strings.Join(extra, ", "))
	}
	return m, nil
}

// match finds the operation for a method and a path relative to the mount.
// On failure it returns ErrNotFound or ErrMethodNotAllowed with the allowed
// methods of the path.
func (m *mount) match(r *http.Request, rel string) (*operation, map[string]string, *Error) {
	// mux matches on the request URL: point it at the mount-relative path
	// for the duration of the match (the request is this goroutine's own).
	origPath, origRaw := r.URL.Path, r.URL.RawPath
	r.URL.Path, r.URL.RawPath = rel, ""
	var rm mux.RouteMatch
	ok := m.router.Match(r, &rm)
	if !ok && r.Method == http.MethodHead {
		// HEAD is served by the GET operation, as real HTTP servers do;
		// net/http drops the body from the answer.
		r.Method = http.MethodGet
		rm = mux.RouteMatch{}
		ok = m.router.Match(r, &rm)
		r.Method = http.MethodHead
	}
	r.URL.Path, r.URL.RawPath = origPath, origRaw
	if ok {
		return m.ops[rm.Route.GetName()], rm.Vars, nil
	}
	u := *r.URL
	u.Path, u.RawPath = rel, ""
	probe := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: r.Header}
	if errors.Is(rm.MatchErr, mux.ErrMethodMismatch) {
		return nil, nil, &Error{Kind: ErrMethodNotAllowed, Status: http.StatusMethodNotAllowed,
			Message: fmt.Sprintf("The %s method is not supported for this route.", r.Method), Allowed: m.allowed(probe)}
	}
	return nil, nil, &Error{Kind: ErrNotFound, Status: http.StatusNotFound, Message: "no operation matches " + r.Method + " " + rel}
}

// allowed lists the methods served for the request's path.
func (m *mount) allowed(probe *http.Request) []string {
	var out []string
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		p := *probe
		p.Method = method
		var rm mux.RouteMatch
		if m.router.Match(&p, &rm) {
			out = append(out, method)
		}
	}
	return out
}

// closest names the operation most like an unmatched request, as
// "METHOD /path", for the X-Sandbox-Hint header: the smallest edit distance
// between the paths (a template's {param} takes the request's segment at
// its place), with a small penalty for another method.
func (m *mount) closest(method, rel string) string {
	best, bestScore := "", 1<<30
	want := strings.Split(rel, "/")
	for _, o := range m.ops {
		have := strings.Split(o.path, "/")
		for i := range have {
			if i < len(want) && strings.HasPrefix(have[i], "{") {
				have[i] = want[i]
			}
		}
		score := scenario.EditDistance(rel, strings.Join(have, "/")) * 2
		if o.method != method {
			score++
		}
		cand := o.method + " " + o.path
		if score < bestScore || (score == bestScore && cand < best) {
			best, bestScore = cand, score
		}
	}
	return best
}

// validate checks a request against its operation. It returns nil or an
// ErrInvalidRequest listing every failure, and the raw detail for the journal.
func (o *operation) check(r *http.Request, params map[string]string) (*Error, string) {
	if !o.validate {
		return nil, ""
	}
	// kin-openapi drops a pair it cannot decode and would then report the
	// parameter as missing; say what is really wrong.
	if raw := r.URL.RawQuery; strings.ContainsAny(raw, "%;") {
		if _, err := url.ParseQuery(raw); err != nil {
			reason := "the query string cannot be decoded: " + err.Error()
			return &Error{Kind: ErrInvalidRequest, Status: http.StatusBadRequest, Message: reason,
				Fields: []FieldError{{In: "query", Reason: reason, Rule: "decode"}}}, reason
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: o.route, Options: o.options}
	err := openapi3filter.ValidateRequest(r.Context(), in)
	if err == nil {
		return nil, ""
	}
	fields := flatten(err, nil)
	msg := "the request does not match the API specification"
	if len(fields) > 0 {
		msg = describe(fields[0])
	}
	return &Error{Kind: ErrInvalidRequest, Status: http.StatusBadRequest, Message: msg, Fields: fields}, err.Error()
}

// describe turns a field error into one readable sentence.
func describe(f FieldError) string {
	switch {
	case f.In == "body" && f.Field == "":
		return "request body: " + f.Reason
	case f.In == "body":
		return fmt.Sprintf("field %q: %s", f.Field, f.Reason)
	default:
		return fmt.Sprintf("%s parameter %q: %s", f.In, f.Field, f.Reason)
	}
}

// flatten turns kin-openapi's nested errors into a flat list of FieldErrors.
func flatten(err error, out []FieldError) []FieldError {
	// A direct type check, not errors.As: a parameter's RequestError wraps a
	// MultiError of schema errors, and unwrapping it here would lose the
	// parameter (every query error was reported as "request body").
	if multi, ok := err.(openapi3.MultiError); ok {
		for _, e := range multi {
			out = flatten(e, out)
		}
		return out
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		in, name := "body", ""
		if re.Parameter != nil {
			in, name = re.Parameter.In, re.Parameter.Name
		}
		if re.Err == nil {
			return append(out, FieldError{In: in, Field: name, Reason: re.Reason, Rule: ruleOf(re.Reason)})
		}
		var inner openapi3.MultiError
		if errors.As(re.Err, &inner) {
			for _, e := range inner {
				out = appendSchemaErr(out, in, name, e)
			}
			return out
		}
		return appendSchemaErr(out, in, name, re.Err)
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return appendSchemaErr(out, "body", "", se)
	}
	return append(out, FieldError{In: "body", Reason: err.Error()})
}

func appendSchemaErr(out []FieldError, in, name string, err error) []FieldError {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		var pe *openapi3filter.ParseError
		if errors.As(err, &pe) {
			return append(out, FieldError{In: in, Field: name, Reason: pe.Error(), Rule: "parse"})
		}
		return append(out, FieldError{In: in, Field: name, Reason: err.Error(), Rule: ruleOf(err.Error())})
	}
	field := name
	if ptr := se.JSONPointer(); len(ptr) > 0 {
		field = strings.Join(ptr, ".")
		if name != "" {
			field = name + "." + field
		}
	}
	rule := se.SchemaField
	if strings.HasSuffix(se.Reason, "is unsupported") {
		rule = "additionalProperties"
	}
	// A missing required or unexpected property is reported at the parent
	// with the property's name in the reason; name the property itself.
	if rule == "required" || rule == "additionalProperties" {
		if i := strings.Index(se.Reason, "property \""); i >= 0 {
			rest := se.Reason[i+len("property \""):]
			if j := strings.Index(rest, "\""); j >= 0 {
				prop := rest[:j]
				if field == "" {
					field = prop
				} else if !strings.HasSuffix(field, prop) {
					field = field + "." + prop
				}
			}
		}
	}
	return append(out, FieldError{In: in, Field: field, Reason: se.Reason, Rule: rule})
}

func ruleOf(reason string) string {
	switch {
	case strings.Contains(reason, "must have a value"), strings.Contains(reason, "is missing"):
		return "required"
	case strings.Contains(reason, "parse"), strings.Contains(reason, "decod"):
		return "parse"
	}
	return ""
}

var (
	adminOnce  sync.Once
	adminMount *mount
	adminErr   error
)

// adminSpec returns the admin API's compiled document (specs/admin.yaml).
func adminSpec() (*mount, error) {
	adminOnce.Do(func() {
		adminMount, adminErr = compileSpec(&Provider{Name: "admin", Spec: specs.Must("admin.yaml")}, false)
	})
	return adminMount, adminErr
}

// compiledMount is one provider's compilation, done at most once per
// process: specs are embedded and never change while running.
type compiledMount struct {
	once sync.Once
	m    *mount
	err  error
}

var (
	mountsMu sync.Mutex
	mountsBy = map[*Provider]*compiledMount{}
)

// compiled returns a provider's compiled mount, compiling it on first use.
// Concurrent callers for the same provider wait for one compilation.
func compiled(p *Provider) (*mount, error) {
	mountsMu.Lock()
	c, ok := mountsBy[p]
	if !ok {
		c = &compiledMount{}
		mountsBy[p] = c
	}
	mountsMu.Unlock()
	c.once.Do(func() { c.m, c.err = compile(p) })
	return c.m, c.err
}

// CompileAll parses and validates every registered provider's spec, one
// goroutine per provider, and returns their errors in provider order.
// Parsing the OpenAPI documents is most of the start-up time; the
// documents are independent, so on more than one core this divides it.
// New calls it; a command may call it early (in the background) so that
// the work overlaps with reading the scenario. Calling it again is free.
func CompileAll() error {
	ps := Providers()
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = compiled(p)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// registeredOps answers faults.Operations from the registered providers'
// specs, so that a fault rule naming an unknown operation is refused.
type registeredOps struct{}

func (registeredOps) HasProvider(name string) bool { _, ok := Lookup(name); return ok }

func (registeredOps) HasOperation(provider, op string) bool {
	p, ok := Lookup(provider)
	if !ok {
		return false
	}
	m, err := compiled(p)
	if err != nil {
		return false
	}
	_, ok = m.ops[op]
	return ok
}

func (registeredOps) OperationNames(provider string) []string {
	p, ok := Lookup(provider)
	if !ok {
		return nil
	}
	m, err := compiled(p)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(m.ops))
	for id := range m.ops {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (registeredOps) ProviderNames() []string {
	var out []string
	for _, p := range Providers() {
		out = append(out, p.Name)
	}
	return out
}

// CheckProvider compiles a provider's spec and handlers without registering
// it: what New does at start-up, for tests and tooling.
func CheckProvider(p *Provider) error {
	_, err := compile(p)
	return err
}

// OperationRoute returns the method and mount-relative path template of a
// provider's operation, for tools and tests that build requests from rules.
func OperationRoute(provider, operationID string) (method, path string, ok bool) {
	p, found := Lookup(provider)
	if !found {
		return "", "", false
	}
	m, err := compiled(p)
	if err != nil {
		return "", "", false
	}
	o, found := m.ops[operationID]
	if !found {
		return "", "", false
	}
	return o.method, o.path, true
}

// OperationIDs lists a registered provider's operationIds, sorted.
func OperationIDs(provider string) []string { return registeredOps{}.OperationNames(provider) }
