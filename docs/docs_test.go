//go:build unix

// Package docs holds the test that runs the repository's documentation.
//
// Every fenced block in README.md and docs/*.md that is a shell command, a
// console transcript or a scenario is executed against a real sandbox process
// (one per Markdown file, on a free 127.0.0.1 port), so a doc that drifts from
// the code fails CI. The conventions for writing blocks are in docs/README.md
// ("Writing examples"); this file is their implementation.
package docs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/testexit"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
)

// Defaults a block can override with markers.
const (
	defaultBlockTimeout = 30 * time.Second
	startTimeout        = 20 * time.Second
	// docPort is the address the docs are written against; it is rewritten
	// to the per-file sandbox's real address.
	docHostPort = "127.0.0.1:8080"
	// docHTTPSHostPort is the HTTPS listener the docs are written against
	// (--https-addr 127.0.0.1:8443); every file's sandbox has one too.
	docHTTPSHostPort = "127.0.0.1:8443"
	// docReceiverHostPort is where the docs' example callback receiver
	// listens; it is rewritten to a free port per file, so that two test runs
	// on one machine (or anything else on 9000) do not take each other's
	// pingbacks.
	docReceiverHostPort = "127.0.0.1:9000"
)

var (
	repoRoot string // absolute path of the repository
	binDir   string // holds the freshly built "sandbox" binary
)

// requiredTools are the programs the examples use. They are checked once so a
// missing one is one clear failure rather than a hundred confusing ones.
var requiredTools = []string{"sh", "curl", "jq", "python3"}

func TestMain(m *testing.M) {
	testexit.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "docs test:", err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "docs-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "docs test:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binDir = tmp
	// Build once: every block calls the binary as "sandbox" through PATH.
	// With the race detector's flag when this test binary has it, so that
	// the build reuses the packages "go test -race" has just compiled into
	// the build cache and only links; without it, a cold cache would compile
	// the whole module and its dependencies a second time.
	args := []string{"build", "-o", filepath.Join(binDir, "sandbox")}
	if raceEnabled {
		args = append(args, "-race")
		// A race-enabled process sleeps a second before it exits (to catch
		// late races); every sandbox call in the docs would pay it. Races
		// are still reported when they happen and set exit status 66.
		if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
			os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
		}
	}
	build := exec.Command("go", append(args, "./cmd/sandbox")...)
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "docs test: go build ./cmd/sandbox: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// docFiles lists the Markdown files whose examples are executed.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, _ := filepath.Rel(repoRoot, f)
		files = append(files, rel)
	}
	return files
}

// TestDocs runs every doc file's examples; files run in parallel, each with
// its own sandbox, and the blocks of one file run in order against it.
func TestDocs(t *testing.T) {
	for _, tool := range requiredTools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed; the docs' examples need it (.ci/run installs it)", tool)
		}
	}
	for _, file := range docFiles(t) {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(repoRoot, file))
			if err != nil {
				t.Fatal(err)
			}
			blocks, err := parseBlocks(file, string(src))
			if err != nil {
				t.Fatal(err)
			}
			if !anyRunnable(blocks) {
				return
			}
			d := newDocRun(t, file)
			for _, b := range blocks {
				if b.output() {
					continue // checked with the block it belongs to
				}
				t.Run(fmt.Sprintf("%s:%d", file, b.line), func(t *testing.T) { d.run(t, b) })
			}
		})
	}
}

// ---- parsing ----

// block is one fenced code block of a Markdown file.
type block struct {
	file    string
	line    int // line of the opening fence, 1-based
	end     int // line of the closing fence, 1-based
	lang    string
	markers map[string]string // words after the language; "k=v" or "k" (value "")
	body    string
	expect  *block // the output block that follows, if any
}

func (b *block) has(m string) bool { _, ok := b.markers[m]; return ok }
func (b *block) output() bool      { return b.has("output") }

// runnable says whether the block is executed (or, for YAML, validated).
func (b *block) runnable() bool {
	if b.has("norun") || b.output() {
		return false
	}
	switch b.lang {
	case "sh", "bash", "shell", "console":
		return true
	case "yaml", "yml":
		return !b.has("fragment")
	}
	return false
}

func anyRunnable(bs []*block) bool {
	for _, b := range bs {
		if b.runnable() || b.markers["file"] != "" {
			return true
		}
	}
	return false
}

