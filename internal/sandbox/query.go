package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// queryCheck reads an admin endpoint's query string and collects every
// problem in one pass, in the same shape as a scenario file's problems (the
// parameter name as path, a hint). A filter that names something the sandbox
// does not know (a parameter, a provider, an operation, a method) is an
// error that lists the known ones: a typo must never look like "no match".
//
// A filter given several times matches any of its values
// (?status=401&status=403); onceParams, which have no such reading, must
// be given once.
type queryCheck struct {
	q     url.Values
	probs []scenario.Problem
}

// onceParams are the parameters that take one value.
var onceParams = []string{"since", "limit", "cursor"}

// newQueryCheck reads rawQuery and refuses parameter names outside params
// and repeats of onceParams.
func newQueryCheck(rawQuery string, params []string) *queryCheck {
	c := &queryCheck{q: url.Values{}}
	c.parse(rawQuery)
	names := make([]string, 0, len(c.q))
	for name := range c.q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(params, name) {
			c.add(name, closeTo(name, params), "unknown query parameter %q; parameters: %s", name, strings.Join(params, ", "))
			continue
		}
		if len(c.q[name]) > 1 && slices.Contains(onceParams, name) {
			c.add(name, "give it once", "%s is given %d times", name, len(c.q[name]))
		}
	}
	return c
}

// parse splits the query itself rather than calling url.ParseQuery, which
// stops at the first pair it cannot read and says neither which parameter
// it was nor that the others were read: a pair with a ";" or a bad
// %-escape is a problem named after its parameter, and the rest is read.
func (c *queryCheck) parse(rawQuery string) {
	const escHint = "write % inside a value as %25"
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			c.add(k, escHint, "parameter name %q is not valid percent-encoding (%v)", k, err)
			continue
		}
		if strings.Contains(pair, ";") {
			c.add(name, "separate parameters with &, and write ; inside a value as %3B",
				"%s %q contains \";\", which does not separate parameters", name, v)
			continue
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			c.add(name, escHint, "%s %q is not valid percent-encoding (%v)", name, v, err)
			continue
		}
		c.q[name] = append(c.q[name], value)
	}
}

func (c *queryCheck) add(path, hint, format string, args ...any) {
	c.probs = append(c.probs, scenario.Problemf(path, hint, format, args...))
}

// get returns a parameter's (first) value, "" when absent.
func (c *queryCheck) get(name string) string { return c.q.Get(name) }

// known returns the values of name that are among known (compared
// exactly), and records a problem listing them for each other one.
func (c *queryCheck) known(name, what string, known []string) []string {
	var out []string
	for _, v := range c.q[name] {
		if slices.Contains(known, v) {
			out = append(out, v)
			continue
		}
		c.add(name, closeTo(v, known), "unknown %s %q; known %ss: %s", what, v, what, strings.Join(known, ", "))
	}
	return out
}

// time reads an RFC 3339 time.
func (c *queryCheck) time(name string) time.Time {
	v := c.get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		hint := "for example 2026-11-22T10:00:00Z (sandbox time, as GET /__sandbox/clock shows it)"
		if strings.Contains(v, " ") {
			// An unescaped + in a query string arrives as a space.
			hint = "a + in a query string means a space: write the offset as %2B01:00, or give the time in UTC with Z"
		}
		c.add(name, hint, "%s %q is not an RFC 3339 time", name, v)
	}
	return t
}

// limit reads a page size from 1 to most; absent, it is most.
func (c *queryCheck) limit(name string, most int) int {
	v := c.get(name)
	if v == "" {
		return most
	}
	n, err := strconv.Atoi(v)
	if (err == nil && n > most) || (errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-")) {
		c.add(name, `follow the Link header (rel="next") for the entries after a page`,
			"%s %s is more than %d, the most one page holds", name, v, most)
		return most
	}
	if err != nil || n < 1 {
		c.add(name, "for example 20", "%s %q is not a positive whole number", name, v)
		return most
	}
	return n
}

// cursor reads a cursor the sandbox handed out in a Link header.
func (c *queryCheck) cursor(name string) uint64 {
	v := c.get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		c.add(name, `pass back the cursor of the Link header (rel="next") unchanged`, "%s %q is not a cursor this sandbox hands out", name, v)
		return 0
	}
	return n
}

// failed answers 400 with every problem and reports true when there was any.
func (c *queryCheck) failed(w http.ResponseWriter) bool {
	if len(c.probs) == 0 {
		return false
	}
	writeProblem(w, http.StatusBadRequest, "Invalid filter", problemsText(c.probs), c.probs)
	return true
}

