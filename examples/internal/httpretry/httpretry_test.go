package httpretry_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/examples/internal/httpretry"
)

// server answers the i-th request with answers[i] (the last one repeats) and
// records every body it received.
type server struct {
	mu      sync.Mutex
	answers []answer
	bodies  []string
}

type answer struct {
	status     int
	retryAfter string
	body       string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	a := s.answers[min(len(s.bodies), len(s.answers))-1]
	s.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func fiveXX(status int) bool { return status >= 500 || status == http.StatusTooManyRequests }

func post(t *testing.T, answers ...answer) (*http.Response, string, []string) {
	t.Helper()
	s := &server{answers: answers}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c := httpretry.Client(ts.Client(), httpretry.Policy{
		MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: time.Second, Retryable: fiveXX,
	})
	resp, err := c.Post(ts.URL, "application/json", strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), s.bodies
}

func TestRetriesUntilSuccessResendingTheBody(t *testing.T) {
	resp, body, sent := post(t, answer{status: 503, retryAfter: "0"}, answer{status: 502}, answer{status: 200, body: "ok"})
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q, want 200 ok", resp.StatusCode, body)
	}
	if len(sent) != 3 || sent[0] != `{"n":1}` || sent[2] != `{"n":1}` {
		t.Fatalf("the server received %q, want the same body three times", sent)
	}
}

func TestGivesUpWithTheLastAnswer(t *testing.T) {
	resp, body, sent := post(t, answer{status: 503, body: `{"message":"down"}`})
	if resp.StatusCode != 503 || body != `{"message":"down"}` {
		t.Fatalf("got %d %q, want the last 503 with its body", resp.StatusCode, body)
	}
	if len(sent) != 3 {
		t.Fatalf("%d attempts, want 1 + MaxRetries (2)", len(sent))
	}
}

func TestLongRetryAfterIsHandedBack(t *testing.T) {
	resp, _, sent := post(t, answer{status: 429, retryAfter: "3600"}, answer{status: 200})
	if resp.StatusCode != 429 || len(sent) != 1 {
		t.Fatalf("got %d after %d attempts, want the 429 after 1: a Retry-After past WaitMax is the caller's to honour", resp.StatusCode, len(sent))
	}
	if wait, ok := httpretry.RetryAfter(resp.Header); !ok || wait != time.Hour {
		t.Fatalf("RetryAfter = %v, %v; want 1h", wait, ok)
	}
}

func TestNotRetryableIsAnsweredAtOnce(t *testing.T) {
	resp, _, sent := post(t, answer{status: 400}, answer{status: 200})
	if resp.StatusCode != 400 || len(sent) != 1 {
		t.Fatalf("got %d after %d attempts, want the 400 after 1", resp.StatusCode, len(sent))
	}
}

func TestNegativeMaxRetriesMeansNone(t *testing.T) {
	p := httpretry.Policy{MaxRetries: -1}.OrDefaults(httpretry.Policy{MaxRetries: 4, WaitMin: time.Second})
	if p.MaxRetries != -1 || p.WaitMin != time.Second {
		t.Fatalf("OrDefaults = %+v, want MaxRetries kept at -1 and WaitMin filled", p)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header string
		wait   time.Duration
		ok     bool
	}{
		{"30", 30 * time.Second, true},
		{" 0 ", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"Fri, 31 Dec 1999 23:59:59 GMT", 0, false},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Retry-After", tc.header)
		}
		if wait, ok := httpretry.RetryAfter(h); wait != tc.wait || ok != tc.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tc.header, wait, ok, tc.wait, tc.ok)
		}
	}
}

// An answer whose connection drops mid-body is retried like a reset
// connection: the caller gets the whole second answer.
func TestCutAnswerIsRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if !first {
			io.WriteString(w, "the whole answer")
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
		buf.Flush()
		conn.Close()
	}))
	t.Cleanup(ts.Close)
	c := httpretry.Client(ts.Client(), httpretry.Policy{MaxRetries: 1, WaitMin: time.Millisecond, WaitMax: time.Second, Retryable: fiveXX})
	resp, err := c.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	mu.Lock()
	defer mu.Unlock()
	if string(body) != "the whole answer" || calls != 2 {
		t.Fatalf("got %q after %d calls, want the second, whole answer", body, calls)
	}
}
