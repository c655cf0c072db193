package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// MaxScenarioBytes caps a scenario uploaded through PUT /__sandbox/scenario.
const MaxScenarioBytes = 4 << 20

// adminRoute is one admin endpoint. Every core admin route is listed in
// Routes, so the whole admin API can be read in one place.
type adminRoute struct {
	method  string
	path    string
	summary string
	handle  func(a *adminCall)
}

// adminCall is one admin request.
type adminCall struct {
	w      http.ResponseWriter
	r      *http.Request
	ns     *Namespace
	prefix string // "/ns/{name}" or ""
	vars   map[string]string
}

// Routes lists the core admin API, relative to /__sandbox.
func (s *Server) Routes() []adminRoute {
	return []adminRoute{
		{"GET", "/health", "liveness and the namespace's providers", s.getHealth},
		{"GET", "/version", "build version", s.getVersion},
		{"GET", "/scenario", "the scenario in force, as JSON, credentials included", s.getScenario},
		{"PUT", "/scenario", "load a scenario (YAML or JSON) and reset", s.putScenario},
		{"PATCH", "/scenario", "merge-patch the scenario in force (RFC 7396) and reset", s.patchScenario},
		{"POST", "/reset", "back to the scenario's initial state", s.postReset},
		{"GET", "/snapshot", "the namespace's whole world as one file (?journal=true adds the journal)", s.getSnapshot},
		{"PUT", "/snapshot", "restore a snapshot file into the namespace (replaces its world, as a reset does)", s.putSnapshot},
		{"GET", "/requests", "journal, newest first (provider, operation, status, method, path, since, limit)", s.getRequests},
		{"DELETE", "/requests", "clear the journal", s.deleteRequests},
		{"GET", "/requests/{id}", "one journal entry", s.getRequest},
		{"GET", "/state/{provider}", "a provider's stored state", s.getState},
		{"GET", "/callbacks", "callback deliveries and their attempts (state, provider, since)", s.getCallbacks},
		{"GET", "/clock", "sandbox time", s.getClock},
		{"POST", "/clock", "set, advance or freeze sandbox time", s.postClock},
		{"GET", "/faults", "fault rules with their counters", s.getFaults},
		{"POST", "/faults", "add a fault rule (JSON)", s.postFault},
		{"DELETE", "/faults", "remove every fault rule", s.deleteFaults},
		{"DELETE", "/faults/{id}", "remove a fault rule", s.deleteFault},
		{"GET", "/specs", "the providers and their OpenAPI documents", s.getSpecs},
		{"GET", "/specs/{provider}", "a provider's OpenAPI document (?format=json)", s.getSpec},
		{"GET", "/scenarios", "the shipped scenario library", s.getLibrary},
		{"GET", "/scenarios/{name}", "one library scenario, as YAML", s.getLibraryScenario},
		{"GET", "/ui", "redirect to the dashboard", s.getUIRedirect},
		{"GET", "/ui/", "the dashboard's home view (HTML)", s.getUI},
		{"GET", "/ui/assets/{file}", "the dashboard's script and stylesheet", s.getUIAsset},
		{"GET", "/ui/{view}", "a dashboard view: journal, state or controls (HTML)", s.getUI},
		{"GET", "/namespaces", "live namespaces", s.getNamespaces},
		{"DELETE", "/namespaces/{name}", "close a namespace at once, pending callbacks cancelled", s.deleteNamespace},
		{"GET", "/events", "live events of the namespace (Server-Sent Events)", s.getEvents},
		{"GET", "/stats", "traffic per provider and the event streams", s.getStats},
		{"GET", "/metrics", "the process's metrics in the Prometheus text format (no namespace labels)", s.getMetrics},
		{"GET", "/postman", "a Postman collection of every provider call, for this namespace and URL", s.getPostman},
		{"GET", "/postman/environment", "the Postman environment of that collection", s.getPostmanEnvironment},
	}
}

// coreRouteBodies are the core routes whose bodies are not JSON only;
// every other route reads JSON or no body (BodyJSON).
var coreRouteBodies = map[string]BodyTypes{
	"PUT /scenario":   BodyDocument,
	"PATCH /scenario": BodyMergePatch,
	"POST /faults":    BodyDocument,
}

