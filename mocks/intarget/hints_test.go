package intarget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/verify"
)

// TestVerifierHintsWrongBaseURL: the sandbox root instead of its /intarget
// mount makes every feed a 404; the report says so first, names the base
// URL that answers, in the text, JSON and JUnit reports and in the admin
// API's answer.
func TestVerifierHintsWrongBaseURL(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, scenario(""))
	want := fmt.Sprintf("every feed answered 404 under %[1]s/api/...; is the base URL missing a path prefix such as /intarget, "+
		"or does the API use other paths (--paths entity=/path)? %[1]s/intarget/api/users answers 200: try the base URL %[1]s/intarget", h.URL)
	dir := t.TempDir()
	var out, errb strings.Builder
	code := verify.Main([]string{"--base-url", h.URL, "--auth", "basic:" + user + ":" + pass, "--now", "2026-03-10 12:00:00",
		"--no-progress", "--report-json", filepath.Join(dir, "r.json"), "--junit", filepath.Join(dir, "j.xml")}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 4 || lines[3] != "LIKELY PROBLEM: "+want {
		t.Fatalf("the hint does not lead the report:\n%.1500s", out.String())
	}
	if !strings.Contains(out.String(), "; see LIKELY PROBLEM at the top\n") {
		t.Errorf("the verdict does not point at the hint:\n%s", out.String()[max(0, out.Len()-300):])
	}
	var rep verify.Report
	data, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	if err := json.Unmarshal(data, &rep); err != nil || !reflect.DeepEqual(rep.Hints, []string{want}) {
		t.Fatalf("JSON hints %q (%v)", rep.Hints, err)
	}
	junit, _ := os.ReadFile(filepath.Join(dir, "j.xml"))
	if !strings.Contains(string(junit), "<system-out>LIKELY PROBLEM: every feed answered 404 under ") {
		t.Errorf("JUnit lacks the hint:\n%.300s", junit[max(0, len(junit)-300):])
	}
	// a base URL that already ends in /api (the paths start with /api)
	doubled, err := verify.Run(context.Background(), verify.Options{BaseURL: h.URL + "/intarget/api", AuthBasic: user + ":" + pass,
		From: clockTime.Add(-time.Hour), To: clockTime, Now: clockTime, Lookback: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(doubled.Hints) != 1 || !strings.HasSuffix(doubled.Hints[0], fmt.Sprintf(
		"%[1]s/intarget/api/users answers 200: try the base URL %[1]s/intarget", h.URL)) {
		t.Errorf("base URL ending in /api: hints %q", doubled.Hints)
	}
	var adm verify.Report
	if code := h.Admin("POST", "", "/intarget/verify", map[string]string{"baseUrl": h.URL, "auth": user + ":" + pass, "now": "2026-03-10 12:00:00"}, &adm); code != 200 {
		t.Fatalf("admin verify: %d", code)
	}
	if !reflect.DeepEqual(adm.Hints, []string{want}) {
		t.Errorf("admin verify hints %q", adm.Hints)
	}
}

// TestVerifierHintsEmptyRange: a sandbox whose frozen clock is behind this
// machine's, verified without --now, has no rows in the default windows;
// the run stays conformant but says what is likely wrong.
func TestVerifierHintsEmptyRange(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, strings.Replace(scenario(""), frozenAt, "2021-01-01T00:00:00Z", 1))
	var out, errb strings.Builder
	code := verify.Main([]string{"--base-url", h.URL + "/intarget", "--auth", "basic:" + user + ":" + pass, "--no-progress"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, want 0 (an API without data is conformant)\n%s", code, out.String())
	}
	lines := strings.Split(out.String(), "\n")
	const want = "LIKELY PROBLEM: no rows in any window of ["
	if len(lines) < 4 || !strings.HasPrefix(lines[3], want) ||
		!strings.Contains(lines[3], "in any feed, so the checks that need rows proved nothing. If the API's clock is not this machine's (a frozen sandbox clock), pass --now with the API's current time") {
		t.Fatalf("no empty-range hint:\n%.1000s", out.String())
	}
	if !strings.HasSuffix(out.String(), "CONFORMANT; see LIKELY PROBLEM at the top\n") {
		t.Errorf("verdict:\n%s", out.String()[max(0, out.Len()-200):])
	}
	// with the sandbox's time the same run has rows and no hint
	rep := verifySandbox(t, h, func(o *verify.Options) {
		o.Now = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
		o.From, o.To, o.Settle = o.Now.Add(-3*time.Hour), o.Now, 0
	})
	if len(rep.Hints) != 0 || rep.Rows == 0 || !rep.Conformant {
		t.Errorf("with --now: hints %q, rows %d, conformant %v", rep.Hints, rep.Rows, rep.Conformant)
	}
}

// TestVerifierHintsStubs: refused credentials, a web page instead of an
// API, a redirect to https and feeds the API does not offer each lead
// the report with their own hint.
func TestVerifierHintsStubs(t *testing.T) {
	t.Parallel()
	csvUsers := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("from") == "" || r.URL.Query().Get("to") == "" || r.URL.Query().Get("from") == "yesterday" {
			http.Error(w, "bad window", 400)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, "id,registered_at,modified_at\r\n")
		if r.URL.Query().Get("from") == "2026-03-10 10:00:00" {
			fmt.Fprint(w, "1,2026-03-10 10:10:00,2026-03-10 10:10:00\r\n")
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		auth    string
		want    string
	}{
		{"wrong credentials", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 401) }, "u:p",
			`every pull was refused with 401: the credentials are wrong, or the API expects another kind (--auth basic:USER:PASS or --header "Name: value")`},
		{"no credentials", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 403) }, "",
			`every pull was refused with 403 and no credentials were given: pass --auth basic:USER:PASS or --header "Name: value"`},
		{"a web page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<html>shop</html>")
		}, "", "every feed answered 200 with Content-Type text/html, not text/csv: is %s the product API's root, or a web page or another service?"},
		{"redirect to https", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://example.test"+r.URL.RequestURI(), http.StatusMovedPermanently)
		}, "", "every pull was redirected (301; see transport.http for the target); InTarget does not follow redirects, so use the address the API redirects to (https instead of http?) as the base URL"},
		{"users only", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/users" {
				http.NotFound(w, r)
				return
			}
			csvUsers(w, r)
		}, "", "contacts, wallets, transactions, logins, game-sessions, sport-tournaments, sport-events, bets, bet-selections answered 404 for every window: " +
			"if the API does not offer these feeds, verify only the feeds it has with --paths entity=/path,..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, AuthBasic: tc.auth,
				From: clockTime.Add(-2 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour, Lookback: -1})
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.want, "%s", srv.URL)
			if !reflect.DeepEqual(rep.Hints, []string{want}) {
				t.Errorf("hints %q\nwant [%q]", rep.Hints, want)
			}
		})
	}
}

