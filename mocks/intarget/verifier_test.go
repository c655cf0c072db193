package intarget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/verify"
)

var clockTime = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// verifySandbox runs the verifier against a harness's reference API the way
// a CI job would, with a late-rows settle that advances the sandbox clock.
func verifySandbox(t *testing.T, h *sandboxtest.Harness, mod func(*verify.Options)) *verify.Report {
	t.Helper()
	o := verify.Options{
		BaseURL:   h.URL + "/intarget",
		AuthBasic: user + ":" + pass,
		// three windows: two adjacent pairs for window.partition, sessions
		// across a boundary for games.spanning, cursors across windows for
		// window.monotonic; every fault shows in them, and a wider range
		// only costs time (most checks cost requests per window)
		From: clockTime.Add(-3 * time.Hour), To: clockTime, Window: time.Hour, Now: clockTime,
		Settle: 20 * time.Minute,
		// the reference refers at most three days back (players) and its
		// rows change at most three days on; the default 14 days would only
		// pull more of the same
		Lookback: 96 * time.Hour,
		Wait: func(ctx context.Context, d time.Duration) error {
			if code := h.Admin("POST", "", "/clock", map[string]string{"advance": d.String()}, nil); code != 200 {
				return fmt.Errorf("advance: %d", code)
			}
			return nil
		},
	}
	if mod != nil {
		mod(&o)
	}
	rep, err := verify.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("verify.Run: %v", err)
	}
	return rep
}

func TestVerifierPassesReference(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, scenario(""))
			rep := verifySandbox(t, h, func(o *verify.Options) { o.Format = format })
			if !rep.Conformant || len(rep.Failed) != 0 {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("reference API not conformant:\n%s", b.String())
			}
			if rep.Rows == 0 {
				t.Fatal("no rows were pulled")
			}
			if len(rep.Hints) != 0 {
				t.Errorf("a conformant run with data has hints: %q", rep.Hints)
			}
			for _, r := range rep.Results {
				if r.Status == "skip" {
					t.Errorf("check %s/%s skipped: %s", r.Check, r.Entity, r.Note)
				}
			}
		})
	}
}

// longTests is set by SANDBOX_LONG=1 (CI sets it): it adds runs that
// repeat what the default run covers in another form, too slow to pay on
// every local `go test`.
var longTests = os.Getenv("SANDBOX_LONG") == "1"

// TestVerifierCatchesEachFault switches on one contract fault at a time;
// the verifier must fail with exactly the matching check, reading CSV and
// JSON. The reference applies every fault to the row before writing it in
// either format, so JSON can only differ where its form matters (a missing
// key, a timestamp string, ids as numbers): those faults run in JSON by
// default, the others only with SANDBOX_LONG=1.
func TestVerifierCatchesEachFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault string
		want  string
		json  bool // JSON in the default run too
	}{
		{"closedInterval: true", "window.bounds", false},
		{`localTime: "+03:00"`, "window.future", false},
		{"isoTimestamps: true", "format.timestamps", true},
		{"plusNotDecoded: true", "transport.plus-space", false},
		{"decreasingTimestamps: true", "window.monotonic", false},
		{"missingColumn: users.registered_at", "format.required", true},
		{"missingColumn: bet-selections.event_id", "format.required", true},
		{"lateRows: 15m", "window.late-rows", false},
		{"duplicateRows: true", "window.duplicates", true},
	}
	for _, tc := range tests {
		for _, format := range []string{"csv", "json"} {
			t.Run(tc.want+"/"+format, func(t *testing.T) {
				if format == "json" && !tc.json && !longTests {
					t.Skip("the CSV run covers this fault; SANDBOX_LONG=1 runs it in JSON too")
				}
				t.Parallel()
				h := sandboxtest.New(t, scenario("  faults: {"+tc.fault+"}\n"))
				rep := verifySandbox(t, h, func(o *verify.Options) { o.Format = format })
				if !reflect.DeepEqual(rep.Failed, []string{tc.want}) {
					var b strings.Builder
					rep.WriteText(&b)
					t.Fatalf("failed checks = %v, want [%s]\n%s", rep.Failed, tc.want, b.String())
				}
				for _, r := range rep.Results {
					if r.Status == "fail" && (len(r.Findings) == 0 || r.Findings[0].Request == "" || r.Findings[0].Entity == "") {
						t.Errorf("finding of %s/%s does not name its request: %+v", r.Check, r.Entity, r.Findings)
					}
				}
			})
		}
	}
}

