package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// post sends a JSON body with headers and returns the status, the body and
// the headers; a transport error (the process was killed) is status 0.
func post(client *http.Client, u, body string, header map[string]string) (int, []byte, http.Header) {
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, nil
	}
	return res.StatusCode, b, res.Header
}

func netreferToken(t *testing.T, ns string) string {
	t.Helper()
	res, err := http.PostForm(ns+"/netrefer/login/0e0b50ac-5253-4347-b528-251b2f17cfc6/oauth2/v2.0/token", url.Values{
		"grant_type": {"password"}, "client_id": {"5a324196-7727-45fd-8ac3-1436cd541d76"}, "client_secret": {"sandbox-netrefer-secret"},
		"username": {"operator@sandbox.test"}, "password": {"sandbox-password"}, "scope": {"api://5a324196-7727-45fd-8ac3-1436cd541d76/Events.Injestion"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("netrefer token: %d %v", res.StatusCode, err)
	}
	return out.AccessToken
}

type atPool struct{ total, assigned int }

// centiliAT reads the AT_A1 pool of the default service.
func centiliAT(t *testing.T, ns string) atPool {
	t.Helper()
	var st struct {
		Services []struct {
			ServiceKey string `json:"serviceKey"`
			Pools      []struct {
				Operator string `json:"operator"`
				Total    int    `json:"totalAmount"`
				Assigned int    `json:"assignedAmount"`
			} `json:"pools"`
		} `json:"services"`
	}
	getJSON(t, http.DefaultClient, ns+"/__sandbox/state/centili", &st)
	for _, s := range st.Services {
		for _, p := range s.Pools {
			if s.ServiceKey == "3586a2363bcd51a2b3c4d5f34918263a" && p.Operator == "AT_A1" {
				return atPool{total: p.Total, assigned: p.Assigned}
			}
		}
	}
	t.Fatal("no AT_A1 pool")
	return atPool{}
}

// TestKill9KeepsEveryAcknowledgedGiftAndEvent kills the sandbox with
// SIGKILL while 16 clients send Centili gifts (500 fit in the pool) and
// NetRefer registrations, then restarts it on the same data directory:
// every acknowledged gift is still assigned and replays on retry, no pool
// holds more than its total even when the clients go on until it is full,
// every acknowledged EventID is refused as a duplicate, and request ids
// go on above the ones handed out before.
func TestKill9KeepsEveryAcknowledgedGiftAndEvent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := start(t, "--data-dir", dir, "--access-log=false")
	ns := first.base + "/ns/crash"
	ctok, ntok := centiliToken(t, ns), netreferToken(t, ns)
	client := &http.Client{Timeout: 10 * time.Second}
	gift := func(id string) (int, []byte, http.Header) {
		return post(client, ns+"/centili/datagifting/v1/service/transaction",
			`{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"`+id+`","amount":100}`,
			map[string]string{"Authorization": "Bearer " + ctok})
	}
	register := func(id string) (int, []byte, http.Header) {
		return post(client, ns+"/netrefer/di/v1/registrations",
			`[{"eventId":"`+id+`","customerId":"c-`+id+`","brandId":1,"timestamp":"2026-01-01T10:00:00Z","registrationDate":"2026-01-01T10:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}]`,
			map[string]string{"Authorization": "Bearer " + ntok, "Ocp-Apim-Subscription-Key": "baea25a9f0fe4687845575c07e539a9e9"})
	}

	var mu sync.Mutex
	var gifts, events []string
	var topID string
	var acked atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				var code int
				var hdr http.Header
				if i%2 == 0 {
					code, _, hdr = gift(id)
				} else {
					code, _, hdr = register(id)
				}
				if code == 0 {
					return // killed
				}
				mu.Lock()
				if code == 200 && i%2 == 0 {
					gifts = append(gifts, id)
				} else if code == 200 {
					events = append(events, id)
				}
				if rid := hdr.Get("X-Sandbox-Request-Id"); rid > topID {
					topID = rid
				}
				mu.Unlock()
				acked.Add(1)
			}
		}()
	}
	for acked.Load() < 600 {
		time.Sleep(time.Millisecond)
	}
	first.cmd.Process.Kill()
	<-first.done
	wg.Wait()
	t.Logf("acknowledged before the kill: %d gifts, %d events", len(gifts), len(events))

	second := start(t, "--data-dir", dir, "--access-log=false")
	ns = second.base + "/ns/crash"
	pool := centiliAT(t, ns)
	// At most the 16 requests in flight at the kill were done without
	// their answer arriving.
	if pool.assigned < 100*len(gifts) || pool.assigned > 100*(len(gifts)+16) {
		t.Fatalf("after the restart: %d assigned of %d; %d gifts were acknowledged", pool.assigned, pool.total, len(gifts))
	}
	before := pool.assigned
	for _, id := range gifts {
		code, body, hdr := gift(id)
		if code != 200 || hdr.Get("X-Sandbox-Idempotent-Replay") != "true" {
			t.Fatalf("retry of acknowledged gift %s: %d %s %v", id, code, body, hdr)
		}
	}
	for _, id := range events {
		if code, body, _ := register(id); code != 400 || !strings.Contains(string(body), "DI-1005") {
			t.Fatalf("acknowledged EventID %s sent again: %d %s", id, code, body)
		}
	}
	// Fill the pool from several clients at once: exactly full, never more.
	var fill sync.WaitGroup
	var assigned atomic.Int64
	for w := range 8 {
		fill.Add(1)
		go func() {
			defer fill.Done()
			for i := 0; i < 100; i++ {
				if code, _, _ := gift(fmt.Sprintf("after-%d-%d", w, i)); code == 200 {
					assigned.Add(100)
				}
			}
		}()
	}
	fill.Wait()
	pool = centiliAT(t, ns)
	if pool.assigned != pool.total || before+int(assigned.Load()) != pool.total {
		t.Fatalf("filled after the restart: %d assigned of %d; %d before and %d by the gifts answered 200 since", pool.assigned, pool.total, before, assigned.Load())
	}
	_, _, hdr := gift("one-more")
	if rid := hdr.Get("X-Sandbox-Request-Id"); len(rid) < len(topID) || (len(rid) == len(topID) && rid <= topID) {
		t.Fatalf("request id %s after the restart, %s before it", rid, topID)
	}
	if code := second.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestKill9ResumesPendingPingbacksAndSendsNoneTwice sends a Netfinity
