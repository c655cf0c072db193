package netrefer_test

import (
	"bytes"
	"net/url"
	"slices"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A NetRefer namespace saved and restored answers as the original: a
// duplicate eventId still refused, a correction applied to the restored
// activity, the refresh token issued before redeemable, the rate-limit
// window's count carried over; re-saving gives the same bytes.
func TestNetReferSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozen+"netrefer:\n  rateLimit: {calls: 4, renewalPeriodSeconds: 60}\n")
	tokenFor := func(prefix string) (access, refresh string) {
		f := passwordForm()
		f.Set("scope", scope+" offline_access")
		var tr struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		h.Do("POST", prefix+tokenPath, sandboxtest.FormBody(f)).WantStatus(200).JSON(&tr)
		return tr.AccessToken, tr.RefreshToken
	}
	send := func(prefix, tok, path string, body any) *sandboxtest.Response {
		return h.Do("POST", prefix+"/netrefer/di/v1/"+path, sandboxtest.JSONBody(body),
			sandboxtest.Header("Ocp-Apim-Subscription-Key", subKey), sandboxtest.Bearer(tok))
	}
	tok, rt := tokenFor("")
	send("", tok, "registrations", []any{reg("r1", "c1")}).WantStatus(200)
	send("", tok, "activities", []any{act("a1", "c1", "t1", 10, 2.5, 0)}).WantStatus(200)
	snap := h.Snapshot("", false)

	// The default namespace moves on (two more calls fill its window), then goes back.
	send("", tok, "registrations", []any{reg("r2", "c2")}).WantStatus(200)
	send("", tok, "registrations", []any{reg("r3", "c3")}).WantStatus(200)
	send("", tok, "registrations", []any{reg("r4", "c4")}).WantStatus(429)
	h.Restore("", snap).WantStatus(200)
	h.Restore("ns2", snap).WantStatus(200)
	if again := h.Snapshot("", false); !bytes.Equal(again, snap) {
		t.Errorf("re-saving the restored namespace gives other bytes:\n%s\nwant\n%s", again, snap)
	}

	for _, prefix := range []string{"", "/ns/ns2"} {
		tok := tok
		if prefix != "" {
			tok, _ = tokenFor(prefix)
		}
		var res ingestResult
		send(prefix, tok, "registrations", []any{reg("r1", "c9"), reg("r5", "c2")}).WantStatus(207).JSON(&res)
		if got := res.codes(); !slices.Equal(got, []string{"DI-1005 eventId", ""}) {
			t.Errorf("%q: r1 again gave %q, want DI-1005 for it and r5 accepted", prefix, got)
		}
		var corr ingestResult
		send(prefix, tok, "corrections", []any{map[string]any{"eventId": "k1", "customerId": "c1", "brandId": 1,
			"timestamp": "2026-11-22T09:30:00Z", "originalTransactionId": "t1", "turnover": 20, "grossRevenue": 5, "bonus": 0}}).WantStatus(200).JSON(&corr)
		if got := corr.codes(); !slices.Equal(got, []string{""}) {
			t.Errorf("%q: correction of the restored activity: %q", prefix, got)
		}
		// Two calls were made before the snapshot and two now: the window of four is full.
		send(prefix, tok, "registrations", []any{reg("r6", "c6")}).WantStatus(429)
		st := state(t, h, nsName(prefix))
		if c := st.Clients[0]; c.ProcessedEvents != 4 || len(c.Transactions) != 1 || len(c.Transactions[0].History) != 2 {
			t.Errorf("%q: state %+v", prefix, c)
		}
	}
	// The refresh token issued before the snapshot is redeemed in the namespace it was issued in.
	h.Do("POST", tokenPath, sandboxtest.FormBody(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID},
		"client_secret": {secret}, "refresh_token": {rt}, "scope": {scope}})).WantStatus(200)
}

func nsName(prefix string) string {
	if prefix == "" {
		return ""
	}
	return prefix[len("/ns/"):]
}
