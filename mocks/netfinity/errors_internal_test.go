package netfinity

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// Errors the core hands over without a request path that reaches them in
// the default scenario (handler panics, fault rules) are rendered here.
func TestWriteErrorIsLaravel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    *sandbox.Error
		status int
		body   string
	}{
		{"panic", &sandbox.Error{Kind: sandbox.ErrInternal, Status: 500, Message: "boom"}, 500, "{\n    \"message\": \"Server Error\"\n}"},
		{"fault 500 hides its message", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 500, Message: "injected"}, 500, "{\n    \"message\": \"Server Error\"\n}"},
		{"fault 503", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 503}, 503, "{\n    \"message\": \"Service Unavailable\"\n}"},
		{"fault 502", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 502, Message: "answered by fault rule r1"}, 502, "{\n    \"message\": \"Bad Gateway\"\n}"},
		{"fault 504", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 504}, 504, "{\n    \"message\": \"Gateway Timeout\"\n}"},
		{"fault 401", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 401}, 401, `{"message":"Unauthenticated."}`},
		{"fault 422", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 422}, 422, `{"message":"The given data was invalid.","errors":{}}`},
		{"fault 403", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 403}, 403, "{\n    \"message\": \"This action is unauthorized.\"\n}"},
		{"fault with a non-error status", &sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 200}, 503, "{\n    \"message\": \"Service Unavailable\"\n}"},
		{"body too large", &sandbox.Error{Kind: sandbox.ErrBodyTooLarge, Status: 413, Limit: 10}, 413, "{\n    \"message\": \"\"\n}"},
		{"unreadable body", &sandbox.Error{Kind: sandbox.ErrInvalidRequest, Status: 400, Message: "request body could not be read: EOF"}, 400, "{\n    \"message\": \"request body could not be read: EOF\"\n}"},
		{"spec validation", &sandbox.Error{Kind: sandbox.ErrInvalidRequest, Status: 400, Fields: []sandbox.FieldError{{In: "body", Field: "msisdn"}, {In: "query", Field: "page_size"}}},
			422, `{"message":"The given data was invalid.","errors":{"msisdn":["The msisdn format is invalid."],"page_size":["The page size format is invalid."]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(&sandbox.Call{W: rec, R: httptest.NewRequest("POST", "/netfinity/v2/sms/notification/send", nil)}, tc.err)
			if rec.Code != tc.status || rec.Body.String() != tc.body || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q (%s)", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestFaultThrottleHeaders(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	writeThrottled(&sandbox.Call{W: rec, R: httptest.NewRequest("POST", "/", nil)}, 42, now)
	// Exact keys: Laravel's spelling, not Go's canonical form.
	exact := func(k string) string { return strings.Join(rec.Header()[k], ",") }
	if rec.Code != http.StatusTooManyRequests || exact("Retry-After") != "42" ||
		exact("X-RateLimit-Limit") != "60" || exact("X-RateLimit-Remaining") != "0" ||
		exact("X-RateLimit-Reset") != "1795341642" || rec.Body.String() != "{\n    \"message\": \"Too Many Attempts.\"\n}" {
		t.Errorf("got %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}