// knownMarkers are the words a fence may carry after its language. Anything
// else is an error, so a misspelt "nroun" cannot silently run or skip a block.
var knownMarkers = map[string]bool{
	"norun": true, "fragment": true, "output": true, "subset": true,
	"exit": true, "fails": true, "timeout": true, "file": true, "invalid": true,
}

var fenceRE = regexp.MustCompile("^( {0,3})(```+|~~~+)[ \t]*(.*)$")

// parseBlocks finds the fenced blocks of a Markdown file, checks their
// markers and pairs every output block with the runnable block before it.
func parseBlocks(file, src string) ([]*block, error) {
	var blocks []*block
	var problems []string
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, fence, info := len(m[1]), m[2], strings.Fields(m[3])
		b := &block{file: file, line: i + 1, markers: map[string]string{}}
		if len(info) > 0 {
			b.lang = strings.ToLower(info[0])
			for _, w := range info[1:] {
				k, v, _ := strings.Cut(w, "=")
				if !knownMarkers[k] {
					problems = append(problems, fmt.Sprintf("%s:%d: unknown marker %q in the fence (known: norun, fragment, output, subset, exit=N, fails, timeout=D, file=NAME, invalid)", file, b.line, w))
				}
				b.markers[k] = v
			}
		}
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			t := strings.TrimLeft(lines[i], " ")
			if strings.HasPrefix(t, fence[:1]) && strings.TrimRight(t, " \t") == strings.Repeat(fence[:1], len(strings.TrimRight(t, " \t"))) && len(strings.TrimRight(t, " \t")) >= len(fence) {
				closed = true
				break
			}
			l := lines[i]
			// Remove the fence's indentation from the content, as CommonMark does.
			for n := 0; n < indent && strings.HasPrefix(l, " "); n++ {
				l = l[1:]
			}
			body = append(body, l)
		}
		if !closed {
			problems = append(problems, fmt.Sprintf("%s:%d: fence is never closed", file, b.line))
		}
		b.end = i + 1
		b.body = strings.Join(body, "\n")
		if len(body) > 0 {
			b.body += "\n"
		}
		blocks = append(blocks, b)
	}
	for i, b := range blocks {
		if b.output() {
			var prev *block
			if i > 0 {
				prev = blocks[i-1]
			}
			switch {
			case prev == nil || prev.output() || (prev.lang != "sh" && prev.lang != "bash" && prev.lang != "shell"):
				problems = append(problems, fmt.Sprintf("%s:%d: an output block must follow a sh block", file, b.line))
			case prev.has("norun"):
				problems = append(problems, fmt.Sprintf("%s:%d: an output block after a norun block is never compared; run the block or drop the output marker", file, b.line))
			default:
				prev.expect = b
			}
			continue
		}
		// A response shown right under a command, but not marked output, reads
		// as that command's output to a reader and is never compared.
		if i > 0 && !b.runnable() && !b.has("norun") && isShell(blocks[i-1]) && blocks[i-1].runnable() && onlyBlankBetween(lines, blocks[i-1].end, b.line) {
			problems = append(problems, fmt.Sprintf("%s:%d: this %q block right after the sh block at line %d reads as its output but is never compared; mark it output (or norun if it is not the output)", file, b.line, b.lang, blocks[i-1].line))
		}
		if !b.runnable() && !b.has("norun") && looksLikeCommand(b.body) {
			problems = append(problems, fmt.Sprintf("%s:%d: this %q block contains a command; fence it as sh (run), or as text norun for a synopsis", file, b.line, b.lang))
		}
		if ex := b.markers["exit"]; b.has("exit") {
			if _, err := strconv.Atoi(ex); err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: exit=%q is not a number", file, b.line, ex))
			}
		}
		if d := b.markers["timeout"]; b.has("timeout") {
			if _, err := time.ParseDuration(d); err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: timeout=%q is not a duration", file, b.line, d))
			}
		}
		if f := b.markers["file"]; b.has("file") && (f == "" || strings.Contains(f, "/") || strings.HasPrefix(f, ".")) {
			problems = append(problems, fmt.Sprintf("%s:%d: file=%q must be a plain file name", file, b.line, f))
		}
		if b.runnable() && callsBareSandbox(b.body) {
			problems = append(problems, fmt.Sprintf("%s:%d: the block calls \"sandbox\", which a reader with a clone does not have on PATH; write go run ./cmd/sandbox", file, b.line))
		}
	}
	// curl exits 0 whatever the HTTP status, so a curl example without an
	// output block would pass with a wrong path, id or body: every answer it
	// prints has to be shown and compared.
	for i, b := range blocks {
		if isShell(b) && b.runnable() && b.expect == nil && !(i+1 < len(blocks) && blocks[i+1].output()) && callsCurl(b.body) {
			problems = append(problems, fmt.Sprintf("%s:%d: a curl example without an output block checks only curl's exit status, which is 0 for any HTTP answer; add a text output or json output block (… for what varies)", file, b.line))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return blocks, nil
}

func isShell(b *block) bool { return b.lang == "sh" || b.lang == "bash" || b.lang == "shell" }

// onlyBlankBetween reports whether the lines strictly between two 1-based
// line numbers are all blank.
func onlyBlankBetween(lines []string, after, before int) bool {
	for n := after + 1; n < before; n++ {
		if strings.TrimSpace(lines[n-1]) != "" {
			return false
		}
	}
	return true
}

var (
	curlRE        = regexp.MustCompile(`(^|[\s;&|(])curl\s`)
	bareSandboxRE = regexp.MustCompile(`(^|[;&|(]\s*)sandbox(\s|$)`)
)

// commandLines are a block's lines without comments and transcript prompts.
func commandLines(body string) []string {
	var ls []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "$ ")
		if l != "" && !strings.HasPrefix(l, "#") {
			ls = append(ls, l)
		}
	}
	return ls
}

