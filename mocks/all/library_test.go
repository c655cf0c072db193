package all_test

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// The library the dashboard switches scenarios from: every shipped file,
// named, described, served verbatim and loadable by PUT /scenario; looking
// at it never creates a namespace.
func TestScenarioLibrary(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	var list []struct{ Name, File, Scenario, Description string }
	res := h.Do("GET", "/ns/fresh/__sandbox/scenarios", nil).WantStatus(200)
	res.JSON(&list)
	files, _ := fs.Glob(scenarios.FS, "*.yaml")
	if len(list) != len(files) || len(list) < 5 {
		t.Fatalf("%d library scenarios, %d files: %+v", len(list), len(files), list)
	}
	byName := map[string]int{}
	for i, s := range list {
		byName[s.Name] = i
		if s.File != s.Name+".yaml" || s.Scenario == "" || s.Description == "" || strings.HasPrefix(s.Description, "invalid") {
			t.Errorf("entry %+v", s)
		}
	}
	o, ok := byName["outage"]
	if !ok || list[o].Scenario != "outage" || list[o].Description != "Every provider returns its own 503 from 10:00 to 10:05 sandbox time, then recovers." {
		t.Errorf("outage entry: %+v", list)
	}
	want, _ := fs.ReadFile(scenarios.FS, "outage.yaml")
	for _, name := range []string{"outage", "outage.yaml"} {
		res := h.Do("GET", "/__sandbox/scenarios/"+name, nil).WantStatus(200)
		if res.Header.Get("Content-Type") != "application/yaml" || string(res.Body) != string(want) {
			t.Errorf("%s: %q, %d bytes", name, res.Header.Get("Content-Type"), len(res.Body))
		}
	}
	res = h.Do("GET", "/__sandbox/scenarios/nope", nil).WantStatus(404)
	var p struct{ Detail string }
	res.JSON(&p)
	if !strings.HasPrefix(p.Detail, `no scenario "nope" in the library; scenarios: callback-failures, default, `) {
		t.Errorf("detail %q", p.Detail)
	}
	// What the dashboard does to switch: read the file, PUT it.
	res = h.Do("PUT", "/ns/fresh/__sandbox/scenario?name=outage.yaml", sandboxtest.RawBody("application/yaml", want)).WantStatus(200)
	res.WantJSON(`{"loaded":"outage","namespace":"fresh","template":false}`)
	// Listing the library under /ns/other did not create it.
	var nss struct{ Namespaces []string }
	h.Admin("GET", "", "/namespaces", nil, &nss)
	if b, _ := json.Marshal(nss.Namespaces); string(b) != `["default","fresh"]` {
		t.Errorf("namespaces %s", b)
	}
}
