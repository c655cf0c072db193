// Package tokens signs and verifies the RS256 JWTs handed out by the Azure AD
// and Keycloak emulations, and publishes the matching JWKS document.
//
// One Issuer holds one RSA key. Without a key in the scenario the key is
// generated on first use (not at start-up, which keeps start-up fast) and
// shared by the whole process, or read from the data directory (KeepShared)
// so that it survives restarts; with `keys.signingKeyPEM` every run signs with
// the same key and tokens are reproducible byte for byte under a frozen clock.
package tokens

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer signs tokens with one RSA key and verifies tokens signed by it.
type Issuer struct {
	once   sync.Once
	pem    string
	err    error
	key    *rsa.PrivateKey
	kid    string
	signer jose.Signer
	jwks   []byte
}

var (
	sharedOnce   sync.Once
	sharedIssuer *Issuer
)

// Shared returns the process-wide issuer: a generated key, or the key
// kept in a file when KeepShared was called first.
func Shared() *Issuer {
	sharedOnce.Do(func() { sharedIssuer = &Issuer{} })
	return sharedIssuer
}

// KeepShared makes the process-wide issuer sign with the RSA key kept in
// file, so that tokens issued before a restart still verify after it (and
// the JWKS and kid stay the same): the key is read when the file exists,
// else generated and written there in PKCS#8 PEM (0600, its directory
// made 0700). It must be called before Shared is first used; a second call
// with the same file is a no-op. A file that holds no RSA key is an error,
// never replaced: tokens someone holds may depend on it.
func KeepShared(file string) error {
	keyPEM, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		keyPEM, err = createKeyFile(file)
	}
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if _, err := ParsePrivateKey(string(keyPEM)); err != nil {
		return fmt.Errorf("signing key in %s: %w (remove the file for a new key; tokens signed with the old one stop verifying)", file, err)
	}
	set := false
	sharedOnce.Do(func() {
		sharedIssuer = &Issuer{pem: string(keyPEM)}
		set = true
	})
	if !set && sharedIssuer.pem != string(keyPEM) {
		return errors.New("signing key: the process already signs with another key")
	}
	return nil
}

// createKeyFile generates a key and writes it to file atomically (a
// temporary file linked into place), so a crash never leaves half a key;
// when another process made the file first, its key is the one used.
func createKeyFile(file string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(keyPEM); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), file)
	}
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	return keyPEM, nil
}

// New returns an issuer for a PEM-encoded RSA private key; an empty string
// gives the process-wide generated key.
func New(keyPEM string) (*Issuer, error) {
	if keyPEM == "" {
		return Shared(), nil
	}
	i := &Issuer{pem: keyPEM}
	if err := i.init(); err != nil {
		return nil, err
	}
	return i, nil
}

func (i *Issuer) init() error {
	i.once.Do(func() {
		if i.pem == "" {
			i.key, i.err = rsa.GenerateKey(rand.Reader, 2048)
		} else {
			i.key, i.err = ParsePrivateKey(i.pem)
		}
		if i.err != nil {
			return
		}
		pub := jose.JSONWebKey{Key: &i.key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
		thumb, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			i.err = err
			return
		}
		// The RFC 7638 thumbprint makes the kid a function of the key, so a
		// fixed key gives a fixed kid.
		i.kid = base64.RawURLEncoding.EncodeToString(thumb)
		pub.KeyID = i.kid
		i.signer, i.err = jose.NewSigner(
			jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: i.key, KeyID: i.kid}},
			(&jose.SignerOptions{}).WithType("JWT"),
		)
		if i.err != nil {
			return
		}
		i.jwks, i.err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	})
	return i.err
}

// ParsePrivateKey reads an RSA private key in PKCS#1 or PKCS#8 PEM.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the key is not an RSA key")
	}
	return rk, nil
}

// PrivateKeyPEM returns the signing key as PKCS#8 PEM. A namespace
// snapshot of a scenario without keys.signingKeyPEM carries the process's
// generated key, so that tokens issued before it verify after a restore in
// another process.
func (i *Issuer) PrivateKeyPEM() (string, error) {
	if err := i.init(); err != nil {
		return "", err
	}
	if i.pem != "" {
		return i.pem, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(i.key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// KeyID returns the `kid` placed in every token header and in the JWKS.
func (i *Issuer) KeyID() (string, error) {
	if err := i.init(); err != nil {
		return "", err
	}
	return i.kid, nil
}

// Sign returns a compact RS256 JWT carrying claims (any JSON-marshalable value,
// usually a map or a struct with json tags). The header has typ, alg and kid.
func (i *Issuer) Sign(claims any) (string, error) {
	if err := i.init(); err != nil {
		return "", err
	}
	return jwt.Signed(i.signer).Claims(claims).Serialize()
}

// JWKS returns the JSON Web Key Set document ({"keys":[...]}) with kty, use,
// kid, alg, n and e of the signing key.
func (i *Issuer) JWKS() ([]byte, error) {
	if err := i.init(); err != nil {
		return nil, err
	}
	return i.jwks, nil
}

// Errors returned by Verify, so that callers can map them to their provider's
// wording.
var (
	ErrMalformed    = errors.New("token is not a compact JWS")
	ErrAlgorithm    = errors.New("token is not signed with RS256")
	ErrSignature    = errors.New("token signature does not verify")
	ErrUnknownKeyID = errors.New("token kid is not a key of this issuer")
)

// Verify checks that token is an RS256 JWT signed by this issuer and decodes
// its claims into out. It checks no claim: expiry, audience and the like mean
// different things to each provider, which check them against the sandbox clock.
func (i *Issuer) Verify(token string, out any) error {
	if err := i.init(); err != nil {
		return err
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		if len(token) > 0 && countDots(token) == 2 && containsAlgError(err) {
			return ErrAlgorithm
		}
		return ErrMalformed
	}
	if len(parsed.Headers) != 1 {
		return ErrMalformed
	}
	if kid := parsed.Headers[0].KeyID; kid != "" && kid != i.kid {
		return ErrUnknownKeyID
	}
	if err := parsed.Claims(&i.key.PublicKey, out); err != nil {
		return ErrSignature
	}
	return nil
}

func countDots(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			n++
		}
	}
	return n
}

func containsAlgError(err error) bool {
	var e *jose.ErrUnexpectedSignatureAlgorithm
	return errors.As(err, &e)
}
