// Package verify plays InTarget against an operator's product API: it pulls
// windows the way InTarget does and reports every deviation from InTarget's
// "Requirements for product API" as a finding that names the check, the
// entity, the request and the offending rows.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// Options configure one verification run.
type Options struct {
	// BaseURL is the operator API's root; entity paths are appended to it.
	BaseURL string
	// AuthBasic is "USER:PASS"; AuthHeader is "Name: value". At most one.
	AuthBasic  string
	AuthHeader string
	// From and To bound the pulled range; Window is the size of each pull.
	From, To time.Time
	Window   time.Duration
	// Now is the operator's current time; a window after it must be empty.
	Now time.Time
	// Paths maps entity names to paths; empty means all ten at their
	// default paths. When set, only the listed entities are verified.
	Paths map[string]string
	// Format is "csv" (default) or "json"; it sets the Accept header.
	Format string
	// Timeout bounds each request, MaxBytes each response body.
	Timeout  time.Duration
	MaxBytes int64
	// Lookback is how far before From the verifier searches for rows
	// referenced from the pulled range (a player registered last month).
	Lookback time.Duration
	// Settle > 0 runs the late-rows check: the last closed window is pulled,
	// Settle passes (via Wait), and it is pulled again.
	Settle time.Duration
	// Wait lets time pass; nil sleeps. Tests advance a sandbox clock instead.
	Wait func(ctx context.Context, d time.Duration) error
	// Client is the HTTP client (nil: a new one). Redirects are never followed.
	Client *http.Client
	// Progress, when set, is told about each request.
	Progress func(done, total int, what string)
}

// Defaults for Options fields left zero.
const (
	DefaultWindow   = time.Hour
	DefaultTimeout  = 30 * time.Second
	DefaultMaxBytes = 256 << 20
	DefaultLookback = 14 * 24 * time.Hour
	maxSamples      = 5
)

// ErrUsage marks options that cannot be run; the CLI exits with 2.
var ErrUsage = errors.New("usage")

// ConnError marks an API that cannot be reached at all; the CLI exits with 2.
type ConnError struct{ Err error }

func (e *ConnError) Error() string { return "cannot reach the API: " + e.Err.Error() }
func (e *ConnError) Unwrap() error { return e.Err }

type window struct{ from, to time.Time }

func (w window) String() string {
	return "[" + contract.FormatTime(w.from) + ", " + contract.FormatTime(w.to) + ")"
}

// pulled is one window's answer and what the verifier learnt from it.
type pulled struct {
	w      window
	url    string
	status int    // 0 when no answer came
	ctype  string // the answer's Content-Type
	table  *Table // nil when the window could not be read
}

type runner struct {
	o        Options
	ctx      context.Context
	client   *http.Client
	rep      *Report
	mu       sync.Mutex
	requests int
	total    int
	ents     []*contract.Entity
	paths    map[string]string
	mains    map[string][]*pulled // each feed's main pulls, for diagnose
	// known ids per entity, and the references to resolve
	known map[string]map[string]bool
	refs  map[string]map[string]refSample // "entity.column" → id → first row seen
}

type refSample struct{ url, row string }

// Normalize validates the options and fills in the defaults Run uses
// (Run calls it too; calling it first lets a caller bound the range).
func (o *Options) Normalize() error { return o.normalize() }

