package intarget_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/verify"
)

// pullCSV pulls one window of a feed as CSV and returns its header and rows.
func pullCSV(t *testing.T, h *sandboxtest.Harness, path, query string) ([]string, [][]string) {
	t.Helper()
	res := h.Do("GET", "/intarget"+path+"?"+query, nil, basic()).WantStatus(200)
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	recs, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[0], recs[1:]
}

// TestProviderExampleWindow: InTarget's own documented request
// (/api/users?from=2020-10-10+07:00:00&to=2020-10-10+08:00:00) returns
// users in the default scenario, running on the real clock, and the same
// bytes from every sandbox started with the same seed, whenever it starts.
func TestProviderExampleWindow(t *testing.T) {
	t.Parallel()
	const example = "from=2020-10-10+07:00:00&to=2020-10-10+08:00:00"
	a := sandboxtest.New(t, "")
	b := sandboxtest.New(t, "")
	head, rows := pullCSV(t, a, "/api/users", example)
	if len(rows) != 4 {
		t.Fatalf("the example window has %d users, want the 4 the docs promise", len(rows))
	}
	mod := indexOf(head, "modified_at")
	for _, r := range rows {
		if r[mod] < "2020-10-10 07:00:00" || r[mod] >= "2020-10-10 08:00:00" {
			t.Errorf("user %s: modified_at %s is outside the window", r[0], r[mod])
		}
	}
	if got := a.Do("GET", "/intarget/api/users?"+example, nil, basic()).Body; !bytes.Equal(got,
		b.Do("GET", "/intarget/api/users?"+strings.ReplaceAll(example, "+", "%20"), nil, basic()).Body) {
		t.Error("two sandboxes with seed 42 answer the example window differently")
	}
	// the same hour in JSON holds the same users
	var js []map[string]any
	a.Do("GET", "/intarget/api/users?"+example+"&format=json", nil, basic()).WantStatus(200).JSON(&js)
	if len(js) != len(rows) {
		t.Errorf("JSON has %d users, CSV %d", len(js), len(rows))
	}
}

// TestDataRange: with the default scenario every feed has rows on the day
// of InTarget's example and in the last hours of real time; nothing exists
// before 2020-01-01 00:00:00 or after the clock.
func TestDataRange(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	now := time.Now().UTC()
	q := func(from, to time.Time) string {
		return "from=" + strings.ReplaceAll(contract.FormatTime(from), " ", "+") + "&to=" + strings.ReplaceAll(contract.FormatTime(to), " ", "+")
	}
	day := time.Date(2020, 10, 10, 0, 0, 0, 0, time.UTC)
	hour := now.Truncate(time.Hour)
	for _, e := range contract.Entities {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			h := h.With(t)
			for _, w := range []struct {
				name     string
				from, to time.Time
				rows     bool
			}{
				{"2020-10-10", day, day.Add(24 * time.Hour), true},
				{"the last 12 closed hours", hour.Add(-12 * time.Hour), hour, true},
				{"before 2020", time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), false},
				{"after the clock", now.Add(time.Hour), now.Add(2 * time.Hour), false},
			} {
				head, rows := pullCSV(t, h, e.Path, q(w.from, w.to))
				if (len(rows) > 0) != w.rows {
					t.Errorf("%s: %d rows", w.name, len(rows))
				}
				cur := indexOf(head, e.Cursor)
				if e.Name == contract.GameSessions {
					cur = indexOf(head, "created_at") // sessions: any action in the window
				}
				for _, r := range rows {
					c := r[cur]
					early := c < contract.FormatTime(w.from) && e.Name != contract.GameSessions // a session may start earlier
					if early || c >= contract.FormatTime(w.to) {
						t.Errorf("%s: %s %s outside the window", w.name, head[cur], c)
					}
				}
			}
		})
	}
}

// TestWorldRangeSettings: world.start moves the beginning, world.days makes
// it relative to the clock, and the two together are refused with a hint.
func TestWorldRangeSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		world, start string
	}{
		{"", "2020-01-01T00:00:00Z"},
		{"  world: {days: 7}\n", "2026-03-03T12:00:00Z"},
		{"  world: {start: \"2025-06-01T10:30:00Z\"}\n", "2025-06-01T10:00:00Z"},
	} {
		h := sandboxtest.New(t, scenario(tc.world))
		var snap map[string]any
		h.Admin("GET", "", "/state/intarget", nil, &snap)
		if snap["worldStart"] != tc.start {
			t.Errorf("%q: worldStart = %v, want %s", tc.world, snap["worldStart"], tc.start)
		}
		if tc.world == "" {
			// ids count hours from 2020-01-01: 2026-03-10 00:00 is hour 54240
			_, rows := pullCSV(t, h, "/api/logins", "from=2026-03-10+00:00:00&to=2026-03-10+01:00:00")
			for _, r := range rows {
				if r[0] < "5424000001" || r[0] > "5424000006" {
					t.Errorf("login id %s is not of hour 54240", r[0])
				}
			}
			if len(rows) != 6 {
				t.Errorf("%d logins in an hour, want 6", len(rows))
			}
		}
	}
}

// TestWorldStartAndDaysRefused: a scenario naming both beginnings is
// refused with the field, the line and what to do.
func TestWorldStartAndDaysRefused(t *testing.T) {
	t.Parallel()
	_, probs := sandbox.LoadScenario("s.yaml", []byte(scenario("  world: {start: \"2025-06-01T00:00:00Z\", days: 7}\n")))
	want := `s.yaml:6: intarget.world.days: world.start "2025-06-01T00:00:00Z" and world.days 7 both say where history begins (hint: set world.start (a fixed beginning) or world.days (relative to the clock), and the other to "" / 0)`
	if len(probs) != 1 || probs[0].String() != want {
		t.Fatalf("problems %v\nwant %s", probs, want)
	}
}

