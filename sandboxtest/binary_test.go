package sandboxtest_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// binaryRun bounds TestAgainstBinary's build, start and rerun: a hang fails
// the test instead of the whole run's -timeout. It is not a speed target.
const binaryRun = 3 * time.Minute

// TestAgainstBinary builds the sandbox binary, starts it on a free
// loopback port and runs this package's tests once more in a child test
// process with SANDBOX_URL pointing at it: every behaviour test (and
// example) must pass against a running sandbox as it does in process, which
// is how CI and users run them with the Docker image. It is the one place
// the SANDBOX_URL mode runs in `go test ./...`; .ci/run needs no line of
// its own.
func TestAgainstBinary(t *testing.T) {
	if os.Getenv(sandboxtest.EnvURL) != "" {
		t.Skip("this run is the one against SANDBOX_URL")
	}
	if testing.Short() {
		t.Skip("builds and starts the sandbox binary")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), binaryRun)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "sandbox")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		// Links the packages this -race run has compiled already; races in
		// the sandbox then fail the child's requests loudly (exit 66).
		args = append(args, "-race")
	}
	build := exec.CommandContext(ctx, "go", append(args, "./cmd/sandbox")...)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sandbox: %v\n%s", err, out)
	}

	base, logs := startSandbox(t, ctx, bin)
	child := exec.CommandContext(ctx, os.Args[0], "-test.count=1", "-test.timeout="+binaryRun.String())
	child.Env = append(os.Environ(), sandboxtest.EnvURL+"="+base)
	out, err := child.CombinedOutput()
	if err != nil {
		t.Fatalf("this package's tests against %s=%s: %v\n%s\nsandbox output:\n%s", sandboxtest.EnvURL, base, err, out, logs())
	}
	t.Logf("against the binary:\n%s", strings.TrimSpace(string(out)))
}

// listening finds the address in the sandbox's start-up banner.
var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

// startSandbox runs the binary on 127.0.0.1:0 and returns its base URL
// once the banner names it, and a function that returns what it printed.
// The sandbox is stopped when the test ends.
func startSandbox(t *testing.T, ctx context.Context, bin string) (string, func() string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "--addr", "127.0.0.1:0", "--access-log=false")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = childProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var printed strings.Builder
	found := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			printed.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	select {
	case base := <-found:
		// printed is written by the reader goroutine: read it once that has ended.
		return base, func() string { _ = cmd.Process.Signal(syscall.SIGTERM); <-done; return printed.String() }
	case <-done:
		_ = cmd.Wait()
		t.Fatalf("the sandbox exited before listening:\n%s", printed.String())
	case <-ctx.Done():
		t.Fatalf("the sandbox did not start within %s", binaryRun)
	}
	return "", nil
}
