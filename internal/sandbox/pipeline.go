package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
)

// HeaderRequestID carries the journal key of every response.
const HeaderRequestID = "X-Sandbox-Request-Id"

// HeaderHint names the closest operation when a request matches none.
const HeaderHint = "X-Sandbox-Hint"

// Call is one request to a provider operation, handed to Guard, handlers and
// WriteError.
type Call struct {
	W http.ResponseWriter
	R *http.Request
	// Body is the whole request body, already read within the body limit.
	Body []byte
	// State is the provider's state in this namespace (what Provider.New returned).
	State any
	// NS is the namespace the request belongs to.
	NS *Namespace
	// Operation is the matched operationId; empty before routing succeeds.
	Operation string
	// Params holds the path parameters of the matched operation.
	Params map[string]string

	prefix string     // "/ns/{name}" or ""
	rel    string     // the path below the mount
	via    *hostEntry // the provider host the request was routed by, or nil
	hosts  *hostTable // the host table in force when hosts routing is on, or nil
	mount  *mount
	world  *world
	clock  *clock.Clock
	faults *faults.Set
	entry  *journal.Entry
}

// Now returns the namespace's sandbox time.
func (c *Call) Now() time.Time { return c.clock.Now() }

// Clock returns the namespace's clock, for scheduling.
func (c *Call) Clock() *clock.Clock { return c.clock }

// Provider returns the provider serving the call.
func (c *Call) Provider() *Provider { return c.mount.provider }

// Origin returns scheme://host of the request, honouring X-Forwarded-Proto
// so that URLs handed out behind a TLS proxy work.
func (c *Call) Origin() string { return requestOrigin(c.R) }

// Host is the host and port the client reached (the Host header, or the
// listener's address for a request without one), as Origin uses it.
func (c *Call) Host() string { return requestHost(c.R) }

// BaseURL returns the URL of the provider's mount as the client sees it,
// namespace prefix included, e.g. http://127.0.0.1:8080/ns/ci-42/netrefer.
// Every URL the sandbox hands out is built from it.
func (c *Call) BaseURL() string {
	return c.Origin() + c.prefix + "/" + c.mount.provider.Name
}

// MountPaths lists the URL paths of the provider's mount that reach this
// call's namespace, the request's own first: "/ns/ci-42/netrefer" for a
// namespace, and both "/netrefer" and "/ns/default/netrefer" for the
// default one, which the bare URLs and /ns/default serve alike. A provider
// that binds what it issues (a token's issuer) to its mount accepts any of
// them, so that a token fetched from the bare URL works under
// /ns/default and the other way round.
func (c *Call) MountPaths() []string {
	own := c.prefix + "/" + c.mount.provider.Name
	if c.NS == nil || c.NS.Name != DefaultNamespace {
		return []string{own}
	}
	bare, prefixed := "/"+c.mount.provider.Name, "/ns/"+DefaultNamespace+"/"+c.mount.provider.Name
	if own == bare {
		return []string{bare, prefixed}
	}
	return []string{prefixed, bare}
}

// Path is the request path below the provider's mount, as the spec writes
// it (/di/v1/deposits), however the request reached the mount: by path,
// root alias or provider host.
func (c *Call) Path() string { return c.rel }

// ProviderHost is the provider host the request was routed by (lower case,
// no port: "login.microsoftonline.com"), or "" for a request routed by
// path. A provider that hands out what the real service hands out on its
// own host (Azure AD's issuers) asks this.
func (c *Call) ProviderHost() string {
	if c.via == nil {
		return ""
	}
	return c.via.host
}

// HostRouting reports whether the server routes requests by their Host
// header (--hosts or the scenario's hosts.enabled), so that what was
// issued on a provider host (a token with the real issuer) may come back.
func (c *Call) HostRouting() bool { return c.hosts != nil }