// TestWorldBeginningOutOfRange: a world.start outside the years 1970-2199
// or a world.days reaching back further than 20000 days is refused with the
// field, the line and the allowed range; before, a start of 1700 loaded and
// answered header-only feeds. The bounds themselves are accepted.
func TestWorldBeginningOutOfRange(t *testing.T) {
	t.Parallel()
	const startHint = " (hint: an instant from 1970-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z, such as the default 2020-01-01T00:00:00Z)"
	for _, tc := range []struct{ world, want string }{
		{`start: "1700-01-01T00:00:00Z"`, `s.yaml:6: intarget.world.start: world.start "1700-01-01T00:00:00Z" is outside the years 1970 to 2199 (a typo for a recent year?)` + startHint},
		{`start: "1969-12-31T23:59:59Z"`, `s.yaml:6: intarget.world.start: world.start "1969-12-31T23:59:59Z" is outside the years 1970 to 2199 (a typo for a recent year?)` + startHint},
		{`start: "3026-01-01T00:00:00Z"`, `s.yaml:6: intarget.world.start: world.start "3026-01-01T00:00:00Z" is outside the years 1970 to 2199 (a typo for a recent year?)` + startHint},
		{`start: "2200-01-01T00:00:00Z"`, `s.yaml:6: intarget.world.start: world.start "2200-01-01T00:00:00Z" is outside the years 1970 to 2199 (a typo for a recent year?)` + startHint},
		{`days: 20001`, `s.yaml:6: intarget.world.days: world.days is 20001 (hint: between 0 and 20000 (about 54 years); for a fixed beginning set world.start)`},
		{`days: -1`, `s.yaml:6: intarget.world.days: world.days is -1 (hint: between 0 and 20000 (about 54 years); for a fixed beginning set world.start)`},
		{`start: "1970-01-01T00:00:00Z"`, ""},
		{`start: "2199-12-31T23:00:00Z"`, ""},
		{`days: 20000`, ""},
	} {
		_, probs := sandbox.LoadScenario("s.yaml", []byte(scenario("  world: {"+tc.world+"}\n")))
		var got []string
		for _, p := range probs {
			got = append(got, p.String())
		}
		if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
			t.Errorf("%s: problems %q\nwant %q", tc.world, got, tc.want)
		}
	}
}

// TestDocumentedCounts: the row counts docs/intarget.md promises for the
// default scenario (seed 42, real clock).
func TestDocumentedCounts(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	for _, tc := range []struct {
		query string
		want  []int // in contract.Entities order
	}{
		{"from=2020-10-10+07:00:00&to=2020-10-10+08:00:00", []int{4, 5, 2, 3, 6, 7, 0, 3, 1, 1}},
		{"from=2020-10-10+00:00:00&to=2020-10-11+00:00:00", []int{68, 75, 119, 121, 144, 97, 4, 49, 72, 145}},
	} {
		for i, e := range contract.Entities {
			if _, rows := pullCSV(t, h, e.Path, tc.query); len(rows) != tc.want[i] {
				t.Errorf("%s %s: %d rows, the docs say %d", e.Name, tc.query, len(rows), tc.want[i])
			}
		}
	}
}

// TestVerifyDocExample runs the verifier example of docs/intarget.md
// against the default scenario: conformant, with rows and no hint.
func TestVerifyDocExample(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	var out, errb strings.Builder
	code := verify.Main([]string{"--base-url", h.URL + "/intarget", "--auth", "basic:intarget:sandbox-password",
		"--from", "2020-10-10 02:00:00", "--to", "2020-10-10 08:00:00", "--no-progress"}, &out, &errb)
	if code != 0 || !strings.HasSuffix(out.String(), ": CONFORMANT\n") || strings.Contains(out.String(), "LIKELY PROBLEM") || strings.Contains(out.String(), " 0 rows") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// TestSettledWindowIndependentOfClock: a window that ended more than three
// days before the clock answers the same bytes in every feed whatever the
// sandbox clock says (real time, or frozen months or years later), since
// the world starts at a fixed instant rather than relative to the clock.
func TestSettledWindowIndependentOfClock(t *testing.T) {
	t.Parallel()
	const day = "from=2020-10-10+00:00:00&to=2020-10-11+00:00:00"
	sandboxes := []*sandboxtest.Harness{
		sandboxtest.New(t, ""),
		sandboxtest.New(t, scenario("")),
		sandboxtest.New(t, strings.Replace(scenario(""), frozenAt, "2020-10-14T00:00:00Z", 1)),
	}
	for _, e := range contract.Entities {
		want := sandboxes[0].Do("GET", "/intarget"+e.Path+"?"+day, nil, basic()).WantStatus(200).Body
		if bytes.Count(want, []byte("\n")) < 2 {
			t.Errorf("%s: no rows on 2020-10-10", e.Name)
		}
		for i, h := range sandboxes[1:] {
			if got := h.Do("GET", "/intarget"+e.Path+"?"+day, nil, basic()).WantStatus(200).Body; !bytes.Equal(got, want) {
				t.Errorf("%s: sandbox %d (another clock) answers 2020-10-10 differently", e.Name, i+1)
			}
		}
	}
}
