package main

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
)

// With --admin-token the admin API needs it; `sandbox health` sends
// SANDBOX_ADMIN_TOKEN, and without it reports the 401.
func TestAdminTokenAndHealth(t *testing.T) {
	t.Parallel()
	p := start(t, "--admin-token", "cli-s3cret")
	resp, err := http.Get(p.base + "/__sandbox/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("health without token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if code, out, errOut := runBin(t, []string{"SANDBOX_ADMIN_TOKEN=cli-s3cret"}, "health", "--url", p.base); code != 0 || out != "healthy\n" {
		t.Errorf("health with SANDBOX_ADMIN_TOKEN: exit %d, %q %q", code, out, errOut)
	}
	want := "unhealthy: " + p.base + "/__sandbox/health answered status 401\n"
	if code, _, errOut := runBin(t, []string{"SANDBOX_ADMIN_TOKEN="}, "health", "--url", p.base); code != 1 || errOut != want {
		t.Errorf("health without the token: exit %d, stderr %q, want %q", code, errOut, want)
	}
	if strings.Contains(p.stderr.String(), "cli-s3cret") {
		t.Errorf("the token was logged:\n%s", p.stderr.String())
	}
	if strings.Contains(p.stderr.String(), "OPEN TO OTHER HOSTS") {
		t.Errorf("a loopback listener was warned about:\n%s", p.stderr.String())
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// Listening where other hosts can connect without a token is warned about
// at start-up; loopback, or a token, is not.
func TestExposureWarning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr  string
		token string
		warn  bool
	}{
		{"0.0.0.0:8080", "", true},
		{"[::]:8080", "", true},
		{"192.168.1.20:8080", "", true},
		{"0.0.0.0:8080", "t", false},
		{"127.0.0.1:8080", "", false},
		{"127.0.0.2:8080", "", false},
		{"[::1]:8080", "", false},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		msg := exposureWarning(a, tc.token)
		if (msg != "") != tc.warn {
			t.Errorf("%s token %q: warning %q", tc.addr, tc.token, msg)
		}
		if tc.warn && !strings.Contains(msg, "--admin-token") {
			t.Errorf("the warning does not name --admin-token: %s", msg)
		}
	}
}

// When --shutdown-timeout cuts a request that is still running, the
// process says so and exits non-zero. The request is held in flight by
// never sending the body the handler is reading: the server's
// "100 Continue" proves the handler is running, so no sleep is needed.
func TestShutdownTimeoutExitsNonZero(t *testing.T) {
	t.Parallel()
	p := start(t, "--shutdown-timeout", "100ms")
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte("POST /centili/realms/api/protocol/openid-connect/token HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\nExpect: 100-continue\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if code := p.stop(t); code != 1 {
		t.Fatalf("exit %d after cutting a request, want 1; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `level=ERROR msg="stopped: in-flight requests did not finish within --shutdown-timeout and were cut off" timeout=100ms`) {
		t.Errorf("no message about the cut requests:\n%s", p.stderr.String())
	}
}
