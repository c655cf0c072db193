package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/tlsca"
)

// providerHosts are the hosts --hosts serves with the default scenario.
var providerHosts = []string{"api.centili.com", "api.netfinity.bg", "api.netrefer.com", "auth-capi.centili.com", "login.microsoftonline.com", "sts.windows.net"}

// TestHostsFlag: --hosts makes the plain listener an HTTPS_PROXY for the
// provider hosts, with certificates from the local CA that "sandbox ca"
// printed; the HTTPS listener's certificate names every provider host; an
// idle tunnel does not hold up SIGTERM.
func TestHostsFlag(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	code, caPEM, _ := runBin(t, nil, "ca", "--data-dir", dataDir)
	if code != 0 {
		t.Fatalf("sandbox ca: exit %d", code)
	}
	p := start(t, "--hosts", "--https-addr", "127.0.0.1:0", "--data-dir", dataDir, "--access-log=false")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	proxy, _ := url.Parse(p.base)
	tr := &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: pool}}
	client := &http.Client{Transport: tr}
	resp, err := client.PostForm("https://login.microsoftonline.com/"+nrTenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"password"}, "client_id": {nrClientID}, "client_secret": {"sandbox-netrefer-secret"},
		"username": {"operator@sandbox.test"}, "password": {"sandbox-password"}, "scope": {"api://" + nrClientID + "/Events.Injestion"}})
	if err != nil {
		t.Fatalf("token through the sandbox as HTTPS_PROXY: %v", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	resp, err = client.Get("https://api.centili.com/datagifting/v1/services?merchantId=11111")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("Centili through the proxy: %v %v", resp, err)
	}
	resp.Body.Close()

	// The HTTPS listener: without SNI the default certificate names every
	// provider host; with a provider host's name it verifies as that host.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(p.https, "https://"), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	names := conn.ConnectionState().PeerCertificates[0].DNSNames
	conn.Close()
	for _, h := range providerHosts {
		if !slices.Contains(names, h) {
			t.Errorf("the default certificate names %v, not %s", names, h)
		}
	}
	conn, err = tls.Dial("tcp", strings.TrimPrefix(p.https, "https://"), &tls.Config{ServerName: "api.netrefer.com", RootCAs: pool})
	if err != nil {
		t.Errorf("HTTPS listener as api.netrefer.com: %v", err)
	} else {
		conn.Close()
	}

	// A tunnel left open and idle (kept alive by the transport) is closed
	// by the shutdown.
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM with an idle tunnel; stderr:\n%s", code, p.stderr.String())
	}
	tr.CloseIdleConnections()
}

// With --tls-cert the pair is served for the provider hosts too (the
// local CA stays untouched), and the start warns about the hosts the
// certificate does not name.
func TestHostsWithGivenCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := tlsca.Load(filepath.Join(dir, "other-ca"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "api.centili.com", "auth-capi.centili.com"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	dataDir := filepath.Join(dir, "data")
	p := start(t, "--hosts", "--https-addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--data-dir", dataDir, "--access-log=false")
	proxy, _ := url.Parse(p.base)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := client.Get("https://auth-capi.centili.com/realms/api/.well-known/openid-configuration")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a host the certificate names: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := client.Get("https://api.netfinity.bg/v2/sms/notification/send"); err == nil || !strings.Contains(err.Error(), "certificate is valid for api.centili.com, auth-capi.centili.com, not api.netfinity.bg") {
		t.Errorf("a host the certificate does not name: %v", err)
	}
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "--tls-cert does not cover these provider hosts") ||
		!strings.Contains(p.stderr.String(), "hosts=api.netfinity.bg,api.netrefer.com,login.microsoftonline.com,sts.windows.net") {
		t.Errorf("no warning naming the uncovered hosts:\n%s", p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "ca")); !os.IsNotExist(err) {
		t.Errorf("with --tls-cert the local CA was made anyway (%v)", err)
	}
}

// The banner lists the provider hosts when host routing is on, and only
// then.
func TestBannerListsHosts(t *testing.T) {
	t.Parallel()
	sc := defaultScenario(t)
	var b bytes.Buffer
	printBanner(&b, "http://127.0.0.1:8080", "", sc, true)
	want := "Provider hosts (routed by Host, and served as HTTP(S) proxy; docs/hosts.md):\n" +
		"  centili      api.centili.com\n  netfinity    api.netfinity.bg\n  netrefer     api.netrefer.com\n  centili      auth-capi.centili.com\n" +
		"  netrefer     login.microsoftonline.com\n  netrefer     sts.windows.net\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("banner:\n%s", b.String())
	}
	b.Reset()
	printBanner(&b, "http://127.0.0.1:8080", "", sc, false)
	if strings.Contains(b.String(), "Provider hosts") {
		t.Errorf("hosts listed with host routing off:\n%s", b.String())
	}
	b.Reset()
	printBannerJSON(&b, "http://127.0.0.1:8080", "", sc, true)
	var rec struct{ Hosts map[string]string }
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec.Hosts["login.microsoftonline.com"] != "netrefer" || len(rec.Hosts) != len(providerHosts) {
		t.Errorf("JSON banner hosts %v (%v)", rec.Hosts, err)
	}
}
