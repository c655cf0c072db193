package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/store"
)

// Config holds the server's settings (command-line flags, not scenario).
type Config struct {
	// Scenario is the template for every namespace. Required.
	Scenario *Scenario
	// JournalSize is the number of entries each namespace keeps (default 10,000).
	JournalSize int
	// JournalBodyBytes is how much of each body the journal keeps (default 4 KiB).
	JournalBodyBytes int
	// JournalHeaderBytes bounds the header names and values the journal
	// keeps of one request or response (default 16 KiB), and
	// JournalHeaderValueBytes one header value (default 4 KiB): a client
	// sending megabytes of headers cannot make the journal keep them.
	JournalHeaderBytes      int
	JournalHeaderValueBytes int
	// JournalMemory bounds the bytes every namespace's journal keeps
	// together (default 256 MiB); past it the oldest entry of any
	// namespace is evicted first. JournalSize still bounds each one.
	JournalMemory int64
	// MaxNamespaces bounds the namespaces users create under /ns/ (default
	// 256); default, which always exists, is not counted.
	MaxNamespaces int
	// NamespaceIdle is how long an unused namespace lives (default 30 min).
	NamespaceIdle time.Duration
	// Version is reported by GET /__sandbox/version.
	Version string
	Logger  *slog.Logger
	// AccessLog, when set, is called once for every finished request (see
	// Exchange), on the request's goroutine: keep it quick. The command
	// line's access log is built on it; nil costs nothing.
	AccessLog func(Exchange)
	// AdminToken, when set, is required by the admin API, the dashboard and
	// the landing page: Authorization: Bearer TOKEN, or the cookie a
	// browser gets by opening a page once with ?token=TOKEN. Provider
	// mounts never ask for it.
	AdminToken string
	// AllowedHosts are the Host names, beyond loopback names and IP
	// addresses, that the admin API, the dashboard and the landing page
	// answer (DNS rebinding protection); ".example.test" also allows its
	// subdomains and "*" every host. Left empty with AdminToken set, every
	// host is allowed: a rebinding page has no token.
	AllowedHosts []string
	// Hosts routes requests by their Host header to the provider that owns
	// the name (login.microsoftonline.com → NetRefer), whatever the
	// scenario's hosts.enabled says (--hosts). The scenario may rename the
	// hosts; see docs/hosts.md.
	Hosts bool
	// TunnelTLS is the server side of the TLS the sandbox terminates in a
	// CONNECT tunnel to a provider host (HTTPS_PROXY pointing at the
	// sandbox): certificates a client trusts for the providers' names. It
	// is called on the first CONNECT (the CLI loads the local CA then);
	// nil, or an error, answers CONNECT 502 saying so.
	TunnelTLS func() (*tls.Config, error)
	// Store, when set, is the data directory's database (--data-dir):
	// every namespace is kept there, each answer waits until what it
	// acknowledged is on disk, and New rebuilds the namespaces a previous
	// process had (durable.go). The caller opens and closes it; close it
	// after Server.Close.
	Store *store.Store
	// Library holds the shipped scenarios (*.yaml at its root), listed by
	// GET /__sandbox/scenarios for the dashboard's scenario switcher; nil
	// lists none.
	Library fs.FS
}

// Server is the sandbox's HTTP handler.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mounts map[string]*mount
	admin  *mux.Router
	tmpl   atomic.Pointer[Scenario]
	spaces namespaces
	seq    atomic.Uint64
	// idLimit is the highest request id reserved in the data directory;
	// idMu serialises reserving the next block (durable.go).
	idLimit  atomic.Uint64
	idMu     sync.Mutex
	stopOnce sync.Once
	stop     chan struct{}
	// streamsStop ends every event stream: closed by CloseStreams, which
	// Shutdown calls before it waits for requests to finish (a stream
	// never finishes on its own).
	streamsStop chan struct{}
	streamsOnce sync.Once
	stream      streamSettings
	// journalBudget is shared by every namespace's journal (JournalMemory).
	journalBudget *journal.Budget
	journalCaps   journal.Caps
	access        adminAccess
	// routeBodies maps each admin route's name ("PUT /scenario") to the
	// body types it reads.
	routeBodies map[string]BodyTypes
	// metrics are served by GET /__sandbox/metrics (metrics.go).
	metrics *metrics
	// tunnels are the open CONNECT tunnels, closed by Close.
	tunnels tunnelSet
}