type nsKey struct{}

func (s *Server) adminRouter() *mux.Router {
	s.routeBodies = map[string]BodyTypes{}
	for name, b := range coreRouteBodies {
		s.routeBodies[name] = b
	}
	r := mux.NewRouter()
	r.UseEncodedPath()
	// Path before Methods: gorilla/mux v1.8.1 clears a "method mismatch" when
	// any later route's first matcher succeeds, so with Methods first a
	// POST to /scenario became a 404 as soon as a later POST route existed.
	// With Path first, only routes of the same path touch it, and a wrong
	// method is a 405 with Allow.
	for _, rt := range s.Routes() {
		rt := rt
		r.Path(rt.path).Methods(rt.method).Name(rt.method + " " + rt.path).HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			a := req.Context().Value(nsKey{}).(*adminCall)
			a.w, a.r, a.vars = w, req, mux.Vars(req)
			noteAdminRoute(w, rt.path)
			rt.handle(a)
		})
	}
	for _, p := range Providers() {
		for _, ar := range p.AdminRoutes {
			ar := ar
			name := ar.Method + " " + ar.Path
			s.routeBodies[name] = ar.Body
			r.Path(ar.Path).Methods(ar.Method).Name(name).HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				a := req.Context().Value(nsKey{}).(*adminCall)
				noteAdminRoute(w, ar.Path)
				ar.Handler(a.ns, w, req)
			})
		}
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeProblem(w, http.StatusNotFound, "Not found", fmt.Sprintf("no admin endpoint %s %s", req.Method, req.URL.Path), nil)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		allowed := allowedMethods(r, req)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeProblem(w, http.StatusMethodNotAllowed, "Method not allowed",
			fmt.Sprintf("%s is not allowed on %s; allowed: %s", req.Method, req.URL.Path, strings.Join(allowed, ", ")), nil)
	})
	return r
}

// globalAdminRoutes act on the server, not on one namespace: they never
// create the namespace of their /ns/{name} prefix (a.ns is nil when it is not
// live).
var globalAdminRoutes = map[string]bool{
	"GET /namespaces":           true,
	"DELETE /namespaces/{name}": true,
	"GET /metrics":              true,
}

// serveAdmin routes an admin request. Who may ask is checked first
// (checkAdminAccess), then the route is matched and its body type checked,
// all before the namespace is looked up, so that a refused call, an
// unknown admin path or a global route under /ns/{new}/ does not create a
// namespace.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, t target) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("admin panic", "panic", v)
			writeProblem(w, http.StatusInternalServerError, "Internal error", fmt.Sprint(v), nil)
		}
	}()
	if !s.checkAdminAccess(w, r) {
		return
	}
	a := &adminCall{prefix: t.prefix}
	u := *r.URL
	u.Path, u.RawPath = t.rel, ""
	r2 := r.WithContext(context.WithValue(r.Context(), nsKey{}, a))
	r2.URL = &u
	var rm mux.RouteMatch
	s.admin.Match(r2, &rm)
	if rm.MatchErr == nil && rm.Route != nil && !checkBodyType(w, r, s.routeBodies[rm.Route.GetName()]) {
		return
	}
	switch {
	case rm.MatchErr != nil:
		// 404 or 405: answered without a namespace.
	case rm.Route != nil && globalAdminRoutes[rm.Route.GetName()]:
		a.ns, _ = s.lookup(t.namespace)
	default:
		ns, ok := s.namespaceOrFail(w, t.namespace)
		if !ok {
			return
		}
		a.ns = ns
	}
	if st := s.cfg.Store; st != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w = &durableWriter{ResponseWriter: w, before: func() error {
			if a.ns != nil {
				if wd := a.ns.world.Load(); wd != nil && wd.sink != nil {
					wd.saveCore()
				}
			}
			return st.Sync()
		}}
	}
	s.admin.ServeHTTP(w, r2)
}

// allowedMethods lists the methods the admin router serves on req's path,
// for a 405's Allow header (RFC 9110 requires it).
func allowedMethods(r *mux.Router, req *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := req.Clone(req.Context())
		probe.Method = m
		var rm mux.RouteMatch
		if r.Match(probe, &rm) && rm.MatchErr == nil {
			out = append(out, m)
		}
	}
	return out
}

