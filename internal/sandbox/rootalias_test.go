package sandbox_test

import (
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A root alias serves a path outside the mount as the provider's own, in the
// namespace its prefix names, with the URLs handed out still the mount's.
func TestRootAliasServesTheProvidersPath(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	var got map[string]any
	h.Do("GET", "/echo-root/5", nil).WantStatus(200).JSON(&got)
	if got["id"] != float64(5) || got["base"] != h.URL+"/echo" {
		t.Errorf("root alias answered %v", got)
	}
	h.Do("GET", "/ns/job-7/echo-root/6", nil).WantStatus(200).JSON(&got)
	if got["id"] != float64(6) || got["base"] != h.URL+"/ns/job-7/echo" {
		t.Errorf("root alias in a namespace answered %v", got)
	}
	var j []journal.Entry
	h.Admin("GET", "job-7", "/requests", nil, &j)
	if len(j) != 1 || j[0].Provider != "echo" || j[0].Operation != "getItem" || j[0].Request.Path != "/ns/job-7/echo-root/6" {
		t.Errorf("journal of job-7: %+v", j)
	}
	// A path the alias maps to nothing of the spec is the provider's 404.
	res := h.Do("GET", "/echo-root/5/extra", nil)
	if res.Status != 404 || !strings.Contains(string(res.Body), `"kind":1`) {
		t.Errorf("unmatched aliased path: %d %s", res.Status, res.Body)
	}
	// Paths no alias claims stay the core's 404.
	if res := h.Do("GET", "/echo-rooted/5", nil); res.Status != 404 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unclaimed path: %d %s", res.Status, res.Header.Get("Content-Type"))
	}
}

// A clash between an alias and a mount, or two aliases, is a programming
// error caught at registration.
func TestRootAliasClashesPanic(t *testing.T) {
	t.Parallel()
	base := func(name string, aliases ...sandbox.RootAlias) *sandbox.Provider {
		return &sandbox.Provider{Name: name, Spec: []byte("x"), New: func(sandbox.Env) (any, error) { return nil, nil },
			NewConfig: func() any { return nil }, WriteError: func(*sandbox.Call, *sandbox.Error) {}, RootAliases: aliases}
	}
	for name, p := range map[string]*sandbox.Provider{
		"named like an alias":   base("echo-root"),
		"alias on a mount":      base("clash1", sandbox.RootAlias{Prefix: "/echo/x", Target: "/x"}),
		"alias on the admin":    base("clash2", sandbox.RootAlias{Prefix: "/__sandbox/x", Target: "/x"}),
		"overlapping alias":     base("clash3", sandbox.RootAlias{Prefix: "/echo-root/1", Target: "/x"}),
		"relative alias target": base("clash4", sandbox.RootAlias{Prefix: "/clash4-root/", Target: "x"}),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			sandbox.Register(p)
		}()
	}
}
