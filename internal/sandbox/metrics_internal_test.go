package sandbox

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
)

// Each fault decision counts the actions applyFaults carries out: the
// delay, then the one terminal action in applyFaults' order, else a cut
// body (which a terminal action would have pre-empted).
func TestObserveFaultsCountsTheActionsCarriedOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    faults.Decision
		want map[string]float64
	}{
		{"delay only", faults.Decision{Delay: time.Millisecond}, map[string]float64{faultDelay: 1}},
		{"respond", faults.Decision{Respond: &faults.Respond{Status: 503}}, map[string]float64{faultRespond: 1}},
		{"delay and throttle", faults.Decision{Delay: time.Second, Throttle: &faults.Throttle{RetryAfter: 1}}, map[string]float64{faultDelay: 1, faultThrottle: 1}},
		{"reset wins over respond", faults.Decision{Reset: true, Respond: &faults.Respond{Status: 500}}, map[string]float64{faultReset: 1}},
		{"hang", faults.Decision{Hang: true}, map[string]float64{faultHang: 1}},
		{"cut body", faults.Decision{CutBody: true}, map[string]float64{faultCutBody: 1}},
		{"a terminal action pre-empts the cut", faults.Decision{CutBody: true, Respond: &faults.Respond{Status: 503}}, map[string]float64{faultRespond: 1}},
		{"a rule that only counted", faults.Decision{Rules: []string{"x"}}, map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMetrics(&Server{})
			m.observeFaults("echo", &tc.d)
			for _, kind := range []string{faultDelay, faultRespond, faultThrottle, faultReset, faultHang, faultCutBody} {
				var got dto.Metric
				if err := m.faults.WithLabelValues("echo", kind).Write(&got); err != nil {
					t.Fatal(err)
				}
				if got.Counter.GetValue() != tc.want[kind] {
					t.Errorf("%s = %v, want %v", kind, got.Counter.GetValue(), tc.want[kind])
				}
			}
		})
	}
}

// BenchmarkObserveRequest is what the metrics add to every provider
// request: the request counter and the latency histogram, looked up by
// their labels. Less noisy than the pipeline benchmark it is part of,
// whose spread on a shared machine is larger than this cost.
func BenchmarkObserveRequest(b *testing.B) {
	m := newMetrics(&Server{})
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m.observeRequest("echo", "listItems", 200, 42*time.Microsecond)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.observeRequest("echo", "listItems", 200, 42*time.Microsecond)
			}
		})
	})
}