// Problem is an RFC 7807 problem document.
type Problem struct {
	Type     string             `json:"type"`
	Title    string             `json:"title"`
	Status   int                `json:"status"`
	Detail   string             `json:"detail,omitempty"`
	Problems []scenario.Problem `json:"problems,omitempty"`
}

// writeProblem answers with application/problem+json.
func writeProblem(w http.ResponseWriter, status int, title, detail string, probs []scenario.Problem) {
	body, _ := json.Marshal(Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Problems: probs})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteProblem is writeProblem for provider admin routes.
func WriteProblem(w http.ResponseWriter, status int, title, detail string) {
	writeProblem(w, status, title, detail, nil)
}

// WriteProblems answers a problem document listing located problems, as a
// refused scenario is answered, for provider admin routes that validate a
// body with the scenario's rules.
func WriteProblems(w http.ResponseWriter, status int, title, detail string, probs []scenario.Problem) {
	writeProblem(w, status, title, detail, probs)
}

func (a *adminCall) json(status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeProblem(a.w, http.StatusInternalServerError, "Encoding failed", err.Error(), nil)
		return
	}
	WriteJSON(a.w, status, append(body, '\n'))
}

func (s *Server) getHealth(a *adminCall) {
	names := make([]string, 0, len(s.mounts))
	for _, p := range Providers() {
		names = append(names, p.Name)
	}
	a.json(http.StatusOK, map[string]any{"status": "ok", "namespace": a.ns.Name, "providers": names})
}

func (s *Server) getVersion(a *adminCall) {
	a.json(http.StatusOK, map[string]string{"version": s.cfg.Version, "go": runtime.Version()})
}

// ScenarioJSON renders a scenario as the document GET /scenario returns:
// the common part, the fault rules and every provider's effective
// configuration. It is a complete scenario: PUT accepts it unchanged (the
// informational "source" included) and PATCH merges into it.
func ScenarioJSON(sc *Scenario) map[string]any {
	c := sc.Common()
	out := map[string]any{
		"version": c.Version, "name": c.Name, "seed": c.Seed,
		"clock": c.Clock, "http": c.HTTP, "reload": c.Reload, "source": sc.File.Name,
		faultsKey: sc.Faults,
		hostsKey:  sc.hosts.json(),
		// The effective setting, so that the document says what is in force.
		"journal": map[string]bool{"redactSecrets": c.Journal.RedactsSecrets()},
	}
	if sc.Faults == nil {
		out[faultsKey] = faults.List{}
	}
	if c.Description != "" {
		out["description"] = c.Description
	}
	if c.PreferHeader != nil {
		out["preferHeader"] = *c.PreferHeader
	}
	if c.Keys.SigningKeyPEM != "" {
		out["keys"] = c.Keys
	}
	for name, cfg := range sc.Configs {
		out[name] = cfg
	}
	return out
}

func (s *Server) getScenario(a *adminCall) {
	a.json(http.StatusOK, ScenarioJSON(a.ns.Scenario()))
}

func (s *Server) putScenario(a *adminCall) {
	data, err := scenario.ReadAll(a.r.Body, MaxScenarioBytes)
	if err != nil {
		writeProblem(a.w, http.StatusRequestEntityTooLarge, "Scenario too large", err.Error(), nil)
		return
	}
	name := "request body"
	if n := a.r.URL.Query().Get("name"); n != "" {
		name = n
	}
	sc, probs := LoadScenario(name, data)
	if len(probs) > 0 {
		writeProblem(a.w, http.StatusBadRequest, "Invalid scenario",
			fmt.Sprintf("the scenario has %d problem(s); nothing was changed", len(probs)), probs)
		return
	}
	if err := a.ns.Reset(sc); err != nil {
		if errors.Is(err, ErrNoNamespace) {
			a.gone()
			return
		}
		writeProblem(a.w, http.StatusBadRequest, "Scenario could not be applied", err.Error(), nil)
		return
	}
	if a.ns.Name == DefaultNamespace && a.prefix == "" {
		// The bare path also makes it the template for new namespaces.
		s.tmpl.Store(sc)
	}
	a.json(http.StatusOK, map[string]any{"loaded": sc.Common().Name, "namespace": a.ns.Name, "template": a.prefix == ""})
}