// URL is the URL of a path below the mount (rel, e.g.
// "/login/{tenant}/oauth2/v2.0/token") as this request's client reaches
// it: on a provider host, that host's own path for it
// (https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token), or
// another host of the provider that serves it (same scheme and port);
// otherwise BaseURL()+rel.
func (c *Call) URL(rel string) string {
	if c.via != nil {
		if p, ok := c.via.reverse(rel); ok {
			return c.Origin() + p
		}
		origin := c.Origin()
		scheme, hostport, _ := strings.Cut(origin, "://")
		port := ""
		if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
			port = hostport[i:]
		}
		for _, e := range c.hosts.byProvider[c.mount.provider.Name] {
			if p, ok := e.reverse(rel); ok {
				return scheme + "://" + e.host + port + p
			}
		}
	}
	return c.BaseURL() + rel
}

// HostPaths lists the paths on the provider's hosts that serve rel, when
// host routing is on (nil when it is off): a provider that binds what it
// issues to a URL path (Keycloak's issuer) accepts these beside
// MountPaths()+rel. Host paths name no namespace: what a provider host
// issued is good in every namespace.
func (c *Call) HostPaths(rel string) []string {
	if c.hosts == nil {
		return nil
	}
	var out []string
	for _, e := range c.hosts.byProvider[c.mount.provider.Name] {
		if p, ok := e.reverse(rel); ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Fail answers with the provider's native shape for a core error.
func (c *Call) Fail(e *Error) { c.mount.provider.WriteError(c, e) }

// NoteFault records in the journal that a fault rule affected the request.
func (c *Call) NoteFault(rule string) { c.entry.Faults = append(c.entry.Faults, rule) }

// JSON writes v as a JSON response with the given status and content type
// "application/json" unless the handler already set one.
//
// Unlike json.Marshal it leaves <, > and & alone: the real providers' JSON
// libraries do not escape them, and a client comparing bodies should see
// "<access_token>", not "\u003caccess_token\u003e".
func (c *Call) JSON(status int, v any) {
	body, err := json.Marshal(v)
	if err == nil && bytes.Contains(body, []byte(`\u00`)) {
		// Rare: re-encode without HTML escaping (kept off the common path,
		// which costs one allocation less this way).
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		err = enc.Encode(v)
		body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	if err != nil {
		c.Fail(&Error{Kind: ErrInternal, Status: http.StatusInternalServerError, Message: "response could not be encoded: " + err.Error()})
		return
	}
	WriteJSON(c.W, status, body)
}

// WriteJSON writes an already encoded JSON body.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveProvider is the request pipeline of a provider mount:
// route → read body (413 here, or after the guard with BodyLimitAfterGuard)
// → fault rules → guard → validate → handler, with the journal around it
// and panics turned into the provider's 500.
func (s *Server) serveProvider(w http.ResponseWriter, r *http.Request, ns *Namespace, m *mount, t *target) {
	start := time.Now()
	wd := ns.world.Load()
	id := w.Header().Get(HeaderRequestID)
	// One allocation holds the call and its capturing writer.
	x := &exchange{cw: captureWriter{ResponseWriter: w, limit: s.cfg.JournalBodyBytes}}
	cw := &x.cw
	if s.cfg.Store != nil {
		cw.store, cw.startSeq = s.cfg.Store, s.cfg.Store.Queued()
	}
	entry := &journal.Entry{ID: id, Time: wd.clock.Now(), Namespace: ns.Name, Provider: m.provider.Name}
	x.Call = Call{W: cw, R: r, State: wd.states[m.provider.Name], NS: ns, prefix: t.prefix, rel: t.rel, via: t.via, mount: m, world: wd, clock: wd.clock, faults: wd.faults, entry: entry}
	if cw.store != nil {
		cw.failStore = func(err error) {
			// Through cw itself: a fault may have put a cutWriter in
			// c.W, which would keep the handler's status.
			fc := x.Call
			fc.W = cw
			fc.Fail(&Error{Kind: ErrUnavailable, Status: http.StatusServiceUnavailable, Message: errStoreFailed(err)})
		}
	}
	if s.hostsOn() {
		x.Call.hosts = s.template().hosts
	}
	c := &x.Call
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				// A fault dropped the connection on purpose.
				cw.aborted = true
				s.record(ns, wd, entry, c, cw, start)
				panic(v)
			}
			s.log.Error("handler panic", "provider", m.provider.Name, "operation", c.Operation, "panic", v, "stack", string(debug.Stack()))
			cw.dropHeld() // nothing of it has left: the 500 can replace it
			if !cw.wroteHeader {
				c.Fail(&Error{Kind: ErrInternal, Status: http.StatusInternalServerError, Message: fmt.Sprint(v)})
			}
		}
		s.record(ns, wd, entry, c, cw, start)
	}()
	s.runPipeline(c, m, t.rel, t.unmapped)
}

