// Package tlsca is the sandbox's local certificate authority: it lets the
// sandbox serve HTTPS that clients trust without an "insecure" switch, once
// the user has trusted one CA certificate (see docs/https.md).
//
// The CA (ca.pem and ca-key.pem in one directory) is made on first use and
// kept, so a CA trusted once stays trusted across restarts. Server
// certificates ("leaves") are never written to disk: they are issued at
// start-up and on demand, for the names a tls.Config from TLSConfig serves.
//
// Certificates are checked by clients against the wall clock, so this package
// uses time.Now, not the sandbox clock.
package tlsca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File names inside the CA directory.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

const (
	// caValidity is how long a new CA is valid: long enough that nobody has
	// to trust a second one.
	caValidity = 10 * 365 * 24 * time.Hour
	// LeafValidity is how long a server certificate is valid, backdating
	// included: Apple and Chrome refuse server certificates valid for more
	// than 398 days, even from a locally trusted CA.
	LeafValidity = 397 * 24 * time.Hour
	// backdate covers clocks a little behind the sandbox's.
	backdate = time.Hour
	// renewBefore: a cached leaf this close to its end is issued afresh, so
	// a sandbox running for over a year keeps serving valid certificates.
	renewBefore = 24 * time.Hour
	// maxCached bounds the on-demand leaf cache (a wildcard host admits any
	// number of SNI names); past it the cache starts over.
	maxCached = 1024
)

// CA is a loaded certificate authority. Its methods are safe for concurrent use.
type CA struct {
	dir     string
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte

	mu     sync.Mutex
	leaves map[string]*tls.Certificate // by the name set they cover, see leafFor
}

// DefaultDir is where the CA lives: dataDir/ca when a data directory is
// given, else provider-sandbox/ca in the user's configuration directory
// (~/.config on Linux), so every sandbox a user runs shares one CA.
func DefaultDir(dataDir string) (string, error) {
	if dataDir != "" {
		return filepath.Join(dataDir, "ca"), nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no directory for the local CA (give --data-dir): %w", err)
	}
	return filepath.Join(cfg, "provider-sandbox", "ca"), nil
}

// Load reads the CA kept in dir, or makes one there when dir holds neither
// file (the directory is created 0700, the key written 0600). A file that is
// unreadable, corrupt, expired or does not match the other is an error: a CA
// someone may already trust is never replaced silently. Remove both files to
// start over.
func Load(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return create(dir)
	case certErr != nil:
		return nil, fmt.Errorf("local CA: %w", certErr)
	case keyErr != nil:
		return nil, fmt.Errorf("local CA: %w", keyErr)
	}
	ca, err := parse(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("local CA in %s: %w (remove %s and %s to make a new one)", dir, err, CertFile, KeyFile)
	}
	ca.dir = dir
	return ca, nil
}

// parse checks a stored pair: a CA certificate, currently valid, and the
// private key of its public key.
func parse(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM CERTIFICATE block", CertFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CertFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", CertFile)
	}
	if now := time.Now(); now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return nil, fmt.Errorf("%s is valid from %s to %s only", CertFile, cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PEM PRIVATE KEY block", KeyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		// The asn1 error says little more than "corrupt".
		return nil, fmt.Errorf("%s holds no readable PKCS #8 private key", KeyFile)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a %T cannot sign", KeyFile, k)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s is not the key of %s", KeyFile, CertFile)
	}
	return &CA{cert: cert, key: key, certPEM: pem.EncodeToMemory(cb), leaves: map[string]*tls.Certificate{}}, nil
}

// create makes a new CA in dir. The key is written first and with O_EXCL,
// so two sandboxes starting at once cannot both write one: the loser fails
// and succeeds on its next start.
func create(dir string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	// The short id tells apart the CAs of different machines or data
	// directories in a trust store that holds several.
	sum := sha256.Sum256(spki)
	id := hex.EncodeToString(sum[:4])
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "provider-sandbox local CA " + id, Organization: []string{"provider-sandbox"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // it signs leaves only
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          sum[:20],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	if err := writeNew(filepath.Join(dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeNew(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{dir: dir, cert: cert, key: key, certPEM: certPEM, leaves: map[string]*tls.Certificate{}}, nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1)) // serials are positive
}

// Dir is the directory the CA is kept in.
func (ca *CA) Dir() string { return ca.dir }

// CertPath is the CA certificate's file, the one users trust.
func (ca *CA) CertPath() string { return filepath.Join(ca.dir, CertFile) }

// Name is the CA's subject common name, as trust stores list it.
func (ca *CA) Name() string { return ca.cert.Subject.CommonName }

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Pool is a certificate pool holding only this CA, for Go clients
// (tls.Config.RootCAs).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// defaultNames are in every leaf: the sandbox on this machine.
var defaultNames = []string{"localhost", "127.0.0.1", "::1"}

// TLSConfig is a server configuration whose certificates this CA issues.
// Without SNI, or for localhost, an IP address or a name the leaf already
// covers, it serves one leaf for localhost, 127.0.0.1, ::1 and hosts. For an
// SNI name matching an entry of hosts ("api.centili.com", or "*.example.test"
// for any name under example.test) it issues a leaf for that name on first
// use and caches it. Any other name gets the default leaf, which the client
// then refuses with an error naming the names it covers.
// It offers HTTP/2 and HTTP/1.1 (ALPN).
func (ca *CA) TLSConfig(hosts []string) *tls.Config {
	var exact []string
	var suffixes []string // ".example.test" for "*.example.test"
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		switch {
		case h == "":
		case strings.HasPrefix(h, "*."):
			suffixes = append(suffixes, h[1:])
		default:
			exact = append(exact, h)
		}
	}
	base := append(append([]string{}, defaultNames...), exact...)
	for _, s := range suffixes {
		base = append(base, "*"+s) // a wildcard covers one label; deeper names get their own leaf
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
			for _, s := range suffixes {
				if strings.HasSuffix(name, s) && len(name) > len(s) && strings.Count(name[:len(name)-len(s)], ".") > 0 {
					return ca.leafFor([]string{name})
				}
			}
			return ca.leafFor(base)
		},
	}
}

// Leaf returns a certificate for names from the same cache TLSConfig
// uses, issued on first use, for servers that decide per connection which
// names to serve (the sandbox's provider hosts follow its scenario).
func (ca *CA) Leaf(names ...string) (*tls.Certificate, error) { return ca.leafFor(names) }

// leafFor returns the cached leaf for names, issuing it when missing or
// nearly expired.
func (ca *CA) leafFor(names []string) (*tls.Certificate, error) {
	k := strings.Join(names, " ")
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[k]; ok && time.Until(c.Leaf.NotAfter) > renewBefore {
		return c, nil
	}
	c, err := ca.Issue(names)
	if err != nil {
		return nil, err
	}
	if len(ca.leaves) >= maxCached {
		clear(ca.leaves)
	}
	ca.leaves[k] = c
	return c, nil
}

// Issue makes a server certificate for names (DNS names, wildcards such as
// *.example.test, or IP addresses) with a fresh P-256 key, valid for
// LeafValidity. TLSConfig caches what it issues; Issue does not.
func (ca *CA) Issue(names []string) (*tls.Certificate, error) {
	if len(names) == 0 {
		return nil, errors.New("tlsca: a certificate needs at least one name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"provider-sandbox"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(-backdate).Add(LeafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: issue %v: %w", names, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}