func (o *Options) normalize() error {
	if o.BaseURL == "" {
		return fmt.Errorf("%w: --base-url is required", ErrUsage)
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --base-url %q is not an http(s) URL", ErrUsage, o.BaseURL)
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.AuthBasic != "" && o.AuthHeader != "" {
		return fmt.Errorf("%w: give --auth or --header, not both", ErrUsage)
	}
	if o.AuthBasic != "" && !strings.Contains(o.AuthBasic, ":") {
		return fmt.Errorf("%w: basic auth is USER:PASS", ErrUsage)
	}
	if o.AuthHeader != "" {
		k, v, ok := strings.Cut(o.AuthHeader, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return fmt.Errorf("%w: --header is \"Name: value\"", ErrUsage)
		}
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Window%time.Second != 0 || o.From.Nanosecond() != 0 || o.To.Nanosecond() != 0 {
		return fmt.Errorf("%w: --window, --from and --to must be whole seconds (InTarget's timestamps have none smaller)", ErrUsage)
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	if o.To.IsZero() {
		o.To = o.Now.Truncate(o.Window)
	}
	if o.From.IsZero() {
		o.From = o.To.Add(-6 * o.Window)
	}
	if !o.From.Before(o.To) {
		return fmt.Errorf("%w: --from must be before --to", ErrUsage)
	}
	if o.To.Sub(o.From)/o.Window > 10000 {
		return fmt.Errorf("%w: more than 10000 windows; use a larger --window", ErrUsage)
	}
	switch o.Format {
	case "":
		o.Format = "csv"
	case "csv", "json":
	default:
		return fmt.Errorf("%w: --format is csv or json", ErrUsage)
	}
	for name := range o.Paths {
		if _, ok := contract.Lookup(name); !ok {
			return fmt.Errorf("%w: unknown entity %q in --paths (known: %s)", ErrUsage, name, strings.Join(EntityNames(), ", "))
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Lookback == 0 { // negative (no look-back) stays so, normalize twice is harmless
		o.Lookback = DefaultLookback
	}
	return nil
}

// EntityNames lists the entity names --paths accepts.
func EntityNames() []string {
	var out []string
	for _, e := range contract.Entities {
		out = append(out, e.Name)
	}
	return out
}

// Run verifies the API. It returns an error only for unusable options
// (ErrUsage) or an API that cannot be reached at all (*ConnError); every
// other problem is a finding in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	start := time.Now()
	rn := &runner{o: o, ctx: ctx, paths: map[string]string{}, mains: map[string][]*pulled{}, known: map[string]map[string]bool{}, refs: map[string]map[string]refSample{}}
	rn.client = o.Client
	if rn.client == nil {
		rn.client = &http.Client{}
	}
	c := *rn.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Timeout = o.Timeout
	rn.client = &c
	for _, e := range contract.Entities {
		if len(o.Paths) == 0 {
			rn.ents, rn.paths[e.Name] = append(rn.ents, e), e.Path
		} else if p, ok := o.Paths[e.Name]; ok {
			rn.ents, rn.paths[e.Name] = append(rn.ents, e), p
		}
	}
	rn.rep = newReport(o)
	windows := split(o.From, o.To, o.Window)
	rn.total = len(rn.ents)*(len(windows)+16) + 2
	if err := rn.preflight(windows[0]); err != nil {
		return nil, err
	}
	rn.checkAuth(rn.ents[0], windows[0])
	var last []*pulled
	for _, e := range rn.ents {
		if ctx.Err() != nil {
			break
		}
		rn.entity(e, windows)
		if o.Settle > 0 {
			lw := window{o.Now.Add(-o.Window), o.Now}
			last = append(last, rn.pullAs(e, lw, "%20", checkLateRows, true))
		}
	}
	rn.crossFeed()
	rn.diagnose()
	if o.Settle > 0 {
		rn.lateRows(last)
	} else {
		for _, e := range rn.ents {
			rn.rep.skip(checkLateRows, e.Name, "run with --settle to pull the last window twice")
		}
	}
	rn.rep.finish(time.Since(start), rn.requests)
	return rn.rep, nil
}

func split(from, to time.Time, w time.Duration) []window {
	var out []window
	for t := from; t.Before(to); t = t.Add(w) {
		end := t.Add(w)
		if end.After(to) {
			end = to
		}
		out = append(out, window{t, end})
	}
	return out
}

// preflight makes one request so that an unreachable API is a usage error
// (exit 2) rather than hundreds of findings.
func (rn *runner) preflight(w window) error {
	req, err := rn.request(rn.ents[0], w, "%20", true)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	resp, err := rn.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil // reachable but slow: the pulls will report it
		}
		return &ConnError{Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return nil
}

// enc writes a timestamp for the query the way InTarget does: colons as
// they are (RFC 3986 allows them in a query), the space as + or %20.
func enc(t time.Time, space string) string {
	return strings.ReplaceAll(contract.FormatTime(t), " ", space)
}

func (rn *runner) request(e *contract.Entity, w window, space string, auth bool) (*http.Request, error) {
	return rn.rawRequest(e, "from="+enc(w.from, space)+"&to="+enc(w.to, space), auth)
}

func (rn *runner) rawRequest(e *contract.Entity, query string, auth bool) (*http.Request, error) {
	u := rn.o.BaseURL + rn.paths[e.Name]
	if query != "" {
		// a path may carry its own query (e.g. ?access-token=..., an
		// auth style InTarget itself uses)
		if strings.Contains(u, "?") {
			u += "&" + query
		} else {
			u += "?" + query
		}
	}
	req, err := http.NewRequestWithContext(rn.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if rn.o.Format == "json" {
		req.Header.Set("Accept", "application/json")
	} else {
		req.Header.Set("Accept", "text/csv")
	}
	req.Header.Set("User-Agent", "provider-sandbox intarget-verify")
	if auth {
		if rn.o.AuthBasic != "" {
			u, p, _ := strings.Cut(rn.o.AuthBasic, ":")
			req.SetBasicAuth(u, p)
		} else if rn.o.AuthHeader != "" {
			k, v, _ := strings.Cut(rn.o.AuthHeader, ":")
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return req, nil
}

// exchange is one raw answer.
type exchange struct {
	status int
	ctype  string
	body   []byte
	err    string // transport failure, as a finding message
}

func (rn *runner) do(req *http.Request) exchange {
	rn.mu.Lock()
	rn.requests++
	n := rn.requests
	rn.mu.Unlock()
	if rn.o.Progress != nil {
		rn.o.Progress(n, max(n, rn.total), req.URL.Path)
	}
	resp, err := rn.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return exchange{err: fmt.Sprintf("no complete answer within %s", rn.o.Timeout)}
		}
		return exchange{err: "request failed: " + err.Error()}
	}
	defer resp.Body.Close()
	x := exchange{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		x.err = fmt.Sprintf("answered %d redirecting to %q; InTarget does not follow redirects", resp.StatusCode, resp.Header.Get("Location"))
		return x
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, rn.o.MaxBytes+1))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			x.err = fmt.Sprintf("the body did not finish within %s", rn.o.Timeout)
		} else {
			x.err = "the body could not be read: " + err.Error()
		}
		return x
	}
	if int64(len(body)) > rn.o.MaxBytes {
		x.err = fmt.Sprintf("the body is larger than the cap of %d bytes", rn.o.MaxBytes)
		return x
	}
	x.body = body
	return x
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("%q", s)
}

func (rn *runner) parse(e *contract.Entity, u string, x exchange) (*Table, bool) {
	mt, _, _ := mime.ParseMediaType(x.ctype)
	want := "text/csv"
	if rn.o.Format == "json" {
		want = "application/json"
	}
	if mt != want {
		rn.rep.add(Finding{Check: checkHTTP, Entity: e.Name, Request: u,
			Message: fmt.Sprintf("Content-Type is %q, expected %s", x.ctype, want)})
	}
	var t *Table
	var probs, warns []string
	check := checkCSV
	if rn.o.Format == "json" {
		check = checkJSON
		t, probs = ParseJSON(x.body)
	} else {
		t, probs, warns = ParseCSV(x.body)
	}
	for _, p := range probs {
		rn.rep.add(Finding{Check: check, Entity: e.Name, Request: u, Message: p})
	}
	for _, w := range warns {
		rn.rep.add(Finding{Check: check, Entity: e.Name, Request: u, Message: w, Severity: SevWarning})
	}
	return t, len(probs) == 0
}