// TestVerifierNoPageHintForMislabelledCSV: the reference API behind a proxy
// that labels its CSV text/plain is a wrong header, reported by
// transport.http; the rows read fine, so there is no "web page" hint.
func TestVerifierNoPageHintForMislabelledCSV(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, scenario(""))
	target, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.StatusCode == http.StatusOK {
			r.Header.Set("Content-Type", "text/plain; charset=utf-8")
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL + "/intarget", AuthBasic: user + ":" + pass,
		From: clockTime.Add(-3 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows == 0 || !reflect.DeepEqual(rep.Hints, []string{}) || !reflect.DeepEqual(rep.Failed, []string{"transport.http"}) {
		t.Errorf("rows %d, hints %q, failed %v; want rows, no hint, only transport.http failed", rep.Rows, rep.Hints, rep.Failed)
	}
}

// TestVerifierPrefixProbeNeedsAFeed: when every feed is a 404 the verifier
// tries BASE/intarget, and names it only when it answers like the feed. A
// firewall's 403, a 401, a 500, a redirect or a web page there are answers
// any path gets, so the hint then only asks about the prefix.
func TestVerifierPrefixProbeNeedsAFeed(t *testing.T) {
	t.Parallel()
	const ask = "every feed answered 404 under %[1]s/api/...; is the base URL missing a path prefix such as /intarget, or does the API use other paths (--paths entity=/path)?"
	for _, tc := range []struct {
		name    string
		format  string
		handler http.HandlerFunc // serves BASE/intarget/...
		named   bool
	}{
		{"firewall 403", "csv", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "forbidden", 403) }, false},
		{"401 to the credentials", "csv", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "unauthorized", 401) }, false},
		{"server error", "csv", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, false},
		{"redirect", "csv", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/login", http.StatusFound) }, false},
		{"a web page", "csv", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Welcome</body></html>")
		}, false},
		{"JSON of something else", "json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"status": "ok"}]`)
		}, false},
		{"the users feed (CSV)", "csv", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, "id,registered_at,modified_at\r\n")
		}, true},
		{"the users feed (empty JSON)", "json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[]`)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.Handle("/intarget/", tc.handler)
			mux.Handle("/", http.NotFoundHandler())
			srv := httptest.NewServer(mux)
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, AuthBasic: "u:p", Format: tc.format,
				From: clockTime.Add(-2 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour, Lookback: -1})
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(ask, srv.URL)
			if tc.named {
				want += fmt.Sprintf(" %[1]s/intarget/api/users answers 200: try the base URL %[1]s/intarget", srv.URL)
			}
			if !reflect.DeepEqual(rep.Hints, []string{want}) {
				t.Errorf("hints %q\nwant [%q]", rep.Hints, want)
			}
		})
	}
}
