package tlsca_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/tlsca"
)

func TestLoadCreatesOnceAndKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "ca")
	ca, err := tlsca.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, tlsca.KeyFile): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode(), want)
		}
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, tlsca.CertFile))
	if err != nil || !bytes.Equal(onDisk, ca.CertPEM()) {
		t.Fatalf("ca.pem differs from CertPEM (err %v)", err)
	}
	again, err := tlsca.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CertPEM(), ca.CertPEM()) {
		t.Fatal("a second Load made a new CA instead of reading the kept one")
	}
	cert := parseCert(t, ca.CertPEM())
	if !cert.IsCA || !strings.HasPrefix(cert.Subject.CommonName, "provider-sandbox local CA ") || cert.Subject.CommonName != ca.Name() {
		t.Errorf("CA subject %q, IsCA %v", cert.Subject.CommonName, cert.IsCA)
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life < 9*365*24*time.Hour {
		t.Errorf("CA valid for %v, want about ten years", life)
	}
	if ca.CertPath() != filepath.Join(dir, tlsca.CertFile) || ca.Dir() != dir {
		t.Errorf("CertPath %q, Dir %q", ca.CertPath(), ca.Dir())
	}
}

func TestDefaultDir(t *testing.T) {
	if d, err := tlsca.DefaultDir("/srv/sandbox"); err != nil || d != filepath.Join("/srv/sandbox", "ca") {
		t.Errorf("DefaultDir(/srv/sandbox) = %q, %v", d, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "/home/u/.config")
	t.Setenv("HOME", "/home/u")
	t.Setenv("AppData", `C:\Users\u\AppData\Roaming`)
	cfg, _ := os.UserConfigDir()
	if d, err := tlsca.DefaultDir(""); err != nil || d != filepath.Join(cfg, "provider-sandbox", "ca") {
		t.Errorf("DefaultDir(\"\") = %q, %v", d, err)
	}
}

// A CA someone may trust already is never replaced: every broken state is an
// error naming the file.
func TestLoadRefusesBrokenFiles(t *testing.T) {
	other, err := tlsca.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := os.ReadFile(filepath.Join(other.Dir(), tlsca.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		change func(dir string)
		want   string
	}{
		"corrupt certificate": {func(dir string) { write(t, dir, tlsca.CertFile, []byte("not pem")) }, "ca.pem holds no PEM CERTIFICATE block"},
		"corrupt key": {func(dir string) {
			write(t, dir, tlsca.KeyFile, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
		}, "ca-key.pem holds no readable PKCS #8 private key"},
		"key of another CA":   {func(dir string) { write(t, dir, tlsca.KeyFile, otherKey) }, "ca-key.pem is not the key of ca.pem"},
		"key missing":         {func(dir string) { os.Remove(filepath.Join(dir, tlsca.KeyFile)) }, "ca-key.pem: no such file"},
		"certificate missing": {func(dir string) { os.Remove(filepath.Join(dir, tlsca.CertFile)) }, "ca.pem: no such file"},
		"expired":             {writeExpired(t), "ca.pem is valid from"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := tlsca.Load(dir); err != nil {
				t.Fatal(err)
			}
			c.change(dir)
			before := snapshot(t, dir)
			_, err := tlsca.Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error with %q", err, c.want)
			}
			if after := snapshot(t, dir); after != before {
				t.Error("Load changed the files of a broken CA")
			}
		})
	}
}

// writeExpired replaces the CA with a self-consistent one that expired.
func writeExpired(t *testing.T) func(dir string) {
	return func(dir string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "old"},
			NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
		write(t, dir, tlsca.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		write(t, dir, tlsca.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	}
}

// TestTLSConfigServesTrustedLeaves handshakes with clients that trust only
// the CA, by each name a sandbox is reached at.
func TestTLSConfigServesTrustedLeaves(t *testing.T) {
	ca, err := tlsca.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, ca.TLSConfig([]string{"api.centili.com", "Login.MicrosoftOnline.com.", "*.sandbox.test"}))
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "api.centili.com", "login.microsoftonline.com", "ns1.sandbox.test", "a.b.sandbox.test"} {
		t.Run(name, func(t *testing.T) {
			state, err := handshake(addr, name, ca.Pool())
			if err != nil {
				t.Fatal(err)
			}
			leaf := state.PeerCertificates[0]
			if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 397*24*time.Hour {
				t.Errorf("leaf valid for %v, more than 397 days", life)
			}
			if !bytes.Equal(state.PeerCertificates[len(state.PeerCertificates)-1].Raw, parseCert(t, ca.CertPEM()).Raw) {
				t.Error("the chain does not end with the CA")
			}
			if state.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN %q, want h2", state.NegotiatedProtocol)
			}
		})
	}
	for _, name := range []string{"api.netfinity.bg", "sandbox.test"} {
		if _, err := handshake(addr, name, ca.Pool()); err == nil || !strings.Contains(err.Error(), "certificate is valid for") {
			t.Errorf("%s: %v, want a name mismatch", name, err)
		}
	}
	if _, err := handshake(addr, "localhost", x509.NewCertPool()); err == nil {
		t.Error("a client not trusting the CA accepted its leaf")
	}
}

// Concurrent handshakes for one name get one leaf: issued once, then cached.
func TestTLSConfigCachesPerName(t *testing.T) {
	ca, err := tlsca.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := ca.TLSConfig([]string{"*.sandbox.test"})
	var wg sync.WaitGroup
	got := make([]*tls.Certificate, 8)
	for i := range got {
		wg.Go(func() {
			name := "x.y.sandbox.test"
			if i%2 == 1 {
				name = "localhost"
			}
			c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	for i := 2; i < len(got); i++ {
		if got[i] != got[i%2] {
			t.Fatalf("handshake %d got another certificate than handshake %d", i, i%2)
		}
	}
	if got[0] == got[1] {
		t.Fatal("x.y.sandbox.test and localhost share a leaf")
	}
	if dns := got[0].Leaf.DNSNames; len(dns) != 1 || dns[0] != "x.y.sandbox.test" {
		t.Errorf("on-demand leaf names %v", dns)
	}
}

func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects to addr as if to name (the SNI, or an IP address the
// certificate must list).
func handshake(addr, name string, roots *x509.CertPool) (tls.ConnectionState, error) {
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

func parseCert(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// snapshot is the directory's file names and contents.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString(e.Name() + "\n" + string(data))
	}
	return b.String()
}
