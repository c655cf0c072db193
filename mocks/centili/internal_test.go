package centili

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

// Every error kind the core can hand over is rendered in the shape of the
// half of the mount that was called, with the right status and headers.
func TestWriteErrorKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		op         string
		err        sandbox.Error
		wantStatus int
		wantBody   string
		wantRetry  string
	}{
		{"data gifting 413", "assignData", sandbox.Error{Kind: sandbox.ErrBodyTooLarge, Status: 413, Limit: 16384}, 413,
			`{"errorType":"PAYLOAD_TOO_LARGE","errorMessage":"Request body exceeds the limit of 16384 bytes"}`, ""},
		{"data gifting validation", "getBalance", sandbox.Error{Kind: sandbox.ErrInvalidRequest, Status: 400,
			Fields: []sandbox.FieldError{{In: "query", Field: "serviceKey", Reason: "value is required", Rule: "required"}, {In: "query", Field: "operator", Reason: "pattern", Rule: "pattern"}}}, 400,
			`{"errorType":"VALIDATION_ERROR","errorMessage":"query parameter \"serviceKey\" is required; query parameter \"operator\" must be an operator code such as FR_ORANGE"}`, ""},
		{"data gifting 500", "assignData", sandbox.Error{Kind: sandbox.ErrInternal, Status: 500, Message: "boom"}, 500,
			`{"errorType":"INTERNAL_ERROR","errorMessage":"Internal server error"}`, ""},
		{"data gifting 503 fault", "listServices", sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 503}, 503,
			`{"errorType":"SERVICE_UNAVAILABLE","errorMessage":"Service Unavailable"}`, ""},
		{"data gifting 502 fault", "listServices", sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 502, Message: "upstream down"}, 502,
			`{"errorType":"BAD_GATEWAY","errorMessage":"upstream down"}`, ""},
		{"data gifting 504 fault", "listServices", sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 504}, 504,
			`{"errorType":"GATEWAY_TIMEOUT","errorMessage":"Gateway Timeout"}`, ""},
		{"data gifting throttled", "assignData", sandbox.Error{Kind: sandbox.ErrThrottled, Status: 429, RetryAfter: 30}, 429,
			`{"errorType":"TOO_MANY_REQUESTS","errorMessage":"Too many requests; retry after 30 seconds"}`, "30"},
		{"token 413", "keycloakToken", sandbox.Error{Kind: sandbox.ErrBodyTooLarge, Status: 413, Limit: 100}, 413,
			`{"error":"invalid_request","error_description":"Request body exceeds the limit of 100 bytes"}`, ""},
		{"token 503 fault", "keycloakTokenLegacy", sandbox.Error{Kind: sandbox.ErrUnavailable, Status: 503}, 503,
			`{"error":"server_error","error_description":"Service Unavailable"}`, ""},
		{"token throttled", "keycloakToken", sandbox.Error{Kind: sandbox.ErrThrottled, Status: 429, RetryAfter: 5}, 429,
			`{"error":"too_many_requests","error_description":"Too many requests; retry after 5 seconds"}`, "5"},
		{"token 500", "keycloakCerts", sandbox.Error{Kind: sandbox.ErrInternal, Status: 500}, 500,
			`{"error":"unknown_error","error_description":"For more on this error consult the server log."}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c := &sandbox.Call{W: rec, R: httptest.NewRequest("GET", "/centili/x", nil), Operation: tc.op}
			e := tc.err
			writeError(c, &e)
			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Errorf("got %d %s\nwant %d %s", rec.Code, rec.Body, tc.wantStatus, tc.wantBody)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tc.wantRetry)
			}
		})
	}
}

// Ids drawn for tokens and sessions come from the scenario seed and the
// namespace: the same run gives the same ids, another namespace others.
func TestUUIDsAreSeeded(t *testing.T) {
	t.Parallel()
	mk := func(ns string, seed int64) *State {
		st, err := newState(sandbox.Env{Namespace: ns, Seed: seed, Clock: clock.New(time.Time{}, true), Config: newConfig(), Tokens: tokens.Shared()})
		if err != nil {
			t.Fatal(err)
		}
		return st.(*State)
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b, c, d := mk("default", 42), mk("default", 42), mk("other", 42), mk("default", 43)
	for i := 0; i < 3; i++ {
		ua, ub, uc, ud := a.newUUID(), b.newUUID(), c.newUUID(), d.newUUID()
		if !uuidRE.MatchString(ua) {
			t.Fatalf("%q is not a version 4 UUID", ua)
		}
		if ua != ub || ua == uc || ua == ud {
			t.Fatalf("ids: same seed %q/%q, other namespace %q, other seed %q", ua, ub, uc, ud)
		}
	}
}

func TestOperatorOfLongestPrefix(t *testing.T) {
	t.Parallel()
	cfg := newConfig().(*Config)
	cfg.Operators = append(cfg.Operators, OperatorPrefix{Prefix: "3361", Operator: "FR_SFR"})
	st, err := newState(sandbox.Env{Clock: clock.New(time.Time{}, true), Config: cfg, Tokens: tokens.Shared()})
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*State)
	for msisdn, want := range map[string]string{"33612345678": "FR_SFR", "33712345678": "FR_ORANGE", "4366124567": "AT_A1", "381641234567": "RS_MTS", "4912345678": ""} {
		if got, _ := s.operatorOf(msisdn); got != want {
			t.Errorf("operatorOf(%s) = %q, want %q", msisdn, got, want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ authz, token, want string }{
		{"Bearer abc", "", "abc"},
		{"bearer  abc ", "", "abc"},
		{"", "abc", "abc"},
		{"", "Bearer abc", "abc"},
		{"", "BEARER abc", "abc"},
		{"Basic xyz", "abc", "abc"},
		{"Bearer ", "", ""},
		{"Bearer a", "b", "a"},
	} {
		h := http.Header{}
		if tc.authz != "" {
			h.Set("Authorization", tc.authz)
		}
		if tc.token != "" {
			h.Set("token", tc.token)
		}
		if got := bearerToken(h); got != tc.want {
			t.Errorf("Authorization %q, token %q: got %q, want %q", tc.authz, tc.token, got, tc.want)
		}
	}
}
