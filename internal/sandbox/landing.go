package sandbox

import (
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// GET / (and GET /ns/{name}/) is where a person or a script lands first. A
// browser is redirected to the dashboard (/__sandbox/ui/, whose home view
// shows this content); a client that asks for JSON gets the same content as
// a LandingPage: the mounts, the demo credentials of the scenario in force,
// the admin API and where the documentation lives.

// LandingPage is the JSON form of the landing page (Accept: application/json).
type LandingPage struct {
	Version   string `json:"version"`
	Namespace string `json:"namespace"`
	// Live is false when the namespace has not been created yet; the
	// credentials shown are then the template scenario's, which is what the
	// namespace will be built from on its first request.
	Live     bool           `json:"live"`
	Scenario string         `json:"scenario"`
	Mounts   []LandingMount `json:"mounts"`
	Admin    LandingAdmin   `json:"admin"`
	// Docs are paths in the sandbox's source repository.
	Docs []string `json:"docs"`
}

// LandingMount is one provider on the landing page.
type LandingMount struct {
	Name        string       `json:"name"`
	Title       string       `json:"title"`
	BaseURL     string       `json:"baseUrl"`
	Spec        string       `json:"spec"`
	Credentials []BannerLine `json:"credentials"`
}

// LandingAdmin points at the admin API.
type LandingAdmin struct {
	BaseURL    string `json:"baseUrl"`
	Health     string `json:"health"`
	Spec       string `json:"spec"`
	Namespaces string `json:"namespaces"`
}

// BannerLine is one line of a provider's Banner split at its tab.
type BannerLine struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// SplitBanner splits Banner lines into label and value (see Provider.Banner).
func SplitBanner(lines []string) []BannerLine {
	out := make([]BannerLine, 0, len(lines))
	for _, l := range lines {
		label, value, ok := strings.Cut(l, "\t")
		if !ok {
			label, value = "", strings.TrimSpace(l)
		}
		out = append(out, BannerLine{Label: strings.TrimSpace(label), Value: value})
	}
	return out
}

// landingDocs are the repository's documents the page points to; a test
// in cmd/sandbox checks that each one exists.
func landingDocs() []string {
	docs := []string{"README.md", "docs/README.md", "docs/dashboard.md", "docs/demo.md", "docs/scenarios.md", "docs/admin.md", "docs/cli.md"}
	for _, p := range Providers() {
		docs = append(docs, "docs/"+p.Name+".md")
	}
	return append(docs, "docs/architecture.md")
}

// Landing builds the landing page of a namespace for a client reaching the
// sandbox at origin (scheme://host). A namespace that is not live is shown
// from the template scenario and is not created.
func (s *Server) Landing(origin, namespace string) LandingPage {
	prefix := ""
	if namespace != DefaultNamespace {
		prefix = "/ns/" + namespace
	}
	sc := s.template()
	ns, live := s.lookup(namespace)
	if live {
		sc = ns.Scenario()
	}
	base := origin + prefix
	page := LandingPage{
		Version: s.cfg.Version, Namespace: namespace, Live: live, Scenario: sc.Common().Name,
		Admin: LandingAdmin{
			BaseURL: base + "/" + adminMountName, Health: base + "/" + adminMountName + "/health",
			Spec: base + "/" + adminMountName + "/specs/admin", Namespaces: origin + "/ns/{name}/",
		},
		Docs: landingDocs(),
	}
	for _, p := range Providers() {
		m := LandingMount{Name: p.Name, Title: p.Title, BaseURL: base + "/" + p.Name,
			Spec: base + "/" + adminMountName + "/specs/" + p.Name, Credentials: []BannerLine{}}
		if p.Banner != nil {
			m.Credentials = SplitBanner(p.Banner(sc.Configs[p.Name], m.BaseURL))
		}
		page.Mounts = append(page.Mounts, m)
	}
	return page
}

// serveLanding answers GET and HEAD on / and /ns/{name}/: JSON for a
// client that prefers it, otherwise a 302 to the namespace's dashboard.
func (s *Server) serveLanding(w http.ResponseWriter, r *http.Request, namespace string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not allowed on the landing page; use GET", nil)
		return
	}
	w.Header().Set("Vary", "Accept")
	if prefersJSON(r.Header.Get("Accept")) {
		page := s.Landing(requestOrigin(r), namespace)
		body, _ := json.MarshalIndent(page, "", "  ")
		WriteJSON(w, http.StatusOK, append(body, '\n'))
		return
	}
	prefix := ""
	if namespace != DefaultNamespace {
		prefix = "/ns/" + namespace
	}
	http.Redirect(w, r, prefix+"/"+adminMountName+"/ui/", http.StatusFound)
}

// prefersJSON reports whether an Accept header ranks application/json above
// text/html. Without a preference (no header, */*) the answer is the
// redirect to the dashboard: that is what a browser and a bare curl get. At
// equal quality the type named more specifically wins, so a script's
// "application/json, text/plain, */*" (axios's default) gets JSON: it names
// JSON and reaches HTML only by */*.
func prefersJSON(accept string) bool {
	qJSON, qHTML := 0.0, 0.0
	specJSON, specHTML := -1, -1 // how specific the range that set the q was
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		rank := func(full, typ string, best *float64, spec *int) {
			sp := -1
			switch {
			case mt == full:
				sp = 2
			case mt == typ+"/*":
				sp = 1
			case mt == "*/*":
				sp = 0
			}
			if sp > *spec {
				*best, *spec = q, sp
			}
		}
		rank("application/json", "application", &qJSON, &specJSON)
		rank("text/html", "text", &qHTML, &specHTML)
	}
	return qJSON > qHTML || (qJSON == qHTML && qJSON > 0 && specJSON > specHTML)
}

// requestOrigin returns scheme://host as the client sees it, honouring
// X-Forwarded-Proto so that URLs handed out behind a TLS proxy work. Every
// URL the sandbox hands out (issuers, discovery documents, links) starts
// with it.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + requestHost(r)
}

// requestHost is the host (and port) the client reached: its Host header,
// or for a request without one (HTTP/1.0 allows that) the address the
// connection arrived on, so that an issuer never reads "http:///...".
func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		return a.String()
	}
	return "127.0.0.1"
}
