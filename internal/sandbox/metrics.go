package sandbox

import (
	"bufio"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/faults"
)

// GET /__sandbox/metrics exposes the process in the Prometheus text format
// (docs/metrics.md lists every metric). The figures are process-wide: no
// metric carries a namespace label, because namespaces are created by
// whoever sends a request (every CI job, every test names its own), so a
// label per namespace would grow the series without bound and outlive the
// namespaces themselves. Per-namespace counts are GET /ns/{name}/__sandbox/stats.
// The route answers the same figures under any /ns/{name} prefix and never
// creates a namespace (globalAdminRoutes).
//
// Each Server has a registry of its own, not Prometheus's global default:
// tests start many servers in one process, and each must count only its
// own traffic.

// metricsContentType is the Prometheus text exposition format, version 0.0.4,
// which every Prometheus version scrapes. It is always the answer, whatever
// Accept asks for, so that specs/admin.yaml can state it exactly.
const metricsContentType = expfmt.FmtText

// latencyBuckets span the sandbox's own work (tens of microseconds) up to
// fault delays and slow handlers (seconds), in seconds.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// unroutedOperation labels provider requests that matched no operation
// (the provider's 404 or 405).
const unroutedOperation = "unrouted"

// Fault kinds, as sandbox_faults_fired_total labels them: one per action
// a fired rule (or the Prefer header) carried out.
const (
	faultDelay    = "delay"
	faultRespond  = "respond"
	faultThrottle = "throttle"
	faultReset    = "reset"
	faultHang     = "hang"
	faultCutBody  = "cut_body"
)

// metrics holds one server's collectors.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // provider, operation, status
	latency   *prometheus.HistogramVec // provider, operation
	faults    *prometheus.CounterVec   // provider, kind
	refused   prometheus.Counter
	callbacks *prometheus.CounterVec // provider, outcome

	cbMu       sync.Mutex
	byProvider map[string]*[4]prometheus.Counter // callbacks' children by callback.Outcome
}