func (s *Server) postReset(a *adminCall) {
	if err := a.ns.Reset(nil); err != nil {
		if errors.Is(err, ErrNoNamespace) {
			a.gone()
			return
		}
		writeProblem(a.w, http.StatusInternalServerError, "Reset failed", err.Error(), nil)
		return
	}
	a.json(http.StatusOK, map[string]any{"reset": a.ns.Name, "now": a.ns.Clock().Now()})
}

// gone answers a request whose namespace was deleted or evicted after the
// request found it: a race with DELETE /namespaces/{name} or idle eviction,
// not a server fault, so it is a 404 that says what to do, never a 500.
func (a *adminCall) gone() { WriteGone(a.w, a.ns) }

func (s *Server) getRequests(a *adminCall) {
	c := newQueryCheck(a.r.URL.RawQuery, requestsParams)
	f := journal.Filter{Provider: c.known("provider", "provider", registeredOps{}.ProviderNames())}
	ops := allOperationIDs()
	if len(f.Provider) > 0 {
		ops = nil
		for _, p := range f.Provider {
			ops = append(ops, OperationIDs(p)...)
		}
		slices.Sort(ops)
		ops = slices.Compact(ops)
	}
	f.Operation = c.known("operation", "operation", ops)
	f.Status, f.StatusClass = c.status("status")
	for i, m := range c.q["method"] {
		c.q["method"][i] = strings.ToUpper(m)
	}
	f.Method = c.known("method", "method", journalMethods)
	f.PathPrefix = c.providerPaths("path")
	f.Since = c.time("since")
	f.Limit = c.limit("limit", maxRequestsLimit)
	f.Before = c.cursor("cursor")
	if c.failed(a.w) {
		return
	}
	page, next := a.ns.Journal.List(f)
	if next != 0 {
		q := c.q
		q.Set("cursor", strconv.FormatUint(next, 10))
		a.w.Header().Set("Link", "<"+a.prefix+"/__sandbox/requests?"+q.Encode()+`>; rel="next"`)
	}
	s.writeEntries(a, page)
}

// writeEntries answers a page of entries as a JSON array, formatted as
// adminCall.json formats one, encoding one entry at a time: the answer
// is never held whole in memory.
func (s *Server) writeEntries(a *adminCall, page []*journal.Entry) {
	a.w.Header().Set("Content-Type", "application/json")
	a.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(a.w, 32<<10)
	defer bw.Flush()
	if len(page) == 0 {
		_, _ = bw.WriteString("[]\n")
		return
	}
	_, _ = bw.WriteString("[\n  ")
	for i, e := range page {
		if i > 0 {
			_, _ = bw.WriteString(",\n  ")
		}
		b, err := json.MarshalIndent(e, "  ", "  ")
		if err != nil {
			// Cannot happen for an entry's plain fields; the answer is
			// left unfinished, so the client cannot take it for whole.
			s.log.Error("journal entry could not be encoded", "id", e.ID, "err", err)
			return
		}
		if _, err := bw.Write(b); err != nil {
			return // the client went away
		}
	}
	_, _ = bw.WriteString("\n]\n")
}

