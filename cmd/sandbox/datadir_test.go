package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// centiliToken gets an access token from the default scenario's Keycloak.
func centiliToken(t *testing.T, base string) string {
	t.Helper()
	res, err := http.PostForm(base+"/centili/realms/api/protocol/openid-connect/token", url.Values{
		"grant_type": {"password"}, "client_id": {"datagifting"},
		"username": {"merchant@sandbox.test"}, "password": {"sandbox-password"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 || out.AccessToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return out.AccessToken
}

// servicesStatus is the status of Centili's services list with token.
func servicesStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/centili/datagifting/v1/services?merchantId=11111", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func jwks(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/centili/realms/api/protocol/openid-connect/certs")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// With --data-dir the signing key is kept, so a token issued before a
// restart is accepted after it and the JWKS is unchanged; without it every
// process signs with a new key and old tokens are refused (401).
func TestDataDirKeepsTheSigningKeyAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := start(t, "--data-dir", dir, "--access-log=false")
	tok, keys := centiliToken(t, first.base), jwks(t, first.base)
	if code := first.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if fi, err := os.Stat(filepath.Join(dir, signingKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", fi, err)
	}
	second := start(t, "--data-dir", dir, "--access-log=false")
	if got := servicesStatus(t, second.base, tok); got != 200 {
		t.Errorf("a token from before the restart: %d, want 200", got)
	}
	if got := jwks(t, second.base); got != keys {
		t.Errorf("JWKS changed across the restart:\n%s\n%s", keys, got)
	}

	other := start(t, "--access-log=false")
	if got := servicesStatus(t, other.base, tok); got != 401 {
		t.Errorf("a token of another process's key without --data-dir: %d, want 401", got)
	}
}

// A data directory whose key file is not a key stops the start-up with the
// file named, and the file is left as it was.
func TestDataDirRefusesACorruptSigningKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, signingKeyFile)
	os.MkdirAll(filepath.Dir(file), 0o700)
	os.WriteFile(file, []byte("garbage"), 0o600)
	code, _, stderr := runBin(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir)
	want := "sandbox: signing key in " + file + ": no PEM block found (remove the file for a new key; tokens signed with the old one stop verifying)\n"
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	if b, _ := os.ReadFile(file); string(b) != "garbage" {
		t.Errorf("the key file was replaced: %q", b)
	}
}
