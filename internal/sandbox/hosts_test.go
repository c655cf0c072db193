package sandbox_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A provider host's HostPaths decide what it serves: the echo provider's
// api.echo.test serves /v1/... as the mount's /...; any other path there
// is the provider's 404, journaled, with a hint naming what the host
// serves. The journal's path filter sees the path below the mount.
func TestHostPathsMapOntoTheMount(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewWithConfig(t, echoScenario, func(c *sandbox.Config) { c.Hosts = true })
	ok := h.Do("GET", "/v1/items", nil, sandboxtest.Host("api.echo.test")).WantStatus(200)
	if !ok.Matched {
		t.Error("the answer was not checked against the echo document")
	}
	res := h.Do("GET", "/items", nil, sandboxtest.Host("api.echo.test")).WantStatus(404)
	if got := res.Header.Get(sandbox.HeaderHint); got != "api.echo.test serves only paths under /v1/" {
		t.Errorf("hint %q", got)
	}
	if string(res.Body) != `{"error":"no operation matches GET /items","kind":1}` {
		t.Errorf("404 body %s", res.Body)
	}
	var entries []struct {
		Operation, MountPath string
		Request              struct{ Host, Path string }
	}
	// Newest first: the unmapped /items (its own path is all it has), then
	// /v1/items, found by the path below the mount.
	h.Admin("GET", "", "/requests?provider=echo&path=/items", nil, &entries)
	if len(entries) != 2 || entries[1].Operation != "listItems" || entries[1].Request.Host != "api.echo.test" || entries[1].Request.Path != "/v1/items" || entries[1].MountPath != "/items" ||
		entries[0].Operation != "" || entries[0].Request.Path != "/items" {
		t.Errorf("path filter: %+v", entries)
	}
	h.Admin("GET", "", "/requests?provider=echo&path=/v1/", nil, &entries)
	if len(entries) != 0 {
		t.Errorf("path=/v1/ (the host's path, not the mount's): %+v", entries)
	}
}

// Closing the server ends the CONNECT tunnels it serves: they were
// hijacked from the HTTP server, which no longer tracks them.
func TestTunnelsEndWithTheServer(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewWithConfig(t, echoScenario, func(c *sandbox.Config) {
		c.Hosts = true
		c.TunnelTLS = func() (*tls.Config, error) { return &tls.Config{}, nil } // never used: plain HTTP inside
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "CONNECT api.echo.test:80 HTTP/1.1\r\nHost: api.echo.test:80\r\n\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	io.WriteString(conn, "GET /v1/items HTTP/1.1\r\nHost: api.echo.test\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("in the tunnel: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	h.Server.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound, not a latency promise
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("the tunnel is still open after Close: %v", err)
	}
}
