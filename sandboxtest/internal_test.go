package sandboxtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that keeps Errorf's messages instead of
// failing, so a test can check what the package reports; everything else
// goes to the real test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (r *recorder) Helper() {}

// want checks the reported errors, in order, against patterns.
func (r *recorder) want(t *testing.T, want ...*regexp.Regexp) {
	t.Helper()
	r.mu.Lock()
	got := append([]string(nil), r.errs...)
	r.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("reported %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n---\n"))
	}
	for i, re := range want {
		if !re.MatchString(got[i]) {
			t.Errorf("error %d:\n%s\nwant it to match %s", i, got[i], re)
		}
	}
}

// TestHTTPClientReportsSpecMismatches: answers that break the documents
// fail the test with the operation and the reason, and reach the caller
// unchanged; other hosts are not checked.
func TestHTTPClientReportsSpecMismatches(t *testing.T) {
	t.Parallel()
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/no-id" {
			w.Header().Set("X-Sandbox-Request-Id", "req_00000001")
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/__sandbox/clock": // now must be a date-time string
			w.Write([]byte(`{"now":5,"frozen":false}`))
		case "/ns/a/__sandbox/clock":
			w.Write([]byte(`{"now":"2026-01-01T00:00:00Z","frozen":false}`))
		case "/centili/datagifting/v1/services": // 299 is undocumented: the default (error) schema applies
			w.WriteHeader(299)
			w.Write([]byte(`[]`))
		default:
			w.Write([]byte(`{}`))
		}
	}))
	defer fake.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("not the sandbox")) }))
	defer other.Close()

	rec := &recorder{TB: t}
	sb := &Sandbox{t: rec, root: fake.URL, base: fake.URL, namespace: "default"}
	sb.client = &http.Client{Transport: &checkingTransport{sb: sb, next: http.DefaultTransport}}

	get := func(url string) string {
		resp, err := sb.HTTPClient().Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if body := get(fake.URL + "/__sandbox/clock"); body != `{"now":5,"frozen":false}` {
		t.Errorf("the caller got %q", body)
	}
	get(fake.URL + "/ns/a/__sandbox/clock")
	get(fake.URL + "/centili/datagifting/v1/services")
	get(fake.URL + "/no-id")
	get(other.URL + "/__sandbox/clock")

	want := []*regexp.Regexp{
		regexp.MustCompile(`(?s)^sandboxtest: response does not match the spec: GET /__sandbox/clock → 200 does not match operation getClock: .*now.*body: \{"now":5`),
		regexp.MustCompile(`(?s)^sandboxtest: response does not match the spec: GET /centili/datagifting/v1/services → 299 does not match operation listServices: response body doesn.t match schema`),
		regexp.MustCompile(`^sandboxtest: GET /no-id: response has no X-Sandbox-Request-Id header$`),
	}
	rec.want(t, want...)
}

// TestExpectRequestsFailureMessage: a failed assertion names the filter and
// shows what the journal has, so a near miss is plain.
func TestExpectRequestsFailureMessage(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	sb := New(rec)
	resp, err := sb.HTTPClient().Get(sb.URL() + "/netfinity/v2/sms/notification/send")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	f := RequestFilter{Provider: "netfinity", Operation: "sendSmsNotification", BodyFields: map[string]string{"msisdn": "359881234567"}}
	sb.ExpectRequests(f).Once()
	sb.ExpectRequests(RequestFilter{Provider: "netfinity"}).None()
	sb.ExpectRequests(RequestFilter{Provider: "centili", StatusClass: 4}).AtLeast(1)

	want := []*regexp.Regexp{
		regexp.MustCompile(`^sandboxtest: want exactly 1 request\(s\) matching \{provider=netfinity operation=sendSmsNotification body.msisdn="359881234567"\}, got 0\n` +
			`the journal's newest entries:\n  req_[0-9a-f]+ GET /netfinity/v2/sms/notification/send → 405 \[netfinity \(no operation\)\]$`),
		regexp.MustCompile(`^sandboxtest: want no request\(s\) matching \{provider=netfinity\}, got 1\n  req_[0-9a-f]+ GET /netfinity/v2/sms/notification/send → 405 \[netfinity \(no operation\)\]$`),
		regexp.MustCompile(`^sandboxtest: want at least 1 request\(s\) matching \{provider=centili status=4xx\}, got 0\n`),
	}
	rec.want(t, want...)
}

func TestNamespaceFor(t *testing.T) {
	t.Parallel()
	tests := []struct{ test, prefix string }{
		{"TestGift", "TestGift-"},
		{"TestGift/over_limit#01", "TestGift-over_limit-01-"},
		{"TestÜber/ä ö", "Test-ber-"},
		{"//", "test-"},
		{strings.Repeat("x", 100), strings.Repeat("x", 57) + "-"},
	}
	valid := regexp.MustCompile(`^` + namespacePattern + `$`)
	for _, tc := range tests {
		a, b := namespaceFor(tc.test), namespaceFor(tc.test)
		if !strings.HasPrefix(a, tc.prefix) || len(a) != len(tc.prefix)+6 || !valid.MatchString(a) {
			t.Errorf("namespaceFor(%q) = %q, want %q and 6 hex digits", tc.test, a, tc.prefix)
		}
		if a == b {
			t.Errorf("namespaceFor(%q) gave %q twice", tc.test, a)
		}
	}
}