// DefaultJournalMemory is Config.JournalMemory's default: 256 MiB.
const DefaultJournalMemory = 256 << 20

// New compiles every registered provider and returns a ready handler. A
// provider whose spec is invalid or has operations without handlers makes
// New fail: that is a start-up error, not a silent 404 later.
func New(cfg Config) (*Server, error) {
	if cfg.Scenario == nil {
		return nil, errors.New("sandbox: a scenario is required")
	}
	if cfg.JournalSize <= 0 {
		cfg.JournalSize = 10000
	}
	if cfg.JournalBodyBytes <= 0 {
		cfg.JournalBodyBytes = journal.DefaultBodyBytes
	}
	if cfg.JournalHeaderBytes <= 0 {
		cfg.JournalHeaderBytes = journal.DefaultHeaderBytes
	}
	if cfg.JournalHeaderValueBytes <= 0 {
		cfg.JournalHeaderValueBytes = journal.DefaultHeaderValueBytes
	}
	if cfg.JournalMemory <= 0 {
		cfg.JournalMemory = DefaultJournalMemory
	}
	if cfg.MaxNamespaces <= 0 {
		cfg.MaxNamespaces = 256
	}
	if cfg.NamespaceIdle <= 0 {
		cfg.NamespaceIdle = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mounts: map[string]*mount{}, stop: make(chan struct{}), streamsStop: make(chan struct{}),
		stream: streamSettings{buffer: defaultEventBuffer, keepalive: defaultKeepalive, pace: defaultEventPace, writeStall: defaultWriteStall}}
	s.journalBudget = journal.NewBudget(cfg.JournalMemory)
	s.journalCaps = journal.Caps{BodyBytes: cfg.JournalBodyBytes, HeaderBytes: cfg.JournalHeaderBytes, HeaderValueBytes: cfg.JournalHeaderValueBytes}
	s.spaces = namespaces{byID: map[string]*Namespace{}, max: cfg.MaxNamespaces, idle: cfg.NamespaceIdle}
	access, err := newAdminAccess(cfg.AdminToken, cfg.AllowedHosts)
	if err != nil {
		return nil, err
	}
	s.access = access
	// Every spec is parsed and validated before New returns, so a broken
	// document fails start-up instead of the first request; in parallel.
	if err := CompileAll(); err != nil {
		return nil, err
	}
	for _, p := range Providers() {
		m, err := compiled(p)
		if err != nil {
			return nil, err
		}
		s.mounts[p.Name] = m
	}
	s.tmpl.Store(cfg.Scenario)
	s.metrics = newMetrics(s)
	s.admin = s.adminRouter()
	if cfg.Store != nil {
		if err := s.openStore(); err != nil {
			s.Close()
			return nil, err
		}
	}
	if _, err := s.namespace(DefaultNamespace); err != nil {
		return nil, err
	}
	go s.janitor()
	return s, nil
}

func (s *Server) template() *Scenario { return s.tmpl.Load() }

// Close stops background work and every namespace's timers and callbacks.
func (s *Server) Close() {
	s.CloseStreams()
	s.tunnels.close()
	s.stopOnce.Do(func() {
		close(s.stop)
		if s.cfg.Store != nil {
			s.closeSinks()
		}
		s.spaces.mu.Lock()
		live := make([]*Namespace, 0, len(s.spaces.byID))
		for _, ns := range s.spaces.byID {
			live = append(live, ns)
		}
		s.spaces.mu.Unlock()
		// In parallel: each may wait up to its provider's shutdown deadline
		// for callbacks in flight, and they should not add up. shutdown, not
		// close: a reset racing Close must not swap in a world nobody closes.
		var wg sync.WaitGroup
		for _, ns := range live {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ns.shutdown()
			}()
		}
		wg.Wait()
	})
}

