package netfinity_test

import (
	"strconv"
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
