// Package clients runs the real client libraries people point at the
// sandbox (go-oidc and x/oauth2, MSAL Python and requests-oauthlib, MSAL
// Node, openid-client) against the release build over HTTPS, trusting the
// local CA only as each library's own documentation says. The in-process
// tests of mocks/netrefer replay what those libraries send; these tests are
// the proof that the libraries themselves accept the answers.
//
// The Go libraries are modules of go.mod and always run. The others are
// found on the machine (python3-msal, python3-requests-oauthlib from Debian;
// the npm packages in SANDBOX_NODE_MODULES, installed by .ci/run): a test
// whose library is missing is skipped, except with CI set, where it fails.
package clients

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The default scenario's NetRefer and Centili credentials (docs/netrefer.md,
// docs/centili.md).
const (
	nrTenant   = "0e0b50ac-5253-4347-b528-251b2f17cfc6"
	nrClientID = "5a324196-7727-45fd-8ac3-1436cd541d76"
	nrSecret   = "sandbox-netrefer-secret"
	nrUser     = "operator@sandbox.test"
	nrSubKey   = "baea25a9f0fe4687845575c07e539a9e9"
	password   = "sandbox-password"
	ceUser     = "merchant@sandbox.test"
)

// sb is the sandbox every test talks to: one release build, one process
// with a plain and an HTTPS listener and its CA in a temporary data dir.
var sb struct {
	bin, dataDir string
	base, https  string // banner URLs
	caFile       string // the PEM "sandbox ca" printed, written for the env vars
	caPEM        []byte
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "sandbox-clients-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	sb.bin = filepath.Join(tmp, "sandbox")
	sb.dataDir = filepath.Join(tmp, "data")
	// The release build as the Dockerfile makes it: the libraries talk to
	// what users run.
	build := exec.Command("go", "build", "-trimpath", "-o", sb.bin, "../cmd/sandbox")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	// The CA as a user gets it: "sandbox ca" against the same --data-dir,
	// its stdout PEM (it makes the CA before the first start).
	var stderr strings.Builder
	ca := exec.Command(sb.bin, "ca", "--data-dir", sb.dataDir)
	ca.Stderr = &stderr
	if sb.caPEM, err = ca.Output(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox ca: %v\n%s", err, stderr.String())
		return 1
	}
	sb.caFile = filepath.Join(tmp, "ca.pem")
	if err := os.WriteFile(sb.caFile, sb.caPEM, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stop, err := startSandbox()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if problems := checkJournal(); len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "clients: %d answers the libraries got do not match the OpenAPI documents:\n%s\n",
			len(problems), strings.Join(problems, "\n"))
		code = 1
	}
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

// startSandbox runs the binary on free loopback ports and reads both URLs
// from the banner's first line ("... listening on http://... and
// https://... (scenario ...)"), as .ci/run's start_sandbox does.
func startSandbox() (stop func() error, err error) {
	cmd := exec.Command(sb.bin, "--addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0",
		"--data-dir", sb.dataDir, "--access-log=false",
		// whole bodies in the journal, for checkJournal (token answers are a few KiB)
		"--journal-body-bytes", "65536")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	urls := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if !first {
				continue // drain, so the sandbox never blocks on stdout
			}
			first = false
			_, rest, _ := strings.Cut(sc.Text(), " listening on ")
			f := strings.Fields(rest)
			if len(f) >= 3 && f[1] == "and" {
				urls <- [2]string{f[0], f[2]}
			}
			close(urls)
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case u, ok := <-urls:
		if !ok {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("the banner's first line names no http and https URL; stderr:\n%s", stderr.String())
		}
		sb.base, sb.https = u[0], u[1]
	case err := <-done:
		return nil, fmt.Errorf("the sandbox exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("no banner within 30s; stderr:\n%s", stderr.String())
	}
	return func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("the sandbox after SIGTERM: %v\n%s", err, stderr.String())
			}
			return nil
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("the sandbox did not stop within 15s of SIGTERM")
		}
	}, nil
}

// need skips the test when a library is missing (why says which and how to
// install it), or fails it with CI set: .ci/run installs every library, so
// there a missing one is a broken CI, not a reason to skip.
func need(t *testing.T, missing bool, why string) {
	t.Helper()
	if !missing {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and %s", why)
	}
	t.Skip(why)
}