func (s *Server) runPipeline(c *Call, m *mount, rel string, unmapped bool) {
	r := c.R
	if unmapped {
		c.failUnmappedHost()
		return
	}
	op, params, rerr := m.match(r, rel)
	if rerr != nil {
		c.failUnmatched(rerr, rel)
		return
	}
	c.Operation, c.Params = op.id, params
	c.entry.Operation = op.id

	limit := c.NS.Scenario().Common().HTTP.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if bl, ok := c.State.(BodyLimiter); ok {
		if l := bl.MaxBodyBytes(); l > 0 {
			limit = l
		}
	}
	body, err := readBody(r, limit)
	c.Body = body
	tooLarge := errors.Is(err, errBodyTooLarge)
	if err != nil && !tooLarge {
		c.Fail(&Error{Kind: ErrInvalidRequest, Status: http.StatusBadRequest, Message: "request body could not be read: " + err.Error()})
		return
	}
	failTooLarge := func() {
		c.Fail(&Error{Kind: ErrBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Limit: limit,
			Message: fmt.Sprintf("request body exceeds the limit of %d bytes", limit)})
	}
	if tooLarge && !m.provider.BodyLimitAfterGuard {
		failTooLarge()
		return
	}
	if c.faults.Len() > 0 || r.Header.Get("Prefer") != "" {
		if s.applyFaults(c, rel, c.faults) {
			return
		}
	}
	if g := m.provider.Guard; g != nil && !g(c) {
		return
	}
	if tooLarge {
		failTooLarge()
		return
	}
	// One reader serves both the validator and the handler.
	var rd *bodyReader
	rewind := func() {
		if len(body) == 0 {
			r.Body = http.NoBody
			return
		}
		if rd == nil {
			rd = &bodyReader{}
		}
		rd.Reset(body)
		r.Body = rd
	}
	rewind()
	if verr, detail := op.check(r, params); verr != nil {
		c.entry.Validation = detail
		c.Fail(verr)
		return
	}
	rewind()
	op.handler(c)
}

// failUnmatched answers a request that matches no operation of the mount:
// the provider's 404 with the closest operation as a hint, or its 405 with
// Allow.
func (c *Call) failUnmatched(rerr *Error, rel string) {
	if rerr.Kind == ErrNotFound {
		if hint := c.mount.closest(c.R.Method, rel); hint != "" {
			c.W.Header().Set(HeaderHint, "did you mean "+hint+"?")
		}
	} else if len(rerr.Allowed) > 0 {
		c.W.Header().Set("Allow", strings.Join(rerr.Allowed, ", "))
	}
	c.Fail(rerr)
}

// serveUnrouted answers, without creating the namespace, a request for a
// namespace that is not live whose path is none of the mount's: a typo must
// not take a namespace slot (nor keep one alive). It reports false when
// the path is the mount's (any method), which is then served, and so
// creates the namespace, as usual. Nothing is journaled: the journal
// belongs to the namespace that was not created.
func (s *Server) serveUnrouted(w http.ResponseWriter, r *http.Request, m *mount, t *target) bool {
	c := &Call{W: w, R: r, prefix: t.prefix, rel: t.rel, via: t.via, hosts: t.hosts, mount: m}
	if t.unmapped {
		c.failUnmappedHost()
		return true
	}
	_, _, rerr := m.match(r, t.rel)
	if rerr == nil || rerr.Kind != ErrNotFound {
		return false
	}
	c.failUnmatched(rerr, t.rel)
	return true
}

