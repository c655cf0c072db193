package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// The admin API and the dashboard can read every secret a scenario holds
// and change everything, so before routing they check who is asking (the
// trust model is docs/security.md):
//
//  1. the Host header, against DNS rebinding: a page on evil.test whose name
//     later resolves to 127.0.0.1 reaches the sandbox with Host evil.test;
//  2. that no other site's page sent it (Sec-Fetch-Site, Origin): a
//     cross-site form or fetch could otherwise reset or reconfigure it;
//  3. the admin token, when one is set.
//
// The landing page (GET /) is checked too: it shows the same credentials as
// the dashboard's home. Provider mounts are never checked, since they
// emulate public APIs.

// AdminCookie is the cookie a browser gets from ?token= (see authorize).
const AdminCookie = "sandbox_admin"

// adminAccess holds the settings of the checks (Config.AdminToken and
// Config.AllowedHosts).
type adminAccess struct {
	token   string
	cookie  string // the cookie value for token: hex SHA-256, never the token itself
	anyHost bool
	hosts   []string // lower case, without port; ".example.test" also matches its subdomains
}

func newAdminAccess(token string, allowed []string) (adminAccess, error) {
	a := adminAccess{token: token, anyHost: token != "" && len(allowed) == 0}
	for _, c := range token {
		if c <= ' ' || c > '~' {
			return a, errors.New("--admin-token: the token may hold only visible ASCII characters (no spaces), to fit an Authorization header")
		}
	}
	if token != "" {
		sum := sha256.Sum256([]byte("provider-sandbox admin cookie\x00" + token))
		a.cookie = hex.EncodeToString(sum[:])
	}
	for _, h := range allowed {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
			continue
		case h == "*":
			a.anyHost = true
			continue
		case strings.ContainsAny(h, "/@ "):
			return a, fmt.Errorf("--allowed-hosts: %q is a host name such as sandbox or .example.test, not a URL", h)
		}
		a.hosts = append(a.hosts, bareHost(h))
	}
	return a, nil
}

// bareHost lower-cases a Host header (or an allowed-hosts entry) and drops
// its port, the brackets of an IPv6 address and a final dot.
func bareHost(hostport string) string {
	h := strings.ToLower(hostport)
	if name, _, err := net.SplitHostPort(h); err == nil {
		h = name
	}
	return strings.TrimSuffix(strings.Trim(h, "[]"), ".")
}

// hostAllowed reports whether a Host header may reach the admin API. A
// loopback name or any IP address cannot be the result of DNS rebinding
// (a rebinding page reaches the sandbox under the attacker's own name), so
// they are allowed, as development servers do; other names must be listed.
// A request without Host (HTTP/1.0) comes from no browser.
func (a *adminAccess) hostAllowed(hostport string) bool {
	return a.anyHost || a.namesSandbox(hostport)
}

// namesSandbox reports whether a Host header names the sandbox itself: a
// loopback name, an IP address or an --allowed-hosts name ("*" aside).
func (a *adminAccess) namesSandbox(hostport string) bool {
	host := bareHost(hostport)
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	for _, h := range a.hosts {
		if host == h || (strings.HasPrefix(h, ".") && (host == h[1:] || strings.HasSuffix(host, h))) {
			return true
		}
	}
	return false
}

// crossSite says why a request was sent by another site's page, or "" when
// it was not: the dashboard itself, a person typing or following a link
// (a top-level navigation cannot read the answer of another site), or a
// client that is no browser (it sends neither header).
func crossSite(r *http.Request) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default: // cross-site, same-site (another port or subdomain is another origin)
		dest := r.Header.Get("Sec-Fetch-Dest")
		navigation := (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			r.Header.Get("Sec-Fetch-Mode") == "navigate" && (dest == "document" || dest == "")
		if !navigation {
			return "Sec-Fetch-Site: " + site
		}
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if err != nil || u.Host == "" || withoutDefaultPort(u.Scheme, u.Host) != withoutDefaultPort(scheme, r.Host) {
			return "Origin: " + o
		}
	}
	return ""
}

// withoutDefaultPort lower-cases host and drops the scheme's default port,
// which browsers leave out of Origin and Host alike.
func withoutDefaultPort(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "http":
		return strings.TrimSuffix(host, ":80")
	case scheme == "https":
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// checkAdminAccess runs the three checks on an admin or landing request; it
// answers a refused one (403 or 401 problem, or the redirect that stores
// the token in a cookie) and reports false.
func (s *Server) checkAdminAccess(w http.ResponseWriter, r *http.Request) bool {
	a := &s.access
	if !a.hostAllowed(r.Host) {
		writeProblem(w, http.StatusForbidden, "Host not allowed", fmt.Sprintf(
			"the admin API and the dashboard answer only loopback names (localhost, *.localhost), IP addresses and the names given "+
				"to --allowed-hosts, so that a web page cannot reach them through DNS rebinding; to use Host %q start the sandbox with "+
				"--allowed-hosts %s (or SANDBOX_ALLOWED_HOSTS); provider mounts answer any host; see docs/security.md",
			r.Host, bareHost(r.Host)), nil)
		return false
	}
	if why := crossSite(r); why != "" {
		writeProblem(w, http.StatusForbidden, "Cross-origin request refused", fmt.Sprintf(
			"the admin API and the dashboard refuse requests sent by another site's page (%s), and answer no CORS; "+
				"drive them from a script, a test or the dashboard itself; see docs/security.md", why), nil)
		return false
	}
	return a.authorize(w, r)
}

// authorize checks the admin token: an Authorization: Bearer header, or
// the cookie a browser got by opening any admin page (or the landing page)
// once with ?token=TOKEN. That visit is answered with the cookie
// (HttpOnly, SameSite=Strict: no other site's request carries it) and a
// redirect to the same URL without the token, so the dashboard, its
// fetches and its event stream (which can set no header) are authorized
// from then on.
func (a *adminAccess) authorize(w http.ResponseWriter, r *http.Request) bool {
	if a.token == "" {
		return true
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if equalSecret(strings.TrimSpace(tok), a.token) {
			return true
		}
		unauthorized(w, `error="invalid_token"`, "Invalid admin token",
			"the bearer token is not the sandbox's --admin-token")
		return false
	}
	q := r.URL.Query()
	if q.Has("token") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if !equalSecret(q.Get("token"), a.token) {
			unauthorized(w, `error="invalid_token"`, "Invalid admin token", "the token parameter is not the sandbox's --admin-token")
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: AdminCookie, Value: a.cookie, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		q.Del("token")
		u := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return false
	}
	if c, err := r.Cookie(AdminCookie); err == nil && equalSecret(c.Value, a.cookie) {
		return true
	}
	unauthorized(w, "", "Admin token required",
		"this sandbox was started with --admin-token: send Authorization: Bearer TOKEN, or in a browser open /__sandbox/ui/?token=TOKEN once (it sets a cookie)")
	return false
}

// unauthorized answers 401 with the RFC 6750 challenge.
func unauthorized(w http.ResponseWriter, errParam, title, detail string) {
	challenge := `Bearer realm="provider-sandbox admin"`
	if errParam != "" {
		challenge += ", " + errParam
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeProblem(w, http.StatusUnauthorized, title, detail, nil)
}

// equalSecret compares in constant time (over digests, so that not even
// the length leaks).
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