func (s *Server) deleteRequests(a *adminCall) {
	a.ns.Journal.Clear()
	if w := a.ns.world.Load(); w.sink != nil {
		w.sink.Journal(0, nil, -1) // and on disk
	}
	a.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getRequest(a *adminCall) {
	e, ok := a.ns.Journal.Get(a.vars["id"])
	if !ok {
		writeProblem(a.w, http.StatusNotFound, "Not found", fmt.Sprintf("no journal entry %q in namespace %q (it may have been evicted)", a.vars["id"], a.ns.Name), nil)
		return
	}
	a.json(http.StatusOK, e)
}

func (s *Server) getState(a *adminCall) {
	name := a.vars["provider"]
	st, ok := a.ns.State(name)
	if !ok {
		writeProblem(a.w, http.StatusNotFound, "Unknown provider", fmt.Sprintf("no provider %q; providers: %s", name, strings.Join(s.mountNames(), ", ")), nil)
		return
	}
	snap, ok := st.(Snapshotter)
	if !ok {
		writeProblem(a.w, http.StatusNotFound, "No state", fmt.Sprintf("provider %q keeps no state to show", name), nil)
		return
	}
	a.json(http.StatusOK, snap.Snapshot())
}

func (s *Server) getCallbacks(a *adminCall) {
	c := newQueryCheck(a.r.URL.RawQuery, callbacksParams)
	states := c.known("state", "state", callbackStates)
	providers := c.known("provider", "provider", registeredOps{}.ProviderNames())
	since := c.time("since")
	if c.failed(a.w) {
		return
	}
	all := []any{}
	for _, p := range Providers() {
		if len(providers) > 0 && !slices.Contains(providers, p.Name) {
			continue
		}
		if st, ok := a.ns.State(p.Name); ok {
			if cs, ok := st.(CallbackSource); ok {
				for _, d := range cs.Callbacks() {
					if callbackMatches(d, states, since) {
						all = append(all, d)
					}
				}
			}
		}
	}
	a.json(http.StatusOK, all)
}

type clockView struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

func (s *Server) getClock(a *adminCall) {
	c := a.ns.Clock()
	a.json(http.StatusOK, clockView{Now: c.Now(), Frozen: c.Frozen()})
}

func (s *Server) postClock(a *adminCall) {
	var req struct {
		Set     *string `json:"set"`
		Advance *string `json:"advance"`
		Frozen  *bool   `json:"frozen"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(a.w, a.r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeProblem(a.w, http.StatusBadRequest, "Invalid clock request",
			"expected a JSON object with \"set\" (RFC 3339), \"advance\" (Go duration such as 90s) or \"frozen\" (boolean): "+err.Error(), nil)
		return
	}
	if req.Set == nil && req.Advance == nil && req.Frozen == nil {
		writeProblem(a.w, http.StatusBadRequest, "Invalid clock request", "give one of \"set\", \"advance\" or \"frozen\"", nil)
		return
	}
	if req.Set != nil && req.Advance != nil {
		writeProblem(a.w, http.StatusBadRequest, "Invalid clock request", "give \"set\" or \"advance\", not both", nil)
		return
	}
	var setTo time.Time
	var adv time.Duration
	if req.Set != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.Set)
		if err != nil {
			writeProblem(a.w, http.StatusBadRequest, "Invalid clock request", fmt.Sprintf("set %q is not an RFC 3339 time such as 2026-11-22T10:00:00Z", *req.Set), nil)
			return
		}
		setTo = t
	}
	if req.Advance != nil {
		d, err := time.ParseDuration(*req.Advance)
		if err != nil || d < 0 {
			writeProblem(a.w, http.StatusBadRequest, "Invalid clock request", fmt.Sprintf("advance %q is not a positive Go duration such as 90s or 1h30m (use \"set\" to go back)", *req.Advance), nil)
			return
		}
		adv = d
	}
	c := a.ns.Clock()
	if req.Frozen != nil {
		c.Freeze(*req.Frozen)
	}
	if req.Set != nil {
		c.Set(setTo)
	}
	if req.Advance != nil {
		c.Advance(adv)
	}
	v := clockView{Now: c.Now(), Frozen: c.Frozen()}
	a.ns.publishClock(v)
	a.json(http.StatusOK, v)
}

func (s *Server) getSpecs(a *adminCall) {
	type item struct {
		Name  string `json:"name"`
		Title string `json:"title"`
		Mount string `json:"mount"`
		Spec  string `json:"spec"`
	}
	out := []item{}
	for _, p := range Providers() {
		out = append(out, item{p.Name, p.Title, a.prefix + "/" + p.Name, a.prefix + "/__sandbox/specs/" + p.Name})
	}
	a.json(http.StatusOK, out)
}

func (s *Server) getSpec(a *adminCall) {
	if a.vars["provider"] == "admin" {
		am, err := adminSpec()
		if err != nil {
			writeProblem(a.w, http.StatusInternalServerError, "Admin spec unavailable", err.Error(), nil)
			return
		}
		s.writeSpec(a, am)
		return
	}
	p, ok := Lookup(a.vars["provider"])
	if !ok {
		writeProblem(a.w, http.StatusNotFound, "Unknown provider", fmt.Sprintf("no provider %q; providers: %s", a.vars["provider"], strings.Join(s.mountNames(), ", ")), nil)
		return
	}
	s.writeSpec(a, s.mounts[p.Name])
}

// writeSpec answers a document as YAML (verbatim) or JSON.
func (s *Server) writeSpec(a *adminCall, m *mount) {
	switch a.r.URL.Query().Get("format") {
	case "json":
		body, err := json.Marshal(m.doc)
		if err != nil {
			writeProblem(a.w, http.StatusInternalServerError, "Spec conversion failed", err.Error(), nil)
			return
		}
		WriteJSON(a.w, http.StatusOK, body)
	case "", "yaml":
		a.w.Header().Set("Content-Type", "application/yaml")
		_, _ = a.w.Write(m.provider.Spec)
	default:
		writeProblem(a.w, http.StatusBadRequest, "Unknown format", "format is yaml (default) or json", nil)
	}
}

func (s *Server) getNamespaces(a *adminCall) {
	names := s.NamespaceNames()
	sort.Strings(names)
	a.json(http.StatusOK, map[string]any{"namespaces": names, "max": s.spaces.max, "idleEviction": s.spaces.idle.String()})
}

func (s *Server) deleteNamespace(a *adminCall) {
	name := a.vars["name"]
	switch err := s.DeleteNamespace(name); {
	case errors.Is(err, ErrDefaultNamespace):
		writeProblem(a.w, http.StatusConflict, "Namespace cannot be deleted",
			fmt.Sprintf("namespace %q serves the bare URLs and cannot be deleted; use POST /__sandbox/reset to bring it back to the scenario's initial state", name), nil)
	case errors.Is(err, ErrNoNamespace):
		writeProblem(a.w, http.StatusNotFound, "Not found",
			fmt.Sprintf("no live namespace %q (never used, already deleted or evicted); GET /__sandbox/namespaces lists the live ones", name), nil)
	case err != nil:
		writeProblem(a.w, http.StatusInternalServerError, "Delete failed", err.Error(), nil)
	default:
		a.w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) getSnapshot(a *adminCall) {
	c := newQueryCheck(a.r.URL.RawQuery, snapshotParams)
	withJournal := c.boolean("journal")
	if c.failed(a.w) {
		return
	}
	body, err := a.ns.SaveSnapshot(withJournal)
	if err != nil {
		if errors.Is(err, ErrNoNamespace) {
			a.gone()
			return
		}
		writeProblem(a.w, http.StatusInternalServerError, "Snapshot failed", err.Error(), nil)
		return
	}
	a.w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.snapshot.json"`, a.ns.Name))
	WriteJSON(a.w, http.StatusOK, body)
}

