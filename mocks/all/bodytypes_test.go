package all_test

import (
	"regexp"
	"sort"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

// TestAdminBodyTypesAreDocumented holds every state-changing admin
// operation of specs/admin.yaml, the providers' included, to its
// requestBody: each Content-Type listed there is read (the YAML ones also
// as application/x-yaml and text/yaml), anything else is a 415, and an
// operation without a requestBody takes only JSON (and ignores it). The
// body is a JSON array, which every operation that reads a body refuses
// with a 400 before doing anything.
func TestAdminBodyTypesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("admin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := sandboxtest.New(t, "")
	param := regexp.MustCompile(`\{[^}]+\}`)
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	checked := 0
	for _, p := range paths {
		for method, op := range doc.Paths.Find(p).Operations() {
			if method == "GET" {
				continue
			}
			accepted := []string{"application/json"}
			if op.RequestBody != nil {
				accepted = nil
				for ct := range op.RequestBody.Value.Content {
					accepted = append(accepted, ct)
					if ct == "application/yaml" {
						accepted = append(accepted, "application/x-yaml", "text/yaml")
					}
				}
			}
			url := "/ns/bodytypes/__sandbox" + param.ReplaceAllString(p, "nobody")
			for _, ct := range accepted {
				// A route that reads a body refuses the array; one that reads none ignores it.
				if res := h.Do(method, url, sandboxtest.RawBody(ct, []byte("[]"))); res.Status == 415 || (op.RequestBody != nil && res.Status < 400) {
					t.Errorf("%s %s as %s (documented): %d %s", method, p, ct, res.Status, res.Body)
				}
			}
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
				if res := h.Do(method, url, sandboxtest.RawBody(ct, []byte("[]"))); res.Status != 415 {
					t.Errorf("%s %s as %q (not documented): %d, want 415", method, p, ct, res.Status)
				}
			}
			checked++
		}
	}
	if checked < 12 {
		t.Errorf("only %d state-changing operations checked", checked)
	}
}
