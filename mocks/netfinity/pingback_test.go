package netfinity_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

func TestMagicNumbersReachEveryOutcome(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	tests := []struct {
		msisdn string
		path   string
		want   []int
	}{
		{"359881234567", "delivered", []int{201, 202, 203, 204}},
		{"359880000301", "delayedThenDelivered", []int{301, 201, 202, 203, 204}},
		{"359880000302", "delayedThenRejected", []int{301, 400}},
		{"359880000400", "rejectedFunds", []int{400}},
		{"359880000401", "flood", []int{401}},
		{"359880000501", "rejectedDestination", []int{501}},
		{"359880000502", "internalError", []int{201, 502}},
		{"359880000503", "remoteNetworkFailed", []int{201, 202, 503}},
		{"447700900123", "rejectedDestination", []int{501}},
	}
	ids := map[string]string{}
	for i, tc := range tests {
		ids[tc.msisdn] = sendOK(t, h, "", "tok", fmt.Sprintf(`{"msisdn":"%s","text":"outcome %d"}`, tc.msisdn, i))
	}
	// One advance walks every path: each step is chained from the previous
	// step's due time.
	advance(t, h, "", 2*time.Minute)
	for _, tc := range tests {
		t.Run(tc.msisdn, func(t *testing.T) {
			m := message(t, h, "", ids[tc.msisdn])
			if m.Path != tc.path || joinInts(codes(m.History)) != joinInts(tc.want) || !m.Final {
				t.Errorf("path %s history %v final %v; want %s %v final", m.Path, codes(m.History), m.Final, tc.path, tc.want)
			}
		})
	}
	// Status times follow the scenario's delays exactly.
	m := message(t, h, "", ids["359881234567"])
	wantAt := []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 10 * time.Second}
	for i, ev := range m.History {
		if !ev.At.Equal(start.Add(wantAt[i])) {
			t.Errorf("status %d at %s, want %s", ev.Code, ev.At, start.Add(wantAt[i]))
		}
	}
	if m.History[3].Description != "Delivered to end user" {
		t.Errorf("description %q", m.History[3].Description)
	}
	d := message(t, h, "", ids["359880000301"])
	if v := d.History[0].Meta; v == nil || v.Voucher == nil || v.Voucher.Expires != "2026-11-23 10:00:01" || len(v.Voucher.UUID) != 36 {
		t.Errorf("301 voucher meta = %+v", v)
	}
}