func callsCurl(body string) bool {
	for _, l := range commandLines(body) {
		if curlRE.MatchString(l) {
			return true
		}
	}
	return false
}

func callsBareSandbox(body string) bool {
	for _, l := range commandLines(body) {
		if bareSandboxRE.MatchString(l) {
			return true
		}
	}
	return false
}

// looksLikeCommand reports a block, fenced as something that is not run,
// whose lines call curl or the sandbox: such an example would never be
// checked, so it has to be fenced as sh or marked norun on purpose.
func looksLikeCommand(body string) bool {
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "$ ")
		for _, p := range []string{"curl ", "sandbox ", "go run ./cmd/sandbox"} {
			if strings.HasPrefix(l, p) {
				return true
			}
		}
	}
	return false
}

// ---- running ----

// docRun is one doc file's sandbox and working directory.
type docRun struct {
	base    string // http://127.0.0.1:PORT
	work    string // the blocks' working directory
	env     []string
	sandbox *exec.Cmd
	logs    *bytes.Buffer
	// receiver replaces docReceiverHostPort in this file's blocks.
	receiver string
	// https is the sandbox's --https-addr, replacing docHTTPSHostPort.
	https string
}

// freeHostPort is a 127.0.0.1 address with a port that was free a moment ago.
func freeHostPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newDocRun starts a sandbox for one file on a free port and prepares a
// working directory that shows the repository's files (scenarios/, specs/
// ...) through symlinks, so blocks read them as a reader in a clone would
// while the files they write stay out of the repository.
func newDocRun(t *testing.T, file string) *docRun {
	t.Helper()
	work := t.TempDir()
	entries, err := os.ReadDir(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		if err := os.Symlink(filepath.Join(repoRoot, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	d := &docRun{work: work}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = d.start(t); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("%s: cannot start a sandbox: %v", file, lastErr)
	}
	hostPort := strings.TrimPrefix(d.base, "http://")
	d.receiver = freeHostPort(t)
	d.env = blockEnv(work, hostPort)
	return d
}

// blockEnv is what a block runs with: a reader's fresh shell, not the
// developer's or the CI job's environment. Only PATH, TMPDIR and the locale
// come from outside; HOME is the working directory, so no ~/.curlrc or ~/.jq
// changes an answer, and a variable a block reads with a default (CI_JOB_ID
// in the CI recipe, set on GitLab runners) takes that default everywhere.
func blockEnv(work, hostPort string) []string {
	env := []string{
		"HOME=" + work,
		"PATH=" + os.Getenv("PATH"),
		"SANDBOX_ADDR=" + hostPort,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}
	for _, k := range []string{"TMPDIR", "LANG", "LC_ALL", "LC_CTYPE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// cleanEnv is the test's environment without proxies (every request goes to
// 127.0.0.1) and without sandbox settings of the developer's shell (nor
// XDG_CONFIG_HOME, which would place the local CA outside HOME).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "path", "xdg_config_home":
			continue
		}
		if strings.HasPrefix(k, "SANDBOX_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// start launches the binary on a port picked just before; if another process
// takes the port in between, the sandbox exits and the caller tries again.
func (d *docRun) start(t *testing.T) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return err
	}
	httpsAddr := ln.Addr().String()
	ln.Close()
	d.logs = &bytes.Buffer{}
	cmd := exec.Command(filepath.Join(binDir, "sandbox"), "--addr", addr, "--https-addr", httpsAddr)
	// HOME as the blocks have it (exec keeps the last HOME): the local CA
	// is made in the working directory's .config, where a block's
	// "sandbox ca" finds it.
	cmd.Env = append(cleanEnv(), "HOME="+d.work)
	cmd.Stdout, cmd.Stderr = &syncWriter{w: d.logs}, &syncWriter{w: d.logs}
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	base := "http://" + addr
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("sandbox exited: %v\n%s", err, d.logs.String())
		default:
		}
		if resp, err := client.Get(base + "/__sandbox/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			return fmt.Errorf("no healthy answer within %s\n%s", startTimeout, d.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.base, d.https, d.sandbox = base, httpsAddr, cmd
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	return nil
}

// rewrite points a doc's commands at this file's sandbox, receiver port and
// binary. The binary is called by its path and is not on PATH, so a block
// that calls a bare "sandbox" fails as it would for a reader with a clone.
func (d *docRun) rewrite(s string) string {
	hostPort := strings.TrimPrefix(d.base, "http://")
	s = strings.ReplaceAll(s, "go run ./cmd/sandbox", filepath.Join(binDir, "sandbox"))
	s = strings.ReplaceAll(s, docHostPort, hostPort)
	s = strings.ReplaceAll(s, "localhost:8080", hostPort)
	if d.https != "" {
		s = strings.ReplaceAll(s, docHTTPSHostPort, d.https)
		s = strings.ReplaceAll(s, "localhost:8443", d.https)
	}
	if d.receiver != "" {
		_, port, _ := net.SplitHostPort(d.receiver)
		s = strings.ReplaceAll(s, docReceiverHostPort, d.receiver)
		// The Python receiver of docs/README.md binds ('127.0.0.1', 9000).
		s = strings.ReplaceAll(s, "('127.0.0.1', 9000)", "('127.0.0.1', "+port+")")
	}
	return s
}

func (d *docRun) run(t *testing.T, b *block) {
	if f := b.markers["file"]; f != "" {
		if err := os.WriteFile(filepath.Join(d.work, f), []byte(b.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !b.runnable() {
		t.Skipf("not run (%s)", skipReason(b))
	}
	if err := d.exec(b); err != nil {
		t.Fatalf("%v%s", err, d.logTail(30))
	}
}

// logTail is the end of the file's sandbox log, for a failing block: a 500,
// a panic or an early exit shows there, not in the block's output.
func (d *docRun) logTail(n int) string {
	if d.logs == nil {
		return ""
	}
	logMu <- struct{}{}
	s := d.logs.String()
	<-logMu
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n--- sandbox log (last lines):\n" + strings.Join(lines, "\n") + "\n"
}

// exec runs or validates one runnable block; the error says what differed.
func (d *docRun) exec(b *block) error {
	switch b.lang {
	case "yaml", "yml":
		return validateScenario(b)
	case "console":
		return d.runConsole(b)
	default:
		return d.runShell(b)
	}
}

func skipReason(b *block) string {
	switch {
	case b.has("norun"):
		return "marked norun"
	case b.has("fragment"):
		return "marked fragment"
	case b.lang == "":
		return "no language"
	}
	return b.lang + " block"
}

func blockTimeout(b *block) time.Duration {
	if d, err := time.ParseDuration(b.markers["timeout"]); err == nil {
		return d
	}
	return defaultBlockTimeout
}

// wantExit is the exit status a block must end with: 0 unless exit=N or
// fails (any non-zero status) is given.
func wantExit(b *block) (code int, anyFailure bool) {
	if b.has("fails") {
		return 0, true
	}
	if n, err := strconv.Atoi(b.markers["exit"]); err == nil {
		return n, false
	}
	return 0, false
}

// runShell runs a sh block with "sh -e -c" (the first failing command ends
// it, as a reader would stop there), then compares the output block, if any.
func (d *docRun) runShell(b *block) error {
	script := d.rewrite(b.body)
	out, code, err := d.sh(script, blockTimeout(b))
	if err != nil {
		return fmt.Errorf("%v\n--- script:\n%s--- output:\n%s", err, script, out)
	}
	want, anyFailure := wantExit(b)
	switch {
	case anyFailure && code == 0:
		return fmt.Errorf("exit status 0, the block is marked fails\n--- script:\n%s--- output:\n%s", script, out)
	case !anyFailure && code != want:
		return fmt.Errorf("exit status %d, want %d\n--- script:\n%s--- output:\n%s", code, want, script, out)
	}
	if b.expect != nil {
		if err := compareOutput(b.expect, d.rewrite(b.expect.body), out); err != nil {
			return fmt.Errorf("output differs from the block at %s:%d: %v\n--- script:\n%s--- output:\n%s", b.expect.file, b.expect.line, err, script, out)
		}
	}
	return nil
}

// runConsole runs a transcript: each "$ " command (with "\" continuation
// lines) runs on its own, and the lines after it are its expected output.
// Every command must exit 0, except the last one when exit=N or fails is given.
func (d *docRun) runConsole(b *block) error {
	type step struct {
		cmd  []string
		want []string
	}
	var steps []*step
	cont := false
	for _, l := range strings.Split(strings.TrimSuffix(b.body, "\n"), "\n") {
		switch {
		case cont:
			s := steps[len(steps)-1]
			s.cmd = append(s.cmd, l)
		case strings.HasPrefix(l, "$ "):
			steps = append(steps, &step{cmd: []string{strings.TrimPrefix(l, "$ ")}})
		case len(steps) == 0:
			return fmt.Errorf("console block must start with a \"$ \" command line, got %q", l)
		default:
			s := steps[len(steps)-1]
			s.want = append(s.want, l)
		}
		cont = strings.HasSuffix(l, "\\") && len(steps) > 0 && (cont || strings.HasPrefix(l, "$ "))
	}
	for i, s := range steps {
		script := d.rewrite(strings.Join(s.cmd, "\n")) + "\n"
		out, code, err := d.sh(script, blockTimeout(b))
		if err != nil {
			return fmt.Errorf("%v\n--- command:\n%s--- output:\n%s", err, script, out)
		}
		want, anyFailure := 0, false
		if i == len(steps)-1 {
			want, anyFailure = wantExit(b)
		}
		switch {
		case anyFailure && code == 0:
			return fmt.Errorf("exit status 0, the block is marked fails\n--- command:\n%s--- output:\n%s", script, out)
		case !anyFailure && code != want:
			return fmt.Errorf("exit status %d, want %d\n--- command:\n%s--- output:\n%s", code, want, script, out)
		}
		if err := compareText(d.rewrite(strings.Join(s.want, "\n")), out); err != nil {
			return fmt.Errorf("output of %q: %v\n--- output:\n%s", strings.Join(s.cmd, " "), err, out)
		}
	}
	return nil
}

// sh runs a script in the doc's working directory, in its own process group
// so that whatever it leaves running (a receiver started with &) is killed
// when it ends or times out. Output goes to a file, not a pipe, so a
// background child holding stdout cannot keep the block waiting.
func (d *docRun) sh(script string, timeout time.Duration) (string, int, error) {
	f, err := os.CreateTemp("", "docs-block-out-")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-e", "-c", script)
	cmd.Dir, cmd.Env = d.work, d.env
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	out, _ := os.ReadFile(f.Name())
	if ctx.Err() != nil {
		return string(out), -1, fmt.Errorf("timed out after %s (raise it with timeout=D if the block is meant to take longer)", timeout)
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		return string(out), ee.ExitCode(), nil
	}
	if runErr != nil {
		return string(out), -1, runErr
	}
	return string(out), 0, nil
}

// validateScenario loads a YAML block as a scenario. A block without a
// top-level version key shows only some sections, so version 1 is added in
// front. Blocks marked invalid must be refused.
func validateScenario(b *block) error {
	data, offset := b.body, 0
	if !regexp.MustCompile(`(?m)^version:`).MatchString(data) {
		data, offset = "version: 1\n"+data, 1
	}
	_, probs := sandbox.LoadScenario("block", []byte(data))
	if b.has("invalid") {
		if len(probs) == 0 {
			return errors.New("the block is marked invalid but loads as a scenario")
		}
		return nil
	}
	if len(probs) > 0 {
		var lines []string
		for _, p := range probs {
			lines = append(lines, fmt.Sprintf("%s:%d: %s: %s (hint: %s)", b.file, b.line+p.Line-offset, p.Path, p.Message, p.Hint))
		}
		return fmt.Errorf("the scenario block is refused (mark it fragment if it is not meant to load):\n%s", strings.Join(lines, "\n"))
	}
	return nil
}

// ---- comparing output ----

// ellipsis in expected output stands for text that changes between runs.
const ellipsis = "…"

func compareOutput(exp *block, want, got string) error {
	if exp.lang == "json" {
		return compareJSON(want, got, exp.has("subset"))
	}
	return compareText(want, got)
}

// compareText compares line by line after trimming trailing spaces and
// trailing empty lines. In an expected line "…" matches any text; a line
// that is only "…" matches any number of lines.
func compareText(want, got string) error {
	w, g := splitLines(want), splitLines(got)
	if !matchLines(w, g) {
		return fmt.Errorf("want:\n%s\ngot:\n%s", strings.Join(w, "\n"), strings.Join(g, "\n"))
	}
	return nil
}

func splitLines(s string) []string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n \t")
	if s == "" {
		return nil
	}
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimRight(l, " \t")
	}
	return ls
}

func matchLines(w, g []string) bool {
	if len(w) == 0 {
		return len(g) == 0
	}
	if strings.TrimSpace(w[0]) == ellipsis {
		for k := 0; k <= len(g); k++ {
			if matchLines(w[1:], g[k:]) {
				return true
			}
		}
		return false
	}
	return len(g) > 0 && matchPattern(w[0], g[0]) && matchLines(w[1:], g[1:])
}

// matchPattern matches text where "…" in the pattern stands for any run of
// characters (possibly empty).
func matchPattern(pattern, s string) bool {
	if !strings.Contains(pattern, ellipsis) {
		return pattern == s
	}
	parts := strings.Split(pattern, ellipsis)
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile(`(?s)^` + strings.Join(parts, ".*") + `$`).MatchString(s)
}

// compareJSON compares a stream of JSON values (one per command) by value:
// key order and whitespace do not matter, numbers compare by value. In the
// expected values, the string "…" matches any value, and a string containing
// "…" matches a string with any text in its place. With subset, objects may
// have more keys than shown and an expected array matches when its elements
// match actual elements in order, others in between.
func compareJSON(want, got string, subset bool) error {
	wv, err := decodeAll(want)
	if err != nil {
		return fmt.Errorf("the expected output is not JSON: %v", err)
	}
	gv, err := decodeAll(got)
	if err != nil {
		return fmt.Errorf("the output is not JSON: %v", err)
	}
	if len(wv) != len(gv) {
		return fmt.Errorf("%d JSON values expected, got %d", len(wv), len(gv))
	}
	for i := range wv {
		if err := matchJSON(fmt.Sprintf("value %d", i+1), wv[i], gv[i], subset); err != nil {
			return err
		}
	}
	return nil
}

func decodeAll(s string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var vs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return vs, nil
		}
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
}

func matchJSON(path string, want, got any, subset bool) error {
	if ws, ok := want.(string); ok && ws == ellipsis {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", path, short(got))
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: key %q missing", path, k)
			}
			if err := matchJSON(path+"."+k, wv, gv, subset); err != nil {
				return err
			}
		}
		if !subset {
			for k := range g {
				if _, ok := w[k]; !ok {
					return fmt.Errorf("%s: unexpected key %q (value %s)", path, k, short(g[k]))
				}
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %s", path, short(got))
		}
		if !subset {
			if len(w) != len(g) {
				return fmt.Errorf("%s: want %d elements, got %d: %s", path, len(w), len(g), short(got))
			}
			for i := range w {
				if err := matchJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], false); err != nil {
					return err
				}
			}
			return nil
		}
		j := 0
		for i := range w {
			for ; j < len(g); j++ {
				if matchJSON(fmt.Sprintf("%s[%d]", path, j), w[i], g[j], true) == nil {
					break
				}
			}
			if j == len(g) {
				return fmt.Errorf("%s: no element (in order) matches %s; got %s", path, short(w[i]), short(got))
			}
			j++
		}
		return nil
	case string:
		g, ok := got.(string)
		if !ok || !matchPattern(w, g) {
			return fmt.Errorf("%s: want %s, got %s", path, short(want), short(got))
		}
		return nil
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want %s, got %s", path, w, short(got))
		}
		wf, _, err1 := big.ParseFloat(string(w), 10, 200, big.ToNearestEven)
		gf, _, err2 := big.ParseFloat(string(g), 10, 200, big.ToNearestEven)
		if err1 != nil || err2 != nil || wf.Cmp(gf) != 0 {
			return fmt.Errorf("%s: want %s, got %s", path, w, g)
		}
		return nil
	default: // bool, nil
		if want != got {
			return fmt.Errorf("%s: want %s, got %s", path, short(want), short(got))
		}
		return nil
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// syncWriter lets the sandbox's stdout and stderr share one log buffer.
type syncWriter struct {
	w *bytes.Buffer
}

