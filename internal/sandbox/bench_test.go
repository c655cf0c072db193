package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

func benchServer(b *testing.B) *sandbox.Server { return benchServerWith(b, nil) }

func benchServerWith(b *testing.B, configure func(*sandbox.Config)) *sandbox.Server {
	sc, probs := sandbox.LoadScenario("bench", []byte(echoScenario))
	if probs != nil {
		b.Fatal(probs)
	}
	cfg := sandbox.Config{Scenario: sc}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := sandbox.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return srv
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkCorePipeline measures the core's per-request cost for a small JSON
// request: namespace look-up, routing, body read, spec validation, handler
// and journal entry. The handler is the echo provider's list (tiny).
func BenchmarkCorePipeline(b *testing.B) {
	srv := benchServer(b)
	cases := []struct {
		name, method, path, body string
	}{
		{"GET-list", "GET", "/echo/items", ""},
		{"GET-query-validated", "GET", "/echo/items?limit=5", ""},
		{"POST-json-validated", "POST", "/echo/raw", `{"name":"a","qty":2}`},
		{"POST-json-schema", "POST", "/echo/items", `{"name":"a","qty":2}`},
		{"namespaced-GET", "GET", "/ns/bench/echo/items", ""},
	}
	hosts := benchServerWith(b, func(c *sandbox.Config) { c.Hosts = true })
	// Host routing on: a request on a provider host, and one routed by
	// path beside it (what routing by host costs everyone else).
	hostCases := []struct{ name, host, path string }{
		{"hosts-on-host-routed-GET", "api.echo.test", "/v1/items"},
		{"hosts-on-path-routed-GET", "127.0.0.1:8080", "/echo/items"},
	}
	for _, tc := range hostCases {
		b.Run(tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("GET", tc.path, nil)
				req.Host = tc.host
				clear(w.h)
				hosts.ServeHTTP(w, req)
			}
		})
	}
	// The cost of building the request itself, to subtract from the rest.
	b.Run("baseline-NewRequest-only-GET", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = httptest.NewRequest("GET", "/echo/items", nil)
		}
	})
	b.Run("baseline-NewRequest-only-POST", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest("POST", "/echo/items", bytes.NewReader([]byte(`{"name":"a","qty":2}`)))
			r.Header.Set("Content-Type", "application/json")
		}
	})
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var req *http.Request
				if tc.body != "" {
					req = httptest.NewRequest(tc.method, tc.path, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req = httptest.NewRequest(tc.method, tc.path, nil) // GET: no body, as from a real client
				}
				clear(w.h)
				srv.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkProviderRequestWithSubscribers measures what open dashboards
// cost the provider path: the same request as BenchmarkCorePipeline's
// GET-list with 0 and with 10 event streams open on the namespace, each
// read to the end by a client on a real loopback socket. The streams'
// writes run on other goroutines, so the parallel form (every core busy
// with requests) is the honest one: it charges their CPU to the requests.
// dropped/op is not 0 here: a stream passes on at most buffer/pace events
// a second (2,560 with the defaults), far fewer than this loop makes, so
// most events are dropped and counted, and the figure is the cost of that
// overload (docs/benchmarks.md says so next to it).
func BenchmarkProviderRequestWithSubscribers(b *testing.B) {
	for _, subs := range []int{0, 10} {
		for _, parallel := range []bool{false, true} {
			name := fmt.Sprintf("subscribers=%d", subs)
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				srv := benchServer(b)
				hs := httptest.NewServer(srv)
				var wg sync.WaitGroup
				var streamed atomic.Int64
				for i := 0; i < subs; i++ {
					resp, err := hs.Client().Get(hs.URL + "/__sandbox/events")
					if err != nil {
						b.Fatal(err)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						n, _ := io.Copy(io.Discard, resp.Body)
						streamed.Add(n)
					}()
				}
				defer func() {
					srv.CloseStreams()
					wg.Wait()
					hs.Close()
				}()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						w := &discardWriter{h: http.Header{}}
						for pb.Next() {
							clear(w.h)
							srv.ServeHTTP(w, httptest.NewRequest("GET", "/echo/items", nil))
						}
					})
				} else {
					w := &discardWriter{h: http.Header{}}
					for i := 0; i < b.N; i++ {
						clear(w.h)
						srv.ServeHTTP(w, httptest.NewRequest("GET", "/echo/items", nil))
					}
				}
				b.StopTimer()
				// CPU time of the whole process (requests, stream writers and
				// the reading clients alike) per request: on a shared machine
				// it moves far less than wall time, and throughput on an idle
				// one is the cores divided by it.
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, httptest.NewRequest("GET", "/__sandbox/stats", nil))
				var st struct {
					DroppedEvents float64 `json:"droppedEvents"`
				}
				_ = json.Unmarshal(rec.Body.Bytes(), &st)
				b.ReportMetric(st.DroppedEvents/float64(b.N), "dropped/op")
			})
		}
	}
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAccessLog measures what Config.AccessLog adds to a request: the
// wrapping writer and the Exchange handed to the hook (here one that does
// nothing, so the figure is the core's share, not the logger's).
func BenchmarkAccessLog(b *testing.B) {
	sc, probs := sandbox.LoadScenario("bench", []byte(echoScenario))
	if probs != nil {
		b.Fatal(probs)
	}
	for _, tc := range []struct {
		name string
		hook func(sandbox.Exchange)
	}{{"off", nil}, {"on", func(sandbox.Exchange) {}}} {
		srv, err := sandbox.New(sandbox.Config{Scenario: sc, AccessLog: tc.hook})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(srv.Close)
		for _, path := range []string{"/echo/items", "/__sandbox/health"} {
			b.Run(tc.name+path, func(b *testing.B) {
				w := &discardWriter{h: http.Header{}}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					req := httptest.NewRequest("GET", path, nil)
					clear(w.h)
					srv.ServeHTTP(w, req)
				}
			})
		}
	}
}
