package all_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/internal/tlsca"
)

// hostNames are the provider hosts hostsScenario serves.
var hostNames = []string{"login.microsoftonline.com", "sts.windows.net", "api.netrefer.com", "api.centili.com",
	"auth-capi.centili.com", "api.netfinity.bg", "api.operator.test"}

func newCA(t *testing.T) *tlsca.CA {
	t.Helper()
	ca, err := tlsca.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// http1 is cfg offering HTTP/1.1 only, for servers without HTTP/2.
func http1(cfg *tls.Config) *tls.Config {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// registration is one NetRefer registration event the default scenario
// accepts.
const registration = `{"eventId":"reg-transparent","customerId":"cust-1","brandId":1,"timestamp":"2025-01-01T00:00:00Z",` +
	`"registrationDate":"2025-01-01T00:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}`

// TestTransparentMode is the proof that an application keeps its
// production URLs: x/oauth2 and go-oidc, configured with Azure AD's and
// Keycloak's real URLs and nothing else, get and verify tokens with the
// real issuers, then send a NetRefer batch and a Centili gift to the real
// API hosts. Every address the client dials is a provider's host on port
// 443 and reaches the sandbox (the DialContext stands in for /etc/hosts);
// TLS is verified against the local CA only.
func TestTransparentMode(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	h := sandboxtest.New(t, hostsScenario())
	ts := httptest.NewUnstartedServer(h.Server)
	ts.TLS = http1(ca.TLSConfig(hostNames))
	ts.StartTLS()
	t.Cleanup(ts.Close)

	var mu sync.Mutex
	var dialed []string
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool()},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, addr)
			mu.Unlock()
			return (&net.Dialer{}).DialContext(ctx, "tcp", ts.Listener.Addr().String())
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: h.CheckingTransport(tr)}
	ctx := oidc.ClientContext(context.Background(), client)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)

	// NetRefer: Azure AD v2 discovery, password grant, both tokens verified.
	v2, err := oidc.NewProvider(ctx, "https://login.microsoftonline.com/"+nrTenant+"/v2.0")
	if err != nil {
		t.Fatalf("go-oidc discovery at the real v2 authority: %v", err)
	}
	if got := v2.Endpoint().TokenURL; got != "https://login.microsoftonline.com/"+nrTenant+"/oauth2/v2.0/token" {
		t.Errorf("discovered token URL %s", got)
	}
	nr := &oauth2.Config{ClientID: nrClientID, ClientSecret: "sandbox-netrefer-secret", Endpoint: v2.Endpoint(),
		Scopes: []string{"api://" + nrClientID + "/Events.Injestion", "openid"}}
	tok, err := nr.PasswordCredentialsToken(ctx, "operator@sandbox.test", "sandbox-password")
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if idt, err := v2.Verifier(&oidc.Config{ClientID: nrClientID}).Verify(ctx, rawID); err != nil || idt.Issuer != "https://login.microsoftonline.com/"+nrTenant+"/v2.0" {
		t.Errorf("id token: %v (issuer %v)", err, idt)
	}
	// The access token is v1 (the default format): its issuer is
	// sts.windows.net, whose discovery the sandbox serves too.
	v1, err := oidc.NewProvider(ctx, "https://sts.windows.net/"+nrTenant+"/")
	if err != nil {
		t.Fatalf("go-oidc discovery at the v1 issuer: %v", err)
	}
	if at, err := v1.Verifier(&oidc.Config{ClientID: "api://" + nrClientID}).Verify(ctx, tok.AccessToken); err != nil || at.Issuer != "https://sts.windows.net/"+nrTenant+"/" {
		t.Errorf("access token: %v (%v)", err, at)
	}
	req, _ := http.NewRequest("POST", "https://api.netrefer.com/di/v1/registrations", strings.NewReader("["+registration+"]"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Ocp-Apim-Subscription-Key", nrSubKey)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if status, body := do(t, client, req); status != 200 {
		t.Errorf("NetRefer batch: %d %s", status, body)
	}

	// Centili: Keycloak's current host, then a gift on the API host.
	ct := &oauth2.Config{ClientID: "datagifting",
		Endpoint: oauth2.Endpoint{TokenURL: "https://auth-capi.centili.com/realms/api/protocol/openid-connect/token", AuthStyle: oauth2.AuthStyleInParams}}
	ctok, err := ct.PasswordCredentialsToken(ctx, "merchant@sandbox.test", "sandbox-password")
	if err != nil {
		t.Fatalf("Centili password grant: %v", err)
	}
	kc, err := oidc.NewProvider(ctx, "https://auth-capi.centili.com/realms/api")
	if err != nil {
		t.Fatalf("go-oidc discovery at Keycloak: %v", err)
	}
	if at, err := kc.Verifier(&oidc.Config{ClientID: "account"}).Verify(ctx, ctok.AccessToken); err != nil || at.Issuer != "https://auth-capi.centili.com/realms/api" {
		t.Errorf("Centili access token: %v (%v)", err, at)
	}
	req, _ = http.NewRequest("POST", "https://api.centili.com/datagifting/v1/service/transaction",
		strings.NewReader(`{"serviceKey":"`+ctService+`","msisdn":"4366124567","clientId":"transparent-1","amount":500}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("token", "Bearer "+ctok.AccessToken)
	if status, body := do(t, client, req); status != 200 || !strings.Contains(body, `"status":"COMPLETED"`) {
		t.Errorf("Centili gift: %d %s", status, body)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, a := range dialed {
		host, port, _ := net.SplitHostPort(a)
		if port != "443" || !strings.Contains(" "+strings.Join(hostNames, " ")+" ", " "+host+" ") {
			t.Errorf("the client dialed %s, which is no provider host on 443", a)
		}
	}
	var entries []struct{ Operation string }
	h.Admin("GET", "", "/requests?operation=ingestRegistrations&operation=assignData", nil, &entries)
	if len(entries) != 2 {
		t.Errorf("journal %+v, want the gift and the batch", entries)
	}
}

// do sends req and returns its status and body.
func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// proxyHarness is a sandbox with host routing whose CONNECT tunnels serve
// certificates of ca.
func proxyHarness(t *testing.T, ca *tlsca.CA) *sandboxtest.Harness {
	return sandboxtest.NewWithConfig(t, hostsScenario(), func(c *sandbox.Config) {
		c.TunnelTLS = func() (*tls.Config, error) { return ca.TLSConfig(hostNames), nil }
	})
}

// TestProxy: with the sandbox as HTTPS_PROXY and HTTP_PROXY, a Go client
// reaches the providers' real URLs unchanged: CONNECT tunnels to their
// hosts with the local CA's certificates, absolute-form requests for
// plain http URLs. Every answer is checked against its document.
func TestProxy(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	h := proxyHarness(t, ca)
	proxy, _ := url.Parse(h.URL)
	tr := &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: h.CheckingTransport(tr)}

	var doc map[string]any
	resp, err := client.Get("https://auth-capi.centili.com/realms/api/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("through a CONNECT tunnel: %v", err)
	}
	decode(t, resp, &doc)
	if doc["issuer"] != "https://auth-capi.centili.com/realms/api" {
		t.Errorf("issuer %v: URLs must follow the tunnel's https", doc["issuer"])
	}
	form := url.Values{"grant_type": {"password"}, "client_id": {nrClientID}, "client_secret": {"sandbox-netrefer-secret"},
		"username": {"operator@sandbox.test"}, "password": {"sandbox-password"}, "scope": {"api://" + nrClientID + "/Events.Injestion"}}
	resp, err = client.PostForm("https://login.microsoftonline.com/"+nrTenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decode(t, resp, &tok)
	if iss := jwtClaims(t, tok.AccessToken)["iss"]; iss != "https://sts.windows.net/"+nrTenant+"/" {
		t.Errorf("iss %v", iss)
	}
	// Plain http through the proxy: absolute-form, routed by its host.
	req, _ := http.NewRequest("POST", "http://api.netfinity.bg/v2/sms/notification/send", strings.NewReader(`{"msisdn":"359881234567","text":"via proxy"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer sandbox-netfinity-token")
	req.Header.Set(sandbox.HeaderNamespace, "proxied")
	if status, body := do(t, client, req); status != 200 {
		t.Errorf("absolute-form: %d %s", status, body)
	}
	var entries []struct {
		Request struct{ Host, Path string }
	}
	h.Admin("GET", "proxied", "/requests", nil, &entries)
	if len(entries) != 1 || entries[0].Request.Host != "api.netfinity.bg" || entries[0].Request.Path != "/v2/sms/notification/send" {
		t.Errorf("journal of proxied: %+v", entries)
	}
	// The sandbox's own address through the proxy is the sandbox.
	if status, _ := do(t, client, mustRequest("GET", h.URL+"/__sandbox/health")); status != 200 {
		t.Errorf("the sandbox through itself as proxy: %d", status)
	}
}

func mustRequest(method, u string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		panic(err)
	}
	return req
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := jsonDecode(resp.Body, v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d %v", resp.Request.URL, resp.StatusCode, err)
	}
}

// connect opens a connection to the harness and sends CONNECT target,
// returning the answer and the connection (with its reader).
func connect(t *testing.T, h *sandboxtest.Harness, target string) (*http.Response, string, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	body := ""
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	return resp, body, conn, br
}

// TestProxyServesOnlyProviderHosts: the sandbox is no open proxy. CONNECT
// to any other host and absolute-form requests for other hosts get 403
// naming the hosts it serves, and nothing is dialed: a listener standing
// for the foreign host never sees a connection.
func TestProxyServesOnlyProviderHosts(t *testing.T) {
	t.Parallel()
	h := proxyHarness(t, newCA(t))
	foreign, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	const allowed = "api.centili.com, api.netfinity.bg, api.netrefer.com, api.operator.test, auth-capi.centili.com, login.microsoftonline.com, sts.windows.net"
	refusal := func(host string) string {
		return "provider-sandbox is no proxy for " + host + ": it answers proxy requests only for the provider hosts it serves (" + allowed +
			") and never connects anywhere else; send requests for other hosts without the proxy (list them in NO_PROXY); see docs/hosts.md\n"
	}
	for _, target := range []string{"example.com:443", foreign.Addr().String(), "login.microsoftonline.com.evil.test:443"} {
		resp, body, _, _ := connect(t, h, target)
		if resp.StatusCode != 403 || body != refusal(target) || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("CONNECT %s: %d %q", target, resp.StatusCode, body)
		}
	}
	proxy, _ := url.Parse(h.URL)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	if status, body := do(t, client, mustRequest("GET", "http://example.com/netfinity/v2/sms/notification/send")); status != 403 || body != refusal("example.com") {
		t.Errorf("absolute-form for another host: %d %q", status, body)
	}
	foreign.(*net.TCPListener).SetDeadline(time.Now())
	if c, err := foreign.Accept(); !errors.Is(err, errDeadline) {
		if c != nil {
			c.Close()
		}
		t.Errorf("the foreign host was dialed: %v", err)
	}
}

// TestTunnel: inside a CONNECT tunnel the sandbox serves HTTP/1.1 over TLS
// (or plain HTTP when the client starts without a TLS record) for the
// tunnel's host only; another Host is 421. Without certificates for
// tunnels CONNECT is 502, saying why.
func TestTunnel(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	h := proxyHarness(t, ca)
	resp, _, conn, br := connect(t, h, "api.centili.com:443")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	tc := tls.Client(&readerConn{Conn: conn, r: br}, &tls.Config{ServerName: "api.centili.com", RootCAs: ca.Pool(), NextProtos: []string{"h2", "http/1.1"}})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS in the tunnel: %v", err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN %q, want http/1.1", p)
	}
	tbr := bufio.NewReader(tc)
	for _, tc2 := range []struct {
		host   string
		status int
		body   string
	}{
		{"api.netfinity.bg", 421, "this tunnel was opened to api.centili.com; a request for api.netfinity.bg needs a CONNECT of its own\n"},
		{"api.centili.com", 401, ""},
	} {
		io.WriteString(tc, "GET /datagifting/v1/services?merchantId=11111 HTTP/1.1\r\nHost: "+tc2.host+"\r\n\r\n")
		r, err := http.ReadResponse(tbr, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != tc2.status || (tc2.body != "" && string(b) != tc2.body) || r.Header.Get(sandbox.HeaderRequestID) == "" {
			t.Errorf("Host %s in the tunnel: %d %q", tc2.host, r.StatusCode, b)
		}
	}

	// Plain HTTP in a tunnel (a client tunnelling http:// URLs).
	resp, _, conn, br = connect(t, h, "api.netfinity.bg:80")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT :80: %d", resp.StatusCode)
	}
	io.WriteString(conn, "POST /v2/sms/notification/send HTTP/1.1\r\nHost: api.netfinity.bg\r\nAccept: application/json\r\nContent-Type: application/json\r\n"+
		"Authorization: Bearer sandbox-netfinity-token\r\nContent-Length: 40\r\n\r\n{\"msisdn\":\"359881234567\",\"text\":\"plain\"}")
	if r, err := http.ReadResponse(br, nil); err != nil || r.StatusCode != 200 {
		t.Errorf("plain HTTP in a tunnel: %v %v", r, err)
	}

	noTLS := sandboxtest.New(t, hostsScenario())
	resp, body, _, _ := connect(t, noTLS, "api.centili.com:443")
	if resp.StatusCode != 502 || body != "this sandbox has no certificates for CONNECT tunnels; start it with --hosts (see docs/hosts.md)\n" {
		t.Errorf("without TunnelTLS: %d %q", resp.StatusCode, body)
	}
}

// readerConn reads a connection through the reader that read its CONNECT
// answer.
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

var errDeadline = os.ErrDeadlineExceeded

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