var logMu = make(chan struct{}, 1)

func (s *syncWriter) Write(p []byte) (int, error) {
	logMu <- struct{}{}
	defer func() { <-logMu }()
	return s.w.Write(p)
}

// ---- references ----

var (
	linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	codeRE = regexp.MustCompile("`([^`\\s]+)`")
	// topDirs are the repository's top-level folders a doc may name a path in.
	topDirs = []string{"cmd/", "docs/", "internal/", "mocks/", "scenarios/", "scripts/", "specs/", ".ci/"}
)

// TestDocReferences holds the docs to standing alone: every relative link and
// every repository path named in code spans exists, and nothing points
// outside the repository.
func TestDocReferences(t *testing.T) {
	for _, file := range docFiles(t) {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(repoRoot, file))
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(src), "\n") {
				for _, p := range referenceProblems(file, line) {
					t.Errorf("%s:%d: %s", file, i+1, p)
				}
			}
		})
	}
}

// referenceProblems lists what is wrong with the references on one line.
func referenceProblems(file, line string) []string {
	var probs []string
	for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		target, _, _ = strings.Cut(target, "#")
		if p := checkPath(filepath.Join(filepath.Dir(file), target)); p != "" {
			probs = append(probs, fmt.Sprintf("link %q: %s", m[1], p))
		}
	}
	for _, m := range codeRE.FindAllStringSubmatch(line, -1) {
		ref := strings.TrimRight(m[1], ".,:;)")
		switch {
		case outsideRepository(file, ref):
			probs = append(probs, fmt.Sprintf("%q is outside the repository: a doc must stand alone", ref))
			continue
		case strings.ContainsAny(ref, "{}<>[]$=?&") || strings.Contains(ref, "..."):
			continue // a pattern or placeholder, not a path
		}
		for _, d := range topDirs {
			if strings.HasPrefix(ref, d) {
				if p := checkPath(ref); p != "" {
					probs = append(probs, fmt.Sprintf("%q: %s", ref, p))
				}
				break
			}
		}
	}
	return probs
}

