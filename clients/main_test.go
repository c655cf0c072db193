package clients_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/testexit"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all" // the providers' documents, for checkJournal
)

// Bounds. Each is a hang guard, not a speed target: a library that waits on
// an unreachable host fails its test instead of the run's -timeout.
const (
	buildTimeout  = 5 * time.Minute
	startTimeout  = 20 * time.Second
	scriptTimeout = 60 * time.Second
)

// The default scenario's credentials (scenarios/default.yaml), as a user
// copies them from docs/netrefer.md and docs/centili.md.
const (
	nrTenant       = "0e0b50ac-5253-4347-b528-251b2f17cfc6"
	nrClientID     = "5a324196-7727-45fd-8ac3-1436cd541d76"
	nrSecret       = "sandbox-netrefer-secret"
	nrUser         = "operator@sandbox.test"
	nrPassword     = "sandbox-password"
	nrScope        = "api://" + nrClientID + "/Events.Injestion"
	nrSubKey       = "baea25a9f0fe4687845575c07e539a9e9"
	nrOID          = "28f2fcf2-ce8c-44b2-bb45-75795af51d9a" // derived from the seed and the user: stable
	ctUser         = "merchant@sandbox.test"
	ctPassword     = "sandbox-password"
	ctService      = "3586a2363bcd51a2b3c4d5f34918263a"
	ctConfidential = "datagifting-confidential"
	ctSecret       = "sandbox-centili-secret"
)

// sandboxBin is the binary the tests start, built once by TestMain.
var sandboxBin string

// TestMain builds the sandbox as the Dockerfile and .ci/run do (static,
// CGO_ENABLED=0, -trimpath): the libraries meet the binary users run, and in
// CI the build reuses what .ci/run's own build compiled, so it only links.
func TestMain(m *testing.M) {
	testexit.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "clients-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clients test:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	sandboxBin = filepath.Join(dir, "sandbox")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", sandboxBin, "./cmd/sandbox")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "clients test: go build ./cmd/sandbox: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// proc is one running sandbox with both listeners.
type proc struct {
	plain, https string // http://127.0.0.1:PORT and https://127.0.0.1:PORT
	dataDir      string
	caPEM        []byte // what "sandbox ca --data-dir" printed on stdout
	caFile       string // caPEM, written where the test keeps it
	output       *lockedBuffer
}

// banner is the first line the sandbox prints: both listeners' URLs (see
// cmd/sandbox's banner; .ci/run's start_sandbox reads it the same way).
var banner = regexp.MustCompile(`^provider-sandbox \S+ listening on (http://127\.0\.0\.1:[0-9]+) and (https://127\.0\.0\.1:[0-9]+) \(scenario`)