// stubRow is a row of the independent operator stub below.
type stubRow struct {
	id, player int
	at         time.Time
}

// newOperatorStub is a tiny operator API written from InTarget's
// requirements alone (not from the reference code): users and logins,
// Basic auth, half-open windows, '+' or '%20', CSV with CRLF.
func newOperatorStub(t *testing.T) *httptest.Server {
	base := clockTime.Add(-8 * time.Hour)
	var users, logins []stubRow
	for i := 0; i < 40; i++ {
		users = append(users, stubRow{id: i + 1, at: base.Add(time.Duration(i*11) * time.Minute)})
		logins = append(logins, stubRow{id: 500 + i, player: i/2 + 1, at: base.Add(time.Duration(i*11+7) * time.Minute)})
	}
	layout := "2006-01-02 15:04:05"
	mux := http.NewServeMux()
	serve := func(rows []stubRow, header string, line func(stubRow) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "op" || p != "pw" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			q := r.URL.Query() // decodes '+' and %20 alike
			from, err1 := time.Parse(layout, q.Get("from"))
			to, err2 := time.Parse(layout, q.Get("to"))
			if err1 != nil || err2 != nil || !from.Before(to) {
				http.Error(w, "bad window", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, header+"\r\n")
			for _, row := range rows {
				if !row.at.Before(from) && row.at.Before(to) && !row.at.After(clockTime) {
					fmt.Fprint(w, line(row)+"\r\n")
				}
			}
		}
	}
	mux.HandleFunc("/v2/players", serve(users, "id,registered_at,modified_at,email", func(r stubRow) string {
		return fmt.Sprintf("%d,%s,%s,\"p%d@example.com\"", r.id, r.at.Format(layout), r.at.Format(layout), r.id)
	}))
	mux.HandleFunc("/v2/logins", serve(logins, "id,player_id,created_at,is_success", func(r stubRow) string {
		return fmt.Sprintf("%d,%d,%s,1", r.id, r.player, r.at.Format(layout))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifierPassesIndependentStub(t *testing.T) {
	t.Parallel()
	srv := newOperatorStub(t)
	rep, err := verify.Run(context.Background(), verify.Options{
		BaseURL: srv.URL, AuthBasic: "op:pw", Paths: map[string]string{"users": "/v2/players", "logins": "/v2/logins"},
		From: clockTime.Add(-6 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Conformant {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("the stub follows the requirements but was refused:\n%s", b.String())
	}
	if rep.Rows == 0 {
		t.Fatal("no rows pulled from the stub")
	}
}

// TestVerifierBadInput: broken operator answers are findings, never a crash
// or a hang.
func TestVerifierBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		format  string
		check   string
		message string
	}{
		{"malformed CSV", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, "id,modified_at\r\n1,\"2026-03-10 10:00:00\r\n")
		}, "csv", "format.csv", "not valid CSV"},
		{"ragged CSV", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, "id,modified_at\r\n1,2026-03-10 10:00:00,extra\r\n")
		}, "csv", "format.csv", "has 3 fields, the header has 2"},
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"id": 1,`)
		}, "json", "format.json", "not valid JSON"},
		{"nested JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data": []}`)
		}, "json", "format.json", "must be a JSON array"},
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", 500)
		}, "csv", "transport.http", "answered 500 instead of 200"},
		{"credentials needed, none given", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}, "csv", "transport.auth", "answered 401 and no credentials were given (--auth or --header)"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, "csv", "transport.http", "InTarget does not follow redirects"},
		{"wrong content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "id,modified_at\r\n")
		}, "csv", "transport.http", `Content-Type is "text/html"`},
		{"gigantic", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, "id,modified_at\r\n"+strings.Repeat("1,2026-03-10 10:00:00\r\n", 2000))
		}, "csv", "transport.http", "larger than the cap"},
		{"hanging", func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.RawQuery, "10%3A00%3A00") || strings.Contains(r.URL.RawQuery, "10:00:00") {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, "id,modified_at\r\n")
		}, "csv", "transport.http", "no complete answer within"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{
				BaseURL: srv.URL, Paths: map[string]string{"users": "/users"}, Format: tc.format,
				From: clockTime.Add(-2 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour,
				Timeout: 300 * time.Millisecond, MaxBytes: 10000,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Conformant {
				t.Fatal("a broken API was found conformant")
			}
			found := false
			for _, r := range rep.Results {
				for _, f := range r.Findings {
					if r.Check == tc.check && strings.Contains(f.Message, tc.message) {
						found = true
					}
				}
			}
			if !found {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("no %s finding containing %q:\n%s", tc.check, tc.message, b.String())
			}
		})
	}
}

func TestVerifierUsageAndConnectionErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	live := httptest.NewServer(http.NotFoundHandler())
	defer live.Close()
	if _, err := verify.Run(context.Background(), verify.Options{BaseURL: addr}); err == nil {
		t.Error("an unreachable API did not give an error")
	} else if _, ok := err.(*verify.ConnError); !ok {
		t.Errorf("error %T %v, want *verify.ConnError", err, err)
	}
	tests := [][]string{
		{},
		{"--base-url", "ftp://x"},
		{"--base-url", "http://127.0.0.1:1", "--auth", "user-only"},
		{"--base-url", "http://127.0.0.1:1", "--from", "yesterday"},
		{"--base-url", "http://127.0.0.1:1", "--paths", "players=/x"},
		{"--base-url", "http://127.0.0.1:1", "--format", "xml"},
		// sub-second windows cannot be written as YYYY-MM-DD HH:MM:SS (live API)
		{"--base-url", live.URL, "--window", "1500ms", "--no-progress"},
		{"--base-url", live.URL, "--from", "2026-03-10T09:00:00.5Z", "--to", "2026-03-10T12:00:00Z", "--no-progress"},
		{"--base-url", addr, "--no-progress"},
		{"--nope"},
	}
	for _, args := range tests {
		var out, errb strings.Builder
		if code := verify.Main(args, &out, &errb); code != 2 {
			t.Errorf("Main(%q) = %d, want 2 (stderr %s)", args, code, errb.String())
		}
	}
}

// TestVerifyCLI runs the command end to end against a sandbox: exit 0 and
// the JSON and JUnit reports when conformant, 1 when a fault is on.
func TestVerifyCLI(t *testing.T) {
	t.Parallel()
	good := sandboxtest.New(t, scenario(""))
	bad := sandboxtest.New(t, scenario("  faults: {duplicateRows: true}\n"))
	dir := t.TempDir()
	args := func(h *sandboxtest.Harness) []string {
		return []string{"--base-url", h.URL + "/intarget", "--auth", "basic:" + user + ":" + pass,
			"--from", "2026-03-10 10:00:00", "--to", "2026-03-10T12:00:00Z", "--now", "2026-03-10 12:00:00",
			"--window", "1h", "--report-json", filepath.Join(dir, "r.json"), "--junit", filepath.Join(dir, "j.xml")}
	}
	var out, errb strings.Builder
	if code := verify.Main(args(good), &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "CONFORMANT") || !strings.Contains(errb.String(), "verify: ") {
		t.Errorf("summary or progress missing:\n%s\n%s", out.String(), errb.String())
	}
	var rep verify.Report
	data, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	if err := json.Unmarshal(data, &rep); err != nil || !rep.Conformant {
		t.Fatalf("JSON report: %v %s", err, data)
	}
	junit, _ := os.ReadFile(filepath.Join(dir, "j.xml"))
	if !strings.Contains(string(junit), `<testcase classname="intarget.users" name="window.bounds">`) {
		t.Errorf("JUnit lacks a test case per check:\n%.500s", junit)
	}
	out.Reset()
	if code := verify.Main(args(bad), &out, &errb); code != 1 {
		t.Fatalf("exit %d with duplicate rows, want 1\n%s", code, out.String())
	}
	junit, _ = os.ReadFile(filepath.Join(dir, "j.xml"))
	if !strings.Contains(string(junit), `name="window.duplicates"`) || !strings.Contains(string(junit), "<failure message=") {
		t.Errorf("JUnit lacks the failure:\n%.2000s", junit)
	}
}

