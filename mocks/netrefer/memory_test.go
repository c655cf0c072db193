package netrefer

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkStoredEventMemory reports the heap a client store keeps per
// million accepted events, for a mix of one registration, five deposits,
// three activities and one correction per ten events (ids of 36 characters,
// like GUIDs).
func BenchmarkStoredEventMemory(b *testing.B) {
	const n = 200_000
	ts := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	id := func(prefix string, i int) string { return fmt.Sprintf("%s%034d", prefix, i) }
	var perMillion float64
	for it := 0; it < b.N; it++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := newClientStore()
		apply := func(e *event) {
			s.apply(e)
			if len(e.errs) > 0 {
				b.Fatalf("event rejected: %+v", e.errs)
			}
		}
		// Events are made one by one and dropped after apply, as the
		// handler does: what stays on the heap is what the store keeps.
		for i := 0; i < n/10; i++ {
			cust := id("c-", i)
			apply(&event{kind: kRegistration, EventID: id("e-", i*10), CustomerID: cust, BrandID: 1, Timestamp: ts,
				RegistrationDate: ts, CountryCode: "MT", Currency: "EUR"})
			for j := 1; j <= 5; j++ {
				apply(&event{kind: kDeposit, EventID: id("e-", i*10+j), CustomerID: cust, BrandID: 1, Timestamp: ts,
					TransactionID: id("d-", i*10+j), Amount: 100 * moneyScale, Currency: "EUR", MethodID: 7, MethodSent: "Skrill"})
			}
			for j := 6; j <= 8; j++ {
				apply(&event{kind: kActivity, EventID: id("e-", i*10+j), CustomerID: cust, BrandID: 1, Timestamp: ts,
					TransactionID: id("a-", i*10+j), ProductID: 1, Turnover: 50 * moneyScale, GrossRevenue: 5 * moneyScale, Currency: "EUR", ActivityDate: ts})
			}
			apply(&event{kind: kActivity, EventID: id("e-", i*10+9), CustomerID: cust, BrandID: 1, Timestamp: ts,
				TransactionID: id("a-", i*10+8), ProductID: 1, Turnover: 40 * moneyScale, GrossRevenue: 4 * moneyScale, Currency: "EUR", ActivityDate: ts})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(s.processed) != n {
			b.Fatalf("stored %d events", len(s.processed))
		}
		perMillion = float64(after.HeapAlloc-before.HeapAlloc) / n * 1e6 / (1 << 20)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perMillion, "MiB/1M-events")
}
