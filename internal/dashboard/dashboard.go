// Package dashboard is the sandbox's browser UI: server-rendered
// html/template pages plus one hand-written JavaScript file and one
// stylesheet, all embedded, so it works offline and needs no build step.
//
// The package knows nothing about the sandbox's internals: the core hands it
// a Page (what GET / returns as JSON) and serves what it renders under
// /__sandbox/ui/. Everything dynamic is fetched by the browser from the
// public admin API (fetch and EventSource), so whatever the dashboard does a
// script can do too. Provider-specific rendering lives in app.js, keyed by
// provider name; an unknown provider's state is shown as JSON.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/app.js assets/app.css
var assetFS embed.FS

// Views are the dashboard's pages, in navigation order. "home" is served at
// the UI's root, the others at /__sandbox/ui/{view}.
var Views = []string{"home", "journal", "state", "controls"}

// IsView reports whether name is one of Views.
func IsView(name string) bool {
	for _, v := range Views {
		if v == name {
			return true
		}
	}
	return false
}

// Page is everything a page renders on the server: the landing page's
// content plus where the UI and the admin API of the namespace live.
type Page struct {
	View      string
	Version   string
	Namespace string
	// Live is false when the namespace does not exist yet (the page then
	// shows the template scenario; the first admin call creates it).
	Live     bool
	Scenario string
	// Prefix is "" for the default namespace or "/ns/{name}".
	Prefix string
	Mounts []Mount
	Admin  Admin
	Docs   []string
}

// Mount is one provider on the home view.
type Mount struct {
	Name, Title, BaseURL, Spec string
	Credentials                []Credential
}

// Credential is one line of a provider's demo credentials.
type Credential struct{ Label, Value string }

// CopyValue is what the copy button copies: the value without a trailing
// remark in parentheses ("URL (also URL2/...)" copies the first URL).
func (c Credential) CopyValue() string {
	if i := strings.Index(c.Value, " ("); i > 0 && strings.HasSuffix(c.Value, ")") {
		return c.Value[:i]
	}
	return c.Value
}

// Admin points at the namespace's admin API.
type Admin struct{ BaseURL, Health, Spec, Namespaces string }

// viewData is what the templates see.
type viewData struct {
	Page
	Title, UIBase, AdminBase, AssetVersion, Providers string
	Nav                                               []navLink
}

type navLink struct {
	View, Label, Href string
	Current           bool
}

var navLabels = map[string]string{"home": "Home", "journal": "Live journal", "state": "Provider state", "controls": "Controls"}

// templates holds one parsed set per view (layout + the view's "main"),
// parsed on first use: start-up time is measured to the first answer.
var templates = sync.OnceValue(func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, v := range Views {
		out[v] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+v+".html"))
	}
	return out
})

// SecurityHeaders are set on every page and asset. The policy allows only
// this origin's scripts and styles (no inline script, no eval), so even a
// rendering bug cannot run a script smuggled into a journal body; pages are
// not framed and send no referrer.
var SecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self' blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
}

func setSecurity(w http.ResponseWriter) {
	for k, v := range SecurityHeaders {
		w.Header().Set(k, v)
	}
}

// Render answers a page. Pages carry credentials and live data, so they are
// never stored by a cache (Cache-Control: no-store).
func Render(w http.ResponseWriter, r *http.Request, p Page) error {
	t, ok := templates()[p.View]
	if !ok {
		http.NotFound(w, r)
		return nil
	}
	ui := p.Prefix + "/__sandbox/ui/"
	d := viewData{Page: p, Title: navLabels[p.View], UIBase: ui, AdminBase: p.Prefix + "/__sandbox", AssetVersion: AssetVersion()}
	names := make([]string, 0, len(p.Mounts))
	for _, m := range p.Mounts {
		names = append(names, m.Name)
	}
	d.Providers = strings.Join(names, ",")
	for _, v := range Views {
		href := ui
		if v != "home" {
			href += v
		}
		d.Nav = append(d.Nav, navLink{View: v, Label: navLabels[v], Href: href, Current: v == p.View})
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		return err
	}
	setSecurity(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
}

// assetTypes are the served assets and their media types.
var assetTypes = map[string]string{
	"app.js":  "text/javascript; charset=utf-8",
	"app.css": "text/css; charset=utf-8",
}

// AssetVersion is a digest of the embedded assets. Pages link to
// assets/app.js?v=VERSION, so a new binary's assets have new URLs and the
// old ones may be cached for ever.
var AssetVersion = sync.OnceValue(func() string {
	h := sha256.New()
	for _, name := range []string{"app.js", "app.css"} {
		b, _ := assetFS.ReadFile("assets/" + name)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// IsAsset reports whether name is a served asset.
func IsAsset(name string) bool { _, ok := assetTypes[name]; return ok }

// ServeAsset answers GET/HEAD for one asset. A request carrying the current
// ?v= is cached for a year (immutable: the URL changes with the content);
// without it the browser must revalidate (ETag, 304), so a stale copy never
// outlives a new binary. It reports false for an unknown name.
func ServeAsset(w http.ResponseWriter, r *http.Request, name string) bool {
	ct, ok := assetTypes[name]
	if !ok {
		return false
	}
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil {
		return false
	}
	setSecurity(w)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("ETag", `"`+AssetVersion()+`"`)
	if r.URL.Query().Get("v") == AssetVersion() {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	return true
}