// startSandbox runs the binary on free loopback ports with a data directory
// of the test's own (its own CA) and a journal that keeps whole bodies, so
// that checkJournal can check every answer. It is stopped when the test ends.
func startSandbox(t *testing.T) *proc {
	t.Helper()
	p := &proc{dataDir: t.TempDir(), output: &lockedBuffer{}}
	cmd := exec.Command(sandboxBin, "--addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0",
		"--data-dir", p.dataDir, "--access-log=false", "--journal-body-bytes", "65536")
	cmd.SysProcAttr = childProcAttr()
	cmd.Stderr = p.output
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	urls := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for first := true; sc.Scan(); first = false {
			p.output.Write(append(sc.Bytes(), '\n'))
			if first {
				urls <- banner.FindStringSubmatch(sc.Text())
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(startTimeout):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case m := <-urls:
		if m == nil {
			t.Fatalf("the sandbox's first line is not the banner with both URLs:\n%s", p.output)
		}
		p.plain, p.https = m[1], m[2]
	case <-exited:
		t.Fatalf("the sandbox exited before listening:\n%s", p.output)
	case <-time.After(startTimeout):
		t.Fatalf("no banner within %v:\n%s", startTimeout, p.output)
	}

	ca := exec.Command(sandboxBin, "ca", "--data-dir", p.dataDir)
	var stderr bytes.Buffer
	ca.Stderr = &stderr
	if p.caPEM, err = ca.Output(); err != nil || !bytes.HasPrefix(p.caPEM, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("sandbox ca --data-dir %s: %v\n%s%s", p.dataDir, err, p.caPEM, stderr.String())
	}
	p.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p.caFile, p.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// journal is every exchange namespace ns ("" for default) recorded, oldest
// first, read over the plain listener.
func (p *proc) journal(t *testing.T, ns string) []adminclient.Entry {
	t.Helper()
	ac, err := adminclient.NewClientWithResponses(p.plain + nsPrefix(ns) + "/__sandbox")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ac.ListRequestsWithResponse(t.Context(), &adminclient.ListRequestsParams{})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("GET /__sandbox/requests: %d %s", res.StatusCode(), res.Body)
	}
	if res.HTTPResponse.Header.Get("Link") != "" {
		t.Fatalf("the journal has more than one page of entries: a test makes a few dozen requests")
	}
	entries := slices.Clone(*res.JSON200)
	slices.SortFunc(entries, func(a, b adminclient.Entry) int { return strings.Compare(a.ID, b.ID) })
	return entries
}

// checkJournal holds every answer the libraries got to the provider's
// OpenAPI document (the check sandboxtest's HTTP client makes on each answer
// a Go test receives; these answers went to Node and Python) and returns
// the operations in the order they were called. Secrets in the journal are
// replaced by marks that are still strings of the same JSON shape.
func checkJournal(t *testing.T, p *proc, ns string) []string {
	t.Helper()
	var ops []string
	for _, e := range p.journal(t, ns) {
		req, res := e.Request, e.Response
		if deref(req.Truncated) || deref(res.Truncated) {
			t.Errorf("%s: body cut in the journal; --journal-body-bytes is too small to check it", e.ID)
			continue
		}
		u := &url.URL{Path: deref(req.Path), RawQuery: deref(req.Query)}
		r, err := http.NewRequest(deref(req.Method), p.plain+u.String(), strings.NewReader(req.Body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header = http.Header(deref(req.Headers))
		op := deref(e.Operation)
		matched, err := sandbox.CheckResponse(r, deref(res.Status), http.Header(deref(res.Headers)), []byte(res.Body))
		if err != nil {
			t.Errorf("%s: %v\nbody: %s", e.ID, err, res.Body)
		} else if op != "" && !matched {
			t.Errorf("%s: operation %s, but its answer matched no operation of the documents: not checked", e.ID, op)
		}
		if op == "" {
			op = fmt.Sprintf("%s %s → %d", deref(req.Method), deref(req.Path), deref(res.Status))
		}
		ops = append(ops, op)
	}
	return ops
}

// nsPrefix is the path prefix of namespace ns: "" for the default one.
func nsPrefix(ns string) string {
	if ns == "" {
		return ""
	}
	return "/ns/" + ns
}

// publicClients loads the default scenario with NetRefer's app registration
// allowing public client flows (allowPublicClient) into namespace ns, as a CI
// job that tests a public client would.
func (p *proc) publicClients(t *testing.T, ns string) {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "scenarios", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(def), "allowPublicClient: false", "allowPublicClient: true", 1)
	if yaml == string(def) {
		t.Fatal("scenarios/default.yaml no longer says allowPublicClient: false")
	}
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", p.plain+nsPrefix(ns)+"/__sandbox/scenario", strings.NewReader(yaml))
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s/__sandbox/scenario: %d %s", nsPrefix(ns), resp.StatusCode, body)
	}
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// missing skips the test for want, or fails it when CI is set: .ci/run
// installs every library, so there a missing one is a broken recipe.
func missing(t *testing.T, want string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and %s", want)
	}
	t.Skipf("skipping: %s", want)
}

// script is one run of a Node or Python script: its exit status, its
// stdout decoded into out when it exited 0, and its stderr.
type script struct {
	err    error
	stdout string
	stderr string
}

// run starts argv with cfg as JSON in its last argument, in an environment
// of only PATH, HOME and env: no proxy, no NODE_TLS_REJECT_UNAUTHORIZED, no
// OAUTHLIB_INSECURE_TRANSPORT, no CA bundle other than the one env names.
// When the script exits 0, its stdout must be one JSON object, decoded into
// out.
func run(t *testing.T, dir string, env []string, cfg, out any, argv ...string) script {
	t.Helper()
	arg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], string(arg))...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	cmd.SysProcAttr = childProcAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	s := script{err: cmd.Run(), stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %v\nstdout: %s\nstderr: %s", filepath.Base(argv[len(argv)-1]), scriptTimeout, s.stdout, s.stderr)
	}
	if s.err == nil && out != nil {
		dec := json.NewDecoder(strings.NewReader(s.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(out); err != nil {
			t.Fatalf("%s printed what is not the expected JSON (%v):\n%s", argv[len(argv)-1], err, s.stdout)
		}
	}
	return s
}

// mustSucceed fails the test with the script's output when it failed.
func (s script) mustSucceed(t *testing.T, what string) {
	t.Helper()
	if s.err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", what, s.err, s.stdout, s.stderr)
	}
}

// mustFailWith fails the test unless the script failed and its stderr has
// every one of want.
func (s script) mustFailWith(t *testing.T, what string, want ...string) {
	t.Helper()
	if s.err == nil {
		t.Fatalf("%s succeeded, want a failure with %q\nstdout: %s", what, want, s.stdout)
	}
	for _, w := range want {
		if !strings.Contains(s.stderr, w) {
			t.Errorf("%s: stderr lacks %q:\n%s", what, w, s.stderr)
		}
	}
}

// jwtClaims is the payload of a JWT as the scripts print it.
type jwtClaims map[string]any

// want reports the claims of c that differ from want's.
func (c jwtClaims) want(t *testing.T, what string, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got, ok := c[k]; !ok || fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("%s: claim %s = %v, want %v", what, k, got, v)
		}
	}
}

// registration is a one-event NetRefer batch with its own event and
// customer id.
func registration(id string) []map[string]any {
	return []map[string]any{{"eventId": "ev-" + id, "customerId": "cust-" + id, "brandId": 1,
		"timestamp": "2026-11-22T10:00:00Z", "registrationDate": "2026-11-22T10:00:00Z",
		"countryCode": "MT", "currency": "EUR", "bTag": ""}}
}

// accepted is NetRefer's answer to a one-event batch that was accepted.
func accepted(id string) map[string]any {
	return map[string]any{"received": 1.0, "accepted": 1.0, "rejected": 0.0,
		"results": []any{map[string]any{"index": 0.0, "eventId": "ev-" + id, "status": "Accepted"}}}
}

// lockedBuffer collects a process's output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
