package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
type queryCheck struct {
	q     url.Values
	probs []scenario.Problem
}

// newQueryCheck refuses parameter names outside params and repeated ones.
// It parses the raw query itself: url.URL.Query drops a pair it cannot read
// (one with a ";" or a bad %-escape) without a word, and a filter silently
// dropped would list every entry as if it had matched.
func newQueryCheck(rawQuery string, params []string) *queryCheck {
	q, err := url.ParseQuery(rawQuery)
	c := &queryCheck{q: q}
	if err != nil {
		c.add("", "separate parameters with & and percent-encode ;, % and + inside values (%3B, %25, %2B)",
			"the query string could not be read: %v", err)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(params, name) {
			c.add(name, closeTo(name, params), "unknown query parameter %q; parameters: %s", name, strings.Join(params, ", "))
			continue
		}
		if len(q[name]) > 1 {
			c.add(name, "give it once", "%s is given %d times", name, len(q[name]))
		}
	}
	return c
}

func (c *queryCheck) add(path, hint, format string, args ...any) {
	c.probs = append(c.probs, scenario.Problemf(path, hint, format, args...))
}

// get returns a parameter's value ("" when absent).
func (c *queryCheck) get(name string) string { return c.q.Get(name) }

// known returns the value of name when it is one of known (compared
// exactly), and records a problem listing them otherwise.
func (c *queryCheck) known(name, what string, known []string) string {
	v := c.get(name)
	if v == "" || slices.Contains(known, v) {
		return v
	}
	c.add(name, closeTo(v, known), "unknown %s %q; known %ss: %s", what, v, what, strings.Join(known, ", "))
	return ""
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

// positive reads a whole number of at least 1.
func (c *queryCheck) positive(name string) int {
	v := c.get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-") {
		return math.MaxInt // more than any journal holds: all of them
	}
	if err != nil || n < 1 {
		c.add(name, "for example 20", "%s %q is not a positive whole number", name, v)
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
var requestsParams = []string{"provider", "operation", "status", "method", "path", "since", "limit"}

// callbacksParams are the query parameters of GET /__sandbox/callbacks.
var callbacksParams = []string{"state", "provider", "since"}

// statusFilter reads an exact status (503) or a class (5xx, 5XX): three
// characters, as specs/admin.yaml's pattern says. strconv.Atoi alone would
// also take "+200" and "0200", which the spec refuses.
func (c *queryCheck) status(name string) (exact, class int) {
	v := c.get(name)
	if v == "" {
		return 0, 0
	}
	if len(v) == 3 && strings.EqualFold(v[1:], "xx") && v[0] >= '1' && v[0] <= '5' {
		return 0, int(v[0] - '0')
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) != 3 || v[0] < '1' || v[0] > '5' {
		c.add(name, "an exact status such as 503 or a class such as 5xx", "status %q is neither an HTTP status nor a class", v)
		return 0, 0
	}
	return n, 0
}

// providerPath reads a prefix of the path below the mount. A value written
// with the mount or namespace prefix in front (the path the client sent)
// would never match, so it is refused with the value that was meant.
func (c *queryCheck) providerPath(name string) string {
	v := c.get(name)
	if v == "" {
		return ""
	}
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
// one listed delivery: since keeps those created at or after it (sandbox
// time). Deliveries come from callback.Dispatcher; any other value a
// provider lists is read through its JSON form.
func callbackMatches(v any, state string, since time.Time) bool {
	if state == "" && since.IsZero() {
		return true
	}
	st, created := callbackFields(v)
	return (state == "" || st == state) && (since.IsZero() || !created.Before(since))
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
