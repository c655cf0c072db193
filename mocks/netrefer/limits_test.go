package netrefer_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestStoredEventsAreBounded: once a namespace stores
// limits.maxStoredEvents accepted events, a payload is refused whole with
// 507 and a hint, stores nothing, and is counted in the state view; rejected
// events do not count, nothing stored is dropped, and a reset empties the
// namespace.
func TestStoredEventsAreBounded(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+"netrefer:\n  limits: {maxStoredEvents: 3}\n")
	tok := token(t, h, "")
	ingest(h, tok, "registrations", []any{reg("e1", "c1"), reg("e2", "c2")}).WantStatus(200)
	// Below the limit when it arrives: processed in full, past the limit.
	ingest(h, tok, "registrations", []any{reg("e3", "c3"), reg("e1", "c9"), reg("e4", "c4")}).WantStatus(207)
	res := ingest(h, tok, "deposits", dep("e5", "c1", "t1", 100)).WantStatus(507)
	res.WantJSON(`{"statusCode":507,"message":"The payload was not processed: this namespace stores 4 events, the most the sandbox keeps."}`)
	if hint := res.Header.Get("X-Sandbox-Hint"); hint != "the sandbox stores at most 3 events per namespace (netrefer.limits.maxStoredEvents) and drops none, since later answers depend on them; POST /__sandbox/reset empties this namespace, or raise the limit" {
		t.Errorf("hint %q", hint)
	}
	var view struct {
		Clients []struct {
			ProcessedEvents int `json:"processedEvents"`
		} `json:"clients"`
		Limits any `json:"limits"`
	}
	h.Admin("GET", "", "/state/netrefer", nil, &view)
	if got := fmt.Sprint(view.Limits); got != "map[refreshTokens:map[count:0 evicted:0 limit:100000] storedEvents:map[count:4 limit:3 refusedPayloads:1]]" {
		t.Errorf("state view limits %s", got)
	}
	if view.Clients[0].ProcessedEvents != 4 {
		t.Errorf("processed %d events, want the 4 accepted ones kept", view.Clients[0].ProcessedEvents)
	}
	h.Do("POST", "/__sandbox/reset", nil).WantStatus(200)
	ingest(h, tok, "registrations", reg("e1", "c1")).WantStatus(200)
}

// TestRefreshTokensAreBounded: every offline_access grant used to be kept
// for ever (a flood of 60,000 token requests grew the sandbox by 35 MiB and
// it never came back). A namespace keeps the newest
// limits.maxRefreshTokens; an older one is refused as an unknown one is,
// with a hint, and the state view counts what was forgotten.
func TestRefreshTokensAreBounded(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+"netrefer:\n  limits: {maxRefreshTokens: 2}\n")
	offline := passwordForm()
	offline.Set("scope", scope+" offline_access")
	issue := func(f url.Values) string {
		t.Helper()
		var tr struct {
			RefreshToken string `json:"refresh_token"`
		}
		h.Do("POST", tokenPath, sandboxtest.FormBody(f)).WantStatus(200).JSON(&tr)
		return tr.RefreshToken
	}
	refresh := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "client_secret": {secret}, "refresh_token": {rt}}
	}
	rt1, rt2, rt3 := issue(offline), issue(offline), issue(offline)
	res := h.Do("POST", tokenPath, sandboxtest.FormBody(refresh(rt1))).WantStatus(400)
	var aad struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	res.JSON(&aad)
	if aad.Error != "invalid_grant" || fmt.Sprint(aad.ErrorCodes) != "[9002313]" {
		t.Errorf("a forgotten refresh token: %s", res.Body)
	}
	if hint := res.Header.Get("X-Sandbox-Hint"); hint != "this namespace keeps the newest 2 refresh tokens (netrefer.limits.maxRefreshTokens) and has forgotten 1 older one; it may be one of them" {
		t.Errorf("hint %q", hint)
	}
	issue(refresh(rt2)) // a refresh issues a new refresh token: rt2 is now the oldest and goes
	issue(refresh(rt3))
	var view struct {
		Limits struct {
			RefreshTokens any `json:"refreshTokens"`
		} `json:"limits"`
	}
	h.Admin("GET", "", "/state/netrefer", nil, &view)
	if got := fmt.Sprint(view.Limits.RefreshTokens); got != "map[count:2 evicted:3 limit:2]" {
		t.Errorf("state view refreshTokens %s", got)
	}
	// An unknown token in a namespace that forgot none gets no hint.
	fresh := sandboxtest.New(t, frozen)
	if hint := fresh.Do("POST", tokenPath, sandboxtest.FormBody(refresh("0.sandbox.nope"))).WantStatus(400).Header.Get("X-Sandbox-Hint"); hint != "" {
		t.Errorf("hint without evictions: %q", hint)
	}
}