// janitor evicts idle namespaces periodically.
func (s *Server) janitor() {
	every := s.cfg.NamespaceIdle / 4
	if every > time.Minute {
		every = time.Minute
	}
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.EvictIdle()
		}
	}
}

// Namespace returns (creating if needed) a namespace by name.
func (s *Server) Namespace(name string) (*Namespace, error) {
	if !ValidNamespaceName(name) {
		return nil, fmt.Errorf("invalid namespace name %q", name)
	}
	return s.namespace(name)
}

// ServeHTTP splits the path into namespace, mount and the provider's own path.
//
//	/ns/{namespace}/{mount}/... → namespace {namespace}
//	/{mount}/...                → namespace "default"
//	/__sandbox/...              → admin API
//
// With host routing on, a request whose Host is a provider host goes to
// that provider whatever its path (namespace from X-Sandbox-Namespace),
// and CONNECT to such a host opens a tunnel (proxy.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := s.nextID()
	w.Header().Set(HeaderRequestID, id)
	var t target
	ok := true
	if e, table, routed := s.providerHost(r.Host); routed {
		if r.Method == http.MethodConnect {
			s.serveConnect(w, r, e)
			return
		}
		t = hostTarget(r, e, table)
		ok = ValidNamespaceName(t.namespace)
	} else {
		if s.hostsOn() && s.refuseProxy(w, r) {
			return
		}
		t, ok = parseTarget(r.URL)
		if _, mounted := s.mounts[t.mount]; ok && !mounted {
			t.resolveAlias()
		}
	}
	journaled := false // reported by record, with the journal's view of it
	if s.cfg.AccessLog != nil {
		aw := &accessWriter{ResponseWriter: w}
		w = aw
		start := time.Now()
		defer func() {
			if journaled {
				return
			}
			provider := ""
			if _, known := s.mounts[t.mount]; known {
				provider = t.mount // refused before routing (503, bad name) but aimed at a mount
			} else if t.mount == adminMountName {
				provider = "admin"
			}
			s.cfg.AccessLog(Exchange{Start: start, Method: r.Method, Path: r.URL.Path, Namespace: t.namespace,
				Provider: provider, Operation: aw.operation, Status: aw.status, Duration: time.Since(start),
				RequestID: id, Faults: []string{}})
		}()
	}
	if ok && t.via == nil && t.mount == "" && t.rel == "/" {
		if s.checkAdminAccess(w, r) {
			s.serveLanding(w, r, t.namespace)
		}
		return
	}
	if !ok {
		detail := fmt.Sprintf("namespace %q must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}", t.namespace)
		if t.via != nil { // named by the header, not the path
			detail = HeaderNamespace + ": " + detail + " (send the header once, or leave it out for namespace default)"
		}
		writeProblem(w, http.StatusBadRequest, "Invalid namespace name", detail, nil)
		return
	}
	if t.via == nil && t.mount == adminMountName {
		s.serveAdmin(w, r, t)
		return
	}
	m, ok := s.mounts[t.mount]
	if !ok {
		// Answered before the namespace is looked up: a request that routes
		// nowhere must not create (or keep alive) a namespace.
		writeProblem(w, http.StatusNotFound, "Not found",
			fmt.Sprintf("no provider is mounted at /%s; mounts: %s", t.mount, strings.Join(s.mountNames(), ", ")), nil)
		return
	}
	if _, live := s.lookup(t.namespace); !live {
		if s.serveUnrouted(w, r, m, &t) {
			return
		}
		if why := crossSite(r); why != "" {
			// Any page can send an <img> or a form to a mount; were it to
			// create namespaces, 256 image tags would take every slot.
			writeProblem(w, http.StatusForbidden, "Cross-origin request refused", fmt.Sprintf(
				"namespace %q is not live, and a request another site's page sent (%s) does not create one: a web page must not take namespace slots; "+
					"create it first with any request from a script or a test (POST /ns/%s/__sandbox/reset), then pages may use it; see docs/security.md",
				t.namespace, why, t.namespace), nil)
			return
		}
	}
	ns, ok := s.namespaceOrFail(w, t.namespace)
	if !ok {
		return
	}
	journaled = true
	s.serveProvider(w, r, ns, m, &t)
}

