package centili_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestTransactionLogKeepsTheNewest: beyond limits.maxTransactions the
// oldest transactions leave the log (the list and the state view), FAILED
// ones included, and the state view says how many; a retry of a dropped
// transaction's clientId is refused with 409 and assigns nothing, while a
// kept one still replays.
func TestTransactionLogKeepsTheNewest(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario+"centili:\n  limits: {maxTransactions: 3}\n")
	tok := sandboxtest.Header("token", login(t, h, "/centili", merchantUser).AccessToken)
	gift := func(clientID string, amount int64) *sandboxtest.Response {
		return h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", clientID, amount), tok)
	}
	gift("c1", 100).WantStatus(200)
	gift("c2", 250).WantStatus(422) // not a package: FAILED, recorded
	for _, id := range []string{"c3", "c4", "c5"} {
		gift(id, 100).WantStatus(200)
	}

	var ids []string
	res := h.Do("GET", "/centili/datagifting/v1/transaction?serviceKey="+serviceKey, nil, tok).WantStatus(200)
	var list []transaction
	res.JSON(&list)
	for _, tx := range list {
		ids = append(ids, tx.ClientID+"="+tx.TransactionID)
	}
	if got := strings.Join(ids, " "); got != "c3=17000000003 c4=17000000004 c5=17000000005" {
		t.Errorf("transactions %s, want the newest three", got)
	}
	var view struct {
		Transactions []transaction `json:"transactions"`
		Limits       any           `json:"limits"`
	}
	h.Admin("GET", "", "/state/centili", nil, &view)
	if got := fmt.Sprint(view.Limits); got != "map[droppedClientIds:2 transactions:map[count:3 evicted:2 limit:3]]" {
		t.Errorf("state view limits %s", got)
	}
	if len(view.Transactions) != 3 || view.Transactions[0].ClientID != "c3" {
		t.Errorf("state view transactions %+v", view.Transactions)
	}

	for _, id := range []string{"c1", "c2"} {
		res := gift(id, 100).WantStatus(409)
		res.WantJSON(`{"errorType":"CLIENT_ID_ALREADY_USED","errorMessage":"clientId \"` + id + `\" was already used on service 3586a2363bcd51a2b3c4d5f34918263a; its transaction is no longer kept, so its outcome cannot be replayed. Nothing was assigned"}`)
		if res.Header.Get("X-Sandbox-Idempotent-Replay") != "true" {
			t.Errorf("%s: no replay header", id)
		}
		if hint := res.Header.Get("X-Sandbox-Hint"); hint != "the sandbox keeps the last 3 transactions of a namespace (centili.limits.maxTransactions) and only the clientIds of older ones" {
			t.Errorf("%s: hint %q", id, hint)
		}
	}
	res = gift("c4", 500).WantStatus(200)
	var replay transaction
	res.JSON(&replay)
	if replay.TransactionID != "17000000004" || replay.Amount != 100 || res.Header.Get("X-Sandbox-Idempotent-Replay") != "true" {
		t.Errorf("kept clientId: %+v", replay)
	}
	// Four gifts of 100 MB completed; the refusals and the replay took nothing.
	if p := poolOf(t, state(t, h, ""), serviceKey, "AT_A1"); p.AssignedAmount != 400 {
		t.Errorf("AT_A1 assigned %d MB, want 400", p.AssignedAmount)
	}
}
