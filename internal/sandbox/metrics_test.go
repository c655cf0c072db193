package sandbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// scraped is one parsed answer of GET /__sandbox/metrics.
type scraped map[string]*dto.MetricFamily

// scrape fetches path (a metrics URL) through the harness, which holds the
// answer to specs/admin.yaml, and parses the text format.
func scrape(t *testing.T, h *sandboxtest.Harness, path string, opts ...sandboxtest.Option) scraped {
	t.Helper()
	res := h.Do("GET", path, nil, opts...).WantStatus(200)
	if ct := res.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatalf("the answer is not the text format: %v\n%.2000s", err, res.Body)
	}
	return fams
}

// value is the sample of family name whose labels are exactly labels
// ("k=v" pairs); ok is false when there is none. A histogram's value is its
// sample count.
func (s scraped) value(name string, labels ...string) (float64, bool) {
	mf := s[name]
	if mf == nil {
		return 0, false
	}
	sort.Strings(labels)
	for _, m := range mf.Metric {
		var got []string
		for _, lp := range m.Label {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		sort.Strings(got)
		if !slices.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// want fails the test unless the sample exists with exactly v.
func (s scraped) want(t *testing.T, v float64, name string, labels ...string) {
	t.Helper()
	got, ok := s.value(name, labels...)
	if !ok {
		t.Errorf("%s%v: no such sample", name, labels)
		return
	}
	if got != v {
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

// series lists the label sets of a family, each as sorted "k=v" pairs.
func (s scraped) series(name string) []string {
	var out []string
	if mf := s[name]; mf != nil {
		for _, m := range mf.Metric {
			var got []string
			for _, lp := range m.Label {
				got = append(got, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(got)
			out = append(out, strings.Join(got, ","))
		}
	}
	sort.Strings(out)
	return out
}

// After known traffic the counters say exactly what happened, the gauges
// what is held, and a second server in the same process counted nothing
// of it (each has a registry of its own).
func TestMetricsCountKnownTraffic(t *testing.T) {
	t.Parallel()
	h := harnessWith(t, sandbox.Config{JournalMemory: 1 << 20, Version: "v-metrics"})
	other := harnessWith(t, sandbox.Config{})

	h.Do("GET", "/echo/items", nil).WantStatus(200)
	h.Do("GET", "/echo/items", nil).WantStatus(200)
	h.Do("POST", "/ns/m1/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":1}`)).WantStatus(201)
	h.Do("GET", "/ns/m1/echo/panic", nil).WantStatus(500)
	h.Do("GET", "/ns/m1/echo/nowhere", nil).WantStatus(404)
	if st := h.Admin("POST", "m1", "/faults", map[string]any{"id": "once-503",
		"match": map[string]string{"provider": "echo", "operation": "listItems"}, "respond": map[string]int{"status": 503}, "times": 1}, nil); st != 201 {
		t.Fatalf("adding the rule: %d", st)
	}
	if st := h.Admin("POST", "m1", "/faults", map[string]any{"id": "throttle",
		"match": map[string]string{"provider": "echo", "operation": "getItem"}, "throttle": map[string]int{"retryAfter": 5}, "times": 1}, nil); st != 201 {
		t.Fatalf("adding the rule: %d", st)
	}
	h.Do("GET", "/ns/m1/echo/items", nil).WantStatus(503)
	h.Do("GET", "/ns/m1/echo/items", nil, sandboxtest.Header("Prefer", "delay=1")).WantStatus(200)
	h.Do("GET", "/ns/m1/echo/items/1", nil).WantStatus(429)

	m := scrape(t, h, "/__sandbox/metrics")
	counts := []struct {
		operation, status string
		n                 float64
	}{
		{"listItems", "200", 3},
		{"listItems", "503", 1},
		{"createItem", "201", 1},
		{"panics", "500", 1},
		{"unrouted", "404", 1},
		{"getItem", "429", 1},
	}
	var wantSeries []string
	for _, c := range counts {
		m.want(t, c.n, "sandbox_requests_total", "provider=echo", "operation="+c.operation, "status="+c.status)
		wantSeries = append(wantSeries, "operation="+c.operation+",provider=echo,status="+c.status)
	}
	sort.Strings(wantSeries)
	if got := m.series("sandbox_requests_total"); !slices.Equal(got, wantSeries) {
		t.Errorf("request series %v, want only %v", got, wantSeries)
	}
	m.want(t, 4, "sandbox_request_duration_seconds", "provider=echo", "operation=listItems")
	m.want(t, 1, "sandbox_request_duration_seconds", "provider=echo", "operation=unrouted")
	if got := m.series("sandbox_faults_fired_total"); !slices.Equal(got, []string{"kind=delay,provider=echo", "kind=respond,provider=echo", "kind=throttle,provider=echo"}) {
		t.Errorf("fault series %v", got)
	}
	m.want(t, 1, "sandbox_faults_fired_total", "provider=echo", "kind=respond")
	m.want(t, 1, "sandbox_faults_fired_total", "provider=echo", "kind=delay")
	m.want(t, 1, "sandbox_faults_fired_total", "provider=echo", "kind=throttle")
	// Only a provider that sends callbacks has outcomes (at 0 until the first).
	if got := m.series("sandbox_callbacks_total"); !slices.Equal(got, []string{"outcome=cancelled,provider=netfinity",
		"outcome=delivered,provider=netfinity", "outcome=failed,provider=netfinity", "outcome=retried,provider=netfinity"}) {
		t.Errorf("callback series %v", got)
	}
	m.want(t, 0, "sandbox_callbacks_total", "provider=netfinity", "outcome=delivered")
	m.want(t, 0, "sandbox_callbacks_pending", "provider=netfinity")
	m.want(t, 2, "sandbox_namespaces")
	m.want(t, 256, "sandbox_namespaces_max")
	m.want(t, 8, "sandbox_journal_entries")
	m.want(t, 1<<20, "sandbox_journal_bytes_limit")
	m.want(t, 0, "sandbox_journal_evicted_total")
	m.want(t, 0, "sandbox_namespaces_refused_total")
	m.want(t, 0, "sandbox_event_streams")
	m.want(t, 1, "sandbox_build_info", "version=v-metrics")
	if b, _ := m.value("sandbox_journal_bytes"); b <= 0 || b > 1<<20 {
		t.Errorf("sandbox_journal_bytes = %v, want within (0, 1 MiB]", b)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if m[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}

	// Process-wide under any prefix, and no namespace is created for it.
	under := scrape(t, h, "/ns/never-made/__sandbox/metrics")
	under.want(t, 3, "sandbox_requests_total", "provider=echo", "operation=listItems", "status=200")
	under.want(t, 2, "sandbox_namespaces")
	if ns := h.Namespaces(); slices.Contains(ns, "never-made") {
		t.Errorf("the scrape created its prefix's namespace: %v", ns)
	}

	o := scrape(t, other, "/__sandbox/metrics")
	if o["sandbox_requests_total"] != nil {
		t.Errorf("the other server counted requests it never saw: %v", o.series("sandbox_requests_total"))
	}
	o.want(t, 1, "sandbox_namespaces")
	o.want(t, 0, "sandbox_journal_entries")
	o.want(t, 1, "sandbox_build_info", "version=dev")
}

// The journal gauges follow the shared budget: entries evicted to stay
// within --journal-memory are counted, and refused namespaces too.
func TestMetricsJournalEvictionAndRefusedNamespaces(t *testing.T) {
	t.Parallel()
	// A budget of one byte keeps only the newest entry of all.
	h := harnessWith(t, sandbox.Config{JournalMemory: 1, MaxNamespaces: 1})
	for range 5 {
		h.Do("GET", "/echo/items", nil).WantStatus(200)
	}
	h.Do("GET", "/ns/a/echo/items", nil).WantStatus(200)
	// Asked through the admin API, whose document has the 503 problem.
	h.Do("GET", "/ns/b/__sandbox/health", nil).WantStatus(503)
	h.Do("GET", "/ns/c/__sandbox/clock", nil).WantStatus(503)

	m := scrape(t, h, "/__sandbox/metrics")
	m.want(t, 1, "sandbox_journal_entries")
	m.want(t, 5, "sandbox_journal_evicted_total")
	m.want(t, 1, "sandbox_journal_bytes_limit")
	m.want(t, 2, "sandbox_namespaces")
	m.want(t, 1, "sandbox_namespaces_max")
	m.want(t, 2, "sandbox_namespaces_refused_total")
	// A refused request never reached a namespace's journal: not a request.
	m.want(t, 6, "sandbox_requests_total", "provider=echo", "operation=listItems", "status=200")
	if got := m.series("sandbox_requests_total"); len(got) != 1 {
		t.Errorf("request series %v", got)
	}
}

// Pingbacks are counted by outcome: a refused attempt is retried, every
// status is delivered, and a retry a reset cuts short is cancelled;
// deliveries waiting for the (frozen) clock are the pending gauge.
func TestMetricsCountCallbackOutcomes(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first pingback of each message is refused once.
		if n := hits.Add(1); n == 1 || n == 6 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var pb struct {
			UUID string `json:"uuid"`
		}
		_ = json.NewDecoder(r.Body).Decode(&pb)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"uuid":"` + pb.UUID + `"}`))
	}))
	defer receiver.Close()
	h := sandboxtest.New(t, `version: 1
name: metrics-callbacks
seed: 7
clock: {start: "2026-11-22T10:00:00Z", frozen: true}
netfinity:
  tokens:
    - {token: metrics-token, name: metrics, capabilities: [sms.notification], callbackUrl: "`+receiver.URL+`/pingback"}
`)
	send := func(text string) {
		h.Do("POST", "/netfinity/v2/sms/notification/send", sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"`+text+`"}`),
			sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer("metrics-token")).WantStatus(200)
	}
	// until scrapes until outcome reaches n (attempts run on workers).
	until := func(outcome string, n float64) scraped {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			m := scrape(t, h, "/__sandbox/metrics")
			if got, _ := m.value("sandbox_callbacks_total", "provider=netfinity", "outcome="+outcome); got == n {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached %v: %v", outcome, n, m["sandbox_callbacks_total"])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	advance := func(d string) { h.Admin("POST", "", "/clock", map[string]string{"advance": d}, nil) }

	send("first")
	m := scrape(t, h, "/__sandbox/metrics")
	for _, o := range []string{"delivered", "retried", "failed", "cancelled"} {
		m.want(t, 0, "sandbox_callbacks_total", "provider=netfinity", "outcome="+o)
	}
	m.want(t, 0, "sandbox_callbacks_pending", "provider=netfinity")
	advance("1s") // status 201 is due: its first attempt is refused, the retry waits 3 s
	m = until("retried", 1)
	m.want(t, 1, "sandbox_callbacks_pending", "provider=netfinity")
	m.want(t, 0, "sandbox_callbacks_total", "provider=netfinity", "outcome=delivered")
	advance("1h") // the retry and the three later statuses
	m = until("delivered", 4)
	m.want(t, 1, "sandbox_callbacks_total", "provider=netfinity", "outcome=retried")
	m.want(t, 0, "sandbox_callbacks_total", "provider=netfinity", "outcome=failed")
	m.want(t, 0, "sandbox_callbacks_pending", "provider=netfinity")

	send("second")
	advance("1s")
	m = until("retried", 2)
	m.want(t, 1, "sandbox_callbacks_pending", "provider=netfinity")
	h.Admin("POST", "", "/reset", nil, nil)
	m = scrape(t, h, "/__sandbox/metrics")
	m.want(t, 1, "sandbox_callbacks_total", "provider=netfinity", "outcome=cancelled")
	m.want(t, 4, "sandbox_callbacks_total", "provider=netfinity", "outcome=delivered")
	m.want(t, 0, "sandbox_callbacks_total", "provider=netfinity", "outcome=failed")
	m.want(t, 0, "sandbox_callbacks_pending", "provider=netfinity")
	m.want(t, 2, "sandbox_requests_total", "provider=netfinity", "operation=sendSmsNotification", "status=200")
	if n := hits.Load(); n != 6 {
		t.Errorf("the receiver was hit %d times, want 6", n)
	}
}

// Scraping is an admin call like any other: with --admin-token it needs
// the token (as Prometheus sends it: Authorization: Bearer), and a Host
// that --allowed-hosts does not list is refused.
func TestMetricsNeedTheAdminToken(t *testing.T) {
	t.Parallel()
	h := harnessWith(t, sandbox.Config{AdminToken: "metrics-secret", AllowedHosts: []string{"sandbox-1"}})
	h.Do("GET", "/__sandbox/metrics", nil).WantStatus(401).WantJSON(
		`{"type":"about:blank","title":"Admin token required","status":401,"detail":"this sandbox was started with --admin-token: send Authorization: Bearer TOKEN, or in a browser open /__sandbox/ui/?token=TOKEN once (it sets a cookie)"}`)
	h.Do("GET", "/__sandbox/metrics", nil, sandboxtest.Bearer("wrong")).WantStatus(401).WantJSON(
		`{"type":"about:blank","title":"Invalid admin token","status":401,"detail":"the bearer token is not the sandbox's --admin-token"}`)
	m := scrape(t, h, "/__sandbox/metrics", sandboxtest.Bearer("metrics-secret"), withHost("sandbox-1:8080"))
	m.want(t, 1, "sandbox_namespaces")
	h.Do("GET", "/__sandbox/metrics", nil, sandboxtest.Bearer("metrics-secret"), withHost("evil.test")).WantStatus(403).
		WantJSON(hostRefusal("evil.test", "evil.test"))
}
