package intarget_test

import (
	"bufio"
	"context"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/verify"
)

// peakHeap samples the heap while f runs and returns the highest HeapInuse.
func peakHeap(f func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak.Load()
}

// BenchmarkMillionRowWindow streams one 31-day window of logins holding
// 1,000,680 rows (1345 per hour) through the full HTTP pipeline and reports
// rows/s, MB/s and the peak heap while streaming.
func BenchmarkMillionRowWindow(b *testing.B) {
	h := sandboxtest.New(b, scenario("  world: {days: 32, loginsPerHour: 1345}\n"))
	url := h.URL + "/intarget/api/logins?from=2026-02-07+12:00:00&to=2026-03-10+12:00:00"
	b.ReportAllocs()
	var rows, bytes int64
	var peak uint64
	start := time.Now()
	for i := 0; i < b.N; i++ {
		p := peakHeap(func() {
			req, _ := http.NewRequest("GET", url, nil)
			req.SetBasicAuth(user, pass)
			resp, err := h.Client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			n := int64(-1) // header
			for sc.Scan() {
				n++
				bytes += int64(len(sc.Bytes()) + 2)
			}
			if err := sc.Err(); err != nil {
				b.Fatal(err)
			}
			rows += n
			if n < 1_000_000 {
				b.Fatalf("only %d rows", n)
			}
		})
		if p > peak {
			peak = p
		}
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(rows)/secs, "rows/s")
	b.ReportMetric(float64(bytes)/secs/1e6, "MB/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkVerifier runs the whole verification (every check, ten feeds)
// over 24 one-hour windows of a busier world and reports rows checked per
// second (rows of the main pulls; probes and repeats come on top).
func BenchmarkVerifier(b *testing.B) {
	h := sandboxtest.New(b, scenario("  world: {playersPerHour: 60, loginsPerHour: 200, transactionsPerHour: 150, gameSessionsPerHour: 100, betsPerHour: 80, eventsPerHour: 20}\n"))
	b.ReportAllocs()
	var rows int
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rep, err := verify.Run(context.Background(), verify.Options{
			BaseURL: h.URL + "/intarget", AuthBasic: user + ":" + pass,
			From: clockTime.Add(-24 * time.Hour), To: clockTime, Now: clockTime, Window: time.Hour,
		})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Conformant {
			b.Fatalf("not conformant: %v", rep.Failed)
		}
		rows += rep.Rows
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}
