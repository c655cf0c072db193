package verify

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Check ids. Each is one line of InTarget's requirements (docs/intarget.md
// lists them with what they catch).
const (
	checkHTTP        = "transport.http"
	checkAuth        = "transport.auth"
	checkBadWindow   = "transport.bad-window"
	checkPlusSpace   = "transport.plus-space"
	checkEmptyWindow = "transport.empty-window"
	checkCSV         = "format.csv"
	checkJSON        = "format.json"
	checkRequired    = "format.required"
	checkTimestamps  = "format.timestamps"
	checkValues      = "format.values"
	checkBounds      = "window.bounds"
	checkPartition   = "window.partition"
	checkRepeatable  = "window.repeatable"
	checkFuture      = "window.future"
	checkMonotonic   = "window.monotonic"
	checkDuplicates  = "window.duplicates"
	checkLateRows    = "window.late-rows"
	checkGameTotals  = "games.totals"
	checkGameSpan    = "games.spanning"
	checkGameOpen    = "games.open-sessions"
	checkXref        = "xref.references"
)

// Checks describes every check, in report order.
var Checks = []struct{ ID, About string }{
	{checkHTTP, "every pull answers 200 with the right Content-Type, without redirects, within the timeout and size cap"},
	{checkAuth, "the configured credentials work and a request without them is refused (401/403)"},
	{checkBadWindow, "missing, malformed or reversed from/to are refused with a 4xx"},
	{checkPlusSpace, "a space sent as + and as %20 gives the same rows"},
	{checkEmptyWindow, "an empty window answers 200 with a header-only CSV or []"},
	{checkCSV, "RFC 4180 CSV: header row, equal column counts, quoting, UTF-8"},
	{checkJSON, "a JSON array of flat objects"},
	{checkRequired, "required columns are present and filled"},
	{checkTimestamps, "timestamps are YYYY-MM-DD HH:MM:SS (UTC), dates YYYY-MM-DD"},
	{checkValues, "decimals use '.', integers, booleans 1/0, enumerations within their sets"},
	{checkBounds, "every cursor is in [from, to); a row exactly at to belongs to the next window"},
	{checkPartition, "two adjacent windows hold exactly the rows of the window covering both, no id in both"},
	{checkRepeatable, "the same window pulled twice gives the same rows"},
	{checkFuture, "a window after the API's clock is empty (rows there mean local time or future stamps)"},
	{checkMonotonic, "a cursor never goes below the row's creation time nor decreases across windows"},
	{checkDuplicates, "no id appears twice in one response"},
	{checkLateRows, "no row appears in a closed window after it was pulled"},
	{checkGameTotals, "game-session totals agree with their counts and first/last action times"},
	{checkGameSpan, "a session is in the windows of its first and last action, with non-decreasing totals"},
	{checkGameOpen, "sessions with actions at or after the window's end (legal for game sessions; informational)"},
	{checkXref, "every player_id, bet_id, event_id and tournament_id points at a row of its feed"},
}

// Severity of a finding: only errors make the API non-conformant.
const (
	SevError   = "error"
	SevWarning = "warning"
	SevInfo    = "info"
)

// Finding is one deviation.
type Finding struct {
	Check    string   `json:"check"`
	Entity   string   `json:"entity"`
	Severity string   `json:"severity"`
	Message  string   `json:"message"`
	Request  string   `json:"request,omitempty"`
	Rows     []string `json:"rows,omitempty"`
}

// Result is the outcome of one check for one entity.
type Result struct {
	Check    string    `json:"check"`
	Entity   string    `json:"entity"`
	Status   string    `json:"status"` // pass, fail, warn, skip
	Note     string    `json:"note,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	Omitted  int       `json:"omittedFindings,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	BaseURL    string   `json:"baseUrl"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Window     string   `json:"window"`
	Format     string   `json:"format"`
	Conformant bool     `json:"conformant"`
	Requests   int      `json:"requests"`
	Rows       int      `json:"rows"`
	Duration   string   `json:"duration"`
	Failed     []string `json:"failedChecks"`
	// Hints name the likely cause when the run as a whole points at one
	// mistake (a base URL without the API's path prefix, a range without
	// data); they lead the text report.
	Hints   []string  `json:"hints"`
	Results []*Result `json:"results"`
	byKey   map[string]*Result
}

const maxFindingsPerResult = 20

func newReport(o Options) *Report {
	r := &Report{BaseURL: o.BaseURL, From: o.From.Format(time.RFC3339), To: o.To.Format(time.RFC3339),
		Window: o.Window.String(), Format: o.Format, Hints: []string{}, byKey: map[string]*Result{}}
	return r
}

func (r *Report) result(check, entity string) *Result {
	k := check + "|" + entity
	res, ok := r.byKey[k]
	if !ok {
		res = &Result{Check: check, Entity: entity, Status: "pass"}
		r.byKey[k] = res
		r.Results = append(r.Results, res)
	}
	return res
}

// pass records that a check ran for an entity (without findings it passes).
func (r *Report) pass(check, entity string) { r.result(check, entity) }