// failUnmappedHost answers the provider's 404 for a path on one of its
// hosts that maps to none of the mount's paths, naming in the hint the
// paths the host serves.
func (c *Call) failUnmappedHost() {
	prefixes := make([]string, 0, len(c.via.paths))
	for _, p := range c.via.paths {
		prefixes = append(prefixes, p.Prefix)
	}
	c.W.Header().Set(HeaderHint, fmt.Sprintf("%s serves only paths under %s", c.via.host, strings.Join(prefixes, ", ")))
	c.Fail(&Error{Kind: ErrNotFound, Status: http.StatusNotFound, Message: "no operation matches " + c.R.Method + " " + c.R.URL.Path})
}

// exchange is one request's call and writer, allocated together.
type exchange struct {
	Call
	cw captureWriter
}

// bodyReader is an io.ReadCloser over the already-read body.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

var errBodyTooLarge = errors.New("body too large")

// readBody reads at most limit bytes; one more means the body is too large.
// A declared Content-Length over the limit is refused without reading.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errBodyTooLarge
	}
	return buf.Bytes(), nil
}

// record adds the finished exchange to the namespace's journal, counts it
// in the world it was served by, and announces it to the event streams.
func (s *Server) record(ns *Namespace, wd *world, e *journal.Entry, c *Call, cw *captureWriter, start time.Time) {
	r, body := c.R, c.Body
	host := ""
	provPath := ""
	if c.via != nil {
		host, provPath = r.Host, c.rel
	}
	if !cw.wroteHeader && !cw.aborted && !cw.hijacked {
		// A handler that wrote nothing answers 200: held like any other
		// answer until what it changed is durable.
		cw.WriteHeader(http.StatusOK)
	}
	status := cw.status
	if status == 0 && !cw.aborted && !cw.hijacked {
		status = http.StatusOK
	}
	rec := journal.Recorder{Caps: s.journalCaps, Redact: wd.scenario.Common().Journal.RedactsSecrets()}
	if sh, ok := wd.states[e.Provider].(SecretHeaders); ok && rec.Redact {
		rec.SecretHeaders = sh.SecretHeaders()
	}
	// Headers that need no change are kept without copying: once the
	// handler has returned, neither net/http nor the sandbox changes these
	// maps again.
	fill := func() {
		rec.Fill(e, journal.Exchange{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, RequestHeader: r.Header, RequestBody: body,
			Status: status, ResponseHeader: cw.Header(), ResponseBody: cw.buf.Bytes(), ResponseBytes: cw.n,
			Host: host, ProviderPath: provPath,
		})
	}
	fill()
	e.LatencyMicros = time.Since(start).Microseconds()
	if wd.sink != nil {
		ns.storeJournal(wd, e)
	}
	// A held answer goes out now that its journal entry is queued too (one
	// commit for both); if that commit failed, the 503 sent instead is
	// what the in-memory journal keeps.
	if cw.holding {
		cw.release()
		if cw.failing {
			status = cw.status
			fill()
		}
	}
	took := time.Since(start)
	ns.Journal.Add(e)
	s.metrics.observeRequest(e.Provider, e.Operation, status, took)
	if c := wd.counters[e.Provider]; c != nil {
		c.add(status, start)
	}
	ns.publishRequest(e)
	if s.cfg.AccessLog != nil {
		s.logAccess(&Exchange{Start: start, Method: r.Method, Path: r.URL.Path, Namespace: ns.Name, Provider: e.Provider,
			Operation: e.Operation, Status: status, Duration: took, RequestID: e.ID, Faults: e.Faults})
	}
}

// captureWriter passes a response through while keeping its status and the
// start of its body for the journal.
type captureWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool // the handler has set its status (sent, or held)
	hijacked    bool // a fault took the connection over (reset)
	aborted     bool // a fault dropped the connection (hang, cut body)
	n           int64
	limit       int
	buf         bytes.Buffer
	// store, with a data directory, must have made durable what the
	// request changed before its status goes out. While a write is
	// pending, the answer is held (holding, held) rather than waited for
	// in WriteHeader: the request's journal entry is queued when the
	// handler returns, and release then waits once for both, so the
	// state and the entry share one commit instead of the entry costing
	// the next request a commit of its own. failStore answers in the
	// provider's shape when the wait fails, and swallow then drops what
	// the handler goes on writing.
	store     durability
	startSeq  uint64 // store.Queued() when the request began
	failStore func(error)
	failing   bool
	swallow   bool
	holding   bool
	held      bytes.Buffer
}

