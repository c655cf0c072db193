package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/testexit"
)

// These tests drive the sandbox as a separate process, as a user would. The
// process is this test binary itself: started through a symlink named
// "sandbox", TestMain runs the CLI instead of the tests. That costs no second
// build of the module and its dependencies (a "go build" without the test's
// flags, -race in CI, compiles every package again in a cold build cache), and
// under -race the sandbox process is race-checked too. The Dockerfile's own
// build (static, CGO_ENABLED=0, -trimpath) is compiled and run by .ci/run.

var binPath string

// asSandbox is the name under which the test binary acts as the sandbox.
const asSandbox = "sandbox"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == asSandbox {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "sandbox-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, asSandbox)
	if err := os.Symlink(self, binPath); err != nil {
		panic(err)
	}
	// A race-enabled process sleeps a second before exiting so that late
	// races can still be reported; every CLI call here would pay it. The
	// children's races are reported at once anyway, and fail the test through
	// the race detector's exit status 66.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	code := m.Run()
	os.RemoveAll(dir)
	testexit.Exit(code)
}

// proc is a running sandbox process.
type proc struct {
	cmd  *exec.Cmd
	base string
	// https is the HTTPS listener's URL when it listens beside a plain one
	// (the banner's first line names both), else "".
	https  string
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the binary on a free loopback port and waits for its banner.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	baseCh := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "listening on "); i >= 0 && !sent {
				f := strings.Fields(line[i+len("listening on "):])
				urls := []string{f[0], ""}
				if f[1] == "and" {
					urls[1] = f[2]
				}
				baseCh <- urls
				sent = true
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case urls := <-baseCh:
		p.base, p.https = urls[0], urls[1]
	case err := <-p.done:
		t.Fatalf("sandbox exited before listening: %v\n%s", err, p.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("no banner within 20s; stderr:\n%s", p.stderr.String())
	}
	return p
}

func (p *proc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		t.Fatalf("sandbox did not exit after SIGTERM; stderr:\n%s", p.stderr.String())
		return -1
	}
}

func runBin(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errb.String()
}

func TestServeHealthAndGracefulShutdown(t *testing.T) {
	t.Parallel()
	p := start(t)
	resp, err := http.Get(p.base + "/__sandbox/health")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h["status"] != "ok" {
		t.Fatalf("health: %d %v", resp.StatusCode, h)
	}
	if code, out, _ := runBin(t, nil, "health", "--url", p.base+"/__sandbox/health"); code != 0 || !strings.Contains(out, "healthy") {
		t.Fatalf("sandbox health = %d %q", code, out)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Errorf("no shutdown log line:\n%s", p.stderr.String())
	}
	if code, _, _ := runBin(t, nil, "health", "--url", p.base+"/__sandbox/health", "--timeout", "1s"); code != 1 {
		t.Fatalf("health of a stopped sandbox = %d, want 1", code)
	}
}

// SIGTERM while a request is in flight: the request finishes, then the
// process exits 0.
func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	t.Parallel()
	p := start(t)
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", p.base+"/centili/realms/api", nil)
		req.Header.Set("Prefer", "delay=1500ms") // the sandbox holds the request
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	time.Sleep(400 * time.Millisecond) // let the request reach the sandbox
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.stderr.String())
	}
	r := <-done
	if r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request: status %d, err %v", r.status, r.err)
	}
}

// With --log-format json every line on both streams is a JSON object: the
// banner is one record on stdout, logs and access lines are on stderr.
func TestJSONLogsAndEnvAddress(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binPath, "--log-format", "json", "--log-level", "debug")
	cmd.Env = append(os.Environ(), "SANDBOX_ADDR=127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rd := bufio.NewReader(stdout)
	line, err := rd.ReadString('\n')
	var banner struct {
		Msg, URL, Scenario string
		Mounts             map[string]string
		Credentials        map[string][]struct{ Label, Value string }
	}
	if err != nil || json.Unmarshal([]byte(line), &banner) != nil || banner.Msg != "listening" ||
		!strings.HasPrefix(banner.URL, "http://127.0.0.1:") || banner.Scenario != "default" {
		t.Fatalf("banner %q: %v", line, err)
	}
	if banner.Mounts["centili"] != banner.URL+"/centili" || len(banner.Mounts) != 4 {
		t.Errorf("banner mounts %v", banner.Mounts)
	}
	if c := banner.Credentials["netfinity"]; len(c) == 0 || c[1].Label != "token" || !strings.HasPrefix(c[1].Value, "Bearer sandbox-netfinity-token ") {
		t.Errorf("netfinity credentials in the banner: %+v", c)
	}
	resp, err := http.Get(banner.URL + "/centili/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(rd)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	if len(rest) != 0 {
		t.Errorf("stdout after the banner: %q", rest)
	}
	var sawAccess bool
	for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil {
			t.Errorf("log line is not JSON: %q", l)
		}
		if m["msg"] == "request" {
			sawAccess = true
			want := map[string]any{"method": "GET", "path": "/centili/nowhere", "namespace": "default", "provider": "centili",
				"operation": "", "status": 404.0, "faults": []any{}, "request_id": resp.Header.Get("X-Sandbox-Request-Id")}
			for k, v := range want {
				if fmt.Sprint(m[k]) != fmt.Sprint(v) {
					t.Errorf("access record %s = %v, want %v (%s)", k, m[k], v, l)
				}
			}
			if d, ok := m["duration_ms"].(float64); !ok || d <= 0 {
				t.Errorf("access record duration_ms = %v", m["duration_ms"])
			}
		}
	}
	if !sawAccess {
		t.Errorf("no access record:\n%s", errb.String())
	}
}

