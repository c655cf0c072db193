package sandbox

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/dashboard"
)

// The dashboard (package dashboard) is served by admin routes under
// /__sandbox/ui/ so that it follows the namespace prefix like the rest of
// the admin API. Its pages are rendered from the landing page's data and
// everything else the browser fetches from the admin API itself. The pages
// and the scenario library never create a namespace (globalAdminRoutes):
// opening /ns/{new}/__sandbox/ui/ shows the template scenario, and the
// namespace is built by the first admin call the page makes.

func init() {
	for _, r := range []string{"GET /ui", "GET /ui/", "GET /ui/{view}", "GET /ui/assets/{file}", "GET /scenarios", "GET /scenarios/{name}"} {
		globalAdminRoutes[r] = true
	}
}

// namespaceOf names the namespace of an admin call from its prefix; a
// global route's a.ns may be nil when the namespace is not live.
func (a *adminCall) namespaceOf() string {
	if n, ok := strings.CutPrefix(a.prefix, "/ns/"); ok {
		return n
	}
	return DefaultNamespace
}

func (s *Server) getUIRedirect(a *adminCall) {
	http.Redirect(a.w, a.r, a.prefix+"/"+adminMountName+"/ui/", http.StatusMovedPermanently)
}

func (s *Server) getUI(a *adminCall) {
	view := a.vars["view"]
	if view == "" {
		view = "home"
	} else if view == "home" || !dashboard.IsView(view) {
		writeProblem(a.w, http.StatusNotFound, "Not found",
			fmt.Sprintf("the dashboard has no view %q; views: /ui/ (home), /ui/journal, /ui/state, /ui/controls", view), nil)
		return
	}
	lp := s.Landing(requestOrigin(a.r), a.namespaceOf())
	p := dashboard.Page{View: view, Version: lp.Version, Namespace: lp.Namespace, Live: lp.Live, Scenario: lp.Scenario,
		Prefix: a.prefix, Docs: lp.Docs,
		Admin: dashboard.Admin{BaseURL: lp.Admin.BaseURL, Health: lp.Admin.Health, Spec: lp.Admin.Spec, Namespaces: lp.Admin.Namespaces}}
	for _, m := range lp.Mounts {
		dm := dashboard.Mount{Name: m.Name, Title: m.Title, BaseURL: m.BaseURL, Spec: m.Spec}
		for _, c := range m.Credentials {
			dm.Credentials = append(dm.Credentials, dashboard.Credential{Label: c.Label, Value: c.Value})
		}
		p.Mounts = append(p.Mounts, dm)
	}
	if err := dashboard.Render(a.w, a.r, p); err != nil {
		writeProblem(a.w, http.StatusInternalServerError, "Dashboard page failed", err.Error(), nil)
	}
}

func (s *Server) getUIAsset(a *adminCall) {
	if !dashboard.ServeAsset(a.w, a.r, a.vars["file"]) {
		writeProblem(a.w, http.StatusNotFound, "Not found", fmt.Sprintf("the dashboard has no asset %q; assets: app.js, app.css", a.vars["file"]), nil)
	}
}

// LibraryScenario is one scenario of the shipped library (GET /scenarios).
type LibraryScenario struct {
	// Name is the file name without .yaml, as GET /scenarios/{name} takes it.
	Name        string `json:"name"`
	File        string `json:"file"`
	Scenario    string `json:"scenario"`
	Description string `json:"description"`
}

// library lists the *.yaml files of Config.Library, sorted by name.
func (s *Server) library() []string {
	if s.cfg.Library == nil {
		return nil
	}
	files, _ := fs.Glob(s.cfg.Library, "*.yaml")
	sort.Strings(files)
	return files
}

func (s *Server) getLibrary(a *adminCall) {
	out := []LibraryScenario{}
	for _, f := range s.library() {
		data, err := fs.ReadFile(s.cfg.Library, f)
		if err != nil {
			continue
		}
		item := LibraryScenario{Name: strings.TrimSuffix(f, ".yaml"), File: f}
		if sc, probs := LoadScenario(f, data); len(probs) == 0 {
			item.Scenario, item.Description = sc.Common().Name, sc.Common().Description
		} else {
			item.Description = fmt.Sprintf("invalid: %d problem(s)", len(probs))
		}
		out = append(out, item)
	}
	a.json(http.StatusOK, out)
}

func (s *Server) getLibraryScenario(a *adminCall) {
	name := strings.TrimSuffix(a.vars["name"], ".yaml")
	var names []string
	for _, f := range s.library() {
		n := strings.TrimSuffix(f, ".yaml")
		names = append(names, n)
		if n == name && path.Base(f) == f {
			data, err := fs.ReadFile(s.cfg.Library, f)
			if err != nil {
				writeProblem(a.w, http.StatusInternalServerError, "Library unreadable", err.Error(), nil)
				return
			}
			a.w.Header().Set("Content-Type", "application/yaml")
			a.w.WriteHeader(http.StatusOK)
			_, _ = a.w.Write(data)
			return
		}
	}
	writeProblem(a.w, http.StatusNotFound, "Not found",
		fmt.Sprintf("no scenario %q in the library; scenarios: %s", name, strings.Join(names, ", ")), nil)
}
