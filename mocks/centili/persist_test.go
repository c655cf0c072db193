package centili_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A Centili namespace saved and restored into another answers the next
// gifts as the original would: balances exact, a retried clientId
// replayed, a clientId whose transaction the log dropped still refused,
// transaction ids and sessions going on, and re-saving gives the same bytes.
func TestCentiliSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario+"centili:\n  limits: {maxTransactions: 2}\n")
	tr := login(t, h, "/ns/a/centili", merchantUser)
	tok := sandboxtest.Header("token", tr.AccessToken)
	for i, msisdn := range []string{"4366124567", "4366124568", "33612345678"} {
		h.Do("POST", "/ns/a/centili"+txPath, txBody(serviceKey, msisdn, "gift-"+string(rune('1'+i)), 500), tok).WantStatus(200)
	}
	snap := h.Snapshot("a", false)
	h.Restore("b", snap).WantStatus(200)
	// a moves on, then goes back to the snapshot.
	h.Do("POST", "/ns/a/centili"+txPath, txBody(serviceKey, "4366124567", "later", 1000), tok).WantStatus(200)
	h.Restore("a", snap).WantStatus(200).WantJSON(`{"restored":"a","from":"a","createdAt":"2026-03-01T10:00:00Z","scenario":"centili-test","now":"2026-03-01T10:00:00Z","journal":false}`)

	if again := h.Snapshot("b", false); !bytes.Equal(again, bytes.ReplaceAll(snap, []byte(`"namespace": "a"`), []byte(`"namespace": "b"`))) {
		t.Errorf("re-saving the restored namespace gives other bytes:\n%s\nwant\n%s", again, snap)
	}
	for _, ns := range []string{"a", "b"} {
		base := "/ns/" + ns + "/centili"
		st := state(t, h, ns)
		if p := poolOf(t, st, serviceKey, "AT_A1"); p.AssignedAmount != 1000 || p.Balance != 49000 {
			t.Errorf("%s: AT_A1 pool %+v, want 1000 assigned", ns, p)
		}
		if len(st.Sessions) != 1 || st.Sessions[0].Username != merchantUser {
			t.Errorf("%s: sessions %+v", ns, st.Sessions)
		}
		// Tokens are the namespace's own (their issuer names it): a's from
		// before the snapshot still work in a.
		tok, rt := tok, tr.RefreshToken
		if ns == "b" {
			trB := login(t, h, base, merchantUser)
			tok, rt = sandboxtest.Header("token", trB.AccessToken), trB.RefreshToken
		}
		res := h.Do("POST", base+txPath, txBody(serviceKey, "4366124567", "gift-3", 500), tok).WantStatus(200)
		if res.Header.Get("X-Sandbox-Idempotent-Replay") != "true" {
			t.Errorf("%s: gift-3 again is no replay", ns)
		}
		// gift-1 was dropped by the log of two: still refused.
		h.Do("POST", base+txPath, txBody(serviceKey, "4366124567", "gift-1", 500), tok).WantStatus(409)
		h.Do("POST", base+txPath, txBody(serviceKey, "4366124567", "gift-4", 100), tok).WantStatus(200).
			WantJSON(`{"transactionId":"17000000004","serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"gift-4","amount":100,"operator":"AT_A1","status":"COMPLETED","errorType":null,"errorMessage":null,"timeCreated":"2026-03-01 10:00:00"}`)
		if res := refresh(h, base, publicClient, rt); res.Status != 200 {
			t.Errorf("%s: refresh after restore: %d %s", ns, res.Status, res.Body)
		}
	}
	if a, b := state(t, h, "a"), state(t, h, "b"); poolOf(t, a, serviceKey, "AT_A1") != poolOf(t, b, serviceKey, "AT_A1") {
		t.Errorf("pools differ after the same requests: %+v and %+v", poolOf(t, a, serviceKey, "AT_A1"), poolOf(t, b, serviceKey, "AT_A1"))
	}
}

// What the Keycloak endpoints remember survives a snapshot: an access token
// revoked alone stays refused, with rotation on the refresh token already
// used up stays refused while the rotated one still works once, and a
// client detached by a refused reuse stays detached.
func TestCentiliSnapshotKeepsRevocationsAndRotation(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, fmt.Sprintf(rotationScenario, 0))
	revoked := confLogin(t, h, merchantUser)
	h.Do("POST", oidcBase+"/revoke", confForm("token", revoked.AccessToken, "token_type_hint", "access_token")).WantStatus(200)
	tr := login(t, h, "/centili", merchantUser)
	var next tokenResponse
	refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(200).JSON(&next)

	snap := h.Snapshot("", false)
	h.Restore("", snap).WantStatus(200)

	introspect(h, revoked.AccessToken).WantStatus(200).WantJSON(inactive)
	wantChallenge(t, userinfo(h, revoked.AccessToken), 401, tokenVerifyWWW)
	refresh(h, "/centili", publicClient, next.RefreshToken).WantStatus(200)
	if again := h.Snapshot("", false); bytes.Equal(again, snap) {
		t.Error("a refresh after the restore did not change the saved state")
	}
	h.Restore("", snap).WantStatus(200)
	refresh(h, "/centili", publicClient, tr.RefreshToken).WantStatus(400).
		WantJSON(`{"error":"invalid_grant","error_description":"Maximum allowed refresh token reuse exceeded"}`)

	// The refused reuse detached the client; that survives a snapshot too.
	detached := h.Snapshot("", false)
	if !regexp.MustCompile(`"clientDetached":\s*true`).Match(detached) {
		t.Errorf("the saved state does not record the detached client: %s", detached)
	}
	h.Restore("", snap).WantStatus(200)
	refresh(h, "/centili", publicClient, next.RefreshToken).WantStatus(200)
	h.Restore("", detached).WantStatus(200)
	refresh(h, "/centili", publicClient, next.RefreshToken).WantStatus(400).WantJSON(noRequiredClient)
	for _, se := range state(t, h, "").Sessions {
		if se.ClientDetached != (se.SessionID == tr.SessionState) {
			t.Errorf("session %+v after restoring: want only %s detached", se, tr.SessionState)
		}
	}
}
