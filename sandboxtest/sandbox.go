package sandboxtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sbhook"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all" // the four providers
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// EnvURL names the environment variable that switches New from an
// in-process sandbox to a running one: its root URL, such as
// http://127.0.0.1:8080 (a CI service container, a shared sandbox).
const EnvURL = "SANDBOX_URL"

// Sandbox is one test's sandbox: its own in-process server, or its own
// namespace on the sandbox at SANDBOX_URL. Every method may be called from
// any goroutine; the ones that fail the test (Fatalf) must be called from
// the test's own goroutine, as testing.T requires.
type Sandbox struct {
	t         testing.TB
	base      string // URL(): every mount lives under it
	root      string // the sandbox's own root: the httptest server or SANDBOX_URL
	namespace string
	shared    bool // on SANDBOX_URL rather than in process
	client    *http.Client
	server    *sandbox.Server                  // in-process only
	http      *httptest.Server                 // in-process only
	done      atomic.Bool                      // the test has ended: the checking client reports nothing more
	ac        *adminclient.ClientWithResponses // the namespace's admin API
	rootAC    *adminclient.ClientWithResponses // the sandbox's, outside any namespace
}

// Option configures New.
type Option func(*config)

type config struct {
	scenarioName string
	scenario     []byte // nil: the embedded default (in process) or the running sandbox's template
	clock        *time.Time
	faults       []Fault
	namespace    string
	fromFile     bool                  // scenario read from the file scenarioName: its snapshot: key is read
	inProcess    bool                  // the project's own harness: never SANDBOX_URL
	configure    func(*sandbox.Config) // the project's own harness: command-line settings
	err          error
}

// WithScenarioFile loads the scenario file at path (YAML or JSON) instead
// of the default one. An invalid file fails the test with every problem
// and its line.
func WithScenarioFile(path string) Option {
	return func(c *config) {
		data, err := os.ReadFile(path)
		if err != nil {
			c.err = fmt.Errorf("reading scenario: %w", err)
			return
		}
		c.scenarioName, c.scenario, c.fromFile = path, data, true
	}
}

// WithScenarioYAML loads a scenario given as text (YAML or JSON).
func WithScenarioYAML(yaml string) Option {
	return func(c *config) { c.scenarioName, c.scenario = "scenario given to sandboxtest.New", []byte(yaml) }
}

// WithClock starts the sandbox clock frozen at start. It becomes part of
// the namespace's scenario (clock.start and clock.frozen), so Reset comes
// back to it. Move the clock with Advance or SetClock; Unfreeze lets it run.
func WithClock(start time.Time) Option {
	return func(c *config) { c.clock = &start }
}

// WithFault adds a fault rule after the scenario's own. Like WithClock it
// becomes part of the namespace's scenario, so Reset keeps it (ClearFaults
// removes it until the next Reset); AddFault adds one at run time instead.
func WithFault(f Fault) Option {
	return func(c *config) { c.faults = append(c.faults, f) }
}

// WithNamespace names the namespace instead of deriving a fresh name from
// the test's name. With SANDBOX_URL, New deletes a namespace of that name
// first, so that the test starts from the scenario's initial state, and
// deletes it again when the test ends. In process, the sandbox serves the
// test under /ns/<name> on its own server.
func WithNamespace(name string) Option {
	return func(c *config) { c.namespace = name }
}

// New starts a sandbox for the test and closes it when the test ends.
//
// Without SANDBOX_URL, the sandbox runs in this process on a loopback
// httptest.Server of its own (a few milliseconds), with the embedded default
// scenario unless an option gives one. With SANDBOX_URL set, New uses that
// sandbox instead, in a namespace of its own named after the test (plus a
// random suffix), loads the scenario there if an option gives one, and
// deletes the namespace when the test ends. Either way the test sees one
// world nobody else touches, so tests that call New may run in parallel.
func New(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.err != nil {
		t.Fatalf("sandboxtest.New: %v", c.err)
	}
	if c.namespace != "" && !sandbox.ValidNamespaceName(c.namespace) {
		t.Fatalf("sandboxtest.New: namespace %q must match %s", c.namespace, namespacePattern)
	}
	var sb *Sandbox
	if root := os.Getenv(EnvURL); root != "" && !c.inProcess {
		sb = newShared(t, strings.TrimRight(root, "/"), &c)
	} else {
		sb = newInProcess(t, &c)
	}
	if c.clock != nil || len(c.faults) > 0 {
		sb.patchScenario(c.clock, c.faults)
	}
	return sb
}

// namespacePattern is the rule for namespace names (as the sandbox answers a
// bad one).
const namespacePattern = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

// defaultScenario is the embedded default scenario, parsed once per
// process: it is read-only once loaded, and parsing it is a large part of
// what New costs.
var defaultScenario = sync.OnceValues(func() (*sandbox.Scenario, error) {
	sc, probs := sandbox.LoadScenario("default.yaml", scenarios.Default())
	if len(probs) > 0 {
		return nil, probs
	}
	return sc, nil
})