func TestAdminVerify(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, scenario(""))
	var rep verify.Report
	if code := h.Admin("POST", "", "/intarget/verify", map[string]string{"window": "1h"}, &rep); code != 200 {
		t.Fatalf("status %d", code)
	}
	if !rep.Conformant || !strings.HasSuffix(rep.BaseURL, "/intarget") || rep.Rows == 0 {
		t.Fatalf("self-verification: conformant=%v base=%s rows=%d failed=%v", rep.Conformant, rep.BaseURL, rep.Rows, rep.Failed)
	}
	// The Host header names the server as the client saw it (a published
	// port, a proxy); the run reaches the API through the listener instead.
	// one window is enough to see where the run went
	oneWindow := `{"from": "2026-03-10 11:00:00", "to": "2026-03-10 12:00:00"}`
	proxied := h.Do("POST", "/__sandbox/intarget/verify", sandboxtest.JSONBody(oneWindow),
		func(r *http.Request) { r.Host = "127.0.0.1:1" }).WantStatus(200)
	if err := json.Unmarshal(proxied.Body, &rep); err != nil || !rep.Conformant || strings.Contains(rep.BaseURL, "127.0.0.1:1/") {
		t.Fatalf("behind a proxy: %v conformant=%v base=%s", err, rep.Conformant, rep.BaseURL)
	}
	// A namespace with a fault: its own reference API, through its prefix.
	var nsRep verify.Report
	h.Admin("PUT", "ci-1", "/scenario", nil, nil)
	if code := h.Admin("POST", "ci-1", "/intarget/verify", oneWindow, &nsRep); code != 200 || !strings.Contains(nsRep.BaseURL, "/ns/ci-1/intarget") {
		t.Fatalf("namespace run: %d %s", code, nsRep.BaseURL)
	}
	for _, tc := range []struct {
		body any
		want string
	}{
		{`{"window": "soon"}`, `window \"soon\" is not a Go duration`},
		{`{"from": "yesterday"}`, `from \"yesterday\" is neither`},
		{`{"from": "2026-01-01 00:00:00", "to": "2026-03-01 00:00:00"}`, "at most 48 windows"},
		{`{"from": "2026-03-01 00:00:00"}`, "at most 48 windows"},
		{`{"window": "1ns"}`, "must be whole seconds"},
		{`[1,2]`, "cannot unmarshal"},
		{`{"baseUrl": "ftp://x"}`, "is not an http(s) URL"},
	} {
		res := h.Do("POST", "/__sandbox/intarget/verify", sandboxtest.JSONBody(tc.body)).WantStatus(400)
		if res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(res.Body), tc.want) {
			t.Errorf("body %s: got %s", tc.body, res.Body)
		}
	}
}

// TestBrokenAPIScenario loads scenarios/intarget-broken-api.yaml: every
// fault it switches on shows up as its own failed check.
func TestBrokenAPIScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.NewFromFile(t, "../../scenarios/intarget-broken-api.yaml")
	rep := verifySandbox(t, h, nil)
	want := []string{"transport.plus-space", "format.required", "format.timestamps", "window.bounds",
		"window.monotonic", "window.duplicates", "window.late-rows"}
	for _, c := range want {
		found := false
		for _, f := range rep.Failed {
			found = found || f == c
		}
		if !found {
			var b strings.Builder
			rep.WriteText(&b)
			t.Fatalf("check %s did not fail; failed: %v\n%s", c, rep.Failed, b.String())
		}
	}
	if len(rep.Failed) != len(want) {
		t.Errorf("failed checks %v, want exactly %v", rep.Failed, want)
	}
}

// TestVerifierToleratesRowsMovingForward: on a live API a row changed
// between two pulls leaves the window (its cursor moved on). The verifier
// warns instead of failing, but a row that appears later is an error.
func TestVerifierToleratesRowsMovingForward(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		appear     bool
		conformant bool
		status     string
	}{
		{"row vanishes", false, true, "warn"},
		{"row appears", true, false, "fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			pulls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				w.Header().Set("Content-Type", "text/csv")
				from, to := q.Get("from"), q.Get("to")
				if from == "" || to == "" || from >= to || len(from) != 19 {
					http.Error(w, "bad window", 400)
					return
				}
				fmt.Fprint(w, "id,registered_at,modified_at\r\n")
				mu.Lock()
				if from == "2026-03-10 10:00:00" && to == "2026-03-10 11:00:00" {
					pulls++ // preflight, main pull, '+' check, repeat, ...
				}
				// row 2 is in the window until (or from) the fourth pull of it
				row2 := (pulls > 3) == tc.appear
				mu.Unlock()
				for _, row := range []struct {
					id string
					at string
					on bool
				}{{"1", "2026-03-10 10:10:00", true}, {"2", "2026-03-10 10:20:00", row2}} {
					if row.on && row.at >= from && row.at < to {
						fmt.Fprintf(w, "%s,2026-03-01 00:00:00,%s\r\n", row.id, row.at)
					}
				}
			}))
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, Paths: map[string]string{"users": "/u"},
				From: clockTime.Add(-2 * time.Hour), To: clockTime.Add(-time.Hour), Now: clockTime, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Results {
				if r.Check == "window.repeatable" && r.Status != tc.status {
					t.Errorf("repeatable = %s, want %s: %+v", r.Status, tc.status, r.Findings)
				}
			}
			if rep.Conformant != tc.conformant {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("conformant = %v, want %v\n%s", rep.Conformant, tc.conformant, b.String())
			}
		})
	}
}

