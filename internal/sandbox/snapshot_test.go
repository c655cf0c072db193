package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// snapScenario is the echo scenario (frozen clock) with a probabilistic
// fault rule on Centili's services list, so that the generator's state
// shows in which requests it fires.
const snapScenario = echoScenario + `faults:
  - id: coin
    match: {provider: centili, operation: listServices, probability: 0.5}
    times: 20
    respond: {status: 503}
`

const (
	centiliToken = "/centili/realms/api/protocol/openid-connect/token"
	centiliKey   = "3586a2363bcd51a2b3c4d5f34918263a"
)

// centiliLogin returns a Data Gifting token header for a namespace prefix.
func centiliLogin(t *testing.T, h *sandboxtest.Harness, prefix string) sandboxtest.Option {
	t.Helper()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	h.Do("POST", prefix+centiliToken, sandboxtest.FormBody(url.Values{"grant_type": {"password"}, "client_id": {"datagifting"},
		"username": {"merchant@sandbox.test"}, "password": {"sandbox-password"}})).WantStatus(200).JSON(&tr)
	return sandboxtest.Header("token", tr.AccessToken)
}

// statuses sends n services listings and returns their statuses.
func statuses(h *sandboxtest.Harness, prefix string, tok sandboxtest.Option, n int) string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprint(h.Do("GET", prefix+"/centili/datagifting/v1/services", nil, tok).Status))
	}
	return strings.Join(out, " ")
}

// Fault rules come back with their counters and the seeded generator's
// state: the restored namespace fires on exactly the requests the
// original fires on.
func TestSnapshotKeepsFaultCountersAndGenerator(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, snapScenario)
	tokA := centiliLogin(t, h, "/ns/a")
	statuses(h, "/ns/a", tokA, 5)
	snap := h.Snapshot("a", false)
	h.Restore("b", snap).WantStatus(200)
	tokB := centiliLogin(t, h, "/ns/b")
	a, b := statuses(h, "/ns/a", tokA, 12), statuses(h, "/ns/b", tokB, 12)
	if a != b || !strings.Contains(a, "503") || !strings.Contains(a, "200") {
		t.Errorf("after the restore a answered %s, b %s; want the same mix of 200 and 503", a, b)
	}
	var fa, fb []map[string]any
	h.Admin("GET", "a", "/faults", nil, &fa)
	h.Admin("GET", "b", "/faults", nil, &fb)
	if len(fa) != 1 || fmt.Sprint(fa) != fmt.Sprint(fb) || fa[0]["matched"] != float64(17) {
		t.Errorf("rules after the same requests: %v and %v, want matched 17 in both", fa, fb)
	}
}