// namespaceOrFail returns the named namespace, creating it on first use, or
// answers why it cannot: 503 with an honest Retry-After when every slot is
// taken by a namespace that is not idle yet.
func (s *Server) namespaceOrFail(w http.ResponseWriter, name string) (*Namespace, bool) {
	ns, err := s.namespace(name)
	if err == nil {
		return ns, true
	}
	if full := (*slotsFull)(nil); errors.As(err, &full) {
		s.metrics.refused.Inc()
		secs := int((full.wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeProblem(w, http.StatusServiceUnavailable, "Too many namespaces", full.detail(s.spaces.max, s.spaces.idle, secs), nil)
		return nil, false
	}
	s.log.Error("namespace creation failed", "namespace", name, "err", err)
	writeProblem(w, http.StatusInternalServerError, "Namespace could not be created", err.Error(), nil)
	return nil, false
}

// adminMountName is the first path segment of the admin API.
const adminMountName = "__sandbox"

// target is where a request's path points.
type target struct {
	namespace string // "default" for the bare mounts
	prefix    string // "/ns/{name}" or ""
	mount     string // provider name, or adminMountName
	rel       string // the path below the mount, starting with "/"
	// via is the provider host the request was routed by (nil: by path),
	// in hosts, the table in force; unmapped: no HostPath took its path.
	via      *hostEntry
	hosts    *hostTable
	unmapped bool
}

// parseTarget splits /ns/{namespace}/{mount}/{rest} (or /{mount}/{rest}).
// It reports false for an invalid namespace name, judged on the escaped
// path so that "a%2Fb" is refused rather than read as namespace "a" and
// mount "b".
func parseTarget(u *url.URL) (target, bool) {
	t := target{namespace: DefaultNamespace}
	path := u.Path
	if rest, ok := strings.CutPrefix(path, "/ns/"); ok {
		name, tail, _ := strings.Cut(rest, "/")
		escName, _, _ := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/ns/"), "/")
		t.namespace = name
		if !ValidNamespaceName(name) || escName != name {
			// The mount is still named, for the access log only.
			t.mount, _, _ = strings.Cut(tail, "/")
			return t, false
		}
		t.prefix, path = "/ns/"+name, "/"+tail
	}
	mount, rel, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	t.mount, t.rel = mount, "/"+rel
	return t, true
}

func (s *Server) mountNames() []string {
	out := make([]string, 0, len(s.mounts))
	for _, p := range Providers() {
		out = append(out, "/"+p.Name)
	}
	return out
}

// nextID returns a request id unique within the process: "req_" and the
// sequence number in at least 8 hex digits. The digits are formatted into
// their own buffer first; padding and digits must not share storage (they
// once did, and every id came out as req_00000000).
func (s *Server) nextID() string {
	n := s.seq.Add(1)
	if s.cfg.Store != nil {
		s.nextIDDurable(n)
	}
	return formatRequestID(n)
}

// formatRequestID builds "req_%08x" without fmt (one allocation).
func formatRequestID(n uint64) string {
	var digits [16]byte
	hex := strconv.AppendUint(digits[:0], n, 16)
	var buf [4 + 16]byte
	b := append(buf[:0], "req_"...)
	for i := len(hex); i < 8; i++ {
		b = append(b, '0')
	}
	b = append(b, hex...)
	return string(b)
}

// CloseStreams ends every open event stream (GET /__sandbox/events) and
// ends any opened afterwards at once. Call it
// before waiting for in-flight requests (http.Server.Shutdown,
// httptest.Server.Close), which would otherwise wait for the streams.
func (s *Server) CloseStreams() {
	s.streamsOnce.Do(func() { close(s.streamsStop) })
}

// Shutdown is a convenience for callers that own an http.Server: it shuts it
// down (letting in-flight requests finish) and then closes the sandbox.
func (s *Server) Shutdown(ctx context.Context, hs *http.Server) error {
	s.CloseStreams()
	err := hs.Shutdown(ctx)
	// CONNECT tunnels were hijacked from hs: their requests are drained here.
	err = errors.Join(err, s.tunnels.shutdown(ctx))
	s.Close()
	return err
}
