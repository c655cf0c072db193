package intarget_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/verify"
)

// newSportStub is an operator API serving exactly the columns InTarget's
// requirements list for sport tournaments and sport events: no
// modification timestamp (the operator selects rows by a change time it
// keeps to itself), CSV or JSON.
func newSportStub(t *testing.T) *httptest.Server {
	layout := "2006-01-02 15:04:05"
	base := clockTime.Add(-6 * time.Hour)
	type row struct {
		changed time.Time
		csv     string
		json    string
	}
	var tournaments, events []row
	for i := 0; i < 6; i++ {
		at := base.Add(time.Duration(i*50+5) * time.Minute)
		start := at.Add(48 * time.Hour).Format(layout)
		tournaments = append(tournaments, row{at,
			fmt.Sprintf("%d,\"Cup, %d\",1,Football,DE,%s,", i+1, i, start),
			fmt.Sprintf(`{"id":%d,"name":"Cup, %d","sport_id":1,"sport_name":"Football","country_code":"DE","dateStart":%q,"dateEnd":null}`, i+1, i, start)})
		for k := 0; k < 2; k++ {
			eat := at.Add(time.Duration(k*20+1) * time.Minute)
			st := eat.Add(time.Hour).Format(layout)
			events = append(events, row{eat,
				fmt.Sprintf("%d,%d,A vs B,scheduled,%s,,prematch", 100+i*2+k, i+1, st),
				fmt.Sprintf(`{"id":%d,"tournament_id":%d,"title":"A vs B","status":"scheduled","startTime":%q,"endTime":null,"type":"prematch"}`, 100+i*2+k, i+1, st)})
		}
	}
	serve := func(rows []row, header string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			from, err1 := time.Parse(layout, q.Get("from"))
			to, err2 := time.Parse(layout, q.Get("to"))
			if err1 != nil || err2 != nil || !from.Before(to) {
				http.Error(w, "bad window", http.StatusBadRequest)
				return
			}
			var in []row
			for _, x := range rows {
				if !x.changed.Before(from) && x.changed.Before(to) && !x.changed.After(clockTime) {
					in = append(in, x)
				}
			}
			if strings.Contains(r.Header.Get("Accept"), "json") {
				w.Header().Set("Content-Type", "application/json")
				var parts []string
				for _, x := range in {
					parts = append(parts, x.json)
				}
				fmt.Fprint(w, "["+strings.Join(parts, ",")+"]")
				return
			}
			w.Header().Set("Content-Type", "text/csv")
			fmt.Fprint(w, header+"\r\n")
			for _, x := range in {
				fmt.Fprint(w, x.csv+"\r\n")
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/tournaments", serve(tournaments, "id,name,sport_id,sport_name,country_code,dateStart,dateEnd"))
	mux.HandleFunc("/events", serve(events, "id,tournament_id,title,status,startTime,endTime,type"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestVerifierSportFeedsWithoutModifiedAt: InTarget lists no modification
// timestamp for sport tournaments and events, so an operator serving
// exactly the documented columns is conformant; the missing column is a
// warning and the checks that need it are skipped, saying why.
func TestVerifierSportFeedsWithoutModifiedAt(t *testing.T) {
	t.Parallel()
	srv := newSportStub(t)
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, Format: format,
				Paths: map[string]string{"sport-tournaments": "/tournaments", "sport-events": "/events"},
				From:  clockTime.Add(-6 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Conformant || rep.Rows == 0 {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("documented columns refused (rows %d):\n%s", rep.Rows, b.String())
			}
			got := map[string]string{}
			for _, r := range rep.Results {
				got[r.Check+" "+r.Entity] = r.Status
				if r.Check == "format.required" {
					want := fmt.Sprintf(`column "modified_at" is missing: InTarget's list for %s names no modification timestamp, so this is allowed, `+
						"but then neither InTarget nor the verifier can tell when a row changed (window.bounds and window.monotonic are skipped)", r.Entity)
					if len(r.Findings) != 1 || r.Findings[0].Severity != "warning" || r.Findings[0].Message != want {
						t.Errorf("%s: %+v", r.Entity, r.Findings)
					}
				}
				if (r.Check == "window.bounds" || r.Check == "window.monotonic") && r.Note != "no modified_at column (InTarget's list for this feed names none)" {
					t.Errorf("%s %s: note %q", r.Check, r.Entity, r.Note)
				}
			}
			want := map[string]string{}
			for _, e := range []string{"sport-tournaments", "sport-events"} {
				want["format.required "+e], want["window.bounds "+e], want["window.monotonic "+e] = "warn", "skip", "skip"
				want["window.partition "+e], want["window.duplicates "+e] = "pass", "pass"
			}
			want["xref.references sport-events"] = "pass"
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestReferenceWithoutSportModifiedAt: the missingColumn fault can drop the
// reference's added column too, which the verifier then only warns about.
func TestReferenceWithoutSportModifiedAt(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, scenario("  faults: {missingColumn: sport-events.modified_at}\n"))
	rep := verifySandbox(t, h, nil)
	if !reflect.DeepEqual(rep.Failed, []string{}) {
		t.Fatalf("failed %v", rep.Failed)
	}
	for _, r := range rep.Results {
		if r.Check == "format.required" && r.Entity == "sport-events" && r.Status != "warn" {
			t.Errorf("format.required sport-events = %s", r.Status)
		}
	}
}

// TestVerifierSportModifiedAtServed: when an operator does serve
// modified_at on a sport feed, it is held to the format and the window
// (the warning for a missing column hides no failure), and an empty value
// is a warning like a missing column.
func TestVerifierSportModifiedAtServed(t *testing.T) {
	t.Parallel()
	layout := "2006-01-02 15:04:05"
	base := clockTime.Add(-6 * time.Hour)
	for _, tc := range []struct {
		name     string
		render   func(time.Time) string
		failed   []string
		check    string // the result holding the finding
		status   string
		severity string
		message  string
	}{
		{"RFC 3339", func(t time.Time) string { return t.Format(time.RFC3339) }, []string{"format.timestamps"},
			"format.timestamps", "fail", "error", `modified_at "2026-03-10T06:05:00Z" is not YYYY-MM-DD HH:MM:SS (UTC)`},
		{"outside the window", func(t time.Time) string { return t.Add(-3 * time.Hour).Format(layout) }, []string{"window.bounds"},
			"window.bounds", "fail", "error", "modified_at 2026-03-10 03:05:00 is outside [2026-03-10 06:00:00, 2026-03-10 07:00:00)"},
		{"empty", func(time.Time) string { return "" }, []string{},
			"format.required", "warn", "warning", `field "modified_at" is empty: InTarget's list for sport-tournaments names no modification timestamp, ` +
				"but an empty one tells neither InTarget nor the verifier when the row changed (window.bounds and window.monotonic cannot check it)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				from, err1 := time.Parse(layout, r.URL.Query().Get("from"))
				to, err2 := time.Parse(layout, r.URL.Query().Get("to"))
				if err1 != nil || err2 != nil || !from.Before(to) {
					http.Error(w, "bad window", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "text/csv")
				fmt.Fprint(w, "id,name,sport_id,sport_name,country_code,dateStart,dateEnd,modified_at\r\n")
				for i := 0; i < 6; i++ {
					at := base.Add(time.Duration(i*50+5) * time.Minute)
					if !at.Before(from) && at.Before(to) {
						fmt.Fprintf(w, "%d,Cup %d,1,Football,DE,%s,,%s\r\n", i+1, i, at.Add(48*time.Hour).Format(layout), tc.render(at))
					}
				}
			}))
			defer srv.Close()
			rep, err := verify.Run(context.Background(), verify.Options{BaseURL: srv.URL, Paths: map[string]string{"sport-tournaments": "/t"},
				From: base, To: clockTime, Now: clockTime, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep.Failed, tc.failed) {
				t.Errorf("failed %v, want %v", rep.Failed, tc.failed)
			}
			found := false
			for _, r := range rep.Results {
				if r.Check != tc.check {
					continue
				}
				found = true
				if r.Status != tc.status || len(r.Findings) == 0 || r.Findings[0].Severity != tc.severity || r.Findings[0].Message != tc.message {
					t.Errorf("%s = %s %+v\nwant %s [%s] %s", r.Check, r.Status, r.Findings, tc.status, tc.severity, tc.message)
				}
			}
			if !found {
				t.Errorf("no %s result", tc.check)
			}
		})
	}
}
