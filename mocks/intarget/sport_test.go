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