// TestVerifierSessionsInEachWindow: a session whose actions span two
// windows must be in both (InTarget selects sessions with any action in the
// window). A stub that selects sessions by their start only fails
// games.spanning; one that follows the rule passes.
func TestVerifierSessionsInEachWindow(t *testing.T) {
	t.Parallel()
	layout := "2006-01-02 15:04:05"
	day := clockTime.Add(-3 * time.Hour) // 09:00
	sessions := [][]time.Time{           // action times; the first is a bet, the rest wins
		{day.Add(50 * time.Minute), day.Add(70 * time.Minute)}, // 09:50, 10:10: spans 10:00
		{day.Add(20 * time.Minute), day.Add(25 * time.Minute)},
		{day.Add(80 * time.Minute), day.Add(100 * time.Minute)},
	}
	for _, tc := range []struct {
		name   string
		byAny  bool
		failed []string
	}{
		{"any action in the window", true, []string{}},
		{"by first action only", false, []string{"games.spanning"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				from, err1 := time.Parse(layout, q.Get("from"))
				to, err2 := time.Parse(layout, q.Get("to"))
				if err1 != nil || err2 != nil || !from.Before(to) {
					http.Error(w, "bad window", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "text/csv")
				fmt.Fprint(w, "player_id,session_id,game_name,currency,bet_count,win_count,bet_amount,win_amount,created_at,updated_at\r\n")
				for i, acts := range sessions {
					in := false
					for k, a := range acts {
						if (k == 0 || tc.byAny) && !a.Before(from) && a.Before(to) {
							in = true
						}
					}
					if in {
						fmt.Fprintf(w, "7,%d,Book of Ra,EUR,1,%d,1.00,%d.50,%s,%s\r\n", i+1, len(acts)-1, len(acts)-1,
							acts[0].Format(layout), acts[len(acts)-1].Format(layout))
					}
				}
			}))
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, Paths: map[string]string{"game-sessions": "/gs"},
				From: day, To: day.Add(2 * time.Hour), Now: clockTime, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep.Failed, tc.failed) {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("failed checks %v, want %v\n%s", rep.Failed, tc.failed, b.String())
			}
		})
	}
}

// TestVerifierQueryLikeInTarget: the pulls are written as InTarget writes
// them (from=2020-10-10+07:00:00&to=...), with the space as '+' in one pull
// and '%20' in the others, colons unescaped.
func TestVerifierQueryLikeInTarget(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.RawQuery] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, "id,registered_at,modified_at\r\n")
	}))
	defer srv.Close()
	if _, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, Paths: map[string]string{"users": "/u"},
		From: clockTime.Add(-2 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"from=2026-03-10%2010:00:00&to=2026-03-10%2011:00:00",
		"from=2026-03-10+10:00:00&to=2026-03-10+11:00:00",
	} {
		if !seen[want] {
			t.Errorf("no pull with the query %s; got %v", want, seen)
		}
	}
}

// TestVerifierPathWithQuery: an API that takes a token in the query string
// is verified with --paths users=/u?access-token=...; from and to are added
// to that query, not after a second '?'.
func TestVerifierPathWithQuery(t *testing.T) {
	t.Parallel()
	layout := "2006-01-02 15:04:05"
	at := clockTime.Add(-90 * time.Minute)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("access-token") != "secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		from, err1 := time.Parse(layout, q.Get("from"))
		to, err2 := time.Parse(layout, q.Get("to"))
		if err1 != nil || err2 != nil || !from.Before(to) {
			http.Error(w, "bad window", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, "id,registered_at,modified_at\r\n")
		if !at.Before(from) && at.Before(to) {
			fmt.Fprintf(w, "1,%s,%s\r\n", at.Format(layout), at.Format(layout))
		}
	}))
	defer srv.Close()
	rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, Paths: map[string]string{"users": "/u?access-token=secret"},
		From: clockTime.Add(-2 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Conformant || rep.Rows == 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("conformant=%v rows=%d\n%s", rep.Conformant, rep.Rows, b.String())
	}
}

