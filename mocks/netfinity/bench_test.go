package netfinity_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// BenchmarkSendAccepted measures accepted messages per second over HTTP on
// loopback (guard, validation, state, status-path scheduling; no callbacks).
func BenchmarkSendAccepted(b *testing.B) {
	h := sandboxtest.New(b, unlimitedScenario)
	client := h.Client
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		body := `{"msisdn":"359881234567","text":"bench ` + strconv.Itoa(i) + `","id":"b` + strconv.Itoa(i) + `"}`
		res, err := client.Do(newSendRequest(h.URL, body, "tok"))
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