func (r *Report) skip(check, entity, why string) {
	res := r.result(check, entity)
	if len(res.Findings) == 0 {
		res.Status, res.Note = "skip", why
	}
}

func (r *Report) add(f Finding) {
	if f.Severity == "" {
		f.Severity = SevError
	}
	res := r.result(f.Check, f.Entity)
	if len(res.Findings) >= maxFindingsPerResult || f.Severity == SevInfo && len(res.Findings) >= maxSamples {
		res.Omitted++
	} else {
		res.Findings = append(res.Findings, f)
	}
	switch {
	case f.Severity == SevError:
		res.Status = "fail"
	case f.Severity == SevWarning && res.Status != "fail":
		res.Status = "warn"
	case res.Status == "skip":
		res.Status = "pass"
	}
}

func checkOrder(id string) int {
	for i, c := range Checks {
		if c.ID == id {
			return i
		}
	}
	return len(Checks)
}

func (r *Report) finish(d time.Duration, requests int) {
	r.Duration, r.Requests = d.Round(time.Millisecond).String(), requests
	sort.SliceStable(r.Results, func(i, j int) bool {
		a, b := r.Results[i], r.Results[j]
		if checkOrder(a.Check) != checkOrder(b.Check) {
			return checkOrder(a.Check) < checkOrder(b.Check)
		}
		return a.Entity < b.Entity
	})
	r.Conformant = true
	seen := map[string]bool{}
	r.Failed = []string{}
	for _, res := range r.Results {
		if res.Status == "fail" {
			r.Conformant = false
			if !seen[res.Check] {
				seen[res.Check] = true
				r.Failed = append(r.Failed, res.Check)
			}
		}
	}
}

// WriteText writes the human-readable summary.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "InTarget product API verification of %s\n", r.BaseURL)
	fmt.Fprintf(w, "range %s … %s, window %s, format %s; %d requests, %d rows, %s\n\n", r.From, r.To, r.Window, r.Format, r.Requests, r.Rows, r.Duration)
	for _, h := range r.Hints {
		fmt.Fprintf(w, "LIKELY PROBLEM: %s\n", h)
	}
	if len(r.Hints) > 0 {
		fmt.Fprintln(w)
	}
	counts := map[string]int{}
	for _, res := range r.Results {
		counts[res.Status]++
		mark := map[string]string{"pass": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}[res.Status]
		if res.Status == "pass" && len(res.Findings) > 0 {
			mark = "info"
		}
		fmt.Fprintf(w, "%s %-24s %-18s", mark, res.Check, res.Entity)
		if res.Note != "" {
			fmt.Fprintf(w, " (%s)", res.Note)
		}
		fmt.Fprintln(w)
		for _, f := range res.Findings {
			fmt.Fprintf(w, "       - [%s] %s\n", f.Severity, f.Message)
			if f.Request != "" {
				fmt.Fprintf(w, "         request: %s\n", f.Request)
			}
			for _, row := range f.Rows {
				fmt.Fprintf(w, "         row: %s\n", row)
			}
		}
		if res.Omitted > 0 {
			fmt.Fprintf(w, "       … and %d more findings\n", res.Omitted)
		}
	}
	verdict := "CONFORMANT"
	if !r.Conformant {
		verdict = "NOT CONFORMANT (failed: " + strings.Join(r.Failed, ", ") + ")"
	}
	if len(r.Hints) > 0 {
		verdict += "; see LIKELY PROBLEM at the top"
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d warnings, %d skipped: %s\n", counts["pass"], counts["fail"], counts["warn"], counts["skip"], verdict)
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
	Output   string      `xml:"system-out,omitempty"` // the hints
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Failure *junitMessage `xml:"failure,omitempty"`
	Skipped *junitMessage `xml:"skipped,omitempty"`
	Output  string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML: one test case per check and entity.
func (r *Report) WriteJUnit(w io.Writer) error {
	s := junitSuite{Name: "intarget-verify " + r.BaseURL}
	if d, err := time.ParseDuration(r.Duration); err == nil {
		s.Time = fmt.Sprintf("%.3f", d.Seconds())
	}
	for _, res := range r.Results {
		c := junitCase{Class: "intarget." + res.Entity, Name: res.Check}
		var b strings.Builder
		for _, f := range res.Findings {
			fmt.Fprintf(&b, "[%s] %s\n", f.Severity, f.Message)
			if f.Request != "" {
				fmt.Fprintf(&b, "  request: %s\n", f.Request)
			}
			for _, row := range f.Rows {
				fmt.Fprintf(&b, "  row: %s\n", row)
			}
		}
		switch res.Status {
		case "fail":
			s.Failures++
			c.Failure = &junitMessage{Message: res.Findings[0].Message, Body: b.String()}
		case "skip":
			s.Skipped++
			c.Skipped = &junitMessage{Message: res.Note}
		default:
			c.Output = b.String()
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, h := range r.Hints {
		s.Output += "LIKELY PROBLEM: " + h + "\n"
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