func newInProcess(t testing.TB, c *config) *Sandbox {
	t.Helper()
	var sc *sandbox.Scenario
	if c.scenario == nil {
		var err error
		if sc, err = defaultScenario(); err != nil {
			t.Fatalf("sandboxtest.New: the embedded default scenario is invalid: %v", err)
		}
	} else {
		var probs scenario.Problems
		load := sandbox.LoadScenario
		if c.fromFile {
			load = sandbox.LoadScenarioFile
		}
		if sc, probs = load(c.scenarioName, c.scenario); len(probs) > 0 {
			t.Fatalf("sandboxtest.New: scenario %s is invalid:\n%s", c.scenarioName, probs.Error())
		}
	}
	cfg := sandbox.Config{Scenario: sc, Library: scenarios.FS}
	if c.configure != nil {
		c.configure(&cfg)
	}
	srv, err := sandbox.New(cfg)
	if err != nil {
		t.Fatalf("sandboxtest.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	sb := &Sandbox{t: t, root: hs.URL, base: hs.URL, namespace: sandbox.DefaultNamespace, server: srv, http: hs}
	if c.namespace != "" {
		sb.namespace, sb.base = c.namespace, hs.URL+"/ns/"+c.namespace
	}
	sb.client = &http.Client{Transport: &checkingTransport{sb: sb, next: hs.Client().Transport}}
	sb.newAdmin()
	t.Cleanup(func() {
		sb.done.Store(true)
		srv.CloseStreams() // an open event stream would keep hs.Close waiting
		hs.Close()
		srv.Close()
	})
	return sb
}

// sharedTransport carries every SANDBOX_URL sandbox's requests: one pool of
// connections to the shared sandbox for the whole test binary.
var sharedTransport = http.DefaultTransport.(*http.Transport).Clone()

func newShared(t testing.TB, root string, c *config) *Sandbox {
	t.Helper()
	if u, err := url.Parse(root); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Fatalf("sandboxtest.New: %s=%q is not an http(s) URL such as http://127.0.0.1:8080", EnvURL, root)
	}
	name, explicit := c.namespace, c.namespace != ""
	if !explicit {
		name = namespaceFor(t.Name())
	}
	sb := &Sandbox{t: t, root: root, base: root + "/ns/" + name, namespace: name, shared: true}
	sb.client = &http.Client{Transport: &checkingTransport{sb: sb, next: sharedTransport}}
	sb.newAdmin()
	if explicit {
		sb.deleteNamespace() // left over from an earlier run: start afresh
	}
	t.Cleanup(func() {
		sb.deleteNamespace()
		sb.done.Store(true)
	})
	if c.scenario != nil {
		sb.loadScenario(c.scenarioName, c.scenario)
	} else {
		res, err := sb.ac.GetHealthWithResponse(ctx) // creates the namespace, or says why not
		sb.must("creating namespace "+name, err, res.HTTPResponse, res.Body, http.StatusOK)
	}
	return sb
}

// notNamespace matches what a namespace name may not contain.
var notNamespace = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// namespaceFor derives a fresh namespace name from a test's name:
// TestGift/over_limit becomes TestGift-over_limit-3f9a1c, within the 64
// characters a name may have. The random suffix keeps reruns and
// identically named tests of other packages apart on a shared sandbox.
func namespaceFor(testName string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	suffix := "-" + hex.EncodeToString(b[:])
	name := strings.Trim(notNamespace.ReplaceAllString(testName, "-"), "-._")
	if name == "" {
		name = "test"
	}
	if max := 64 - len(suffix); len(name) > max {
		name = strings.TrimRight(name[:max], "-._")
	}
	return name + suffix
}

// URL is the base of every provider mount and of the admin API:
// URL()+"/centili/...", URL()+"/__sandbox/...". With SANDBOX_URL it is
// SANDBOX_URL+"/ns/<namespace>". Give it to the code under test as its
// providers' base URL.
func (sb *Sandbox) URL() string { return sb.base }

// Namespace is the namespace the test runs in ("default" in process unless
// WithNamespace names one).
func (sb *Sandbox) Namespace() string { return sb.namespace }

// Shared reports whether the sandbox is the one at SANDBOX_URL (the test
// has a namespace there) rather than a server in this process.
func (sb *Sandbox) Shared() bool { return sb.shared }

// HTTPClient returns a client whose every answer from the sandbox is
// checked against the OpenAPI document of the operation it answers
// (status documented, headers and body as the schema says; admin answers
// against the admin API's document). A mismatch fails the test with
// t.Errorf, naming the operation and what is wrong; the response is handed
// to the caller unchanged. Requests to other hosts pass unchecked. Give it
// to the code under test (or wrap its Transport) to hold both sides to the
// documents.
func (sb *Sandbox) HTTPClient() *http.Client { return sb.client }

func init() {
	sbhook.NewInProcess = func(t testing.TB, name string, data []byte, fromFile bool, configure func(*sandbox.Config)) sbhook.InProcess {
		t.Helper()
		sb := New(t, func(c *config) {
			c.inProcess, c.scenarioName, c.scenario, c.fromFile, c.configure = true, name, data, fromFile, configure
		})
		return sbhook.InProcess{Sandbox: sb, Server: sb.server, HTTP: sb.http}
	}
	sbhook.CheckResponse = checkResponse
}