// message on a frozen clock, lets its first pingback succeed, kills the
// sandbox with SIGKILL and restarts it: the remaining statuses are
// delivered once the clock moves on, and the delivered one is not sent
// again.
func TestKill9ResumesPendingPingbacksAndSendsNoneTwice(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []int
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UUID    string `json:"uuid"`
			Payload struct {
				Status struct {
					Code int `json:"code"`
				} `json:"status"`
			} `json:"payload"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		got = append(got, in.Payload.Status.Code)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"uuid":%q}`, in.UUID)
	}))
	defer recv.Close()
	received := func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(got)
	}
	// eventually polls cond for up to 10 s; what says what was awaited.
	eventually := func(cond func() bool, what func() string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what())
			}
		}
	}
	waitFor := func(want string) {
		t.Helper()
		eventually(func() bool { return received() == want },
			func() string { return fmt.Sprintf("pingbacks received %s, want %s", received(), want) })
	}
	admin := func(base, method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+"/ns/pb/__sandbox"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}

	dir := t.TempDir()
	first := start(t, "--data-dir", dir, "--access-log=false")
	admin(first.base, "POST", "/clock", `{"frozen":true}`)
	admin(first.base, "PATCH", "/netfinity/tokens/sandbox-netfinity-token", `{"callbackUrl":"`+recv.URL+`/pingback"}`)
	code, body, _ := post(http.DefaultClient, first.base+"/ns/pb/netfinity/v2/sms/notification/send",
		`{"msisdn":"359881234567","text":"hello","id":"m1"}`,
		map[string]string{"Accept": "application/json", "Authorization": "Bearer sandbox-netfinity-token"})
	if code != 200 {
		t.Fatalf("send: %d %s", code, body)
	}
	admin(first.base, "POST", "/clock", `{"advance":"1s"}`)
	waitFor("[201]")
	// The delivery is recorded right after its answer (a pingback answered
	// in the instant before a crash is sent again: deliveries are
	// at-least-once). Wait until the sandbox shows it delivered; an admin
	// change then returns only once everything queued before it, that
	// record included, is on disk.
	delivered := 0
	eventually(func() bool {
		res, err := http.Get(first.base + "/ns/pb/__sandbox/callbacks?state=delivered")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var list []json.RawMessage
		json.NewDecoder(res.Body).Decode(&list)
		delivered = len(list)
		return delivered == 1
	}, func() string {
		return fmt.Sprintf("the first pingback is not shown delivered: %d delivered", delivered)
	})
	admin(first.base, "POST", "/clock", `{"frozen":true}`)
	first.cmd.Process.Kill()
	<-first.done

	second := start(t, "--data-dir", dir, "--access-log=false")
	time.Sleep(100 * time.Millisecond)
	if r := received(); r != "[201]" {
		t.Fatalf("after the restart, before the clock moved: %s", r)
	}
	admin(second.base, "POST", "/clock", `{"advance":"10s"}`)
	waitFor("[201 202 203 204]")
	if code := second.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