func TestStatusPathAdvancesStepByStep(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	id := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"step"}`)
	for _, s := range []struct {
		by   time.Duration
		want string
	}{{999 * time.Millisecond, ""}, {time.Millisecond, "201"}, {2 * time.Second, "201,202"}, {6 * time.Second, "201,202,203"}, {time.Second, "201,202,203,204"}} {
		advance(t, h, "", s.by)
		if got := joinInts(codes(message(t, h, "", id).History)); got != s.want {
			t.Fatalf("after +%s: history %s, want %s", s.by, got, s.want)
		}
	}
}

func TestFloodProtection(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	first := sendOK(t, h, "", "tok", `{"msisdn":"359881111111","text":"same","id":"A1"}`)
	reusedID := sendOK(t, h, "", "tok", `{"msisdn":"359882222222","text":"other","id":"A1"}`)
	sameText := sendOK(t, h, "", "tok", `{"msisdn":"+359881111111","text":"same"}`)
	otherToken := sendOK(t, h, "", "tok2", `{"msisdn":"359881111111","text":"same","id":"A1"}`)
	advance(t, h, "", 10*time.Minute)
	afterWindow := sendOK(t, h, "", "tok", `{"msisdn":"359881111111","text":"same"}`)
	advance(t, h, "", time.Minute)
	tests := []struct {
		name, id string
		flood    bool
	}{
		{"first send", first, false},
		{"id reused", reusedID, true},
		{"same text to the same number within 10 minutes", sameText, true},
		{"another token has its own memory", otherToken, false},
		{"after the window", afterWindow, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := message(t, h, "", tc.id)
			got := len(m.History) == 1 && m.History[0].Code == 401
			if got != tc.flood || (m.Flood != "") != tc.flood {
				t.Errorf("flood = %v (reason %q, history %v), want %v", got, m.Flood, codes(m.History), tc.flood)
			}
			if tc.flood && m.History[0].Description != "Rejected by Recipient protection" {
				t.Errorf("description %q", m.History[0].Description)
			}
		})
	}
}

func TestPingbacksDeliveredInOrderOnce(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	h := sandboxtest.New(t, testScenario(rcv.url(), ""))
	id := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"hello","id":"ref42"}`)
	advance(t, h, "", time.Minute)
	cbs := waitCallbacks(t, h, "", settled(4))

	got := rcv.received()
	if len(got) != 4 {
		t.Fatalf("receiver got %d requests, want 4", len(got))
	}
	wantCodes := []int{201, 202, 203, 204}
	wantTimes := []string{"2026-11-22 10:00:01", "2026-11-22 10:00:03", "2026-11-22 10:00:05", "2026-11-22 10:00:10"}
	for i, r := range got {
		if r.Body.Payload.Status.Code != wantCodes[i] || r.Body.Timestamp != wantTimes[i] {
			t.Errorf("pingback %d: %s", i, r.Raw)
		}
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("pingback %d headers %v", i, r.Header)
		}
	}
	want := fmt.Sprintf(`{"uuid":"%s","id":"ref42","service":"sms.notification","timestamp":"2026-11-22 10:00:10","payload":{"status":{"code":204,"description":"Delivered to end user"}}}`, id)
	if got[3].Raw != want {
		t.Errorf("envelope\n got %s\nwant %s", got[3].Raw, want)
	}
	for i, d := range cbs {
		if d.State != "delivered" || len(d.Attempts) != 1 || d.Attempts[0].Status != 200 || d.Key != id || d.Source != "netfinity" || d.URL != rcv.url() {
			t.Errorf("delivery %d: %+v", i, d)
		}
	}
	if m := message(t, h, "", id); len(m.Callbacks) != 4 || m.Callbacks[0] != cbs[0].ID {
		t.Errorf("message callbacks %v", m.Callbacks)
	}
	// Nothing more arrives later: success is final.
	advance(t, h, "", time.Hour)
	if n := len(rcv.received()); n != 4 {
		t.Errorf("receiver got %d requests after an hour, want still 4", n)
	}
}

