package netfinity_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

func TestRateLimitIsLaravelThrottle(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	valid := sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hi"}`)

	// Token "small" allows 3 a minute; a 422 counts like any request that
	// passed the throttle.
	h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(200)
	r := h.Do("POST", sendPath, sandboxtest.JSONBody(`{}`), jsonHeaders("small")...).WantStatus(422)
	if r.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("remaining after 2 = %q, want 1", r.Header.Get("X-RateLimit-Remaining"))
	}
	advance(t, h, "", 20*time.Second)
	r = h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(200)
	if r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("third: limit %q remaining %q", r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"))
	}
	if r.Header.Get("Retry-After") != "" {
		t.Errorf("Retry-After on an allowed request")
	}

	r = h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(429)
	if string(r.Body) != pretty("Too Many Attempts.") {
		t.Errorf("429 body %q", r.Body)
	}
	// The window opened at 10:00:00 and ends at 10:01:00; it is 10:00:20.
	windowEnd := start.Add(time.Minute).Unix()
	want := map[string]string{"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0", "Retry-After": "40", "X-RateLimit-Reset": strconv.FormatInt(windowEnd, 10)}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// A refused request does not extend the window; other tokens are unaffected.
	h.Do("POST", sendPath, valid, jsonHeaders("tok")...).WantStatus(200)
	advance(t, h, "", 39*time.Second)
	r = h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(429)
	if r.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After one second before the end = %q", r.Header.Get("Retry-After"))
	}
	advance(t, h, "", time.Second)
	r = h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(200)
	if r.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("new window remaining = %q, want 2", r.Header.Get("X-RateLimit-Remaining"))
	}

	// Each namespace counts on its own.
	h.Do("POST", "/ns/other"+sendPath, valid, jsonHeaders("small")...).WantStatus(200)
	st := getState(t, h, "other")
	if len(st.RateLimits) != 1 || st.RateLimits[0].Used != 1 {
		t.Errorf("namespace other rate limits %+v", st.RateLimits)
	}
}

func TestRateLimitDefaultIs60(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	valid := sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hi"}`)
	for i := 0; i < 60; i++ {
		r := h.Do("POST", "/ns/sixty"+sendPath, valid, jsonHeaders("sandbox-netfinity-token")...).WantStatus(200)
		if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(59-i); got != want {
			t.Fatalf("request %d: remaining %q, want %q", i+1, got, want)
		}
	}
	h.Do("POST", "/ns/sixty"+sendPath, valid, jsonHeaders("sandbox-netfinity-token")...).WantStatus(429)
}

// Laravel sends "X-RateLimit-Limit", not Go's canonical "X-Ratelimit-Limit";
// the names on the wire are compared byte for byte.
func TestThrottleHeaderNamesOnTheWire(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	send := func() string {
		conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := `{"msisdn":"359881234567","text":"wire"}`
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: sandbox\r\nAccept: application/json\r\n"+
			"Content-Type: application/json\r\nAuthorization: Bearer small\r\nConnection: close\r\n"+
			"Content-Length: %d\r\n\r\n%s", sendPath, len(body), body)
		raw, err := io.ReadAll(conn)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	for i := 0; i < 3; i++ {
		send()
	}
	raw := send() // the fourth of 3 allowed: 429
	reset := strconv.FormatInt(start.Add(time.Minute).Unix(), 10)
	for _, line := range []string{"HTTP/1.1 429 ", "\r\nX-RateLimit-Limit: 3\r\n", "\r\nX-RateLimit-Remaining: 0\r\n",
		"\r\nRetry-After: 60\r\n", "\r\nX-RateLimit-Reset: " + reset + "\r\n"} {
		if !strings.Contains(raw, line) {
			t.Errorf("answer lacks %q:\n%s", line, raw)
		}
	}
}

// The spec requires the throttle headers on every 200 and 429, so the
// harness catches an answer that loses them.
func TestSpecRequiresThrottleHeaders(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	full := http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Limit": {"60"}, "X-Ratelimit-Remaining": {"0"}}
	bare := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"200 with the headers", 200, full, `{"uuid":"3dc491de-cde5-42f0-baab-129aaa618a4f","id":null}`, true},
		{"200 without them", 200, bare, `{"uuid":"3dc491de-cde5-42f0-baab-129aaa618a4f","id":null}`, false},
		{"429 with the headers", 429, full, `{"message":"Too Many Attempts."}`, true},
		{"429 without them", 429, bare, `{"message":"Too Many Attempts."}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", sendPath, nil)
			matched, err := h.Server.CheckResponse(req, tc.status, tc.header, []byte(tc.body))
			if !matched || (err == nil) != tc.ok {
				t.Errorf("matched %v, err %v; want ok %v", matched, err, tc.ok)
			}
		})
	}
}

// TestChangedRateLimitIsSeenEverywhereAtOnce: after PATCH changes a token's
// rateLimit, the open window's limit is the new one in the state view and
// in the throttle headers of a refused (403) request, before any further
// request is counted; it used to stay the limit of the window's last
// counted request until the next one.
func TestChangedRateLimitIsSeenEverywhereAtOnce(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	valid := sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hi"}`)
	h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(200)

	adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/small", `{"rateLimit":5}`).WantStatus(200)
	st := getState(t, h, "")
	if len(st.RateLimits) != 1 || st.RateLimits[0].Limit != 5 || st.RateLimits[0].Used != 1 {
		t.Errorf("state after the change: %+v, want limit 5 with 1 used", st.RateLimits)
	}
	// Without the capability the request is refused before it is counted;
	// its headers describe the window under the new limit.
	adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/small", `{"capabilities":[]}`).WantStatus(200)
	r := h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(403)
	if r.Header.Get("X-RateLimit-Limit") != "5" || r.Header.Get("X-RateLimit-Remaining") != "4" {
		t.Errorf("403 headers: limit %q remaining %q, want 5 and 4", r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"))
	}
	// Lowering it below what the window used refuses the next request.
	adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/small", `{"capabilities":["sms.notification"],"rateLimit":1}`).WantStatus(200)
	r = h.Do("POST", sendPath, valid, jsonHeaders("small")...).WantStatus(429)
	if r.Header.Get("X-RateLimit-Limit") != "1" {
		t.Errorf("429 limit %q, want 1", r.Header.Get("X-RateLimit-Limit"))
	}
}