// In text mode the access log is on by default, one key=value line per
// request; --access-log=false turns it off.
func TestAccessLogText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--access-log=false"}, false}} {
		p := start(t, tc.args...)
		resp, err := http.Get(p.base + "/ns/ci-7/__sandbox/requests/req_nope")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if code := p.stop(t); code != 0 {
			t.Fatalf("exit %d", code)
		}
		id := resp.Header.Get("X-Sandbox-Request-Id")
		want := ` level=INFO msg=request method=GET path=/ns/ci-7/__sandbox/requests/req_nope namespace=ci-7 provider=admin operation=/requests/{id} status=404 duration_ms=`
		var line string
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(l, "msg=request ") {
				line = l
			}
		}
		if got := line != ""; got != tc.want {
			t.Fatalf("%v: access line present = %v, want %v:\n%s", tc.args, got, tc.want, p.stderr.String())
		}
		if tc.want && (!strings.Contains(line, want) || !strings.HasSuffix(line, " request_id="+id+` faults=""`)) {
			t.Errorf("access line\n%s\nwant it to contain\n%s ... request_id=%s faults=\"\"", line, want, id)
		}
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	code, out, _ := runBin(t, nil, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"-addr", "-scenario", "-log-format", "-log-level", "-journal-size", "-journal-memory", "-journal-header-bytes", "-max-namespaces", "-namespace-idle", "-shutdown-timeout", "-watch", "-access-log", "-version", "-admin-token", "-allowed-hosts", "-https-addr", "-tls-cert", "-tls-key", "-data-dir", "scenario validate", "intarget verify", "sandbox ca"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestBadFlagsAndCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--log-format", "xml"}, 2, "--log-format \"xml\""},
		{[]string{"--log-level", "loud"}, 2, "--log-level \"loud\""},
		{[]string{"--addr", "127.0.0.1:0", "--scenario", "/does/not/exist.yaml"}, 1, "no such file"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"scenario"}, 2, "usage"},
		{[]string{"--addr", "127.0.0.1:0", "--watch"}, 2, "--watch needs --scenario"},
		{[]string{"--journal-memory", "lots"}, 2, `invalid value "lots" for flag -journal-memory: "lots" is not a size such as 256MiB or 1GiB`},
		{[]string{"--journal-memory", "0"}, 2, `"0" is not a size such as 256MiB or 1GiB`},
		{[]string{"--addr", "127.0.0.1:0", "--admin-token", "two words"}, 1, "sandbox: --admin-token: the token may hold only visible ASCII characters (no spaces)"},
		{[]string{"--addr", "127.0.0.1:0", "--allowed-hosts", "sandbox,http://x/"}, 1, `sandbox: --allowed-hosts: "http://x/" is a host name`},
		{[]string{"--addr", ""}, 2, `sandbox: --addr "" needs --https-addr ADDR: the sandbox would listen nowhere`},
		{[]string{"--https-addr", "127.0.0.1:0", "--tls-cert", "c.pem"}, 2, "sandbox: --tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, 2, "sandbox: --tls-cert is for the HTTPS listener: add --https-addr ADDR"},
		{[]string{"--addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0", "--tls-cert", "/does/not/exist.pem", "--tls-key", "/does/not/exist.pem"}, 1, "sandbox: --tls-cert/--tls-key: open /does/not/exist.pem: no such file or directory"},
		{[]string{"ca", "extra"}, 2, `sandbox ca: unexpected argument "extra"`},
	}
	for _, tc := range tests {
		code, _, errOut := runBin(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tc.args, code, tc.code, errOut, tc.msg)
		}
	}
}

// TestJournalMemoryFlag reads sizes with units, binary and decimal.
func TestJournalMemoryFlag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"256MiB": 256 << 20, "1GiB": 1 << 30, "500MB": 500e6, "1048576": 1 << 20, "64 KiB": 64 << 10} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
}

func TestScenarioValidate(t *testing.T) {
	t.Parallel()
	shipped, _ := filepath.Glob("../../scenarios/*.yaml")
	if len(shipped) == 0 {
		t.Fatal("no shipped scenarios found")
	}
	code, out, errOut := runBin(t, nil, append([]string{"scenario", "validate"}, shipped...)...)
	if code != 0 {
		t.Fatalf("shipped scenarios invalid (exit %d):\n%s%s", code, out, errOut)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nname: bad\nclock:\n  frozn: true\nseed: lots\n"), 0o644)
	code, _, errOut = runBin(t, nil, "scenario", "validate", bad)
	if code != 1 {
		t.Fatalf("invalid scenario: exit %d", code)
	}
	for _, want := range []string{
		bad + `:4: clock.frozn: unknown key "frozn" (hint: did you mean "frozen"?)`,
		bad + `:5: seed: "lots" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`,
		"invalid (2 problem(s))",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
	// An invalid --scenario refuses to start, printing the same problems.
	code, _, errOut = runBin(t, nil, "--addr", "127.0.0.1:0", "--scenario", bad)
	if code != 1 || !strings.Contains(errOut, "clock.frozn") {
		t.Fatalf("serve with invalid scenario: exit %d, %s", code, errOut)
	}
	// With JSON logs the refusal is one JSON record listing every problem.
	code, out, errOut = runBin(t, nil, "--addr", "127.0.0.1:0", "--log-format", "json", "--scenario", bad)
	var rec struct {
		Level, Msg string
		Problems   []string
	}
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || json.Unmarshal([]byte(errOut), &rec) != nil ||
		rec.Level != "ERROR" || rec.Msg != "invalid scenario" || len(rec.Problems) != 2 || !strings.Contains(rec.Problems[0], "clock.frozn") {
		t.Fatalf("serve --log-format json with invalid scenario: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