// putSnapshot restores a snapshot: the namespace is reset to a scenario
// that carries it, so the world is swapped whole (a request in flight
// finishes against the old one) and every later reset returns to the
// snapshot. A refused snapshot changes nothing.
func (s *Server) putSnapshot(a *adminCall) {
	data, err := scenario.ReadAll(a.r.Body, MaxSnapshotBytes)
	if err != nil {
		writeProblem(a.w, http.StatusRequestEntityTooLarge, "Snapshot too large",
			fmt.Sprintf("a snapshot is at most %d bytes; nothing was changed", MaxSnapshotBytes), nil)
		return
	}
	sc, err := ParseSnapshot(data)
	if err == nil {
		err = a.ns.Reset(sc)
	}
	if err != nil {
		var se *SnapshotError
		switch {
		case errors.Is(err, ErrNoNamespace):
			a.gone()
		case errors.As(err, &se):
			title := "Invalid snapshot"
			if se.Status == http.StatusUnprocessableEntity {
				title = "Snapshot cannot be restored"
			}
			writeProblem(a.w, se.Status, title, se.Detail+"; nothing was changed", se.Problems)
		default:
			writeProblem(a.w, http.StatusUnprocessableEntity, "Snapshot cannot be restored", err.Error()+"; nothing was changed", nil)
		}
		return
	}
	snap := sc.Snapshot
	a.json(http.StatusOK, map[string]any{"restored": a.ns.Name, "from": snap.Namespace, "createdAt": snap.CreatedAt,
		"scenario": sc.Common().Name, "now": a.ns.Clock().Now(), "journal": snap.Journal != nil})
}