func TestPingbackRetrySchedule(t *testing.T) {
	t.Parallel()
	// The first status is refused twice (a 500, then a 200 without the
	// uuid) before the receiver acknowledges it; later statuses wait.
	rcv := newReceiver(t, func(n int, pb pingbackBody) (int, string) {
		if pb.Payload.Status.Code == 201 {
			switch n {
			case 1:
				return 500, `{"error":"down"}`
			case 2:
				return 200, `{"ok":true}`
			}
		}
		return 200, `{"uuid":"` + pb.UUID + `"}`
	})
	h := sandboxtest.New(t, testScenario(rcv.url(), ""))
	sendOK(t, h, "", "tok", `{"msisdn":"359880000502","text":"retry"}`)

	// 10:00:01 first attempt; retries are 3 s of sandbox time apart.
	advance(t, h, "", time.Second)
	waitCallbacks(t, h, "", func(c []deliveryView) bool { return len(c) == 1 && len(c[0].Attempts) == 1 && c[0].State == "pending" })
	advance(t, h, "", 2999*time.Millisecond)
	if c := callbacks(t, h, ""); len(c[0].Attempts) != 1 {
		t.Fatalf("retry before its time: %+v", c[0].Attempts)
	}
	advance(t, h, "", time.Millisecond)
	waitCallbacks(t, h, "", func(c []deliveryView) bool { return len(c[0].Attempts) == 2 && c[0].State == "pending" })
	advance(t, h, "", time.Minute)
	cbs := waitCallbacks(t, h, "", settled(2))

	first := cbs[0]
	if first.State != "delivered" || len(first.Attempts) != 3 {
		t.Fatalf("first delivery %+v", first)
	}
	wantAt := []time.Duration{time.Second, 4 * time.Second, 7 * time.Second}
	wantStatus := []int{500, 200, 200}
	wantErr := []string{"status 500, want 200", `the answer does not contain the uuid; want {"uuid": "` + first.Key + `"}`, ""}
	for i, a := range first.Attempts {
		if !a.At.Equal(start.Add(wantAt[i])) || a.Status != wantStatus[i] || a.Error != wantErr[i] || a.N != i+1 {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	if first.Attempts[0].ResponseBody != `{"error":"down"}` {
		t.Errorf("response snippet %q", first.Attempts[0].ResponseBody)
	}
	// 502 was due at 10:00:03 but waited for the 201 to be acknowledged by
	// the attempt due at 10:00:07.
	if cbs[1].State != "delivered" || len(cbs[1].Attempts) != 1 || !cbs[1].Attempts[0].At.Equal(start.Add(7*time.Second)) {
		t.Errorf("second delivery %+v", cbs[1])
	}
	got := rcv.received()
	var seq []int
	for _, r := range got {
		seq = append(seq, r.Body.Payload.Status.Code)
	}
	if joinInts(seq) != "201,201,201,502" {
		t.Errorf("receiver saw %v, want 201 three times then 502 once", seq)
	}
}

func TestPingbackFinalFailure(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(int, pingbackBody) (int, string) { return 503, "maintenance" })
	h := sandboxtest.New(t, testScenario(rcv.url(), ""))
	sendOK(t, h, "", "tok", `{"msisdn":"359880000501","text":"fail"}`)
	advance(t, h, "", time.Hour)
	cbs := waitCallbacks(t, h, "", settled(1))
	d := cbs[0]
	if d.State != "failed" || len(d.Attempts) != 4 {
		t.Fatalf("delivery %+v, want failed after 4 attempts", d)
	}
	for i, a := range d.Attempts {
		if want := start.Add(time.Second + time.Duration(i)*3*time.Second); !a.At.Equal(want) || a.Status != 503 || a.ResponseBody != "maintenance" {
			t.Errorf("attempt %d: %+v, want at %s", i+1, a, want)
		}
	}
	if n := len(rcv.received()); n != 4 {
		t.Errorf("receiver got %d, want 4", n)
	}
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil || body["service"] != "sms.notification" {
		t.Errorf("listed body %s", d.Body)
	}
}

func TestPingbackPolicyFromScenario(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(int, pingbackBody) (int, string) { return 404, "" })
	h := sandboxtest.New(t, testScenario(rcv.url(), "  callback: {timeout: 2s, retries: 1, retryDelay: 10s, maxInFlight: 2, shutdownTimeout: 1s}\n"))
	sendOK(t, h, "", "tok", `{"msisdn":"359880000400","text":"policy"}`)
	advance(t, h, "", time.Minute)
	d := waitCallbacks(t, h, "", settled(1))[0]
	if d.State != "failed" || len(d.Attempts) != 2 || !d.Attempts[1].At.Equal(start.Add(11*time.Second)) {
		t.Fatalf("delivery %+v", d)
	}
}

