package centili_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// benchScenario has a pool that cannot run dry during a benchmark and a
// 1 MB package, under a frozen clock (tokens never expire mid-run).
const benchScenario = frozenScenario + `centili:
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      name: Bench
      merchantId: 11111
      packages:
        - {operator: AT_A1, amounts: [1]}
      pools:
        - {operator: AT_A1, totalAmount: 1000000000000, expirationDate: "2030-12-31 23:59:59"}
`

// benchClients is the number of concurrent clients of the parallel benchmarks.
const benchClients = 32

// benchHTTP keeps enough idle connections for every client, so that the
// figures measure the sandbox rather than TCP set-up.
func benchHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
}

func send(b *testing.B, c *http.Client, req *http.Request) {
	resp, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("status %d", resp.StatusCode)
	}
}

func parallel(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchClients + procs - 1) / procs)
}

// BenchmarkAssignContention: 32 concurrent clients assigning from one pool
// (every request takes the same lock), through the whole HTTP pipeline.
func BenchmarkAssignContention(b *testing.B) { benchAssign(b, sandboxtest.New(b, benchScenario)) }

// BenchmarkAssignContentionDataDir is the same on a sandbox with a data
// directory: each gift's transaction, pool and counter are one atomic
// group of records, and the answer waits for its commit.
func BenchmarkAssignContentionDataDir(b *testing.B) {
	h, _ := sandboxtest.NewOnDisk(b, b.TempDir(), benchScenario)
	benchAssign(b, h)
}

func benchAssign(b *testing.B, h *sandboxtest.Harness) {
	tok := login(b, h, "/centili", merchantUser).AccessToken
	client := benchHTTP()
	var n atomic.Int64
	b.ReportAllocs()
	parallel(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"serviceKey":%q,"msisdn":"4366124567","clientId":"b-%d","amount":1}`, serviceKey, n.Add(1))
			req, _ := http.NewRequest("POST", h.URL+"/centili"+txPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("token", tok)
			send(b, client, req)
		}
	})
}

// BenchmarkBalance: 32 concurrent clients reading one service's balance.
func BenchmarkBalance(b *testing.B) {
	h := sandboxtest.New(b, benchScenario)
	tok := login(b, h, "/centili", merchantUser).AccessToken
	client := benchHTTP()
	u := h.URL + "/centili/datagifting/v1/services/balance?serviceKey=" + serviceKey + "&operator=AT_A1"
	b.ReportAllocs()
	parallel(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			send(b, client, req)
		}
	})
}

// BenchmarkTokenPassword: latency of one password grant (access and refresh
// token signed with RS256), one client at a time.
func BenchmarkTokenPassword(b *testing.B) {
	h := sandboxtest.New(b, benchScenario)
	client := benchHTTP()
	form := url.Values{"grant_type": {"password"}, "client_id": {publicClient}, "username": {merchantUser}, "password": {password}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", h.URL+"/centili"+tokenPath, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		send(b, client, req)
	}
}