// TestVerifierBadWindowNeedsAGoodWindow: transport.bad-window accepts any
// 4xx, so an API that answers every pull with 404 (or refuses the
// credentials) must not pass it; it is skipped with the reason. A feed
// that answers well formed windows still gets the check.
func TestVerifierBadWindowNeedsAGoodWindow(t *testing.T) {
	t.Parallel()
	const why = "no window could be read, so a 4xx to a bad window says nothing"
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		status  string
		note    string
	}{
		{"every pull 404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "skip", why},
		{"every pull 401", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "unauthorized", 401) }, "skip", why},
		{"a feed", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if len(q.Get("from")) != 19 || len(q.Get("to")) != 19 || q.Get("from") >= q.Get("to") {
				http.Error(w, "bad window", 400)
				return
			}
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, "id,registered_at,modified_at\r\n")
		}, "pass", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, AuthBasic: "u:p", Paths: map[string]string{"users": "/u"},
				From: clockTime.Add(-2 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour, Lookback: -1})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range rep.Results {
				if r.Check == "transport.bad-window" {
					found = true
					if r.Status != tc.status || r.Note != tc.note || len(r.Findings) != 0 {
						t.Errorf("transport.bad-window = %s %q %v, want %s %q", r.Status, r.Note, r.Findings, tc.status, tc.note)
					}
				}
			}
			if !found {
				t.Error("no transport.bad-window result")
			}
		})
	}
}

// TestVerifierLookbackNearestFirst: a login's player registered 30 hours
// before the range is searched for one day at a time, nearest first
// (before the range, then after it, then the day before that) and the
// search stops once found: three day-long pulls, not the whole fortnight
// of the default look-back. A player that exists nowhere still costs the
// whole search and is reported with the searched range.
func TestVerifierLookbackNearestFirst(t *testing.T) {
	t.Parallel()
	layout := "2006-01-02 15:04:05"
	from := clockTime.Add(-2 * time.Hour)
	for _, tc := range []struct {
		name    string
		players []int
		pulls   int
		finding string
	}{
		{"found the day before", []int{1, 2}, 3, ""},
		{"nowhere", []int{1, 2, 99}, 15, "1 player_id values have no row in users between 2026-02-24 10:00:00 and 2026-03-11 12:00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			users := map[int]time.Time{1: from.Add(-30 * time.Hour), 2: from.Add(30 * time.Minute)}
			var mu sync.Mutex
			var dayPulls []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				f, err1 := time.Parse(layout, q.Get("from"))
				to, err2 := time.Parse(layout, q.Get("to"))
				if err1 != nil || err2 != nil || !f.Before(to) {
					http.Error(w, "bad window", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "text/csv")
				in := func(at time.Time) bool { return !at.Before(f) && at.Before(to) && !at.After(clockTime) }
				switch r.URL.Path {
				case "/u":
					if to.Sub(f) == 24*time.Hour {
						mu.Lock()
						dayPulls = append(dayPulls, q.Get("from"))
						mu.Unlock()
					}
					fmt.Fprint(w, "id,registered_at,modified_at\r\n")
					for id := 1; id <= 2; id++ {
						if at := users[id]; in(at) {
							fmt.Fprintf(w, "%d,%s,%s\r\n", id, at.Format(layout), at.Format(layout))
						}
					}
				case "/l":
					fmt.Fprint(w, "id,player_id,created_at,is_success\r\n")
					for i, p := range tc.players {
						if at := from.Add(time.Duration(40+i) * time.Minute); in(at) {
							fmt.Fprintf(w, "%d,%d,%s,1\r\n", 500+i, p, at.Format(layout))
						}
					}
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, Paths: map[string]string{"users": "/u", "logins": "/l"},
				From: from, To: clockTime, Now: clockTime, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if len(dayPulls) != tc.pulls {
				t.Errorf("%d day-long users pulls %v, want %d", len(dayPulls), dayPulls, tc.pulls)
			}
			var got string
			for _, r := range rep.Results {
				if r.Check == "xref.references" && r.Entity == "logins" && len(r.Findings) > 0 {
					got = r.Findings[0].Message
				}
			}
			if got != tc.finding || rep.Conformant != (tc.finding == "") {
				var b strings.Builder
				rep.WriteText(&b)
				t.Errorf("xref finding %q, want %q\n%s", got, tc.finding, b.String())
			}
		})
	}
}
