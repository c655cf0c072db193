package sandbox

import (
	"slices"
	"testing"
)

// TestAdminRoutesAndFiltersAreDocumented keeps specs/admin.yaml and the code
// in step: every core admin route is an operation of the document, and the
// query parameters GET /requests and GET /callbacks accept (and check) are
// exactly the ones it describes. A filter added in code but not in the spec,
// or the other way round, fails here.
func TestAdminRoutesAndFiltersAreDocumented(t *testing.T) {
	t.Parallel()
	am, err := adminSpec()
	if err != nil {
		t.Fatal(err)
	}
	byRoute := map[string]*operation{}
	for _, op := range am.ops {
		byRoute[op.method+" "+op.path] = op
	}
	s := &Server{}
	for _, rt := range s.Routes() {
		if byRoute[rt.method+" "+rt.path] == nil {
			t.Errorf("%s %s is not in specs/admin.yaml", rt.method, rt.path)
		}
	}
	for _, tc := range []struct {
		route  string
		params []string
	}{
		{"GET /requests", requestsParams},
		{"GET /callbacks", callbacksParams},
	} {
		op := byRoute[tc.route]
		if op == nil {
			t.Errorf("%s missing from specs/admin.yaml", tc.route)
			continue
		}
		var documented []string
		for _, p := range op.route.Operation.Parameters {
			if p.Value.In == "query" {
				documented = append(documented, p.Value.Name)
			}
		}
		if !slices.Equal(documented, tc.params) {
			t.Errorf("%s: specs/admin.yaml documents %v, the code accepts %v", tc.route, documented, tc.params)
		}
	}
}
