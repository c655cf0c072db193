package sandboxtest_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/sandboxtest"
)

// iteration is a testing.TB whose cleanups run when the benchmark's
// iteration ends rather than when the benchmark does, so that each
// iteration's sandbox is closed before the next one starts.
type iteration struct {
	testing.TB
	cleanups []func()
}

func (it *iteration) Cleanup(f func()) { it.cleanups = append(it.cleanups, f) }

func (it *iteration) end() {
	for i := len(it.cleanups) - 1; i >= 0; i-- {
		it.cleanups[i]()
	}
	it.cleanups = nil
}

// BenchmarkNewFirstRequest: sandboxtest.New until the first provider
// request is answered (a Keycloak discovery document, checked against
// Centili's spec), with the embedded default scenario (parsed once per
// process) and with a scenario file (parsed by every New). Closing the
// sandbox is not timed.
func BenchmarkNewFirstRequest(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []sandboxtest.Option
	}{
		{"default", nil},
		{"scenario-file", []sandboxtest.Option{sandboxtest.WithScenarioFile("../scenarios/default.yaml")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			it := &iteration{TB: b}
			b.ReportAllocs()
			for b.Loop() {
				sb := sandboxtest.New(it, bc.opts...)
				resp, err := sb.HTTPClient().Get(sb.URL() + "/centili/realms/api/.well-known/openid-configuration")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
				b.StopTimer()
				it.end()
				b.StartTimer()
			}
		})
	}
}
