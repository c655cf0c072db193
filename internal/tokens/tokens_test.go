package tokens

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"
)

func testKeyPEM(t testing.TB) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func TestSignVerifyAndJWKS(t *testing.T) {
	t.Parallel()
	iss, err := New(testKeyPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Sign(map[string]any{"sub": "u1", "exp": 123})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := iss.Verify(tok, &claims); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if claims["sub"] != "u1" {
		t.Fatalf("claims %v", claims)
	}
	// header carries typ, alg and kid
	var hdr map[string]string
	raw, _ := decodeSegment(strings.Split(tok, ".")[0])
	json.Unmarshal(raw, &hdr)
	kid, _ := iss.KeyID()
	if hdr["alg"] != "RS256" || hdr["typ"] != "JWT" || hdr["kid"] != kid || kid == "" {
		t.Fatalf("header %v kid %q", hdr, kid)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	doc, _ := iss.JWKS()
	if err := json.Unmarshal(doc, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s", doc)
	}
	k := set.Keys[0]
	if k["kid"] != kid || k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["n"] == "" || k["e"] != "AQAB" {
		t.Fatalf("jwk %v", k)
	}
}

func TestFixedKeyGivesFixedKidAndTokens(t *testing.T) {
	t.Parallel()
	pemKey := testKeyPEM(t)
	a, _ := New(pemKey)
	b, _ := New(pemKey)
	ka, _ := a.KeyID()
	kb, _ := b.KeyID()
	if ka != kb {
		t.Fatal("same key, different kid")
	}
	ta, _ := a.Sign(map[string]any{"x": 1})
	tb, _ := b.Sign(map[string]any{"x": 1})
	if ta != tb {
		t.Fatal("RS256 with a fixed key and claims must be byte-identical")
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	a, _ := New(testKeyPEM(t))
	b, _ := New(testKeyPEM(t))
	good, _ := a.Sign(map[string]any{"sub": "x"})
	foreign, _ := b.Sign(map[string]any{"sub": "x"})
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	noKid := "eyJhbGciOiJSUzI1NiJ9." + parts[1] + "." + parts[2]
	hs256 := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2ln"
	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"garbage", "not-a-jwt", ErrMalformed},
		{"foreign key", foreign, ErrUnknownKeyID},
		{"tampered payload", tampered, ErrSignature},
		{"signature of other payload", noKid, ErrSignature},
		{"hs256", hs256, ErrAlgorithm},
	}
	for _, tc := range tests {
		var out map[string]any
		if err := a.Verify(tc.tok, &out); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestBadPEM(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"nope", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := New(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if s, _ := New(""); s != Shared() {
		t.Error("empty PEM must give the shared issuer")
	}
}

func BenchmarkSign(b *testing.B) {
	iss, _ := New(testKeyPEM(b))
	claims := map[string]any{"sub": "u", "aud": "api://x", "exp": 1, "iat": 1, "scp": "Events.Injestion"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := iss.Sign(claims); err != nil {
			b.Fatal(err)
		}
	}
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// The data directory's key: made once with private permissions, then read
// back, so the process-wide issuer signs with it and a restart (a new
// process reading the same file) keeps the kid and verifies old tokens.
// Not parallel: it must run before the parallel tests, one of which uses the
// process-wide issuer (and so fixes its key).
func TestKeepSharedKeepsTheKeyInItsFile(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/keys/signing-key.pem"
	if err := KeepShared(file); err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dir + "/keys"); fi.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %v, want 0700", fi.Mode().Perm())
	}
	if !strings.HasPrefix(string(keyPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key file is not PKCS#8 PEM: %.40q", keyPEM)
	}
	// A new process reading the file: an issuer from the same PEM.
	again, err := New(string(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Shared().Sign(map[string]any{"sub": "before-restart"})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := again.Verify(tok, &claims); err != nil || claims["sub"] != "before-restart" {
		t.Fatalf("a token from the kept key does not verify with the file's key: %v %v", err, claims)
	}
	k1, _ := Shared().KeyID()
	k2, _ := again.KeyID()
	if k1 != k2 {
		t.Errorf("kid %q after a restart, want %q", k2, k1)
	}
	if err := KeepShared(file); err != nil {
		t.Errorf("a second KeepShared with the same file: %v", err)
	}
	other := dir + "/other.pem"
	if err := KeepShared(other); err == nil || err.Error() != "signing key: the process already signs with another key" {
		t.Errorf("KeepShared with another file once signing = %v", err)
	}
	bad := dir + "/bad.pem"
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if err := KeepShared(bad); err == nil || !strings.Contains(err.Error(), "signing key in "+bad+": no PEM block found (remove the file for a new key") {
		t.Errorf("KeepShared with a corrupt file = %v", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "not a key" {
		t.Errorf("the corrupt file was replaced: %q", b)
	}
}
