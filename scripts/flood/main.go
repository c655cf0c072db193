// Command flood sends a fixed number of Centili gifts and Netfinity messages
// to a running sandbox on 127.0.0.1 and prints the sandbox's resident memory
// (VmRSS of -pid) as it goes, to show whether provider state grows without
// bound or levels off at its limits. scripts/load-state.sh builds the binary,
// starts it and runs this; see docs/benchmarks.md.
//
// Every request is new to the sandbox (a fresh clientId, a fresh text), so
// each one is recorded: gifts past the pool's balance are FAILED
// transactions, recorded all the same.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const netfinityScenario = `version: 1
name: flood
centili:
  accessTokenLifespan: 36000
  ssoSessionMaxLifespan: 36000
netfinity:
  tokens:
    - {token: flood, name: flood, capabilities: [sms.notification], rateLimit: 1000000000}
`

func main() {
	base := flag.String("base", "http://127.0.0.1:18768", "the sandbox's base URL (loopback)")
	pid := flag.Int("pid", 0, "the sandbox's process id, for its VmRSS")
	gifts := flag.Int("centili", 300000, "Centili gifts to send")
	msgs := flag.Int("netfinity", 276000, "Netfinity messages to send")
	events := flag.Int("netrefer", 0, "NetRefer registrations to send (one new EventID per request), after the messages")
	conc := flag.Int("c", 8, "requests in flight at once")
	every := flag.Int("every", 50000, "print the resident memory after this many requests of a run")
	journal := flag.Int("journal", 0, "instead of gifts and messages: this many journaled requests with 4 KB bodies and headers, spread over -namespaces, then -readers reading one namespace's journal at once")
	spaces := flag.Int("namespaces", 30, "namespaces the -journal requests are spread over")
	readers := flag.Int("readers", 8, "concurrent readers of a whole journal after the -journal flood")
	flag.Parse()
	if u, err := url.Parse(*base); err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1") {
		fail("-base must be a loopback URL, got %q", *base)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}, Timeout: 30 * time.Second}
	if *journal > 0 {
		floodJournal(client, *base, *journal, *spaces, *readers, *conc, *every, *pid)
		return
	}
	ns := *base + "/ns/flood"
	put(client, ns+"/__sandbox/scenario", "application/yaml", netfinityScenario)
	fmt.Printf("%-28s %10s %8s\n", "run", "requests", "RSS MiB")
	fmt.Printf("%-28s %10d %8d\n", "start", 0, rss(*pid))

	tok := token(client, ns)
	run(client, "centili gifts", *gifts, *conc, *every, *pid, func(i int) *http.Request {
		body := fmt.Sprintf(`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"flood-%d","amount":100}`, i)
		r, _ := http.NewRequest("POST", ns+"/centili/datagifting/v1/service/transaction", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}, func(status int) bool { return status == 200 || status == 422 })
	run(client, "netfinity messages", *msgs, *conc, *every, *pid, func(i int) *http.Request {
		body := fmt.Sprintf(`{"msisdn":"359881234567","text":"flood %d","id":"flood%d"}`, i, i)
		r, _ := http.NewRequest("POST", ns+"/netfinity/v2/sms/notification/send", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Authorization", "Bearer flood")
		return r
	}, func(status int) bool { return status == 200 })
	if *events > 0 {
		ntok := netreferToken(client, ns)
		run(client, "netrefer registrations", *events, *conc, *every, *pid, func(i int) *http.Request {
			body := fmt.Sprintf(`[{"eventId":"flood-%d","customerId":"c%d","brandId":1,"timestamp":"2026-01-01T10:00:00Z","registrationDate":"2026-01-01T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}]`, i, i)
			r, _ := http.NewRequest("POST", ns+"/netrefer/di/v1/registrations", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Ocp-Apim-Subscription-Key", "baea25a9f0fe4687845575c07e539a9e9")
			r.Header.Set("Authorization", "Bearer "+ntok)
			return r
		}, func(status int) bool { return status == 200 })
	}
}

