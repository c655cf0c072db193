package callback_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/clock"
)

// envelope is a Netfinity-sized pingback body.
var envelope = []byte(`{"uuid":"0b6e3c5e-9f0a-4b59-8f7e-2b1d3c4e5f60","id":"123","service":"sms.notification","timestamp":"2026-11-22 10:00:01","payload":{"status":{"code":204,"description":"Delivered to end user"}}}`)

var headers = http.Header{"Accept": {"application/json"}, "Content-Type": {"application/json"}}

// BenchmarkDeliver measures callbacks delivered per second to a local
// receiver that acknowledges at once (16 attempts in flight).
func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"uuid":"0b6e3c5e-9f0a-4b59-8f7e-2b1d3c4e5f60"}`))
	}))
	defer srv.Close()
	d := callback.New(callback.Options{Clock: clock.New(t0, true), MaxInFlight: 16})
	defer d.Close()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		d.Send(t0, callback.Request{URL: srv.URL, Header: headers, Body: envelope, Policy: callback.Policy{Timeout: 30 * time.Second}})
	}
	for d.Pending() > 0 {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "callbacks/s")
}

// BenchmarkPendingMemory measures the heap held by 10,000 deliveries
// waiting for their due time (each a timer on the sandbox clock).
func BenchmarkPendingMemory(b *testing.B) {
	b.ReportAllocs()
	var total uint64
	for i := 0; i < b.N; i++ {
		clk := clock.New(t0, true)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := callback.New(callback.Options{Clock: clk})
		for j := 0; j < 10000; j++ {
			d.Send(t0.Add(time.Hour), callback.Request{Key: "k" + string(rune('a'+j%26)) + string(rune(j)), URL: "http://127.0.0.1:9/cb", Header: headers, Body: envelope,
				Policy: callback.Policy{Retries: 3, RetryDelay: 3 * time.Second, Timeout: 30 * time.Second}})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		total += after.HeapAlloc - before.HeapAlloc
		if d.Pending() != 10000 {
			b.Fatalf("pending %d", d.Pending())
		}
		d.Close()
		clk.Close()
	}
	b.ReportMetric(float64(total)/float64(b.N)/(1<<20), "MiB/10k-pending")
}