// The journal is in a snapshot only when asked for; restored, its entries
// are listed as before and later requests get ids after theirs.
func TestSnapshotJournalIsOptional(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	tok := centiliLogin(t, h, "/ns/a")
	statuses(h, "/ns/a", tok, 2)
	var without, with map[string]json.RawMessage
	if err := json.Unmarshal(h.Snapshot("a", false), &without); err != nil {
		t.Fatal(err)
	}
	if _, ok := without["journal"]; ok {
		t.Error("a snapshot without ?journal=true carries the journal")
	}
	snap := h.Snapshot("a", true)
	if err := json.Unmarshal(snap, &with); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Total   int `json:"total"`
		Entries []struct {
			ID string `json:"id"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(with["journal"], &j); err != nil || j.Total != 3 || len(j.Entries) != 3 {
		t.Fatalf("journal of the snapshot: %s (%v)", with["journal"], err)
	}
	h.Restore("b", snap).WantStatus(200).WantJSON(`{"restored":"b","from":"a","createdAt":"2026-01-02T03:04:05Z","scenario":"echo-test","now":"2026-01-02T03:04:05Z","journal":true}`)
	var la, lb []map[string]any
	h.Admin("GET", "a", "/requests", nil, &la)
	h.Admin("GET", "b", "/requests", nil, &lb)
	if len(lb) != 3 || fmt.Sprint(la) != fmt.Sprint(lb) {
		t.Fatalf("restored journal lists %d entries:\n%v\nwant\n%v", len(lb), lb, la)
	}
	res := h.Do("GET", "/ns/b/centili/datagifting/v1/services", nil, tok)
	if id := res.Header.Get("X-Sandbox-Request-Id"); id <= j.Entries[2].ID {
		t.Errorf("request id %s after the restore is not after the restored %s", id, j.Entries[2].ID)
	}
	// Restored without the journal, the namespace's journal is empty.
	h.Restore("b", h.Snapshot("a", false)).WantStatus(200)
	var none []map[string]any
	if h.Admin("GET", "b", "/requests", nil, &none); len(none) != 0 {
		t.Errorf("journal after restoring a snapshot without one: %d entries", len(none))
	}
}

// A refused snapshot is answered with a problem saying why and changes
// nothing: the namespace keeps its clock and its state.
func TestSnapshotRefusesBadFiles(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	good := h.Snapshot("", false)
	edit := func(old, new string) string {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("the snapshot has no %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	h.Admin("POST", "x", "/clock", map[string]string{"set": "2030-01-01T00:00:00Z"}, nil)
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"not JSON", "{nope", 400, `{"type":"about:blank","title":"Invalid snapshot","status":400,"detail":"not a snapshot file: invalid JSON at byte 2: invalid character 'n' looking for beginning of object key string; nothing was changed"}`},
		{"empty", "", 400, `{"type":"about:blank","title":"Invalid snapshot","status":400,"detail":"not a snapshot file: it is empty; nothing was changed"}`},
		{"trailing data", string(good) + "{}", 400, `{"type":"about:blank","title":"Invalid snapshot","status":400,"detail":"not a snapshot file: more data follows the JSON object; nothing was changed"}`},
		{"unknown field", edit(`"format"`, `"extra": 1, "format"`), 400, `{"type":"about:blank","title":"Invalid snapshot","status":400,"detail":"not a snapshot file: unknown field \"extra\"; nothing was changed"}`},
		{"wrong type", edit(`"version": 1`, `"version": "1"`), 400, `{"type":"about:blank","title":"Invalid snapshot","status":400,"detail":"not a snapshot file: version is string, expected int; nothing was changed"}`},
		{"other format", edit(`"provider-sandbox/snapshot"`, `"postman"`), 400, `{"type":"about:blank","title":"Invalid snapshot","status":400,"detail":"format is \"postman\", expected \"provider-sandbox/snapshot\" (save one with GET /__sandbox/snapshot); nothing was changed"}`},
		{"other version", edit(`"version": 1`, `"version": 2`), 400, `{"type":"about:blank","title":"Invalid snapshot","status":400,"detail":"version 2 is not supported; this sandbox reads version 1; nothing was changed"}`},
		{"unknown provider", edit(`"providers": {`, `"providers": {"acme": {"version": 1},`), 422, `{"type":"about:blank","title":"Snapshot cannot be restored","status":422,"detail":"providers.acme: no such provider in this sandbox; providers: centili, echo, intarget, netfinity, netrefer; nothing was changed"}`},
		{"provider version", edit(`"centili": {`+"\n      \"version\": 1", `"centili": {"version": 2`), 422, `{"type":"about:blank","title":"Snapshot cannot be restored","status":422,"detail":"providers.centili: version 2 is not supported; this sandbox reads version 1; nothing was changed"}`},
		{"bad scenario", edit(`"text": "version: 1`, `"text": "version: 9`), 422, `{"type":"about:blank","title":"Snapshot cannot be restored","status":422,"detail":"the snapshot's scenario has 1 problem(s); nothing was changed","problems":[{"file":"test scenario","line":1,"path":"version","message":"unsupported version 9","hint":"this sandbox reads version 1"}]}`},
		{"bad fault rule", edit(`"rules": []`, `"rules": [{"id": "r", "match": {}, "matched": 0, "fired": 0}]`), 422, `{"type":"about:blank","title":"Snapshot cannot be restored","status":422,"detail":"the snapshot's fault rules cannot be restored; nothing was changed","problems":[{"path":"faults.rules[0].respond","message":"the rule does nothing","hint":"give respond, delay, throttle, reset, hang or cutBody"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Do("PUT", "/ns/x/__sandbox/snapshot", sandboxtest.RawBody("application/json", []byte(tc.body))).WantStatus(tc.status)
			if got := string(res.Body); got != tc.want {
				t.Errorf("body\n%s\nwant\n%s", got, tc.want)
			}
			var clock struct {
				Now string `json:"now"`
			}
			if h.Admin("GET", "x", "/clock", nil, &clock); clock.Now != "2030-01-01T00:00:00Z" {
				t.Errorf("the refused snapshot moved the clock to %s", clock.Now)
			}
		})
	}
	h.Do("PUT", "/__sandbox/snapshot", sandboxtest.RawBody("text/plain", good)).WantStatus(415)
	h.Do("GET", "/__sandbox/snapshot?journal=yes", nil).WantStatus(400)
	h.Do("GET", "/__sandbox/snapshot?journl=true", nil).WantStatus(400)
}

// Gifts sent while snapshots are PUT over and over each see one world:
// whatever the interleaving, a namespace's pool holds exactly what its
// transactions took, never a pool of one world beside another's log.
func TestSnapshotPutIsAtomic(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	snap := h.Snapshot("b", false)
	tok := centiliLogin(t, h, "/ns/b")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				body := fmt.Sprintf(`{"serviceKey":%q,"msisdn":"4366124567","clientId":"g%d-%d","amount":100}`, centiliKey, g, i)
				res := h.Do("POST", "/ns/b/centili/datagifting/v1/service/transaction", sandboxtest.RawBody("application/json", []byte(body)), tok)
				if res.Status != 200 {
					t.Errorf("gift %d-%d: %d %s", g, i, res.Status, res.Body)
				}
			}
		}()
	}
	for i := 0; i < 10; i++ {
		h.Restore("b", snap).WantStatus(200)
	}
	wg.Wait()
	var st struct {
		Services []struct {
			ServiceKey string `json:"serviceKey"`
			Pools      []struct {
				Operator       string `json:"operator"`
				AssignedAmount int64  `json:"assignedAmount"`
			} `json:"pools"`
		} `json:"services"`
		Transactions []struct {
			Operator *string `json:"operator"`
			Amount   int64   `json:"amount"`
			Status   string  `json:"status"`
		} `json:"transactions"`
	}
	h.Admin("GET", "b", "/state/centili", nil, &st)
	var took int64
	for _, tx := range st.Transactions {
		if tx.Status == "COMPLETED" && tx.Operator != nil && *tx.Operator == "AT_A1" {
			took += tx.Amount
		}
	}
	for _, sv := range st.Services {
		for _, p := range sv.Pools {
			if sv.ServiceKey == centiliKey && p.Operator == "AT_A1" && p.AssignedAmount != took {
				t.Errorf("the AT_A1 pool has %d assigned, its transactions took %d", p.AssignedAmount, took)
			}
		}
	}
}

// A scenario file's snapshot: key starts every namespace from the
// snapshot, and a reset goes back to it; a file that cannot be used is a
// located problem.
func TestScenarioStartsFromSnapshot(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	tok := centiliLogin(t, h, "")
	h.Do("POST", "/centili/datagifting/v1/service/transaction",
		sandboxtest.RawBody("application/json", []byte(`{"serviceKey":"`+centiliKey+`","msisdn":"4366124567","clientId":"demo-1","amount":500}`)), tok).WantStatus(200)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("demo.snapshot.json", string(h.Snapshot("", false)))
	write("bad.json", "{nope")
	ok := write("demo.yaml", "version: 1\nname: demo\nsnapshot: demo.snapshot.json\n")

	for _, tc := range []struct {
		name, text, want string
	}{
		{"missing.yaml", "version: 1\nsnapshot: nowhere.json\n", "missing.yaml:2: snapshot: snapshot file nowhere.json does not exist (hint: the path is relative to the scenario file; save one with sandbox snapshot save -o FILE)"},
		{"badjson.yaml", "version: 1\nsnapshot: bad.json\n", "badjson.yaml:2: snapshot: snapshot file bad.json is refused: not a snapshot file: invalid JSON at byte 2: invalid character 'n' looking for beginning of object key string (hint: save it again with GET /__sandbox/snapshot (sandbox snapshot save))"},
		{"extra.yaml", "version: 1\nseed: 3\nsnapshot: demo.snapshot.json\n", "extra.yaml:2: seed: seed cannot be combined with snapshot: only version, name, description and snapshot are read beside it" +
			" (hint: the snapshot carries the scenario its namespace was built from; change that scenario and save a new snapshot)"},
	} {
		path := write(tc.name, tc.text)
		_, probs := sandbox.LoadScenarioFile(path, []byte(tc.text))
		if got := strings.ReplaceAll(probs.Error(), dir+string(filepath.Separator), ""); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
	if _, probs := sandbox.LoadScenario("body", []byte("version: 1\nsnapshot: demo.snapshot.json\n")); len(probs) != 1 ||
		probs[0].Message != "a scenario sent to the sandbox cannot name a snapshot file; only a scenario file (--scenario, sandbox scenario validate) can" {
		t.Errorf("a scenario without a file naming a snapshot: %v", probs)
	}

	demo := sandboxtest.NewFromFile(t, ok)
	balance := func(prefix string) string {
		tok := centiliLogin(t, demo, prefix)
		return string(demo.Do("GET", prefix+"/centili/datagifting/v1/services/balance?serviceKey="+centiliKey+"&operator=AT_A1", nil, tok).WantStatus(200).Body)
	}
	const want = `[{"operator":"AT_A1","totalAmount":50000,"assignedAmount":500,"expirationDate":"2030-12-31 23:59:59"}]`
	for _, prefix := range []string{"", "/ns/fresh"} {
		if got := balance(prefix); got != want {
			t.Errorf("%q starts with %s, want %s", prefix, got, want)
		}
	}
	tokD := centiliLogin(t, demo, "")
	demo.Do("POST", "/centili/datagifting/v1/service/transaction",
		sandboxtest.RawBody("application/json", []byte(`{"serviceKey":"`+centiliKey+`","msisdn":"4366124567","clientId":"demo-2","amount":500}`)), tokD).WantStatus(200)
	demo.Admin("POST", "", "/reset", nil, nil)
	if got := balance(""); got != want {
		t.Errorf("after a reset: %s, want the snapshot's %s", got, want)
	}
}