// netreferToken gets an Azure AD token of the default scenario's NetRefer
// client.
func netreferToken(client *http.Client, ns string) string {
	form := url.Values{"grant_type": {"password"}, "client_id": {"5a324196-7727-45fd-8ac3-1436cd541d76"},
		"client_secret": {"sandbox-netrefer-secret"}, "username": {"operator@sandbox.test"}, "password": {"sandbox-password"},
		"scope": {"api://5a324196-7727-45fd-8ac3-1436cd541d76/Events.Injestion"}}
	res, err := client.PostForm(ns+"/netrefer/login/0e0b50ac-5253-4347-b528-251b2f17cfc6/oauth2/v2.0/token", form)
	if err != nil {
		fail("netrefer token: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		fail("netrefer token: status %d, %v", res.StatusCode, err)
	}
	return out.AccessToken
}

// run sends n requests with conc workers, printing the RSS every `every`
// requests and at the end; an answer ok refuses stops the run.
func run(client *http.Client, name string, n, conc, every, pid int, build func(i int) *http.Request, ok func(int) bool) {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex // orders the progress lines
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				res, err := client.Do(build(i))
				if err != nil {
					fail("%s %d: %v", name, i, err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if !ok(res.StatusCode) {
					fail("%s %d: status %d: %s", name, i, res.StatusCode, b)
				}
				if d := int(done.Add(1)); d%every == 0 || d == n {
					mu.Lock()
					fmt.Printf("%-28s %10d %8d\n", name, d, rss(pid))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%-28s %10.0f req/s\n", name+" rate", float64(n)/time.Since(start).Seconds())
}

// floodJournal sends n unauthenticated Centili gifts (401s, each journaled
// with a 4,000-byte body and a 4,000-byte header) spread over the given
// number of namespaces, then has readers fetch namespace j0's whole journal
// at once: as one answer where the sandbox allows limit=100000, else page
// by page (limit=1000 and the Link cursor). It prints the resident memory
// after the flood and the highest seen while the readers ran.
func floodJournal(client *http.Client, base string, n, spaces, readers, conc, every, pid int) {
	fmt.Printf("%-28s %10s %8s\n", "run", "requests", "RSS MiB")
	fmt.Printf("%-28s %10d %8d\n", "start", 0, rss(pid))
	body, pad := strings.Repeat("a", 4000), strings.Repeat("b", 4000)
	run(client, "journaled requests", n, conc, every, pid, func(i int) *http.Request {
		r, _ := http.NewRequest("POST", fmt.Sprintf("%s/ns/j%d/centili/datagifting/v1/service/transaction", base, i%spaces), strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Pad", pad)
		return r
	}, func(status int) bool { return status == 401 })

	stop := make(chan struct{})
	peak := make(chan int)
	go func() {
		high := 0
		for {
			high = max(high, rss(pid))
			select {
			case <-stop:
				peak <- high
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	var entries atomic.Int64
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries.Add(int64(readJournal(client, base+"/ns/j0")))
		}()
	}
	wg.Wait()
	close(stop)
	fmt.Printf("%-28s %10d %8d\n", fmt.Sprintf("%d readers, peak", readers), entries.Load(), <-peak)
}

// readJournal reads a namespace's whole journal and counts its entries.
func readJournal(client *http.Client, ns string) int {
	count := func(res *http.Response) int {
		var page []json.RawMessage
		if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
			fail("journal page: %v", err)
		}
		return len(page)
	}
	res, err := client.Get(ns + "/__sandbox/requests?limit=100000")
	if err != nil {
		fail("journal: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode == 200 {
		return count(res)
	}
	total := 0
	for next := ns + "/__sandbox/requests?limit=1000"; next != ""; {
		res, err := client.Get(next)
		if err != nil || res.StatusCode != 200 {
			fail("journal page %s: %v %v", next, err, res)
		}
		total += count(res)
		res.Body.Close()
		next = ""
		if l := res.Header.Get("Link"); strings.HasPrefix(l, "<") && strings.Contains(l, `rel="next"`) {
			u, _ := url.Parse(ns)
			ref, _ := url.Parse(l[1:strings.Index(l, ">")])
			next = u.ResolveReference(ref).String()
		}
	}
	return total
}

func token(client *http.Client, ns string) string {
	form := url.Values{"grant_type": {"password"}, "client_id": {"datagifting"},
		"username": {"merchant@sandbox.test"}, "password": {"sandbox-password"}}
	res, err := client.PostForm(ns+"/centili/realms/api/protocol/openid-connect/token", form)
	if err != nil {
		fail("token: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		fail("token: status %d, %v", res.StatusCode, err)
	}
	return out.AccessToken
}

func put(client *http.Client, u, contentType, body string) {
	r, _ := http.NewRequest("PUT", u, bytes.NewReader([]byte(body)))
	r.Header.Set("Content-Type", contentType)
	res, err := client.Do(r)
	if err != nil {
		fail("PUT %s: %v", u, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		fail("PUT %s: status %d: %s", u, res.StatusCode, b)
	}
}

// rss is the process's VmRSS in MiB, from /proc (0 without a pid).
func rss(pid int) int {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		fail("reading VmRSS: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			var kb int
			fmt.Sscan(f[1], &kb)
			return kb / 1024
		}
	}
	return 0
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "flood: "+format+"\n", args...)
	os.Exit(1)
}