// checkPath says why a path relative to the repository root names nothing
// in it ("" when it exists; a glob must match something).
// outsideRepository reports whether a path named in a code span of file
// leads out of the repository: up with ".." past its root, to an absolute path beside the
// repository (under the folder that holds it), or to a relative path that
// exists beside the repository rather than in it. It names no particular
// place, so it holds wherever the repository is checked out. Absolute paths
// elsewhere (/usr/bin/chromium, URL paths such as /centili/...) are not
// pointers to material the reader lacks, and pass.
func outsideRepository(file, ref string) bool {
	if strings.ContainsAny(ref, " \t") || !strings.Contains(ref, "/") {
		return false
	}
	parent := filepath.Dir(repoRoot)
	if filepath.IsAbs(ref) {
		clean := filepath.Clean(ref)
		inRepo := clean == repoRoot || strings.HasPrefix(clean, repoRoot+string(filepath.Separator))
		return strings.HasPrefix(clean, parent+string(filepath.Separator)) && !inRepo
	}
	if strings.HasPrefix(ref, "..") { // relative to the doc, as its links are
		return strings.HasPrefix(filepath.Clean(filepath.Join(filepath.Dir(file), ref)), "..")
	}
	first, _, _ := strings.Cut(ref, "/")
	if _, err := os.Stat(filepath.Join(repoRoot, first)); err == nil {
		return false
	}
	_, err := os.Stat(filepath.Join(parent, ref))
	return err == nil
}

func checkPath(rel string) string {
	clean := filepath.Clean(rel)
	if strings.HasPrefix(clean, "..") {
		return "points outside the repository"
	}
	matches, err := filepath.Glob(filepath.Join(repoRoot, clean))
	if err != nil || len(matches) == 0 {
		return "no such file in the repository"
	}
	return ""
}