// problemsText is problems on one line, for a problem document's detail.
func problemsText(probs []scenario.Problem) string {
	parts := make([]string, len(probs))
	for i, p := range probs {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// closeTo is a "did you mean" hint when got is close to one of known, else "":
// the list of known values is already in the message.
func closeTo(got string, known []string) string {
	if k, ok := scenario.Closest(got, known); ok {
		return fmt.Sprintf("did you mean %q?", k)
	}
	return ""
}

// allOperationIDs lists every operationId of every provider, sorted, once each.
func allOperationIDs() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range Providers() {
		for _, op := range OperationIDs(p.Name) {
			if !seen[op] {
				seen[op] = true
				out = append(out, op)
			}
		}
	}
	sort.Strings(out)
	return out
}

// journalMethods are the methods the method filter of GET /requests knows.
var journalMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// requestsParams are the query parameters of GET /__sandbox/requests; the
// same list is checked against specs/admin.yaml by the tests.
var requestsParams = []string{"provider", "operation", "status", "method", "path", "since", "limit", "cursor"}

// maxRequestsLimit is the most entries one page of GET /requests holds
// (and what it holds without limit): an answer is built entry by entry,
// but a bounded page keeps one request from tying up the journal's
// readers and the client's memory. Link: rel="next" leads on.
const maxRequestsLimit = 1000

// snapshotParams are the query parameters of GET /__sandbox/snapshot.
var snapshotParams = []string{"journal"}

// boolean reads true or false; absent, it is false.
func (c *queryCheck) boolean(name string) bool {
	switch v := c.get(name); v {
	case "", "false":
		return false
	case "true":
		return true
	default:
		c.add(name, "write "+name+"=true or leave it out", "%s %q is not true or false", name, v)
		return false
	}
}

// callbacksParams are the query parameters of GET /__sandbox/callbacks.
var callbacksParams = []string{"state", "provider", "since"}

// status reads exact statuses (503) and classes (5xx, 5XX): three
// characters each, as specs/admin.yaml's pattern says. strconv.Atoi alone
// would also take "+200" and "0200", which the spec refuses.
func (c *queryCheck) status(name string) (exact, class []int) {
	for _, v := range c.q[name] {
		if len(v) == 3 && strings.EqualFold(v[1:], "xx") && v[0] >= '1' && v[0] <= '5' {
			class = append(class, int(v[0]-'0'))
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || len(v) != 3 || v[0] < '1' || v[0] > '5' {
			c.add(name, "an exact status such as 503 or a class such as 5xx", "status %q is neither an HTTP status nor a class", v)
			continue
		}
		exact = append(exact, n)
	}
	return exact, class
}

// providerPaths reads prefixes of the path below the mount. A value written
// with the mount or namespace prefix in front (the path the client sent)
// would never match, so it is refused with the value that was meant.
func (c *queryCheck) providerPaths(name string) []string {
	var out []string
	for _, v := range c.q[name] {
		if p := c.providerPath(name, v); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *queryCheck) providerPath(name, v string) string {
	if !strings.HasPrefix(v, "/") {
		c.add(name, fmt.Sprintf("write it as %q", "/"+v), "path %q must start with /", v)
		return ""
	}
	rest := v
	if after, ok := strings.CutPrefix(rest, "/ns/"); ok {
		_, tail, _ := strings.Cut(after, "/")
		rest = "/" + tail
	}
	for _, p := range (registeredOps{}).ProviderNames() {
		if tail, ok := strings.CutPrefix(rest, "/"+p); ok && (tail == "" || tail[0] == '/') {
			if tail == "" {
				tail = "/"
			}
			c.add(name, fmt.Sprintf("use path=%s (with provider=%s if needed)", tail, p),
				"path %q includes the mount; path is matched below it, as the provider's own paths are written", v)
			return ""
		}
	}
	if rest != v {
		c.add(name, fmt.Sprintf("use path=%s", rest), "path %q includes the namespace prefix; the journal is already per namespace", v)
		return ""
	}
	return v
}

// callbackStates are the states of a callback delivery, in lifecycle order.
var callbackStates = []string{callback.StatePending, callback.StateSending, callback.StateDelivered, callback.StateFailed, callback.StateCancelled}

// callbackMatches applies the state and since filters of GET /callbacks to
// one listed delivery: its state must be one of states, and since keeps
// those created at or after it (sandbox time). Deliveries come from callback.Dispatcher; any other value a
// provider lists is read through its JSON form.
func callbackMatches(v any, states []string, since time.Time) bool {
	if len(states) == 0 && since.IsZero() {
		return true
	}
	st, created := callbackFields(v)
	return (len(states) == 0 || slices.Contains(states, st)) && (since.IsZero() || !created.Before(since))
}

// callbackFields reads the state and creation time of one listed delivery.
func callbackFields(v any) (state string, createdAt time.Time) {
	switch x := v.(type) {
	case callback.Delivery:
		return x.State, x.CreatedAt
	case *callback.Delivery:
		return x.State, x.CreatedAt
	}
	var d struct {
		State     string    `json:"state"`
		CreatedAt time.Time `json:"createdAt"`
	}
	if b, err := json.Marshal(v); err == nil {
		_ = json.Unmarshal(b, &d)
	}
	return d.State, d.CreatedAt
}