// statusLabels are the status codes' label values, made once: a request
// must not allocate to be counted.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sandbox_requests_total",
			Help: "Provider requests answered (each journal entry), by provider, operationId (unrouted: matched no operation) and HTTP status (0: a fault dropped the connection).",
		}, []string{"provider", "operation", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sandbox_request_duration_seconds",
			Help:    "Time from routing a provider request to its journal entry (fault delays included), by provider and operationId.",
			Buckets: latencyBuckets,
		}, []string{"provider", "operation"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sandbox_faults_fired_total",
			Help: "Fault actions carried out on provider requests (by rules or the Prefer header), by provider and kind: delay, respond, throttle, reset, hang, cut_body.",
		}, []string{"provider", "kind"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sandbox_namespaces_refused_total",
			Help: "Requests answered 503 because every namespace slot was taken (--max-namespaces).",
		}),
		byProvider: map[string]*[4]prometheus.Counter{},
	}
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sandbox_callbacks_total",
		Help: "Callback deliveries (Netfinity pingbacks) by provider and outcome: delivered, failed (every attempt failed), cancelled (namespace reset, deleted or evicted, or the sandbox stopped first); retried counts failed attempts followed by another.",
	}, []string{"provider", "outcome"})
	m.reg.MustRegister(m.requests, m.latency, m.faults, m.refused, m.callbacks, stateCollector{s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeRequest counts a journaled provider request.
func (m *metrics) observeRequest(provider, operation string, status int, took time.Duration) {
	if operation == "" {
		operation = unroutedOperation
	}
	m.requests.WithLabelValues(provider, operation, statusLabel(status)).Inc()
	m.latency.WithLabelValues(provider, operation).Observe(took.Seconds())
}

// observeFaults counts the actions applyFaults carries out for d, in the
// order it carries them out: the delay, then the one terminal action, or
// else the cut body.
func (m *metrics) observeFaults(provider string, d *faults.Decision) {
	if d.Delay > 0 {
		m.faults.WithLabelValues(provider, faultDelay).Inc()
	}
	kind := ""
	switch {
	case d.Reset:
		kind = faultReset
	case d.Hang:
		kind = faultHang
	case d.Throttle != nil:
		kind = faultThrottle
	case d.Respond != nil:
		kind = faultRespond
	case d.CutBody:
		kind = faultCutBody
	}
	if kind != "" {
		m.faults.WithLabelValues(provider, kind).Inc()
	}
}

// callbacksOf returns a provider's sandbox_callbacks_total counters, one
// per outcome, creating them (at 0) on first use: build does that for the
// providers whose state sends callbacks, so that their outcomes are shown
// before the first one happens, and the others show none.
// A nil m (a world built outside a server: scenario validate restoring a
// snapshot) counts nothing.
func (m *metrics) callbacksOf(provider string) *[4]prometheus.Counter {
	if m == nil {
		return &[4]prometheus.Counter{}
	}
	m.cbMu.Lock()
	defer m.cbMu.Unlock()
	c := m.byProvider[provider]
	if c == nil {
		c = new([4]prometheus.Counter)
		for o := range c {
			c[o] = m.callbacks.WithLabelValues(provider, callback.Outcome(o).String())
		}
		m.byProvider[provider] = c
	}
	return c
}

// callbackOutcome is the callback.Options.Outcome of a provider's states.
func (m *metrics) callbackOutcome(provider string) func(callback.Outcome) {
	counters := sync.OnceValue(func() *[4]prometheus.Counter { return m.callbacksOf(provider) })
	return func(o callback.Outcome) {
		if c := counters(); int(o) < len(c) && c[o] != nil {
			c[o].Inc()
		}
	}
}

// Descriptions of the figures read from the server at scrape time.
var (
	descNamespaces = prometheus.NewDesc("sandbox_namespaces",
		"Live namespaces, default included.", nil, nil)
	descNamespacesMax = prometheus.NewDesc("sandbox_namespaces_max",
		"Namespaces that may be created under /ns/ at once (--max-namespaces); default is not counted.", nil, nil)
	descJournalEntries = prometheus.NewDesc("sandbox_journal_entries",
		"Journal entries held, all namespaces together.", nil, nil)
	descJournalBytes = prometheus.NewDesc("sandbox_journal_bytes",
		"Bytes the journals hold together, as --journal-memory counts them.", nil, nil)
	descJournalLimit = prometheus.NewDesc("sandbox_journal_bytes_limit",
		"The journals' shared budget in bytes (--journal-memory).", nil, nil)
	descJournalEvicted = prometheus.NewDesc("sandbox_journal_evicted_total",
		"Journal entries evicted to stay within --journal-memory (not those a full journal of --journal-size drops).", nil, nil)
	descCallbacksPending = prometheus.NewDesc("sandbox_callbacks_pending",
		"Callback deliveries neither delivered, failed nor cancelled yet, all namespaces together, by provider.", []string{"provider"}, nil)
	descStreams = prometheus.NewDesc("sandbox_event_streams",
		"Open GET /__sandbox/events streams, all namespaces together.", nil, nil)
	descBuildInfo = prometheus.NewDesc("sandbox_build_info",
		"Always 1; the version label is what GET /__sandbox/version reports.", []string{"version"}, nil)
)

// stateCollector reads the gauges from the server when scraped, so that
// requests pay nothing for them.
type stateCollector struct{ s *Server }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNamespaces, descNamespacesMax, descJournalEntries, descJournalBytes,
		descJournalLimit, descJournalEvicted, descCallbacksPending, descStreams, descBuildInfo} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.spaces.mu.Lock()
	live := make([]*Namespace, 0, len(s.spaces.byID))
	for _, ns := range s.spaces.byID {
		live = append(live, ns)
	}
	s.spaces.mu.Unlock()
	entries, streams := 0, 0
	pending := map[string]int{}
	for _, ns := range live {
		entries += ns.Journal.Len()
		streams += ns.events.Subscribers()
		w := ns.world.Load()
		for _, p := range Providers() {
			if st, ok := w.states[p.Name]; ok {
				if _, sends := st.(CallbackSource); sends {
					pending[p.Name] += pendingCallbacks(st)
				}
			}
		}
	}
	used, limit, evicted := s.journalBudget.Usage()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descNamespaces, float64(len(live)))
	gauge(descNamespacesMax, float64(s.spaces.max))
	gauge(descJournalEntries, float64(entries))
	gauge(descJournalBytes, float64(used))
	gauge(descJournalLimit, float64(limit))
	ch <- prometheus.MustNewConstMetric(descJournalEvicted, prometheus.CounterValue, float64(evicted))
	for _, p := range Providers() {
		if n, ok := pending[p.Name]; ok {
			gauge(descCallbacksPending, float64(n), p.Name)
		}
	}
	gauge(descStreams, float64(streams))
	gauge(descBuildInfo, 1, s.cfg.Version)
}

// getMetrics serves GET /metrics: every metric of the server's registry in
// the text format. A collector that fails is logged and left out; the
// others are still answered, so one bad figure never blinds a dashboard.
func (s *Server) getMetrics(a *adminCall) {
	families, err := s.metrics.reg.Gather()
	if err != nil {
		s.log.Warn("metrics: some figures could not be gathered", "err", err)
	}
	a.w.Header().Set("Content-Type", string(metricsContentType))
	a.w.Header().Set("Cache-Control", "no-store")
	a.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(a.w, 32<<10)
	defer bw.Flush()
	enc := expfmt.NewEncoder(bw, metricsContentType)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return // the client went away
		}
	}
}
