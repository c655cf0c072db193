package all_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
)

// TestFaultAnswersAreNative checks, for every operation of every provider,
// that a fault rule's error answer comes in the provider's own shape and is
// documented by its spec (the harness validates every response), and that a
// throttle answers the provider's 429 with Retry-After.
func TestFaultAnswersAreNative(t *testing.T) {
	for _, p := range sandbox.Providers() {
		p := p
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			h := sandboxtest.New(t, "")
			for _, op := range sandbox.OperationIDs(p.Name) {
				method, path, _ := sandbox.OperationRoute(p.Name, op)
				path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "api")
				for _, tc := range []struct {
					rule   string
					status int
				}{
					{`{"respond":{"status":503}}`, 503},
					{`{"respond":{"status":500}}`, 500},
					{`{"respond":{"status":502}}`, 502},
					{`{"respond":{"status":504}}`, 504},
					{`{"throttle":{"retryAfter":42}}`, 429},
				} {
					ns := fmt.Sprintf("f-%s-%d", strings.ToLower(op), tc.status)
					var rule map[string]any
					json.Unmarshal([]byte(tc.rule), &rule)
					rule["match"] = map[string]any{"provider": p.Name, "operation": op}
					if st := h.Admin("POST", ns, "/faults", rule, nil); st != 201 {
						t.Fatalf("adding rule: %d", st)
					}
					res := h.Do(method, "/ns/"+ns+"/"+p.Name+path, sandboxtest.JSONBody(`{}`),
						sandboxtest.Header("Accept", "application/json"))
					if res.Status != tc.status {
						t.Errorf("%s %s with %s: status %d, want %d", method, path, tc.rule, res.Status, tc.status)
						continue
					}
					if !res.Matched {
						t.Errorf("%s %s: response not checked against the spec", method, path)
					}
					if !json.Valid(res.Body) || len(res.Body) == 0 {
						t.Errorf("%s %s: %d body is not JSON: %q", method, path, tc.status, res.Body)
					}
					if tc.status == 429 && res.Header.Get("Retry-After") != "42" {
						t.Errorf("%s %s: throttle Retry-After = %q, want 42", method, path, res.Header.Get("Retry-After"))
					}
				}
			}
		})
	}
}