func TestNoCallbackURLStillRecordsStatuses(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	id := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"quiet"}`)
	advance(t, h, "", time.Minute)
	if m := message(t, h, "", id); len(m.History) != 4 || len(m.Callbacks) != 0 {
		t.Errorf("history %v callbacks %v", codes(m.History), m.Callbacks)
	}
	if c := callbacks(t, h, ""); len(c) != 0 {
		t.Errorf("callbacks %+v, want none", c)
	}
}

func TestResetForgetsMessages(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	h := sandboxtest.New(t, testScenario(rcv.url(), ""))
	sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"gone"}`)
	if code := h.Admin("POST", "", "/reset", nil, nil); code != 200 && code != 204 {
		t.Fatalf("reset: %d", code)
	}
	advance(t, h, "", time.Minute)
	if st := getState(t, h, ""); len(st.Messages) != 0 {
		t.Errorf("messages after reset: %d", len(st.Messages))
	}
	if n := len(rcv.received()); n != 0 {
		t.Errorf("receiver got %d pingbacks of a reset namespace", n)
	}
}

func TestConcurrentSendsAndPingbacks(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	h := sandboxtest.New(t, testScenario(rcv.url(), ""))
	const workers, each = 8, 25
	var wg sync.WaitGroup
	uuids := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				req := newSendRequest(h.URL, fmt.Sprintf(`{"msisdn":"3598812%05d","text":"c","id":"w%di%d"}`, w*100+i, w, i), "tok")
				res, err := h.Client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var out struct{ UUID string }
				_ = json.NewDecoder(res.Body).Decode(&out)
				res.Body.Close()
				uuids <- out.UUID
			}
		}(w)
		// Advance the clock while requests are in flight.
		advance(t, h, "", time.Second)
	}
	wg.Wait()
	close(uuids)
	seen := map[string]bool{}
	for u := range uuids {
		if u == "" || seen[u] {
			t.Fatalf("uuid %q missing or repeated", u)
		}
		seen[u] = true
	}
	advance(t, h, "", time.Minute)
	waitCallbacks(t, h, "", settled(workers*each*4))
	st := getState(t, h, "")
	if len(st.Messages) != workers*each {
		t.Fatalf("%d messages stored", len(st.Messages))
	}
	for _, m := range st.Messages {
		if joinInts(codes(m.History)) != "201,202,203,204" || m.Flood != "" {
			t.Errorf("message %s: %v flood %q", m.UUID, codes(m.History), m.Flood)
		}
	}
	if n := len(rcv.received()); n != workers*each*4 {
		t.Errorf("receiver got %d, want %d", n, workers*each*4)
	}
}

func TestSlowReceiverDoesNotHoldUpAnotherToken(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := newReceiver(t, func(int, pingbackBody) (int, string) {
		<-release
		return 200, `{}`
	})
	fast := newReceiver(t, nil)
	h := sandboxtest.New(t, fmt.Sprintf(`version: 1
name: slow-receiver
clock: {start: "2026-11-22T10:00:00Z", frozen: true}
netfinity:
  tokens:
    - {token: slow, capabilities: [sms.notification], callbackUrl: %q}
    - {token: fast, capabilities: [sms.notification], callbackUrl: %q}
  callback: {timeout: 1m, retries: 0, retryDelay: 1s, maxInFlight: 4, maxInFlightPerReceiver: 2, shutdownTimeout: 100ms}
`, slow.url(), fast.url()))
	defer close(release) // before the receivers close (cleanups run after)
	for i := 0; i < 6; i++ {
		sendOK(t, h, "", "slow", fmt.Sprintf(`{"msisdn":"35988123%04d","text":"slow"}`, i))
	}
	id := sendOK(t, h, "", "fast", `{"msisdn":"359881234567","text":"fast"}`)
	advance(t, h, "", time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for len(fast.received()) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("fast receiver got %d pingbacks while the slow one hangs", len(fast.received()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := fast.received(); got[3].Body.UUID != id || got[3].Body.Payload.Status.Code != 204 {
		t.Errorf("last fast pingback %s", got[3].Raw)
	}
	// The slow receiver's two workers may still be on their way: wait for
	// them, then it must hold exactly its share while four more are due.
	for len(slow.received()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(slow.received()); n != 2 {
		t.Errorf("slow receiver holds %d attempts, want its share of 2", n)
	}
}
