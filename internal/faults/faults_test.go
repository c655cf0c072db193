package faults

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

type fakeOps struct{}

func (fakeOps) HasProvider(n string) bool { return n == "centili" || n == "netrefer" }
func (fakeOps) HasOperation(p, op string) bool {
	return op == "createTransaction" || op == "ingestDeposits"
}
func (fakeOps) OperationNames(p string) []string {
	return []string{"createTransaction", "ingestDeposits"}
}
func (fakeOps) ProviderNames() []string { return []string{"centili", "netrefer"} }

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func req() *Request {
	return &Request{Provider: "centili", Operation: "createTransaction", Method: "POST",
		Path: "/datagifting/v1/service/transaction", Namespace: "default",
		Header: http.Header{"X-Case": {"a"}}, Body: []byte(`{"msisdn":"33612345678","amount":100,"items":[{"id":"x"},{"id":"y"}]}`), Now: now}
}

func TestBodyPathMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, re string
		want     bool
	}{
		{"msisdn", "^336", true},
		{"msisdn", "^436", false},
		{"amount", "^100$", true},
		{"items.1.id", "^y$", true},
		{"items.0.id", "^y$", false},
		{"items.id", "^y$", true}, // any element
		{"missing", ".*", false},
		{"msisdn.deeper", ".*", false},
	}
	for _, tc := range tests {
		s, probs := NewSet(List{{Match: Match{Body: map[string]string{tc.path: tc.re}}, Respond: &Respond{Status: 500}}}, fakeOps{}, 1, now)
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		d := s.Evaluate(req())
		if d.Fired() != tc.want {
			t.Errorf("body %s ~ %s: fired %v", tc.path, tc.re, d.Fired())
		}
	}
	// A body that is not JSON matches no body rule, and does not fail.
	s, _ := NewSet(List{{Match: Match{Body: map[string]string{"a": ".*"}}, Respond: &Respond{Status: 500}}}, fakeOps{}, 1, now)
	r := req()
	r.Body = []byte("not json")
	if s.Evaluate(r).Fired() {
		t.Error("non-JSON body matched")
	}
}

func TestCombinedActions(t *testing.T) {
	t.Parallel()
	s, probs := NewSet(List{
		{ID: "slow", Match: Match{Provider: "centili"}, Delay: &Delay{Fixed: "100ms"}},
		{ID: "down", Match: Match{Provider: "centili"}, Respond: &Respond{Status: 503}},
		{ID: "also", Match: Match{Provider: "centili"}, Delay: &Delay{Fixed: "50ms"}, Throttle: &Throttle{RetryAfter: 5}},
		{ID: "other", Match: Match{Provider: "netrefer"}, Reset: true},
	}, fakeOps{}, 1, now)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	d := s.Evaluate(req())
	if strings.Join(d.Rules, ",") != "slow,down,also" || d.Delay != 150*time.Millisecond || d.Respond == nil || d.Respond.Status != 503 || d.Throttle != nil || d.Reset {
		t.Fatalf("decision %+v", d)
	}
}

func TestPreferParsing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		h      string
		status int
		delay  time.Duration
		ok     bool
		err    bool
	}{
		{"status=503", 503, 0, true, false},
		{"delay=2s", 0, 2 * time.Second, true, false},
		{"delay=1500", 0, 1500 * time.Millisecond, true, false},
		{`status="429", delay=10ms`, 429, 10 * time.Millisecond, true, false},
		{"return=minimal", 0, 0, false, false},
		{"respond-async; wait=5", 0, 0, false, false},
		{"status=99", 0, 0, false, true},
		{"status=200", 0, 0, false, true},
		{"status=204", 0, 0, false, true},
		{"code=302", 0, 0, false, true},
		{"status=399", 0, 0, false, true},
		{"status=400", 400, 0, true, false},
		{"status=599", 599, 0, true, false},
		{"delay=forever", 0, 0, false, true},
		{"delay=1h", 0, 0, false, true},
	}
	for _, tc := range tests {
		st, d, ok, err := ParsePrefer(tc.h)
		if st != tc.status || d != tc.delay || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("%q: %d %v %v %v", tc.h, st, d, ok, err)
		}
	}
}

// FuzzMatcher throws arbitrary requests (and rule regexes) at the matcher: it
// must never panic, whatever the body or headers.
func FuzzMatcher(f *testing.F) {
	f.Add("^33", "msisdn", []byte(`{"msisdn":"33"}`), "POST", "/x", "a=b", "v")
	f.Add("(", "a.b.0", []byte(`[[[[]]]]`), "GET", "", "%zz", "\x00")
	f.Add(".*", "0.0.0", []byte(`{"0":[{"0":null}]}`), "DELETE", "/ü", "a=%20+", "")
	f.Fuzz(func(t *testing.T, re, bodyPath string, body []byte, method, path, query, header string) {
		s, _ := NewSet(List{
			{Match: Match{Method: method, Path: re, Headers: map[string]string{"X-H": re}, Query: map[string]string{"a": re}}, Respond: &Respond{Status: 500}},
			{Match: Match{Body: map[string]string{bodyPath: re}}, Delay: &Delay{Min: "0s", Max: "1ms"}},
			{Match: Match{Provider: "centili", Nth: 2}, Throttle: &Throttle{RetryAfter: 1}},
		}, nil, 1, now)
		for i := 0; i < 3; i++ {
			s.Evaluate(&Request{Provider: "centili", Method: method, Path: path, RawQuery: query,
				Header: http.Header{"X-H": {header}}, Body: body, Now: now})
		}
		_, _, _, _ = ParsePrefer(header)
	})
}

// BenchmarkMatch is the per-request cost of rule matching with 0, 10 and
// 1,000 rules loaded, none of which fire (the common case), and with 10
// rules of which the last one matches on a body field.
func BenchmarkMatch(b *testing.B) {
	mk := func(n int, lastMatches bool) *Set {
		var l List
		for i := 0; i < n; i++ {
			r := Rule{Match: Match{Provider: "centili", Operation: "createTransaction", Headers: map[string]string{"X-Case": fmt.Sprintf("^case-%d$", i)}}, Respond: &Respond{Status: 503}}
			if i%3 == 1 {
				r.Match = Match{Provider: "netrefer", Path: "^/di/v1/deposits$"}
			}
			if lastMatches && i == n-1 {
				r.Match = Match{Provider: "centili", Body: map[string]string{"msisdn": "^3361"}}
			}
			l = append(l, r)
		}
		s, probs := NewSet(l, fakeOps{}, 1, now)
		if len(probs) > 0 {
			b.Fatal(probs)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		n    int
		last bool
	}{{"rules=0", 0, false}, {"rules=10", 10, false}, {"rules=10-body-match", 10, true}, {"rules=1000", 1000, false}} {
		s := mk(tc.n, tc.last)
		tmpl := req()
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r := *tmpl // fresh per-request caches, shared header and body
				s.Evaluate(&r)
			}
		})
	}
}