// durability is what captureWriter needs of the data directory
// (*store.Store): whether a write is not durable yet, the sequence number
// of the last write queued, and a wait until every write queued so far is.
type durability interface {
	Pending() bool
	Queued() uint64
	Sync() error
}

// errAnswerDropped is what a handler's Write gets once its answer has been
// replaced by the 503 of a failed data directory: a long CSV window stops
// there instead of being generated for nobody.
var errAnswerDropped = errors.New("the answer was replaced: the data directory could not keep the request's changes")

// heldMax is how much of a held answer's body is kept back: a longer one
// (a large CSV window) is released, after the wait, and streamed on.
const heldMax = 64 << 10

func (w *captureWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader, w.status = true, code
	// Held when something is not durable yet (what this answer may say
	// depends on it), or when anything was queued since the request
	// began: a request that changed something then has its journal entry
	// on disk with its answer, even when its own writes were committed
	// before it got here.
	if w.store != nil && !w.failing && (w.store.Pending() || w.store.Queued() != w.startSeq) {
		w.holding = true // release sends it
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// dropHeld forgets a held answer (forgetAnswer), so that another can be
// written in its place; an answer already sent stays as it is.
func (w *captureWriter) dropHeld() {
	if w.holding {
		w.forgetAnswer()
	}
}

// forgetAnswer resets the status, body and headers (but the request id)
// of an answer that has not left.
func (w *captureWriter) forgetAnswer() {
	w.holding, w.wroteHeader, w.status, w.n = false, false, 0, 0
	w.held, w.buf = bytes.Buffer{}, bytes.Buffer{}
	w.clearHeaders()
}

// clearHeaders removes every header the handler set but the request id.
func (w *captureWriter) clearHeaders() {
	h := w.Header()
	for k := range h {
		if k != HeaderRequestID {
			delete(h, k)
		}
	}
}

// release sends a held answer once every write queued so far is durable.
// When the wait fails, the held answer is dropped and the provider's 503
// goes out instead. Without a held answer it does nothing.
func (w *captureWriter) release() {
	if !w.holding {
		return
	}
	w.holding = false
	if err := w.store.Sync(); err != nil {
		w.forgetAnswer()
		w.failing = true
		w.failStore(err)
		w.swallow = true
		return
	}
	w.ResponseWriter.WriteHeader(w.status)
	if w.held.Len() > 0 {
		_, _ = w.ResponseWriter.Write(w.held.Bytes())
		w.held = bytes.Buffer{}
	}
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if w.swallow {
		return 0, errAnswerDropped
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.holding && w.held.Len()+len(p) > heldMax {
		w.release()
		if w.swallow {
			return 0, errAnswerDropped
		}
	}
	if room := w.limit - w.buf.Len(); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		w.buf.Write(p[:room])
	}
	if w.holding {
		w.held.Write(p)
		w.n += int64(len(p))
		return len(p), nil
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Flush lets streaming handlers (large CSV windows) push data out; a held
// answer is released first.
func (w *captureWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.WriteHeader(http.StatusOK)
		}
		w.release()
		if w.swallow {
			return
		}
		f.Flush()
	}
}

// Hijack lets fault rules reset or stall the connection.
func (w *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		w.release()
		if w.store != nil && !w.failing && w.store.Pending() {
			// A reset fault counts itself before it fires: that count
			// is on disk before the client sees the reset, or a crash
			// would let a rule for once fire twice.
			_ = w.store.Sync()
		}
		w.hijacked = true
		return h.Hijack()
	}
	return nil, nil, errors.New("connection cannot be hijacked")
}

// Unwrap serves http.ResponseController.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
