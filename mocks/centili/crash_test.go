package centili_test

import (
	"bytes"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A sandbox on a data directory answers every request as one without,
// and once killed and started again on its directory it is still that
// one's twin: the same saved state, the pools' balances, every clientId
// replayed or refused as before, sessions and refresh-token reuse, the
// next ids.
func TestDurableCentiliAcrossACrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	disk, kill := sandboxtest.NewOnDisk(t, dir, durableScenario)
	w := &twin{t: t, a: sandboxtest.New(t, durableScenario), b: disk, loaded: true,
		completed: map[string]int64{}, outcomes: map[string]*sandboxtest.Response{}}
	w.initial = assignedBy(state(t, w.a, durableNS))
	oidc := durableBase + "/realms/api/protocol/openid-connect"
	pub := w.login(publicClient, merchantUser)
	conf := w.login(confClient, merchantUser)
	other := w.login(publicClient, otherUser)
	for i, g := range []struct {
		msisdn, clientID string
		amount           int64
	}{{"33612345678", "k1", 500}, {"4366124567", "k2", 1000}, {"33600000003", "k3", 100}, {"33612345678", "k4", 1000},
		{"33612345678", "k5", 500}, {"33612345678", "k1", 100}, {"4466000000", "k6", 100}, {"33612345679", "k7", 500}} {
		// k1's second send is refused (409): the log of four dropped it.
		if res := w.gift(serviceKey, g.msisdn, g.clientID, g.amount, pub.AccessToken); res.Status != 200 && res.Status != 422 && res.Status != 409 {
			t.Fatalf("gift %d: %d %s", i, res.Status, res.Body)
		}
	}
	w.gift(otherKey, "4366124567", "k1", 500, other.AccessToken).WantStatus(200)
	var next tokenResponse
	w.do("POST", oidc+"/token", sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", pub.RefreshToken))).WantStatus(200).JSON(&next)
	w.do("POST", oidc+"/token", sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", next.RefreshToken))).WantStatus(200)
	w.do("POST", oidc+"/revoke", sandboxtest.FormBody(values("client_id", confClient, "client_secret", confSecret, "token", conf.AccessToken))).WantStatus(200)
	w.do("POST", oidc+"/logout", sandboxtest.FormBody(values("client_id", publicClient, "refresh_token", other.RefreshToken))).WantStatus(204)
	w.do("POST", "/ns/d/__sandbox/centili/pools", sandboxtest.JSONBody(map[string]any{"serviceKey": serviceKey, "operator": "FR_ORANGE", "addAmount": 400})).WantStatus(200)
	w.do("POST", "/ns/d/__sandbox/clock", sandboxtest.JSONBody(map[string]string{"advance": "2m"})).WantStatus(200)

	kill()
	w.b, _ = sandboxtest.NewOnDisk(t, dir, durableScenario)
	if a, b := w.saved(w.a), w.saved(w.b); !bytes.Equal(a, b) {
		t.Fatalf("SaveState after the restart differs:\nits twin %s\nrestarted %s", a, b)
	}
	w.check()
	// next's refresh token had one use of its two: one more works, the
	// third is refused.
	refreshNext := func() *sandboxtest.Response {
		return w.do("POST", oidc+"/token", sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", next.RefreshToken)))
	}
	refreshNext().WantStatus(200)
	refreshNext().WantStatus(400).WantJSON(`{"error":"invalid_grant","error_description":"Maximum allowed refresh token reuse exceeded"}`)
	w.do("POST", oidc+"/token/introspect", sandboxtest.FormBody(values("client_id", confClient, "client_secret", confSecret, "token", conf.AccessToken))).WantStatus(200).WantJSON(inactive)
	w.do("POST", oidc+"/token", sandboxtest.FormBody(values("grant_type", "refresh_token", "client_id", publicClient, "refresh_token", other.RefreshToken))).
		WantStatus(400).WantJSON(`{"error":"invalid_grant","error_description":"Session not active"}`)
	tok := w.login(publicClient, merchantUser).AccessToken
	w.gift(serviceKey, "33612345678", "k8", 500, tok).WantStatus(200)
	w.do("GET", durableBase+"/datagifting/v1/services/balance?serviceKey="+serviceKey, nil, sandboxtest.Header("token", tok)).WantStatus(200)
	if a, b := w.saved(w.a), w.saved(w.b); !bytes.Equal(a, b) {
		t.Fatalf("SaveState after the restart and more requests differs:\nits twin %s\nrestarted %s", a, b)
	}
}
