package sandbox

import "testing"

func TestFormatRequestID(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint64]string{
		1:          "req_00000001",
		0xabc:      "req_00000abc",
		0xffffffff: "req_ffffffff",
		1 << 32:    "req_100000000",
		^uint64(0): "req_ffffffffffffffff",
	} {
		if got := formatRequestID(n); got != want {
			t.Errorf("formatRequestID(%#x) = %q, want %q", n, got, want)
		}
	}
}

func BenchmarkFormatRequestID(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = formatRequestID(uint64(i))
	}
}
